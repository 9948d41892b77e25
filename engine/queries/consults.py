"""Reads of 加签 (asking another department or user for an opinion): the requests asked on a
task, the request behind an asked task with the asked-on task's data (read only), and the open
unassigned requests waiting in a department's queue.

A request is a ``consult`` row keyed by the asked side's ``task`` row (whose
``parent_task_id`` is the task it was asked on); its state follows that task row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..checks import task_id as checked_task_id
from ..context import Context
from ..dto import OPEN_STATES, Actor
from ..model import consult, event, instance, task
from ..persistence import Store
from ..rows import INSTANCE_HEAD
from .tasks import task_row

STATUS_NAMES = {"open": "待答复", "answered": "已答复", "withdrawn": "已撤回",
                "cancelled": "已取消"}

_asked = task.alias("asked")
_parent = task.alias("parent")

CONSULT_COLUMNS = (
    *consult.c,
    _asked.c.state.label("task_state"),
    _asked.c.assignee.label("task_assignee"),
    _asked.c.due_at.label("due_at"),
    _asked.c.name.label("task_name"),
    _parent.c.name.label("parent_name"),
    _parent.c.department_code.label("parent_department"),
    _parent.c.assignee.label("parent_assignee"),
    _parent.c.state.label("parent_state"),
    _parent.c.form_key.label("parent_form_key"),
)


def consult_select():
    return (sa.select(*CONSULT_COLUMNS)
            .join(_asked, _asked.c.id == consult.c.task_id)
            .join(_parent, _parent.c.id == consult.c.parent_task_id))


@dataclass(frozen=True)
class ConsultInfo:
    """One 加签 request: asked on ``parent_task_id`` by ``requested_by``, answered (or not) by
    the asked side's task ``task_id``. ``status``: open, answered, withdrawn, cancelled (its
    task closed by the engine: the asked-on task was closed, the case terminated)."""

    task_id: str
    parent_task_id: str
    instance_id: int
    requested_by: str
    requested_at: datetime
    question: str
    asked_department: str
    asked_user: str | None
    due_days: int | None
    due_at: datetime | None
    status: str
    task_state: str
    task_assignee: str | None
    answer: str | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    agree: bool | None = None
    withdrawn_by: str | None = None
    withdrawn_at: datetime | None = None
    parent_name: str | None = None
    parent_department: str | None = None

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class AskedContext:
    """What the asked side's task page shows: the request, and the asked-on task's name, form
    key and data (read only; None once that task has closed)."""

    consult: ConsultInfo
    parent_name: str | None
    parent_form_key: str | None
    parent_data: dict | None
    business_key: str | None
    title: str | None


def consult_status(row) -> str:
    if row.answered_at is not None:
        return "answered"
    if row.withdrawn_at is not None:
        return "withdrawn"
    if row.task_state in OPEN_STATES:
        return "open"
    return "cancelled"


def consult_info(row, agree: bool | None = None) -> ConsultInfo:
    return ConsultInfo(
        task_id=row.task_id, parent_task_id=row.parent_task_id, instance_id=row.instance_id,
        requested_by=row.requested_by, requested_at=row.requested_at, question=row.question,
        asked_department=row.asked_department, asked_user=row.asked_user,
        due_days=row.due_days, due_at=row.due_at, status=consult_status(row),
        task_state=row.task_state, task_assignee=row.task_assignee, answer=row.answer,
        answered_by=row.answered_by, answered_at=row.answered_at, agree=agree,
        withdrawn_by=row.withdrawn_by, withdrawn_at=row.withdrawn_at,
        parent_name=row.parent_name, parent_department=row.parent_department,
    )


def answer_agreements(conn, task_ids) -> dict[str, bool | None]:
    """Asked task id -> the answer's agree flag (kept in its ``consult_answered`` event)."""
    if not task_ids:
        return {}
    out = {}
    for r in conn.execute(sa.select(event.c.task_id, event.c.data_json).where(
            event.c.task_id.in_(list(task_ids)), event.c.kind == "consult_answered")):
        data = json.loads(r.data_json) if r.data_json else {}
        out[r.task_id] = data.get("agree")
    return out


