"""加签: the holder of a task asks other departments or users for an opinion before completing
it (前加签). Each asked party gets an engine task (a ``task`` row with ``parent_task_id``, not a
step of the workflow) under the same rules as any task: task lists, claim, deadline in working
days, authorisation (``TaskCommands.authorize``). Answering completes that task; the asked-on
task cannot be completed while a request is open.

Every command is one unit of work with the instance's version check, its event on the case and
its notice (``engine.notices``) in the same transaction.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from .. import routing
from ..checks import task_id as checked_task_id
from ..checks import text
from ..clock import utcnow
from ..deadlines import due_at as deadline_due_at
from ..dto import OPEN_STATES, Actor, TaskInfo
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..model import app_user, consult, department, instance, task
from ..notices import post_notice
from ..queries.consults import ConsultInfo, consult_info, consult_of, consults_on
from ..rows import CLOSE_TASK, INSERT_TASK, TASK_BY_ID, event_row, task_info, write_events
from ..unit_of_work import retry_on_deadlock
from .tasks import TaskCommands, bump_version, require_running

MAX_QUESTION = 2000
MAX_OPINION = 4000
MAX_ASKED = 20
ELEMENT_SUFFIX = "__consult"


def _names(values, name: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{name} 必须是列表")
    out = []
    for v in values:
        text(v, name, 200)
        v = (v or "").strip()
        if v and v not in out:
            out.append(v)
    return out


def _due_days(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
        raise InvalidInput("答复期限须为 1 至 30 个工作日")
    return value


class ConsultCommands:
    def __init__(self, ctx, task_commands: TaskCommands):
        self.ctx = ctx
        self.tasks = task_commands

    # ------------------------------------------------------------------ shared

    def _after(self, uow, head) -> None:
        uow.after_commit(lambda: self.ctx.live.rebase(head.id, head.version, head.version + 1))

    def _holder(self, conn, row, actor: Actor) -> None:
        """The actor holds the task: may work it and has claimed it (for themself or the user
        they stand in for)."""
        principal = self.tasks.authorize(conn, row, actor)
        if row.assignee not in (actor.username, principal) or row.assignee is None:
            raise Forbidden("只有认领该任务的办理人可以加签")

    # ------------------------------------------------------------------ ask

    @retry_on_deadlock
    def ask(self, task_id: str, actor: Actor, question: str, departments=(), users=(),
            due_days: int = 3) -> list[ConsultInfo]:
        """The holder of an open task asks ``departments`` (codes or names) and/or ``users``
        for an opinion, to answer within ``due_days`` working days: one asked task and one
        ``consult`` row each, an event ``consult_asked`` and a notice to each asked party."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidInput("请填写征求意见的问题")
        text(question, "question", MAX_QUESTION)
        question = question.strip()
        departments = _names(departments, "departments")
        users = _names(users, "users")
        due_days = _due_days(due_days)
        if not departments and not users:
            raise InvalidInput("请选择要征求意见的部门或人员")
        if len(departments) + len(users) > MAX_ASKED:
            raise InvalidInput(f"一次最多向 {MAX_ASKED} 个部门或人员征求意见")
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.tasks.task_and_head(conn, task_id, actor)
            if row.parent_task_id is not None:
                raise InvalidInput("加签任务不能再加签")
            if row.state not in OPEN_STATES:
                raise Conflict("任务已办结或已取消")
            self._holder(conn, row, actor)
            require_running(head)
            asked = self._resolve(conn, row, actor, departments, users)
            now = utcnow()
            due, provisional = deadline_due_at(self.ctx, due_days, now, conn)
            bump_version(conn, head, now)
            events, new_ids = [], []
            for dept, user in asked:
                new_id = str(uuid.uuid4())
                new_ids.append(new_id)
                conn.execute(INSERT_TASK.values(
                    id=new_id, instance_id=row.instance_id, process_key=row.process_key,
                    element_id=row.element_id + ELEMENT_SUFFIX,
                    name="加签：" + (row.name or row.element_id), lane=None,
                    department_code=dept, candidate_role=None, assignee=user,
                    state="claimed" if user else "ready", created_at=now,
                    claimed_at=now if user else None, due_at=due, form_key=None,
                    stage=row.stage, due_provisional=provisional, parent_task_id=row.id))
                conn.execute(consult.insert().values(
                    task_id=new_id, parent_task_id=row.id, instance_id=row.instance_id,
                    requested_by=actor.username, requested_at=now, question=question,
                    asked_department=dept, asked_user=user, due_days=due_days))
                events.append(event_row(head.id, new_id, actor, "consult_asked", now, {
                    "question": question, "parent_task_id": row.id,
                    "asked": {"department": dept, "user": user},
                    "due": due.isoformat() if due else None}))
                post_notice(
                    conn, kind="consult", now=now, department_code=dept, username=user,
                    subject=f"加签：{row.name or row.element_id} 征求意见",
                    body=question, instance_id=row.instance_id, task_id=new_id,
                    sender=actor.username, dedup_key=f"consult:{new_id}")
            write_events(conn, events)
            mine = {c.task_id: c for c in consults_on(conn, row.id)}
            out = [mine[i] for i in new_ids]
            self._after(uow, head)
            uow.commit()
        return out

    def _resolve(self, conn, row, actor: Actor, departments, users
                 ) -> list[tuple[str, str | None]]:
        """(department code, username or None) of each asked party, checked: known, active,
        not the actor, not asked already while that request is open."""
        directory = self.ctx.directory()
        open_rows = conn.execute(
            sa.select(consult.c.asked_department, consult.c.asked_user)
            .join(task, task.c.id == consult.c.task_id)
            .where(consult.c.parent_task_id == row.id, task.c.state.in_(OPEN_STATES))).all()
        open_departments = {r.asked_department for r in open_rows if r.asked_user is None}
        open_users = {r.asked_user for r in open_rows if r.asked_user is not None}
        asked: list[tuple[str, str | None]] = []
        for name in departments:
            code = directory.get(name)
            if code is None or conn.execute(sa.select(department.c.code).where(
                    department.c.code == code)).first() is None:
                raise InvalidInput(f"部门 {name} 不存在")
            if code in open_departments or any(c == code and u is None for c, u in asked):
                raise InvalidInput(f"已向部门 {name} 征求意见，尚未答复")
            asked.append((code, None))
        for name in users:
            if name == actor.username:
                raise InvalidInput("不能向自己征求意见")
            user = conn.execute(sa.select(app_user.c.username, app_user.c.department_code,
                                          app_user.c.active)
                                .where(app_user.c.username == name)).first()
            if user is None or not user.active:
                raise InvalidInput(f"用户 {name} 不存在或已停用")
            if name in open_users or any(u == name for _c, u in asked):
                raise InvalidInput(f"已向 {name} 征求意见，尚未答复")
            asked.append((user.department_code, name))
        return asked

    # ------------------------------------------------------------------ answer

    @retry_on_deadlock
    def answer(self, task_id: str, actor: Actor, opinion, agree: bool | None = None
               ) -> ConsultInfo:
        """The asked side answers: its task completes, the request keeps the opinion, an event
        ``consult_answered`` goes on the case and a notice to the requester."""
        if not isinstance(opinion, str) or not opinion.strip():
            raise InvalidInput("请填写意见")
        text(opinion, "opinion", MAX_OPINION)
        if agree is not None and not isinstance(agree, bool):
            raise InvalidInput("agree 只能是 true、false 或 null")
        opinion = opinion.strip()
        with self.ctx.uow() as uow:
            conn = uow.conn
            row, head = self.tasks.task_and_head(conn, task_id, actor)
            found = consult_of(conn, row.id) if row.parent_task_id is not None else None
            if found is None:
                raise NotFound("该任务不是加签任务")
            principal = self.tasks.authorize(conn, row, actor)
            if row.state not in OPEN_STATES:
                raise Conflict("加签已答复、撤回或取消")
            if row.assignee not in (None, actor.username, principal):
                raise Conflict(f"任务已被 {row.assignee} 认领")
            if found.requested_by == actor.username:
                raise Forbidden("不能答复自己发起的加签")
            require_running(head)
            now = utcnow()
            bump_version(conn, head, now)
            conn.execute(CLOSE_TASK, {"b_id": row.id, "state": "completed",
                                      "completed_at": now, "completed_by": actor.username})
            conn.execute(consult.update().where(consult.c.task_id == row.id).values(
                answer=opinion, answered_by=actor.username, answered_at=now))
            data = {"opinion": opinion, "parent_task_id": found.parent_task_id,
                    "question": found.question}
            if agree is not None:
                data["agree"] = agree
            if principal:
                data["on_behalf_of"] = principal
            write_events(conn, [event_row(head.id, row.id, actor, "consult_answered", now,
                                          data)])
            post_notice(
                conn, kind="answer", now=now, username=found.requested_by,
                subject=f"加签意见：{found.parent_name or ''} 已答复", body=opinion,
                instance_id=row.instance_id, task_id=found.parent_task_id,
                sender=actor.username, dedup_key=f"answer:{row.id}")
            out = consult_of(conn, row.id)
            self._after(uow, head)
            uow.commit()
        return consult_info(out, agree)

    def answer_from_complete(self, task_id: str, actor: Actor, data: dict | None) -> TaskInfo:
        """``complete`` on an asked task: its data's ``opinion`` (and ``agree``) answer it."""
        data = data or {}
        self.answer(task_id, actor, data.get("opinion"), data.get("agree"))
        with self.ctx.uow(readonly=True) as uow:
            return task_info(uow.conn.execute(TASK_BY_ID, {"id": checked_task_id(task_id)})
                             .one())

    # ------------------------------------------------------------------ withdraw

    @retry_on_deadlock
    def withdraw(self, consult_task_id: str, actor: Actor, reason: str | None = None
                 ) -> ConsultInfo:
        """The requester, the asked-on task's holder or its department's head withdraws an open
        request: its task is cancelled, an event ``consult_withdrawn`` goes on the case."""
        text(reason, "reason", 2000)
        consult_task_id = checked_task_id(consult_task_id)
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_task_instance(conn, consult_task_id)
            found = consult_of(conn, consult_task_id)
            if found is None:
                raise NotFound("加签请求不存在")
            allowed = (actor.username in (found.requested_by, found.parent_assignee)
                       or routing.can_reassign(actor, found.parent_department))
            if not allowed:
                raise Forbidden("只有发起人、当前办理人或部门负责人可以撤回加签")
            if found.task_state not in OPEN_STATES:
                raise Conflict("加签已答复、撤回或取消")
            head = conn.execute(sa.select(instance.c.id, instance.c.version, instance.c.status)
                                .where(instance.c.id == found.instance_id)).one()
            require_running(head)
            now = utcnow()
            bump_version(conn, head, now)
            conn.execute(CLOSE_TASK, {"b_id": consult_task_id, "state": "cancelled",
                                      "completed_at": now, "completed_by": None})
            conn.execute(consult.update().where(consult.c.task_id == consult_task_id).values(
                withdrawn_at=now, withdrawn_by=actor.username))
            write_events(conn, [event_row(head.id, consult_task_id, actor,
                                          "consult_withdrawn", now,
                                          {"reason": reason, "question": found.question,
                                           "parent_task_id": found.parent_task_id})])
            out = consult_of(conn, consult_task_id)
            self._after(uow, head)
            uow.commit()
        return consult_info(out)
