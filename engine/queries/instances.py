"""Reads of instances: one case with its open tasks (and its data), the case list, the audit
log, incidents; and the visibility rule of a case."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..checks import instance_id as checked_instance_id
from ..checks import like_pattern, page, text
from ..context import Context
from ..dto import OPEN_STATES, Actor, EventInfo, IncidentInfo, InstanceInfo, Page
from ..errors import Forbidden, InvalidInput, NotFound
from ..model import definition, event, instance, task
from ..model import incident as incident_table
from ..persistence import Store
from ..persistence.store import case_data
from ..rows import INSTANCE_HEAD, TASK_COLUMNS, instance_info, task_info
from .repair import incident_details

MAX_INCIDENTS = 500
_INSTANCE_COLUMNS = [c for c in instance.c if c.name != "state_json"]


def instance_head(conn, iid: int):
    """The instance's head row (``rows.INSTANCE_HEAD``); NotFound when there is none."""
    head = conn.execute(INSTANCE_HEAD, {"id": iid}).first()
    if head is None:
        raise NotFound(f"流程实例 {iid} 不存在")
    return head


def check_instance_access(conn, iid: int, actor: Actor) -> None:
    """NotFound, or Forbidden unless the actor reads everything, started the case, or their
    department has (had) a task in it."""
    head = conn.execute(
        sa.select(instance.c.id, instance.c.started_by).where(instance.c.id == iid)
    ).first()
    if head is None:
        raise NotFound(f"流程实例 {iid} 不存在")
    if actor.reads_all or head.started_by == actor.username:
        return
    touched = conn.execute(
        sa.select(task.c.id)
        .where(task.c.instance_id == iid, task.c.department_code == actor.department_code)
        .limit(1)
    ).first()
    if touched is None:
        raise Forbidden("无权查看该流程实例")


def read_instance(conn, iid: int) -> InstanceInfo:
    """The instance with its open tasks (no data); NotFound when there is none."""
    row = conn.execute(
        sa.select(*_INSTANCE_COLUMNS, definition.c.version.label("def_version"))
        .join(definition, definition.c.id == instance.c.definition_id)
        .where(instance.c.id == iid)
    ).first()
    if row is None:
        raise NotFound(f"流程实例 {iid} 不存在")
    tasks = conn.execute(
        sa.select(*TASK_COLUMNS)
        .where(task.c.instance_id == iid, task.c.state.in_(OPEN_STATES))
        .order_by(task.c.created_at, task.c.id)
    ).all()
    return instance_info(
        row, tuple(task_info(t, business_key=row.business_key, title=row.title) for t in tasks)
    )


def matching_instances(q: str, dialect: str):
    """Ids of the instances whose title or business key contains ``q`` (a subquery).

    Read from the index on (title, business_key) where the database can: the instance rows
    carry the serialized state, so scanning them costs far more than scanning the index."""
    return sa.select(instance.c.id).where(title_or_key_like(q, dialect)).correlate(None)


def title_or_key_like(q: str, dialect: str):
    """The instance row's title or business key contains ``q``, ASCII letters in either case
    on both databases (SQLite's LIKE ignores their case; PostgreSQL's ILIKE does so too)."""
    pattern = like_pattern(q)
    # ESCAPE only when there is something to escape: SQLite matches a LIKE with an ESCAPE
    # clause at half the speed, and a search scans the title index of every case.
    escape = "\\" if any(c in q for c in "%_\\") else None
    if dialect == "postgresql":
        return sa.or_(instance.c.title.ilike(pattern, escape=escape),
                      instance.c.business_key.ilike(pattern, escape=escape))
    return sa.or_(instance.c.title.like(pattern, escape=escape),
                  instance.c.business_key.like(pattern, escape=escape))


# A text search over a list narrowed by its other filters to at most this many rows checks
# those rows' cases one by one (by primary key); a wider list scans the (title, business_key)
# index once instead. At 100,000 cases the scan costs as much as ~10,000 lookups: a clerk's
# open tasks are a few hundred, the district's history is the whole table.
PER_ROW_SEARCH_LIMIT = 5000


def searched(conn, q: str, column, narrowed) -> sa.ColumnElement:
    """The filter "the case of ``column`` (an instance id column) matches ``q``", chosen by
    the size of the list without it: ``narrowed`` is a count of that list (a select)."""
    dialect = conn.dialect.name
    if conn.execute(narrowed).scalar_one() > PER_ROW_SEARCH_LIMIT:
        # The list's count and its page would each scan again: scan once, pass the ids on.
        ids = conn.execute(matching_instances(q, dialect)).scalars().all()
        return id_among(column, ids, dialect)
    if column is instance.c.id:
        return title_or_key_like(q, dialect)
    return sa.exists().where(instance.c.id == column, title_or_key_like(q, dialect)).correlate(
        column.table)


