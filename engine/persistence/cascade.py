"""What a save carries to other instances, in the same transaction: called processes start
(call activities run as instances of their own) and a finished child resumes its caller;
messages go to the instance waiting for them, start a process, or wait for a catcher; a
cancelled call or a terminated case terminates the children it still runs. Also the message
subscriptions a waiting instance holds."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa

from ..context import Context
from ..deployments import Deployments
from ..dto import MessageOutcome
from ..errors import EngineError
from ..messages import message_event, waiting_message_names
from ..model import instance, message_subscription
from ..model import message as message_table
from ..read_models import observe_status
from ..rows import CLOSE_TASK, INSTANCE_HEAD, OPEN_TASKS, event_row, to_json, write_events
from ..sandbox import step as sandbox_step
from ..specs import CALL_STATE
from .running import Running
from .store import Step, Store

MAX_CASCADE = 20  # instances one command may move through calls and messages
# The workflow attribute that remembers the message names its instance is subscribed to.
SUBSCRIPTIONS_ATTR = "kunflow_subscriptions"
LIVE_STATUSES = ("running", "suspended", "incident")


class Cascade:
    def __init__(self, ctx: Context, store: Store, running: Running, deployments: Deployments):
        self.ctx = ctx
        self.store = store
        self.running = running
        self.deployments = deployments

    def carry(self, conn, uow, head, wf, status, completed, calls, outbound, now, depth) -> None:
        """The effects of a stored step on other instances (``Store.save`` calls this once the
        instance's own rows are consistent)."""
        if depth >= MAX_CASCADE:
            if calls or outbound:
                raise EngineError("流程之间的调用或消息嵌套过深（超过 20 层），已停止")
            return
        key = None
        if outbound or calls or completed or wf.event_manager.tasks:
            key = self.business_key(conn, head.id)
        new_names = self.sync_subscriptions(conn, head.id, wf, status, key, now)
        for call_task in calls:
            self.start_child(conn, uow, head, key, call_task, now, depth + 1)
        for name, payload in outbound:
            msg_key = key
            if isinstance(payload, dict) and isinstance(payload.get("correlation_key"), str):
                msg_key = payload["correlation_key"]
            self.route_message(conn, uow, name, msg_key, payload, head.id, now, depth + 1)
        for name in new_names:
            self.deliver_pending(conn, uow, head.id, name, key, now, depth + 1)
        if completed:
            self.resume_parent(conn, uow, head.id, wf, now, depth + 1)

    @staticmethod
    def business_key(conn, iid: int) -> str | None:
        return conn.execute(
            sa.select(instance.c.business_key).where(instance.c.id == iid)
        ).scalar_one_or_none()

    def sync_subscriptions(self, conn, iid, wf, status, key, now) -> frozenset:
        """Make the instance's subscription rows the message names it waits for; returns the
        names it started waiting for."""
        wanted = waiting_message_names(wf) if status == "running" else frozenset()
        known = getattr(wf, SUBSCRIPTIONS_ATTR, None)
        if known is None:
            known = frozenset(
                r.name for r in conn.execute(
                    sa.select(message_subscription.c.name)
                    .where(message_subscription.c.instance_id == iid))
            )
        if wanted != known:
            conn.execute(message_subscription.delete()
                         .where(message_subscription.c.instance_id == iid))
            if wanted:
                conn.execute(message_subscription.insert(), [
                    {"instance_id": iid, "name": n, "correlation_key": key, "created_at": now}
                    for n in sorted(wanted)
                ])
        setattr(wf, SUBSCRIPTIONS_ATTR, wanted)
        return wanted - known

    # ------------------------------------------------------------------ messages

    def route_message(self, conn, uow, name, key, payload, source, now, depth,
                      ttl_days=30, actor=None) -> MessageOutcome:
        """Deliver a message to the oldest instance waiting for it (not ``source``), or start
        a process with a matching message start event, or keep it waiting (``ttl_days``)."""
        key_match = (message_subscription.c.correlation_key == key if key is not None
                     else message_subscription.c.correlation_key.is_(None))
        stmt = (sa.select(message_subscription.c.instance_id)
                .where(message_subscription.c.name == name, key_match)
                .order_by(message_subscription.c.id))
        if source is not None:
            stmt = stmt.where(message_subscription.c.instance_id != source)
        record = {"name": name, "correlation_key": key, "payload_json": to_json(payload),
                  "source_instance_id": source, "created_at": now}

        def to_a_listener() -> MessageOutcome | None:
            for (target,) in conn.execute(stmt).all():
                if self.deliver_to(conn, uow, target, name, payload, now, depth, actor):
                    conn.execute(message_table.insert().values(
                        **record, delivered_at=now, delivered_to=target))
                    return MessageOutcome("delivered", instance_id=target)
            return None

        outcome = to_a_listener()
        if outcome is not None:
            return outcome
        starter = self.deployments.message_start_definition(conn, name)
        if starter is not None:
            iid = self.start_by_message(conn, uow, starter, name, key, payload, now, depth)
            conn.execute(message_table.insert().values(**record, delivered_at=now,
                                                       delivered_to=iid))
            return MessageOutcome("started", instance_id=iid)
        # Nobody listens, as far as this transaction sees: an instance may be starting to
        # listen in one not yet committed. Take turns with it and look once more
        # (``InstanceLocks.lock_message``).
        if self.ctx.locks.lock_message(conn, name, key):
            outcome = to_a_listener()
            if outcome is not None:
                return outcome
        expires = now + timedelta(days=ttl_days) if ttl_days else None
        mid = conn.execute(message_table.insert().values(**record, expires_at=expires)
                           ).inserted_primary_key[0]
        return MessageOutcome("waiting", message_id=mid)

    def deliver_to(self, conn, uow, iid, name, payload, now, depth, actor=None) -> bool:
        """Deliver to instance ``iid`` if it runs and waits for ``name``."""
        self.ctx.locks.lock_instance(conn, iid)
        head = conn.execute(INSTANCE_HEAD, {"id": iid}).first()
        if head is None or head.status != "running":
            return False
        wf = self.store.load_workflow(conn, head)
        if name not in waiting_message_names(wf):
            self.ctx.live.discard(iid)
            return False
        loaded = self.ctx.spec(head.definition_id)
        incident = self.running.advance(wf, lambda: wf.send_event(message_event(name, payload)))
        events = [event_row(iid, None, actor, "message_received", now,
                            {"name": name, "payload": payload})]
        self.store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident,
                                              depth=depth))
        return True

    def deliver_pending(self, conn, uow, iid, name, key, now, depth) -> None:
        """Deliver the oldest waiting message ``name`` (with ``key``) to ``iid``, which has just
        started waiting for it."""
        key_match = (message_table.c.correlation_key == key if key is not None
                     else message_table.c.correlation_key.is_(None))
        # A sender may be storing the message right now, having seen no listener: take turns
        # with it, so that one of the two sees the other (``InstanceLocks.lock_message``).
        self.ctx.locks.lock_message(conn, name, key)
        row = conn.execute(
            sa.select(message_table.c.id, message_table.c.payload_json)
            .where(message_table.c.name == name, key_match,
                   message_table.c.delivered_at.is_(None),
                   sa.or_(message_table.c.expires_at.is_(None),
                          message_table.c.expires_at > now))
            .order_by(message_table.c.id).limit(1)
            # Two instances that start waiting at the same moment must not both take it: the
            # second skips the row the first holds and goes on waiting (PostgreSQL; SQLite
            # queues writers).
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return
        payload = json.loads(row.payload_json) if row.payload_json else None
        if self.deliver_to(conn, uow, iid, name, payload, now, depth):
            conn.execute(message_table.update().where(message_table.c.id == row.id)
                         .values(delivered_at=now, delivered_to=iid))

    def start_by_message(self, conn, uow, drow, name, key, payload, now, depth) -> int:
        """Start ``drow``'s process by its message start event ``name``; its business key is
        the message's correlation key."""
        loaded = self.ctx.spec(drow.id)
        wf = self.store.new_workflow(loaded, key)
        head = self.store.insert_instance(conn, drow, key, None, None, now)
        events = [event_row(head.id, None, None, "instance_started", now,
                            {"process_key": drow.key, "version": drow.version, "message": name})]

        def receive():
            wf.do_engine_steps(will_complete_task=sandbox_step)
            wf.send_event(message_event(name, payload))

        incident = self.running.advance(wf, receive)
        self.store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident,
                                              depth=depth))
        return head.id

    # ------------------------------------------------------------------ calls

    def start_child(self, conn, uow, parent, key, task, now, depth) -> None:
        """Start the process a call activity calls, as an instance of its own."""
        process_key = task.internal_data[CALL_STATE]["process_key"]
        drow = self.deployments.newest_definition(conn, process_key)
        if drow is None:
            raise EngineError(f"调用活动所调用的流程 {process_key} 尚未部署")
        loaded = self.ctx.spec(drow.id)
        wf = self.store.new_workflow(loaded, key)
        wf.task_tree.data.update(deepcopy(task.data))
        title = conn.execute(sa.select(instance.c.title).where(instance.c.id == parent.id)
                             ).scalar_one_or_none()
        head = self.store.insert_instance(conn, drow, key, title, None, now,
                                          parent=(parent.id, str(task.id)))
        events = [event_row(head.id, None, None, "instance_started", now,
                            {"process_key": drow.key, "version": drow.version,
                             "parent_instance_id": parent.id, "parent_task_id": str(task.id)})]
        incident = self.running.advance(wf, None)
        self.store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident,
                                              depth=depth))

    def resume_parent(self, conn, uow, child_id, child_wf, now, depth) -> None:
        """A called process ended: its caller's call activity completes with its data."""
        link = conn.execute(
            sa.select(instance.c.parent_instance_id, instance.c.parent_task_id)
            .where(instance.c.id == child_id)
        ).first()
        if link is None or link.parent_instance_id is None:
            return
        # Locked already when this command began (a child's lock takes its callers first).
        self.ctx.locks.lock_instance(conn, link.parent_instance_id)
        head = conn.execute(INSTANCE_HEAD, {"id": link.parent_instance_id}).first()
        if head is None or head.status != "running":
            return
        wf = self.store.load_workflow(conn, head)
        try:
            task = wf.get_task_from_id(UUID(link.parent_task_id))
        except Exception:
            task = None
        call = task.internal_data.get(CALL_STATE) if task is not None else None
        if call is None or call.get("state") != "started":
            self.ctx.live.discard(head.id)
            return
        loaded = self.ctx.spec(head.definition_id)
        result = {k: v for k, v in child_wf.data.items() if k != "data_objects"}

        def resume():
            call["state"] = "done"
            task.data = deepcopy(result)
            task.task_spec._update(task)

        incident = self.running.advance(wf, resume)
        events = [event_row(head.id, link.parent_task_id, None, "call_completed", now,
                            {"child_instance_id": child_id})]
        self.store.save(conn, uow, head, Step(wf, loaded, now, events, incident=incident,
                                              depth=depth))

    def terminate_children(self, conn, parent_id: int, actor, now, reason,
                           parent_task_ids=None) -> list[int]:
        """Terminate the called processes ``parent_id`` still runs (all, or those called by
        ``parent_task_ids``), and theirs, in the caller's transaction: an ``instance_terminated``
        event on each, their open tasks cancelled. Returns the instance ids terminated."""
        stmt = sa.select(instance.c.id, instance.c.process_key).where(
            instance.c.parent_instance_id == parent_id, instance.c.status.in_(LIVE_STATUSES))
        if parent_task_ids is not None:
            stmt = stmt.where(instance.c.parent_task_id.in_(list(parent_task_ids)))
        ended = []
        for child_id, child_key in conn.execute(stmt.order_by(instance.c.id)).all():
            res = conn.execute(
                instance.update()
                .where(instance.c.id == child_id, instance.c.status.in_(LIVE_STATUSES))
                .values(status="terminated", version=instance.c.version + 1, updated_at=now,
                        ended_at=now, next_due_at=None)
            )
            if res.rowcount != 1:
                continue
            events = [event_row(child_id, None, actor, "instance_terminated", now,
                                {"reason": reason, "parent_instance_id": parent_id})]
            closed = []
            for row in conn.execute(OPEN_TASKS, {"iid": child_id}).all():
                closed.append(row.id)
                conn.execute(CLOSE_TASK, {
                    "b_id": row.id, "state": "cancelled", "completed_at": now,
                    "completed_by": None})
                events.append(event_row(child_id, row.id, actor, "task_cancelled", now, None))
            conn.execute(message_subscription.delete()
                         .where(message_subscription.c.instance_id == child_id))
            write_events(conn, events)
            observe_status(self.ctx.read_models, conn, child_id, child_key, "terminated",
                           tuple(closed), now)
            self.ctx.live.discard(child_id)
            ended.append(child_id)
            ended += self.terminate_children(conn, child_id, actor, now, reason)
        return ended
