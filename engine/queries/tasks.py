"""Reads of human tasks: the task lists (mine, my department's, done, all) with their filters
and sorts, one task with its data, the stops of its deadline clock, the traffic-light bounds;
and the visibility rule of a task."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .. import routing
from ..checks import MAX_ID, page, text
from ..checks import task_id as checked_task_id
from ..context import Context
from ..deadlines import light_bounds, light_clause
from ..delegations import (  # handover (issue 14)
    active_principals,
    delegated_clause,
    may_view_for_principal,
    principal_of_row,
)
from ..dto import OPEN_STATES, Actor, Page, TaskInfo, TaskPauseInfo
from ..errors import Forbidden, InvalidInput, NotFound
from ..model import instance, task, task_pause
from ..persistence import Store
from ..rows import INSTANCE_HEAD, TASK_BY_ID, TASK_COLUMNS, task_info
from .instances import searched

TASK_STATES = ("ready", "claimed", "completed", "cancelled", "open")


def task_row(conn, task_id: str, actor: Actor, stmt=None):
    """The task row (read with ``stmt``, default ``rows.TASK_BY_ID``): NotFound, or Forbidden
    when the actor may not see its department's tasks."""
    task_id = checked_task_id(task_id)
    row = conn.execute(stmt if stmt is not None else TASK_BY_ID, {"id": task_id}).first()
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if not routing.can_view_task(actor, row.department_code):
        # >>> handover: a stand-in sees the principal's department's tasks during the 委托
        if may_view_for_principal(conn, actor, row.department_code):
            return row
        # <<< handover
        raise Forbidden("无权查看其他部门的任务")
    return row


def task_order(scope: str, sort: str | None) -> list:
    if sort in (None, ""):
        # >>> handover: tasks handed to me (转办) come first in 我的待办, newest hand-over first
        if scope == "mine":
            # handed to me: the hand-over is this claim (a later claim from the queue is not)
            handed = sa.case((task.c.handed_at >= task.c.claimed_at, task.c.handed_at))
            return [handed.is_(None), handed.desc(), task.c.created_at.desc()]
        # <<< handover
        return [task.c.completed_at.desc() if scope == "done" else task.c.created_at.desc()]
    orders = {
        "created": [task.c.created_at.asc()],
        "-created": [task.c.created_at.desc()],
        # Tasks without a deadline sort after every dated one either way.
        "due": [task.c.due_at.is_(None), task.c.due_at.asc()],
        "-due": [task.c.due_at.is_(None), task.c.due_at.desc()],
        "completed": [task.c.completed_at.asc()],
        "-completed": [task.c.completed_at.desc()],
    }
    if sort not in orders:
        raise InvalidInput("sort 只能是 created、-created、due、-due、completed 或 -completed")
    return orders[sort]