def id_among(column, ids: list[int], dialect: str) -> sa.ColumnElement:
    """``column`` is one of ``ids``, however many: one parameter, a JSON array on SQLite
    (``json_each``; no limit on host parameters), an integer array on PostgreSQL."""
    if dialect == "postgresql":
        return column == sa.any_(sa.literal(list(ids), type_=postgresql.ARRAY(sa.Integer)))
    listed = sa.func.json_each(sa.literal(json.dumps(list(ids)))).table_valued("value")
    return column.in_(sa.select(listed.c.value))


class Instances:
    def __init__(self, ctx: Context, store: Store):
        self.ctx = ctx
        self.store = store

    def get_instance(self, instance_id: int, actor: Actor, with_data: bool = False
                     ) -> InstanceInfo:
        instance_id = checked_instance_id(instance_id)
        with self.ctx.uow(readonly=True) as uow:
            check_instance_access(uow.conn, instance_id, actor)
            info = read_instance(uow.conn, instance_id)
        if with_data:
            data = self.instance_data(instance_id)
            info = InstanceInfo(**{**info.__dict__, "data": data})
        return info

    def instance_data(self, instance_id: int) -> dict:
        """The case's data: the workflow's when it has completed, else its last task's."""
        with self.ctx.uow(readonly=True) as uow:
            head = uow.conn.execute(INSTANCE_HEAD, {"id": instance_id}).first()
            wf = self.store.load_workflow(uow.conn, head)
        self.ctx.live.checkin(instance_id, head.version, wf)
        return dict(case_data(wf))

    def list_instances(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        process_key: str | None = None,
        business_key: str | None = None,
        started_by: str | None = None,
        stage: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
        count_only: bool = False,
        version: int | None = None,
        department: str | None = None,
        business_key_contains: str | None = None,
    ) -> Page:
        """Instances the actor may see: all for supervisors/leaders/admins, else those their
        department has tasks in or that they started. ``q``: text in title or business key.
        ``count_only``: only the total (a page without items). ``version``: of the definition
        (with ``process_key``); ``department``: code of an open task's department;
        ``business_key_contains``: text in the business key."""
        limit, offset = page(limit, offset)
        for name, value, max_len in (("status", status, 16), ("process_key", process_key, 200),
                                     ("business_key", business_key, 200),
                                     ("started_by", started_by, 64)):
            text(value, name, max_len)
        where = []
        if status:
            where.append(instance.c.status == status)
        if process_key:
            where.append(instance.c.process_key == process_key)
        if business_key:
            where.append(instance.c.business_key == business_key)
        if started_by:
            where.append(instance.c.started_by == started_by)
        if stage:
            text(stage, "stage", 200)
            where.append(instance.c.stage == stage)
        if q:
            text(q, "q", 200)
        where.extend(admin_filters(version, department, business_key_contains))
        # Own cases are visible anyway: "started by me" needs no department check (which would
        # cost a pass over the instance table).
        if not actor.reads_all and started_by != actor.username:
            touched = sa.select(task.c.instance_id).where(
                task.c.department_code == actor.department_code
            )
            where.append(
                sa.or_(instance.c.id.in_(touched), instance.c.started_by == actor.username)
            )
        stmt = sa.select(*_INSTANCE_COLUMNS, definition.c.version.label("def_version")).join(
            definition, definition.c.id == instance.c.definition_id
        )
        with self.ctx.uow(readonly=True) as uow:
            if q:
                where.append(searched(uow.conn, q, instance.c.id, sa.select(
                    sa.func.count()).select_from(instance).where(*where)))
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(instance).where(*where)
            ).scalar_one()
            if count_only:
                return Page((), total, limit, offset)
            rows = uow.conn.execute(
                stmt.where(*where).order_by(instance.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return Page(tuple(instance_info(r) for r in rows), total, limit, offset)

    def list_events(self, instance_id: int, actor: Actor) -> list[EventInfo]:
        instance_id = checked_instance_id(instance_id)
        with self.ctx.uow(readonly=True) as uow:
            check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(event).where(event.c.instance_id == instance_id).order_by(event.c.id)
            )
            return [
                EventInfo(r.id, r.instance_id, r.task_id, r.actor, r.kind, r.at,
                          json.loads(r.data_json) if r.data_json else None)
                for r in rows
            ]

    def list_incidents(self, actor: Actor, *, instance_id: int | None = None,
                       open_only: bool = True) -> list[IncidentInfo]:
        """Incidents (newest first) for process admins, supervisors and leaders."""
        if not actor.reads_all:
            raise Forbidden("无权查看故障列表")
        stmt = sa.select(incident_table, instance.c.process_key, instance.c.business_key).join(
            instance, instance.c.id == incident_table.c.instance_id)
        # area 5 (repair): the element, the version, the failing task's data
        stmt = stmt.add_columns(
            instance.c.title, instance.c.status, instance.c.definition_id,
            definition.c.version.label("definition_version"),
        ).join(definition, definition.c.id == instance.c.definition_id)
        if instance_id is not None:
            stmt = stmt.where(incident_table.c.instance_id == checked_instance_id(instance_id))
        if open_only:
            stmt = stmt.where(incident_table.c.resolved_at.is_(None))
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(stmt.order_by(incident_table.c.id.desc())
                                    .limit(MAX_INCIDENTS)).all()
            out = []
            workflows: dict = {}  # each parked case loaded once, however many incidents it has
            for r in rows:
                fields = {k: v for k, v in r._mapping.items()
                          if k not in ("status", "definition_id")}
                fields.update(incident_details(self.ctx, self.store, uow.conn, r, workflows))
                out.append(IncidentInfo(**fields))
            return out

    def next_timer_due(self) -> datetime | None:
        """When the earliest timer of a running instance falls due (naive UTC); None when no
        running instance waits for one."""
        with self.ctx.uow(readonly=True) as uow:
            return uow.conn.execute(
                sa.select(sa.func.min(instance.c.next_due_at))
                .where(instance.c.status == "running", instance.c.next_due_at.is_not(None))
            ).scalar_one()

    def count_by_stage(self, process_key: str) -> dict[str | None, int]:
        """How many instances of ``process_key`` stand at each stage, whatever their status
        (the key None: instances that never reached a task with a stage)."""
        text(process_key, "process_key", 200, required=True)
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(
                sa.select(instance.c.stage, sa.func.count())
                .where(instance.c.process_key == process_key)
                .group_by(instance.c.stage)
            ).all()
        return {stage: count for stage, count in rows}


# ---------------------------------------------------------------- area 4: migration filters

MAX_SELECTED = 5000  # "all matching" selects at most this many instances; more is refused


def admin_filters(version=None, department=None, business_key_contains=None) -> list:
    """Where clauses of the admin's instance filters: definition version, department of an
    open task, text in the business key."""
    where = []
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput("version 必须是正整数")
        where.append(instance.c.definition_id.in_(
            sa.select(definition.c.id).where(definition.c.version == version)))
    if department:
        text(department, "department", 64)
        where.append(instance.c.id.in_(
            sa.select(task.c.instance_id).where(task.c.department_code == department,
                                                task.c.state.in_(OPEN_STATES))))
    if business_key_contains:
        text(business_key_contains, "business_key", 200)
        where.append(instance.c.business_key.like(like_pattern(business_key_contains),
                                                  escape="\\"))
    return where


def select_instance_ids(ctx: Context, actor: Actor, *, process_key=None, version=None,
                        status=None, stage=None, department=None,
                        business_key_contains=None, limit: int | None = None) -> list[int]:
    """Ids of every instance matching the admin's filters ("all matching"), oldest first;
    process admins only. A filter matching more than ``limit`` (default ``MAX_SELECTED``)
    instances is refused (InvalidInput naming the count): acting on the first ``limit`` only
    would leave the rest silently untouched."""
    if not actor.is_admin:
        raise Forbidden("只有流程管理员可以批量选择流程实例")
    limit = MAX_SELECTED if limit is None else limit
    for name, value, max_len in (("process", process_key, 200), ("status", status, 16),
                                 ("stage", stage, 200)):
        text(value, name, max_len)
    where = admin_filters(version, department, business_key_contains)
    if process_key:
        where.append(instance.c.process_key == process_key)
    if status:
        where.append(instance.c.status == status)
    if stage:
        where.append(instance.c.stage == stage)
    with ctx.uow(readonly=True) as uow:
        ids = list(uow.conn.execute(sa.select(instance.c.id).where(*where)
                                    .order_by(instance.c.id).limit(limit + 1)).scalars())
        if len(ids) > limit:
            matched = uow.conn.execute(
                sa.select(sa.func.count()).select_from(instance).where(*where)).scalar_one()
            raise InvalidInput(
                f"符合筛选条件的实例有 {matched} 个，超过一次最多处理的 {limit} 个；"
                "请缩小筛选范围（如按版本、状态、阶段、部门或业务编号）后重试",
                {"matched": matched, "max": limit})
        return ids
