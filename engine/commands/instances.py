"""Commands of the process administrator on a whole case: suspend, resume, terminate (with the
processes it called), and retry the step an incident stopped on."""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from ..checks import check_fix_data, text
from ..checks import instance_id as checked_instance_id
from ..clock import utcnow
from ..context import Context
from ..dto import Actor, InstanceInfo
from ..errors import Conflict, Forbidden
from ..model import incident as incident_table
from ..model import instance
from ..persistence import Persistence, Step
from ..queries import instance_head, read_instance
from ..read_models import observe_status
from ..rows import CLOSE_TASK, OPEN_TASKS, Head, event_row, write_events
from ..unit_of_work import retry_on_deadlock

STATUS_NAMES = {"running": "办理中", "suspended": "已挂起", "incident": "出错待处理",
                "completed": "已办结", "terminated": "已终止"}


class InstanceCommands:
    def __init__(self, ctx: Context, persistence: Persistence):
        self.ctx = ctx
        self.persistence = persistence

    def suspend(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self.set_status(instance_id, actor, "suspended", ("running",), reason=reason)

    def resume(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self.set_status(instance_id, actor, "running", ("suspended",), reason=reason)

    def terminate(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        # A case stopped on an incident may be terminated too: its open incidents are resolved.
        return self.set_status(
            instance_id, actor, "terminated", ("running", "suspended", "incident"), reason=reason
        )

    @retry_on_deadlock
    def set_status(self, instance_id, actor, new_status, allowed_from, reason=None):
        """Move the case from one of ``allowed_from`` to ``new_status``; terminating cancels
        its open tasks and terminates the processes it called."""
        instance_id = checked_instance_id(instance_id)
        text(reason, "reason", 2000)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以挂起、恢复或终止流程实例")
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_instance(conn, instance_id)
            head = instance_head(conn, instance_id)
            if head.status not in allowed_from:
                raise Conflict(f"实例当前状态为“{STATUS_NAMES.get(head.status, head.status)}”，"
                               "不能执行该操作")
            now = utcnow()
            values = {"status": new_status, "version": head.version + 1, "updated_at": now}
            events = [event_row(instance_id, None, actor, f"instance_{new_status}", now,
                                {"reason": reason} if reason else None)]
            closed = []
            if new_status == "terminated":
                values["ended_at"] = now
                for row in conn.execute(OPEN_TASKS, {"iid": instance_id}).all():
                    closed.append(row.id)
                    conn.execute(CLOSE_TASK, {
                        "b_id": row.id, "state": "cancelled", "completed_at": now,
                        "completed_by": None})
                    events.append(event_row(instance_id, row.id, actor, "task_cancelled", now,
                                            None))
                self.persistence.cascade.terminate_children(conn, instance_id, actor, now,
                                                            reason)
                conn.execute(
                    incident_table.update()
                    .where(incident_table.c.instance_id == instance_id,
                           incident_table.c.resolved_at.is_(None))
                    .values(resolved_at=now, resolved_by=actor.username)
                )
            res = conn.execute(
                instance.update()
                .where(instance.c.id == instance_id, instance.c.version == head.version)
                .values(**values)
            )
            if res.rowcount != 1:
                raise Conflict("实例已被其他操作修改，请刷新后重试")
            write_events(conn, events)
            observe_status(self.ctx.read_models, conn, instance_id, head.process_key, new_status,
                           tuple(closed), now)
            info = read_instance(conn, instance_id)
            if new_status == "terminated":
                self.ctx.live.discard(instance_id)
            else:
                uow.after_commit(
                    lambda: self.ctx.live.rebase(instance_id, head.version, head.version + 1)
                )
            uow.commit()
        return info

    @retry_on_deadlock
    def retry_incident(self, instance_id: int, actor: Actor, data: dict | None = None):
        """Run the failed step again, after merging ``data`` (the fix) into its task data."""
        instance_id = checked_instance_id(instance_id)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以重试故障")
        check_fix_data(data, self.ctx.script_engine.environment.globals,
                       self.ctx.max_step_data_bytes)
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_instance(conn, instance_id)
            head = instance_head(conn, instance_id)
            if head.status != "incident":
                raise Conflict("该实例没有待处理的故障")
            loaded = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            now = utcnow()
            failed = wf.get_tasks(state=TaskState.ERROR)

            def rerun():
                for task in failed:
                    if data:
                        task.data.update(data)
                    task._set_state(TaskState.READY)

            incident = self.persistence.running.advance(wf, rerun)
            conn.execute(
                incident_table.update()
                .where(incident_table.c.instance_id == instance_id,
                       incident_table.c.resolved_at.is_(None))
                .values(resolved_at=now, resolved_by=actor.username)
            )
            events = [event_row(instance_id, None, actor, "incident_retried", now,
                                {"data": data or {}})]
            self.persistence.store.save(
                conn, uow, Head(head.id, head.definition_id, head.process_key, head.status,
                                head.version, head.completed_tasks),
                Step(wf, loaded, now, events, incident=incident))
            info = read_instance(conn, instance_id)
            uow.commit()
        return info