class Tasks:
    def __init__(self, ctx: Context, store: Store):
        self.ctx = ctx
        self.store = store

    def list_tasks(
        self,
        actor: Actor,
        *,
        scope: str = "department",
        state: str | None = None,
        process_key: str | None = None,
        instance_id: int | None = None,
        stage: str | None = None,
        light: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
        count_only: bool = False,
    ) -> Page:
        """Task rows: ``mine`` (assigned to me), ``department`` (my department's),
        ``done`` (completed by me), ``all`` (supervisors, leaders, admins).

        Filters: ``stage``; ``light`` red (overdue) / yellow (due within one working day) /
        green (on time or no deadline); ``q`` a text in the case's title or business key.
        ``sort``: ``created`` / ``-created`` / ``due`` / ``-due`` (default: newest first).
        ``count_only``: only the total (a page without items)."""
        limit, offset = page(limit, offset)
        where = []
        if scope == "mine":
            where.append(task.c.assignee == actor.username)
        elif scope == "department":
            where.append(task.c.department_code == actor.department_code)
        elif scope == "done":
            where.append(task.c.completed_by == actor.username)
        elif scope == "all":
            if not actor.reads_all:
                raise Forbidden("无权查看全部任务")
        # >>> handover: 代办 — open tasks of the users the actor stands in for today
        elif scope == "delegated":
            with self.ctx.uow(readonly=True) as uow:
                principals = active_principals(uow.conn, actor.username)
            where.append(delegated_clause(principals, actor))
            where.append(task.c.assignee.is_distinct_from(actor.username))
        # <<< handover
        else:
            raise InvalidInput("scope 只能是 mine、department、done、delegated 或 all")
        if state:
            if state not in TASK_STATES:
                raise InvalidInput("state 只能是 ready、claimed、completed、cancelled 或 open")
            where.append(task.c.state.in_(OPEN_STATES) if state == "open" else task.c.state == state)
        elif scope in ("mine", "department", "delegated"):
            where.append(task.c.state.in_(OPEN_STATES))
        if process_key:
            text(process_key, "process_key", 200)
            where.append(task.c.process_key == process_key)
        if instance_id is not None:
            if isinstance(instance_id, bool) or not isinstance(instance_id, int):
                raise InvalidInput("instance_id 必须是整数")
            if not 1 <= instance_id <= MAX_ID:
                return Page((), 0, limit, offset)
            where.append(task.c.instance_id == instance_id)
        if stage:
            text(stage, "stage", 200)
            where.append(task.c.stage == stage)
        if light:
            where.append(light_clause(self.ctx, light))
        if q:
            text(q, "q", 200)
        order = [*task_order(scope, sort), task.c.id]
        # The page's ids first (filtered, sorted and cut on the task table, from its indexes
        # where they cover the filters), then the rows and their case's title for those ids
        # only: a sort over thousands of tasks never joins thousands of instance rows.
        with self.ctx.uow(readonly=True) as uow:
            if q:
                # A semi-join, not a join: counting and sorting stay on the task table's indexes.
                where.append(searched(uow.conn, q, task.c.instance_id, sa.select(
                    sa.func.count()).select_from(task).where(*where)))
            page_ids = (sa.select(task.c.id).where(*where).order_by(*order).limit(limit)
                        .offset(offset).correlate(None))
            stmt = (
                sa.select(*TASK_COLUMNS, instance.c.business_key, instance.c.title)
                .join(instance, instance.c.id == task.c.instance_id)
                .where(task.c.id.in_(page_ids))
                .order_by(*order)
            )
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(task).where(*where)
            ).scalar_one()
            if count_only:
                return Page((), total, limit, offset)
            rows = uow.conn.execute(stmt).all() if total > offset else []
        items = tuple(task_info(r) for r in rows)
        # >>> handover: a delegated row names the principal it is worked for
        if scope == "delegated":
            items = tuple(replace(t, on_behalf_of=principal_of_row(
                principals, t.assignee, t.department_code, t.candidate_role)) for t in items)
        # <<< handover
        return Page(items, total, limit, offset)

    def light_bounds(self) -> tuple[datetime, datetime]:
        """(now, end of the next working day's window): a task due before ``now`` is red,
        before the second bound yellow, else green (``deadlines.traffic_light``)."""
        return light_bounds(self.ctx)

    def get_task(self, task_id: str, actor: Actor, with_data: bool = True) -> TaskInfo:
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            inst = uow.conn.execute(
                sa.select(instance.c.business_key, instance.c.title).where(
                    instance.c.id == row.instance_id
                )
            ).one()
        data = None
        if with_data and row.state in OPEN_STATES:
            data = self.task_data(row.instance_id, task_id)
        return task_info(row, business_key=inst.business_key, title=inst.title, data=data)

    def task_data(self, instance_id: int, task_id: str) -> dict | None:
        """The data of an open task, from its workflow (None when it is not there)."""
        with self.ctx.uow(readonly=True) as uow:
            head = uow.conn.execute(INSTANCE_HEAD, {"id": instance_id}).first()
            wf = self.store.load_workflow(uow.conn, head)
        try:
            stask = wf.get_task_from_id(UUID(task_id))
            return dict(stask.data)
        except (SpiffWorkflowException, ValueError, KeyError):
            return None
        finally:
            self.ctx.live.checkin(instance_id, head.version, wf)

    def list_task_pauses(self, task_id: str, actor: Actor) -> list[TaskPauseInfo]:
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            rows = uow.conn.execute(sa.select(task_pause).where(task_pause.c.task_id == row.id)
                                    .order_by(task_pause.c.id))
            return [TaskPauseInfo(**r._mapping) for r in rows]
