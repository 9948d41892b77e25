"""Persistence of one instance: load its workflow (from the live cache or the stored state),
save one step (the state, the task rows, the event log, incidents) with a version check, insert
a new instance, park a broken one as an incident.

What a save carries to *other* instances (called processes, messages, the caller of a finished
child, children of a cancelled call) is the cascade's (``persistence/cascade.py``), handed in as
``Store.effects``: the cascade saves through this store, so this module does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Protocol
from uuid import UUID, uuid4

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow

from .. import routing
from ..compaction import compact_workflow
from ..context import Context
from ..decisions import log_decisions
from ..definitions import LoadedSpec
from ..dto import OPEN_STATES
from ..errors import Conflict, EngineError
from ..messages import requested_calls, thrown_messages
from ..model import incident as incident_table
from ..model import instance, task, task_pause
from ..read_models import SavedStep
from ..rows import (
    CLOSE_TASK,
    INSERT_TASK,
    INSTANCE_STATE,
    OPEN_STEP_TASKS,
    SAVE_INSTANCE,
    Head,
    event_row,
    write_events,
)
from ..scripting import BUSINESS_KEY_ATTR, bind_business_key
from ..serialization import SERIALIZER_VERSION, dump_state, load_state
from ..specs import CALL_STATE
from .running import Running, info_of


@dataclass(frozen=True)
class Step:
    """What one command did to one instance's workflow, for ``Store.save``."""

    wf: BpmnWorkflow
    loaded: LoadedSpec
    now: datetime
    events: list  # the command's event rows; the save appends its own
    done: dict = field(default_factory=dict)  # task id -> username of who completed it
    completed_delta: int = 0  # human tasks completed by the step
    incident: dict | None = None  # from ``Running.advance``
    depth: int = 0  # instances moved before this one by the command (calls, messages)
    reopened: str | None = None  # the task id a send-back opens again


class Effects(Protocol):
    """What a save carries to other instances (``persistence/cascade.py``)."""

    def terminate_children(self, conn, parent_id: int, actor, now: datetime, reason,
                           parent_task_ids=None) -> list[int]: ...

    def carry(self, conn, uow, head: Head, wf, status: str, completed: bool, calls: list,
              outbound: list, now: datetime, depth: int) -> None: ...


def cancelled_calls(wf) -> list[str]:
    """Ids of call-activity tasks cancelled while their child instance ran, each reported
    once (marked in the task's call state)."""
    ids = []
    for flow in (wf, *wf.subprocesses.values()):
        for t in flow.tasks.values():
            call = t.internal_data.get(CALL_STATE)
            if call and call.get("state") == "cancelled" and not call.get("child_ended"):
                call["child_ended"] = True
                ids.append(str(t.id))
    return ids


def close_asked_tasks(conn, instance_id: int, parent_ids, now: datetime, events: list) -> None:
    """Cancel the open 加签 tasks asked on tasks that just closed: an opinion on a step that is
    gone (completed, cancelled by a timer or a send-back) is no longer asked for."""
    rows = conn.execute(sa.select(task.c.id).where(
        task.c.parent_task_id.in_(list(parent_ids)), task.c.state.in_(OPEN_STATES))).all()
    if not rows:
        return
    conn.execute(CLOSE_TASK, [{"b_id": r.id, "state": "cancelled", "completed_at": now,
                               "completed_by": None} for r in rows])
    events.extend(event_row(instance_id, r.id, None, "task_cancelled", now,
                            {"reason": "parent_closed"}) for r in rows)


def case_data(wf) -> dict:
    """The case's data: the workflow's when it has completed, else its last task's."""
    if wf.is_completed():
        return wf.data
    last = wf.last_task
    return last.data if last is not None else wf.task_tree.data


def spiff_task(wf, task_id: str):
    """The workflow's task of a task row, or None."""
    try:
        return wf.get_task_from_id(UUID(task_id))
    except Exception:  # the row outlived its task (not expected): no timers to move
        return None