def consults_on(conn, parent_task_id: str) -> list[ConsultInfo]:
    rows = conn.execute(consult_select().where(consult.c.parent_task_id == parent_task_id)
                        .order_by(consult.c.requested_at, consult.c.asked_user.is_not(None),
                                  consult.c.asked_department, consult.c.asked_user,
                                  consult.c.task_id)).all()
    agree = answer_agreements(conn, [r.task_id for r in rows if r.answered_at is not None])
    return [consult_info(r, agree.get(r.task_id)) for r in rows]


def consult_of(conn, asked_task_id: str):
    """The consult row (with ``CONSULT_COLUMNS``) of an asked task, or None."""
    return conn.execute(consult_select().where(consult.c.task_id == asked_task_id)).first()


def open_consults_on(conn, parent_task_id: str) -> int:
    """How many 加签 requests asked on the task are still waiting for an answer."""
    return conn.execute(sa.select(sa.func.count()).select_from(task).where(
        task.c.parent_task_id == parent_task_id, task.c.state.in_(OPEN_STATES))).scalar_one()


class ConsultQueries:
    def __init__(self, ctx: Context, store: Store):
        self.ctx = ctx
        self.store = store

    def list_opinions(self, task_id: str, actor: Actor) -> list[ConsultInfo]:
        """The 加签 requests asked on the task (oldest first); for an asked task, its own
        request. The actor must be allowed to see the task."""
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            if row.parent_task_id is not None:
                found = consult_of(uow.conn, row.id)
                if found is None:
                    return []
                agree = answer_agreements(uow.conn, [row.id]).get(row.id)
                return [consult_info(found, agree)]
            return consults_on(uow.conn, row.id)

    def asked_context(self, task_id: str, actor: Actor) -> AskedContext | None:
        """For an asked (加签) task the actor may see: the request and the asked-on task's data
        to read; None for any other task."""
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            if row.parent_task_id is None:
                return None
            found = consult_of(uow.conn, row.id)
            if found is None:
                return None
            agree = answer_agreements(uow.conn, [row.id]).get(row.id)
            inst = uow.conn.execute(sa.select(instance.c.business_key, instance.c.title)
                                    .where(instance.c.id == row.instance_id)).one()
        data = None
        if found.parent_state in OPEN_STATES:
            data = self.parent_data(row.instance_id, found.parent_task_id)
        return AskedContext(consult_info(found, agree), found.parent_name,
                            found.parent_form_key, data, inst.business_key, inst.title)

    def parent_data(self, instance_id: int, parent_task_id: str) -> dict | None:
        with self.ctx.uow(readonly=True) as uow:
            head = uow.conn.execute(INSTANCE_HEAD, {"id": instance_id}).first()
            wf = self.store.load_workflow(uow.conn, head)
        try:
            return dict(wf.get_task_from_id(UUID(parent_task_id)).data)
        except (SpiffWorkflowException, ValueError, KeyError):
            return None
        finally:
            self.ctx.live.checkin(instance_id, head.version, wf)

    def waiting_for_department(self, actor: Actor, limit: int = 50) -> list[ConsultInfo]:
        """Open 加签 requests to the actor's department that nobody has claimed yet, oldest
        first (the top of 我的待办)."""
        if actor.department_code is None:
            return []
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(
                consult_select().where(_asked.c.department_code == actor.department_code,
                                       _asked.c.state == "ready",
                                       _asked.c.parent_task_id.is_not(None))
                .order_by(consult.c.requested_at, consult.c.task_id).limit(limit)).all()
        return [consult_info(r) for r in rows]


def is_asked_task(ctx: Context, task_id: str) -> bool:
    """Whether the task is an asked (加签) task (a row's ``parent_task_id`` never changes)."""
    task_id = checked_task_id(task_id)
    with ctx.uow(readonly=True) as uow:
        return uow.conn.execute(sa.select(task.c.parent_task_id).where(
            task.c.id == task_id)).scalar() is not None
