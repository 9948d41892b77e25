"""Commands on one human task: claim, unclaim, reassign, complete (with the form's checks and,
on request, its file fields), pause and resume its deadline clock, send the case back to an
earlier task. Each is one unit of work on the task's (locked) instance."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from .. import routing
from ..checks import check_data, check_field_names, check_size, text
from ..checks import task_id as checked_task_id
from ..clock import local_day, utcnow
from ..compaction import prune_event_manager, restore_boundary_events
from ..context import Context
from ..deadlines import shift_working_days
from ..delegations import principal_for_task  # delegation (issue 14)
from ..dto import OPEN_STATES, Actor, TaskInfo
from ..errors import Conflict, Forbidden, InvalidInput
from ..forms import validate as validate_form
from ..model import app_user, instance, task, task_draft, task_pause
from ..persistence import Persistence, Step, spiff_task
from ..queries import file_field_problems, task_row
from ..queries.consults import is_asked_task, open_consults_on  # consult
from ..rows import TASK_AND_HEAD, TASK_BY_ID, Head, event_row, task_info, write_events
from ..timers import hold_deadline_timers, release_deadline_timers
from ..unit_of_work import retry_on_deadlock


def bump_version(conn, head, now) -> None:
    """The instance's version check of a command that changes task rows, not the workflow
    (assign, 转办, 加签): the head read under the lock must still be current."""
    res = conn.execute(
        instance.update()
        .where(instance.c.id == head.id, instance.c.version == head.version)
        .values(version=head.version + 1, updated_at=now)
    )
    if res.rowcount != 1:
        raise Conflict("实例已被其他操作修改，请刷新后重试")


def require_running(head) -> None:
    if head.status != "running":
        raise Conflict(f"流程实例状态为 {head.status}，不能办理")


def _form_problems(problems: dict) -> InvalidInput:
    return InvalidInput("表单校验未通过：" + "；".join(problems.values()), problems)


class TaskCommands:
    def __init__(self, ctx: Context, persistence: Persistence):
        self.ctx = ctx
        self.persistence = persistence

    # ------------------------------------------------------------------ shared checks

    def task_and_head(self, conn, task_id: str, actor: Actor):
        """Lock the task's instance (and its callers), then read the task row and the instance
        head together: a command that was running on the case has committed by then, so a task
        completed, claimed or cancelled by it is seen as such (Conflict with the reason), and
        parallel work on other tasks of the case simply goes first."""
        task_id = checked_task_id(task_id)
        self.ctx.locks.lock_task_instance(conn, task_id)
        row = task_row(conn, task_id, actor, TASK_AND_HEAD)
        head = Head(row.instance_id, row.i_definition_id, row.process_key, row.i_status,
                    row.i_version, row.i_completed_tasks)
        return row, head

    def authorize(self, conn, row, actor: Actor) -> str | None:
        """May ``actor`` work on the task ``row`` (claim, complete, answer, pause)? Forbidden if
        not. Returns None when the actor works in their own right, else the username of the
        user the actor stands in for (委托)."""
        # >>> delegation: stand-ins (issue 14, handover helper)
        own = routing.can_work_task(actor, row.department_code, row.candidate_role)
        if own and row.assignee in (None, actor.username):
            return None
        # A task assigned to the principal (or one they could claim) is the stand-in's to
        # work during the 委托's period.
        principal = principal_for_task(conn, actor, row)
        if principal is not None:
            return principal
        if own:
            return None  # claimed by a colleague: the caller answers Conflict
        raise Forbidden("无权办理该任务")
        # <<< delegation

    def task_to_work(self, conn, task_id: str, actor: Actor):
        """An open task the actor may work on, with its instance head, spec, workflow and the
        workflow's task: the checks every command that acts on a task's workflow shares."""
        row, head = self.task_and_head(conn, task_id, actor)
        principal = self.authorize(conn, row, actor)
        if row.state not in OPEN_STATES:
            raise Conflict("任务已办结或已取消")
        if row.assignee not in (None, actor.username, principal):
            raise Conflict(f"任务已被 {row.assignee} 认领")
        require_running(head)
        loaded = self.ctx.spec(head.definition_id)
        wf = self.persistence.store.load_workflow(conn, head)
        try:
            stask = wf.get_task_from_id(UUID(row.id))
        except Exception:
            raise Conflict("任务已不在当前流程中") from None
        return row, head, loaded, wf, stask

    # ------------------------------------------------------------------ assignment

    def claim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self.assign(task_id, actor, actor.username, "task_claimed")

    def unclaim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self.assign(task_id, actor, None, "task_unclaimed")

    def reassign(self, task_id: str, actor: Actor, username: str) -> TaskInfo:
        return self.assign(task_id, actor, username, "task_reassigned")

    @retry_on_deadlock
    def assign(self, task_id, actor, assignee, kind) -> TaskInfo:
        """Set the task's assignee (``kind``: task_claimed, task_unclaimed, task_reassigned)."""
        principal = None
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.task_and_head(conn, task_id, actor)
            if row.state not in OPEN_STATES:
                raise Conflict("任务已办结或已取消")
            if kind == "task_reassigned":
                if not routing.can_reassign(actor, row.department_code):
                    raise Forbidden("只有本部门负责人可以转派任务")
                target = conn.execute(
                    sa.select(app_user).where(app_user.c.username == assignee)
                ).first()
                if target is None or not target.active:
                    raise InvalidInput(f"用户 {assignee} 不存在")
                if target.department_code != row.department_code:
                    raise InvalidInput("只能转派给本部门的人员")
                if row.candidate_role and row.candidate_role not in target.roles.split():
                    raise InvalidInput(f"该任务需要角色 {row.candidate_role}")
            else:
                principal = self.authorize(conn, row, actor)
                if kind == "task_claimed" and row.assignee not in (
                        None, actor.username, principal):
                    raise Conflict(f"任务已被 {row.assignee} 认领")
                if kind == "task_unclaimed" and row.assignee not in (None, actor.username) and not (
                    routing.can_reassign(actor, row.department_code)
                ):
                    raise Forbidden("只能退回自己认领的任务")
            require_running(head)
            now = utcnow()
            bump_version(conn, head, now)
            conn.execute(
                task.update()
                .where(task.c.id == task_id)
                .values(
                    assignee=assignee,
                    state="claimed" if assignee else "ready",
                    claimed_at=now if assignee else None,
                    # >>> delegation: a stand-in claims in the principal's name
                    on_behalf_of=principal if kind == "task_claimed" else None,
                    # <<< delegation
                )
            )
            data = {"assignee": assignee} if assignee else None
            # >>> delegation
            if principal and kind != "task_reassigned":
                data = {**(data or {}), "on_behalf_of": principal}
            # <<< delegation
            write_events(conn, [event_row(head.id, task_id, actor, kind, now, data)])
            new_row = conn.execute(TASK_BY_ID, {"id": task_id}).one()
            uow.after_commit(
                lambda: self.ctx.live.rebase(head.id, head.version, head.version + 1))
            uow.commit()
        return task_info(new_row)

    # ------------------------------------------------------------------ completion

    @retry_on_deadlock
    def complete(self, task_id: str, actor: Actor, data: dict | None = None,
                 check_files: bool = False) -> TaskInfo:
        """Complete a ready human task with the submitted data and run the engine on.

        ``check_files``: each of the form's file fields must hold ids of attachments of this
        case (checked in the same transaction). The task's saved drafts end with it."""
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        check_data(data or {})
        check_field_names(data, self.ctx.script_engine.environment.globals)
        # >>> consult: an asked (加签) task is answered, not a step of the workflow
        if is_asked_task(self.ctx, task_id):
            from .consults import ConsultCommands

            return ConsultCommands(self.ctx, self).answer_from_complete(task_id, actor, data)
        # <<< consult
        live = self.ctx.live
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head, loaded, wf, stask = self.task_to_work(conn, task_id, actor)
            # >>> consult: 前加签 — the opinions asked on the task are answered first
            if open_consults_on(conn, row.id):
                live.checkin(head.id, head.version, wf)
                raise Conflict("尚有加签意见未答复……答复或撤回后才能提交")
            # <<< consult
            if stask.state != TaskState.READY:
                raise Conflict("任务当前不可办理")
            # >>> delegation: the principal the stand-in works for (now, or since the claim)
            principal = self.authorize(conn, row, actor) or (
                row.on_behalf_of if row.assignee == actor.username else None)
            # <<< delegation
            form = loaded.forms.get(row.form_key) if row.form_key else None
            try:
                check_size(data or {}, self.ctx.max_step_data_bytes, form)
            except InvalidInput:
                live.checkin(head.id, head.version, wf)  # untouched: keep it cached
                raise
            if form is not None:
                # only this submission counts: a value the case holds from an earlier round
                # or before a send-back does not fill a required field
                problems = validate_form(form, data or {})
                if problems:
                    live.checkin(head.id, head.version, wf)
                    raise _form_problems(problems)
            if check_files:
                problems = file_field_problems(conn, row.instance_id, form, data or {})
                if problems:
                    live.checkin(head.id, head.version, wf)
                    raise _form_problems(problems)
            now = utcnow()
            if data:
                stask.data.update(data)
            incident = self.persistence.running.advance(wf, stask.run)
            event_data = data or {}
            # >>> delegation: both names recorded
            if principal:
                event_data = {**event_data, "on_behalf_of": principal}
            # <<< delegation
            events = [event_row(head.id, task_id, actor, "task_completed", now, event_data)]
            self.persistence.store.save(conn, uow, head, Step(
                wf, loaded, now, events, done={task_id: actor.username}, completed_delta=1,
                incident=incident))
            # >>> delegation
            if principal:
                conn.execute(task.update().where(task.c.id == row.id,
                                                 task.c.state == "completed")
                             .values(on_behalf_of=principal))
            # <<< delegation
            conn.execute(task_draft.delete().where(task_draft.c.task_id == row.id))
            uow.commit()
        return replace(task_info(row), state="completed", completed_at=now,
                       completed_by=actor.username, on_behalf_of=principal)

    # ------------------------------------------------------------------ deadline clock

    def check_clock_change(self, conn, row, head, actor: Actor) -> None:
        self.authorize(conn, row, actor)
        if row.state not in OPEN_STATES:
            raise Conflict("任务已办结或已取消")
        require_running(head)
        info = self.ctx.spec(head.definition_id).parsed.tasks.get(row.element_id)
        if info is None or not info.pausable:
            raise Conflict("流程图未允许该环节暂停计时")

    @retry_on_deadlock
    def pause_task(self, task_id: str, actor: Actor, reason: str | None = None) -> TaskInfo:
        """Stop a task's deadline clock (expert review, hearing, public notice).

        Only where the diagram allows it: the task's ``pausable`` property is true. Boundary
        timers that follow the task's deadline (``engine/timers.py``) are held meanwhile.
        """
        text(reason, "reason", 2000)
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.task_and_head(conn, task_id, actor)
            self.check_clock_change(conn, row, head, actor)
            if row.paused_at is not None:
                raise Conflict("任务的办理时限已经暂停")
            now = utcnow()
            loaded = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            stask = spiff_task(wf, row.id)
            held = hold_deadline_timers(stask, row.due_at) if stask is not None else []
            conn.execute(task.update().where(task.c.id == row.id).values(paused_at=now))
            conn.execute(task_pause.insert().values(task_id=row.id, paused_at=now,
                                                    paused_by=actor.username, reason=reason))
            data = {"reason": reason} if reason else {}
            if held:
                data["held_timers"] = held
            events = [event_row(head.id, row.id, actor, "task_paused", now, data or None)]
            self.persistence.store.save(conn, uow, head, Step(wf, loaded, now, events))
            out = conn.execute(TASK_BY_ID, {"id": row.id}).one()
            uow.commit()
        return task_info(out)

    @retry_on_deadlock
    def resume_task(self, task_id: str, actor: Actor) -> TaskInfo:
        """Restart the clock; the due time moves by the working days it stood still, and so do
        the boundary timers held with it (a ``task_due(n)`` timer is recomputed from the new
        due time)."""
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.task_and_head(conn, task_id, actor)
            self.check_clock_change(conn, row, head, actor)
            if row.paused_at is None:
                raise Conflict("任务的办理时限没有暂停")
            now = utcnow()
            cal = self.ctx.calendar.current(conn)
            paused = cal.working_days_between(local_day(row.paused_at), local_day(now))
            due, provisional = row.due_at, row.due_provisional
            if due is not None and paused > 0:
                due = shift_working_days(cal, due, paused)
                provisional = provisional or cal.is_provisional(local_day(row.due_at),
                                                                local_day(due))
            shift = due - row.due_at if due is not None else timedelta(0)

            def moved(when, offset):
                if offset is not None and due is not None:
                    return shift_working_days(cal, due, offset) if offset else due
                return when + shift

            loaded = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            stask = spiff_task(wf, row.id)
            timers = release_deadline_timers(stask, moved) if stask is not None else {}
            conn.execute(task.update().where(task.c.id == row.id).values(
                paused_at=None, due_at=due, due_provisional=provisional))
            conn.execute(task_pause.update().where(
                task_pause.c.task_id == row.id, task_pause.c.resumed_at.is_(None)
            ).values(resumed_at=now, resumed_by=actor.username))
            data = {"paused_working_days": paused, "due_at": due.isoformat() if due else None}
            if timers:
                data["timers"] = {k: v.isoformat() for k, v in timers.items()}
            events = [event_row(head.id, row.id, actor, "task_resumed", now, data)]
            self.persistence.store.save(conn, uow, head, Step(wf, loaded, now, events))
            out = conn.execute(TASK_BY_ID, {"id": row.id}).one()
            uow.commit()
        return task_info(out)

    # ------------------------------------------------------------------ send-back

    @retry_on_deadlock
    def send_back(self, task_id: str, actor: Actor, target: str, reason: str) -> TaskInfo:
        """Return the case to an earlier user task that the diagram allows (退回).

        The task's ``send_back_targets`` property lists the allowed element ids. The earlier
        task opens again with the data it was completed with, plus ``send_back_reason``.
        """
        text(target, "target", 200, required=True)
        text(reason, "reason", 2000, required=True)
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head, loaded, wf, current = self.task_to_work(conn, task_id, actor)
            allowed = loaded.parsed.send_back.get(row.element_id, ())
            if target not in allowed:
                self.ctx.live.discard(head.id)
                raise InvalidInput(
                    f"该环节不能退回到 {target}；可退回：{'、'.join(allowed) or '（无）'}")
            earlier = current.parent
            while earlier is not None and (
                getattr(earlier.task_spec, "bpmn_id", None) != target
                or earlier.state != TaskState.COMPLETED
            ):
                earlier = earlier.parent
            if earlier is None:
                self.ctx.live.discard(head.id)
                raise Conflict(f"本案件尚未办理过 {target}，不能退回")
            now = utcnow()
            data = dict(earlier.data)
            data["send_back_reason"] = reason
            data["sent_back_by"] = actor.username

            def reset():
                restore_boundary_events(earlier)
                wf.reset_from_task_id(earlier.id, data)
                # The reset removed the later tasks from the tree but not from the event
                # manager: a dropped timer would otherwise still be refreshed (and fail).
                prune_event_manager(wf)

            incident = self.persistence.running.advance(wf, reset)
            # The reopened task keeps its id (and its URL); its completed row is kept as history
            # under a new id before the open row is inserted (see Store.keep_completion).
            events = [event_row(head.id, row.id, actor, "task_sent_back", now,
                                {"target": target, "reason": reason})]
            self.persistence.store.save(conn, uow, head, Step(
                wf, loaded, now, events, incident=incident, reopened=str(earlier.id)))
            out = conn.execute(TASK_BY_ID, {"id": row.id}).one()
            uow.commit()
        return task_info(out)