class Store:
    def __init__(self, ctx: Context, running: Running):
        self.ctx = ctx
        self.running = running
        self.effects: Effects | None = None  # set by ``Persistence``

    def new_workflow(self, loaded: LoadedSpec, business_key: str | None) -> BpmnWorkflow:
        """A new workflow of the spec, its diagram code in the engine's sandbox."""
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs,
                          script_engine=self.ctx.script_engine)
        bind_business_key(wf, business_key)
        return wf

    def load_workflow(self, conn, head):
        """The instance's workflow: the live object when the cache holds this version, else
        loaded from the stored state (EngineError when that cannot be loaded)."""
        # Diagram code may call calendar helpers: (re)load the calendar through this command's
        # connection first, never through a second one inside the transaction.
        self.ctx.calendar.current(conn)
        wf = self.ctx.live.checkout(head.id, head.version)
        if wf is not None:
            return wf
        loaded = self.ctx.spec(head.definition_id)
        st = conn.execute(INSTANCE_STATE, {"id": head.id}).one()
        try:
            wf = load_state(
                st.state_json, st.serializer_version, loaded.spec, loaded.subprocess_specs,
                script_engine=self.ctx.script_engine,
            )
        except Exception as exc:  # a state that cannot be loaded must never crash a list page
            raise EngineError(f"流程实例 {head.id} 的状态无法加载：{exc}") from None
        bind_business_key(wf, st.business_key)
        return wf

    def insert_instance(self, conn, drow, business_key, title, started_by, now,
                        parent=None) -> Head:
        """The instance row, before its first save (version 0, no state yet); ``parent``:
        (calling instance id, call task id)."""
        iid = conn.execute(
            instance.insert().values(
                definition_id=drow.id,
                process_key=drow.key,
                business_key=business_key,
                title=title,
                status="running",
                version=0,
                serializer_version=SERIALIZER_VERSION,
                state_json="{}",
                started_by=started_by,
                started_at=now,
                updated_at=now,
                completed_tasks=0,
                parent_instance_id=parent[0] if parent else None,
                parent_task_id=parent[1] if parent else None,
            )
        ).inserted_primary_key[0]
        return Head(iid, drow.id, drow.key, "running", 0, 0)

    def save(self, conn, uow, head, step: Step) -> None:
        """Store the workflow and its read models, then carry its effects to other instances
        (called processes, messages, the caller of a finished child) in the same transaction."""
        wf, now, events, incident = step.wf, step.now, step.events, step.incident
        # Call activities cancelled by this command (a terminate end event, an interrupting
        # event): their child instances end with them. Read before compaction drops the tasks.
        ended_calls = cancelled_calls(wf)
        compact_workflow(wf, step.loaded.parsed.send_back)
        budget = self.running.take_budget(wf)
        completed = incident is None and wf.is_completed()
        if completed:
            status = "completed"
        elif incident is not None:
            status = "incident"
        elif head.status == "incident":
            status = "running"
        else:
            status = head.status
        open_rows = {r.id: r.state for r in conn.execute(OPEN_STEP_TASKS, {"iid": head.id})}
        ready, prepared, next_due, incident = self.running.prepare(
            conn, wf, step.loaded, open_rows, now, budget, incident, status == "running")
        if incident is not None and status != "incident":
            status, completed = "incident", False
        calls = requested_calls(wf) if status == "running" else []
        for call_task in calls:
            call_task.internal_data[CALL_STATE]["state"] = "started"
        outbound = thrown_messages(wf)
        new_version = head.version + 1
        stage = phase = None
        for t in ready.values():  # the newest open task that names a stage
            info = info_of(step.loaded, t)
            stage = info.stage or stage
            phase = info.phase or phase
        res = conn.execute(
            SAVE_INSTANCE,
            {
                "b_id": head.id,
                "b_v": head.version,
                "state_json": dump_state(wf),
                "version": new_version,
                "status": status,
                "updated_at": now,
                "ended_at": now if completed else None,
                "completed_tasks": head.completed_tasks + step.completed_delta,
                "next_due_at": next_due,
                "stage": stage,
                "phase": phase,
            },
        )
        if res.rowcount != 1:
            raise Conflict("实例已被其他操作修改，请刷新后重试")
        if step.reopened is not None:
            self.keep_completion(conn, step.reopened)
        opened, closed = self.sync_tasks(conn, head, step, ready, open_rows, prepared)
        if closed:
            close_asked_tasks(conn, head.id, closed, now, events)
        if self.ctx.read_models:
            saved = SavedStep(
                instance_id=head.id, process_key=head.process_key,
                business_key=getattr(wf, BUSINESS_KEY_ATTR, None), status=status, stage=stage,
                phase=phase, data=MappingProxyType(case_data(wf)), opened=opened, closed=closed,
                now=now, messages=tuple(outbound))
            for observe in self.ctx.read_models:
                observe(conn, saved)
        if ended_calls:
            self.effects.terminate_children(conn, head.id, None, now, "调用活动已取消",
                                            ended_calls)
        if incident is not None:
            conn.execute(incident_table.insert().values(
                instance_id=head.id, task_id=incident["task_id"],
                element_id=incident["element_id"], message=incident["message"], created_at=now))
            events.append(event_row(head.id, incident["task_id"], None, "incident_raised", now,
                                    incident))
        if completed:
            events.append(event_row(head.id, None, None, "instance_completed", now, None))
        write_events(conn, events)
        log_decisions(conn, head, wf, now)
        uow.after_commit(lambda: self.ctx.live.checkin(head.id, new_version, wf))
        # Effects on other instances: only once this instance's own row is consistent.
        self.effects.carry(conn, uow, head, wf, status, completed, calls, outbound, now,
                           step.depth)

    def sync_tasks(self, conn, head, step: Step, ready, open_rows, prepared
                   ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Close the task rows whose task is no longer ready (completed by ``step.done``, else
        cancelled) and insert a row for each new ready human task, routed. Returns the ids of
        the rows inserted and of those closed."""
        iid, now, events = head.id, step.now, step.events
        closes = []
        for tid in open_rows:
            if tid in ready:
                continue
            if tid in step.done:
                closes.append({"b_id": tid, "state": "completed", "completed_at": now,
                               "completed_by": step.done[tid]})
            else:
                closes.append({"b_id": tid, "state": "cancelled", "completed_at": now,
                               "completed_by": None})
                events.append(event_row(iid, tid, None, "task_cancelled", now, None))
        if closes:
            conn.execute(CLOSE_TASK, closes)
        closed = tuple(c["b_id"] for c in closes)
        new = [t for tid, t in ready.items() if tid not in open_rows]
        if not new:
            return (), closed
        directory = self.ctx.directory()
        lanes = step.loaded.parsed.lanes
        rows = []
        for t in new:
            info = info_of(step.loaded, t)
            props, assignee, due_at, provisional = (
                prepared.get(t.id)
                or self.running.routing(step.wf, t, info, now, conn, code=False))
            dept = routing.department_for(t.lane, lanes, props, directory)
            rows.append({
                "id": t.id, "instance_id": iid, "process_key": head.process_key,
                "element_id": t.element_id, "name": t.name, "lane": t.lane,
                "department_code": dept, "candidate_role": info.candidate_role,
                "assignee": assignee, "state": "claimed" if assignee else "ready",
                "created_at": now, "claimed_at": now if assignee else None, "due_at": due_at,
                "completed_at": None, "completed_by": None,
                "form_key": info.form_key, "stage": info.stage,
                "paused_at": None, "due_provisional": provisional,
            })
            events.append(event_row(iid, t.id, None, "task_created", now,
                                    {"element_id": t.element_id, "department": dept,
                                     "assignee": assignee}))
        conn.execute(INSERT_TASK, rows)
        return tuple(r["id"] for r in rows), closed

    @staticmethod
    def keep_completion(conn, task_id: str) -> None:
        """A send-back reopens a completed task under its own id (SpiffWorkflow's reset keeps
        the task's id), and the open task's row takes that id: its URL stays. The completed row
        is history, not rewritten: it moves to a new id and stays in its completer's 已办 (done
        list) with its completion time; the deadline clock's stops of that round go with it."""
        kept = str(uuid4())
        conn.execute(task.update().where(task.c.id == task_id).values(id=kept))
        conn.execute(task_pause.update().where(task_pause.c.task_id == task_id)
                     .values(task_id=kept))

    def park(self, conn, head, now, message: str, task_id=None, element_id=None) -> None:
        """Make the instance an incident without touching its stored state."""
        conn.execute(instance.update().where(instance.c.id == head.id).values(
            status="incident", version=head.version + 1, next_due_at=None, updated_at=now))
        conn.execute(incident_table.insert().values(
            instance_id=head.id, task_id=task_id, element_id=element_id,
            message=message[:4000], created_at=now))
        write_events(conn, [event_row(head.id, task_id, None, "incident_raised", now,
                                      {"task_id": task_id, "element_id": element_id,
                                       "message": message[:4000]})])
        self.ctx.live.discard(head.id)
