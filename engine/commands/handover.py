"""转办: hand a task to a colleague, or back to the department's queue, with a reason.

Who may: the holder of a claimed task (or their stand-in), a member who may work an unclaimed
one, the department head. To whom: an active user of the task's department with the task's
candidate role, or, where the diagram's ``transfer_departments`` property allows it, a user of
one of those departments (the task then moves to that department).
"""

from __future__ import annotations

import sqlalchemy as sa

from .. import routing
from ..checks import text
from ..clock import utcnow
from ..context import Context
from ..dto import OPEN_STATES, Actor, TaskInfo
from ..errors import Conflict, Forbidden, InvalidInput
from ..model import app_user, task
from ..notices import post_notice
from ..queries import task_row
from ..rows import TASK_AND_HEAD, TASK_BY_ID, event_row, task_info, write_events
from ..transfer_rules import transfer_departments
from ..unit_of_work import retry_on_deadlock
from .tasks import TaskCommands, bump_version, require_running

MAX_REASON = 2000


class HandoverCommands:
    def __init__(self, ctx: Context, tasks: TaskCommands):
        self.ctx = ctx
        self.tasks = tasks

    def allowed_departments(self, definition_id: int, row) -> frozenset[str]:
        """The departments the task may be handed to: its own, plus the diagram's."""
        info = self.ctx.spec(definition_id).parsed.tasks.get(row.element_id)
        extra = transfer_departments(info.properties if info else {}, self.ctx.directory(),
                                     self.ctx.department_kinds())
        return extra | ({row.department_code} if row.department_code else set())

    def check_may_hand(self, conn, row, actor: Actor) -> str | None:
        """The holder, a member who may work an unclaimed task, or the department head; returns
        the principal when the actor hands it as a stand-in (委托)."""
        if routing.can_reassign(actor, row.department_code):
            return None
        principal = self.tasks.authorize(conn, row, actor)
        if row.assignee not in (None, actor.username, principal):
            raise Forbidden("只有任务的认领人或部门负责人可以转办")
        return principal

    @retry_on_deadlock
    def transfer(self, task_id: str, actor: Actor, to: str | None, reason: str) -> TaskInfo:
        """Hand the task to ``to`` (a username) or back to the department's queue (None)."""
        text(reason, "reason", MAX_REASON, required=True)
        reason = reason.strip()
        if to is not None:
            text(to, "to", 64)
            to = to.strip() or None
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.tasks.task_and_head(conn, task_id, actor)
            if row.state not in OPEN_STATES:
                raise Conflict("任务已办结或已取消")
            principal = self.check_may_hand(conn, row, actor)
            require_running(head)
            department = row.department_code
            if to is None:
                if row.assignee is None:
                    raise InvalidInput("任务已在部门待办中，无需退回")
            else:
                if to == actor.username:
                    raise InvalidInput("不能转办给自己")
                if to == row.assignee:
                    raise InvalidInput("任务已由该用户办理")
                target = conn.execute(
                    sa.select(app_user).where(app_user.c.username == to)).first()
                if target is None or not target.active:
                    raise InvalidInput(f"用户 {to} 不存在或已停用")
                if target.department_code != row.department_code:
                    if target.department_code not in self.allowed_departments(
                            head.definition_id, row):
                        raise Forbidden("只能转办给本部门的人员")
                    department = target.department_code
                if row.candidate_role and row.candidate_role not in target.roles.split():
                    raise InvalidInput(f"接收人须具有该任务所需的角色（{row.candidate_role}）")
            now = utcnow()
            bump_version(conn, head, now)
            conn.execute(task.update().where(task.c.id == row.id).values(
                assignee=to, state="claimed" if to else "ready", claimed_at=now if to else None,
                department_code=department, on_behalf_of=None,
                handed_by=actor.username, handed_at=now, hand_reason=reason,
            ))
            data = {"from": row.assignee, "to": to, "reason": reason, "department": department}
            if principal:
                data["on_behalf_of"] = principal
            write_events(conn, [event_row(head.id, row.id, actor, "task_transferred", now, data)])
            who = conn.execute(sa.select(app_user.c.display_name).where(
                app_user.c.username == actor.username)).scalar() or actor.username
            name = row.name or row.element_id
            if to:
                post_notice(conn, kind="transfer", username=to, now=now, sender=actor.username,
                            subject=f"{who} 将任务“{name}”转办给您", body=reason,
                            instance_id=head.id, task_id=row.id)
            else:
                post_notice(conn, kind="transfer", department_code=department, now=now,
                            sender=actor.username,
                            subject=f"{who} 将任务“{name}”退回部门待办", body=reason,
                            instance_id=head.id, task_id=row.id)
            new_row = conn.execute(TASK_BY_ID, {"id": row.id}).one()
            uow.after_commit(
                lambda: self.ctx.live.rebase(head.id, head.version, head.version + 1))
            uow.commit()
        return task_info(new_row)

    def transfer_candidates(self, task_id: str, actor: Actor) -> list[tuple[str, str, str]]:
        """Who the task may be handed to: (username, display name, department code) of the
        active users of the allowed departments with the task's role, except the actor and
        the current assignee. Empty when the actor may not hand the task."""
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            row = task_row(conn, task_id, actor, TASK_AND_HEAD)
            if row.state not in OPEN_STATES or row.i_status != "running":
                return []
            try:
                self.check_may_hand(conn, row, actor)
            except Forbidden:
                return []
            codes = self.allowed_departments(row.i_definition_id, row)
            users = conn.execute(
                sa.select(app_user.c.username, app_user.c.display_name, app_user.c.roles,
                          app_user.c.department_code)
                .where(app_user.c.department_code.in_(sorted(codes)),
                       app_user.c.active.is_(True))
                .order_by(app_user.c.department_code != row.department_code,
                          app_user.c.department_code, app_user.c.username)
            ).all()
        return [(u.username, u.display_name, u.department_code) for u in users
                if u.username not in (actor.username, row.assignee)
                and (not row.candidate_role or row.candidate_role in (u.roles or "").split())]

    def stand_in_for(self, task_id: str, actor: Actor) -> str | None:
        """The principal in whose name the actor would work the task now (委托), or None when
        they work it in their own right or may not work it at all."""
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            if row.state not in OPEN_STATES:
                return None
            try:
                return self.tasks.authorize(uow.conn, row, actor)
            except Forbidden:
                return None
