"""部门办理 (departments page): open and overdue work per department, how long each task type
takes, on-time rates by month and a ranking; a department's open tasks.

Open and overdue counts are one GROUP BY over the engine's ``task`` rows read from the index
``ix_task_department_state_due`` (department, state, due time); everything about completed work
comes from the histogram ``dash_task_stat`` (per process, element, department, month and working
days taken), whose rows number in the thousands however many tasks were completed. Medians and
80th percentiles are read off the histogram's cumulative counts: the first bucket (working days)
at which the running count reaches half (80 %) of the total.

The scope is given as ``departments``: None for everything, else the codes the viewer may see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from engine import OPEN_STATES, READ_TABLES, DepartmentInfo, Engine, NotFound, local_day, utcnow

from .tables import dash_task_stat

DEFAULT_MONTHS = 12
MAX_MONTHS = 36
PAGE_SIZE = 50
GROUPS = ("区直部门", "街镇")

# The engine's read-model tables (``engine.READ_TABLES``), read only.
task_rows = READ_TABLES.task
# (select id, key, version and name only: a definition row carries the diagram's XML)
definition_rows = READ_TABLES.definition
instance_rows = READ_TABLES.instance


# ------------------------------------------------------------------ shared with the heatmap


def month_window(months: int, today: date) -> tuple[str, ...]:
    """The last ``months`` months up to and including ``today``'s, oldest first (YYYY-MM)."""
    index = today.year * 12 + today.month - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1))


def bucket_percentile(buckets, percent: int) -> int | None:
    """The working days at which the cumulative count first reaches ``percent`` % of the total
    (``buckets``: (days, count) pairs, any order); None when there is nothing counted."""
    pairs = sorted((days, count) for days, count in buckets if count)
    total = sum(count for _, count in pairs)
    if not total:
        return None
    running = 0
    for days, count in pairs:
        running += count
        if running * 100 >= total * percent:
            return days
    return pairs[-1][0]  # unreachable: the running count ends at the total


@dataclass(frozen=True)
class NewestDefinition:
    id: int
    key: str
    version: int
    name: str


def newest_definitions(conn, keys=None) -> dict[str, NewestDefinition]:
    """Process key -> its newest deployed version (of ``keys``, or of every process)."""
    d = definition_rows.c
    newest = sa.select(d.key, sa.func.max(d.version).label("version")).group_by(d.key)
    if keys is not None:
        newest = newest.where(d.key.in_(sorted(keys)))
    newest = newest.subquery()
    rows = conn.execute(
        sa.select(d.id, d.key, d.version, d.name)
        .join(newest, (d.key == newest.c.key) & (d.version == newest.c.version))
        .order_by(d.key)
    )
    return {r.key: NewestDefinition(r.id, r.key, r.version, r.name or r.key) for r in rows}


def task_names(engine: Engine, definitions) -> dict[str, tuple[str, dict[str, str]]]:
    """Process key -> (process name, element id -> task name) of the given newest definitions
    (the engine caches parsed definitions, so each diagram is parsed once per version)."""
    names = {}
    for definition in definitions:
        tasks = engine.spec(definition.id).parsed.tasks
        names[definition.key] = (
            definition.name,
            {element_id: info.name or element_id for element_id, info in tasks.items()},
        )
    return names


def group_of(department: DepartmentInfo) -> str:
    return GROUPS[1] if department.kind.startswith("street") else GROUPS[0]


def in_scope(column, departments):
    return sa.true() if departments is None else column.in_(sorted(departments))


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class TaskType:
    """One task type (process + element) of one department over the period."""

    process_key: str
    process_name: str
    element_id: str
    name: str
    department_code: str
    count: int
    median_days: int | None
    p80_days: int | None


@dataclass(frozen=True)
class MonthRate:
    month: str  # YYYY-MM
    on_time: int
    with_due: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.with_due if self.with_due else None


@dataclass(frozen=True)
class DepartmentFigures:
    code: str
    name: str
    group: str  # 区直部门 / 街镇
    open_tasks: int
    overdue_tasks: int
    completed: int  # in the period
    on_time: int
    with_due: int
    months: tuple[MonthRate, ...]
    rank: int | None = None  # None: no open or completed work to rank

    @property
    def rate(self) -> float | None:
        return self.on_time / self.with_due if self.with_due else None


@dataclass(frozen=True)
class DepartmentOverview:
    months: tuple[str, ...]
    departments: tuple[DepartmentFigures, ...]  # 区直部门 then 街镇, most overdue first
    ranking: tuple[DepartmentFigures, ...]  # ranked departments, rank 1 first
    task_types: tuple[TaskType, ...]  # slowest median first


@dataclass(frozen=True)
class OpenTask:
    id: str
    name: str
    instance_id: int
    case_title: str | None
    business_key: str | None
    assignee: str | None
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    days_overdue: int  # working days after the due day (0: due today or a rest day since)


@dataclass(frozen=True)
class DepartmentDetail:
    department: DepartmentFigures
    tasks: tuple[OpenTask, ...]
    total: int  # open tasks listed (all or only the overdue ones)
    page: int
    page_size: int
    task_types: tuple[TaskType, ...]


RANKING_RULE = (
    "排名先按逾期未办结任务数从多到少，数量相同时按统计期内按时办结率从低到高，"
    "第 1 名即最需关注的部门；统计期内既无在办也无办结任务的部门不参加排名。"
)


def open_counts(conn, departments, now: datetime) -> dict[str, tuple[int, int]]:
    """Department code -> (open tasks, of them overdue): one GROUP BY over the index
    (department_code, state, due_at)."""
    t = task_rows.c
    overdue = sa.func.sum(sa.case((t.due_at < now, 1), else_=0))
    stmt = (
        sa.select(t.department_code, sa.func.count(), overdue)
        .where(t.department_code.in_(sorted(departments)), t.state.in_(OPEN_STATES))
        .group_by(t.department_code)
    )
    return {code: (n, int(late or 0)) for code, n, late in conn.execute(stmt)}


def month_rates(conn, departments, months) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Department code -> month -> (completed, of those with a due time on time, with a due
    time): the rate is taken over the tasks that had a due time."""
    s = dash_task_stat.c
    stmt = (
        sa.select(s.department_code, s.month, sa.func.sum(s.count),
                  sa.func.sum(s.on_time), sa.func.sum(s.with_due))
        .where(s.month >= months[0], s.month <= months[-1], in_scope(s.department_code, departments))
        .group_by(s.department_code, s.month)
    )
    out: dict = defaultdict(dict)
    for code, month, count, on_time, with_due in conn.execute(stmt):
        out[code][month] = (int(count or 0), int(on_time or 0), int(with_due or 0))
    return out


def task_types(conn, engine: Engine, departments, months) -> list[TaskType]:
    """Every task type of each department completed in the period, slowest median first."""
    s = dash_task_stat.c
    stmt = (
        sa.select(s.department_code, s.process_key, s.element_id, s.days, sa.func.sum(s.count))
        .where(s.month >= months[0], s.month <= months[-1], in_scope(s.department_code, departments))
        .group_by(s.department_code, s.process_key, s.element_id, s.days)
    )
    buckets: dict = defaultdict(list)
    for code, key, element_id, days, count in conn.execute(stmt):
        buckets[(code, key, element_id)].append((days, int(count or 0)))
    names = task_names(engine, newest_definitions(conn, {key for _, key, _ in buckets}).values())
    types = []
    for (code, key, element_id), pairs in buckets.items():
        process_name, elements = names.get(key, (key, {}))
        types.append(TaskType(
            process_key=key, process_name=process_name, element_id=element_id,
            name=elements.get(element_id, element_id), department_code=code,
            count=sum(c for _, c in pairs), median_days=bucket_percentile(pairs, 50),
            p80_days=bucket_percentile(pairs, 80),
        ))
    types.sort(key=lambda t: (-(t.median_days or 0), -t.count, t.process_key, t.element_id))
    return types


def _rank(figures: list[DepartmentFigures]) -> list[DepartmentFigures]:
    ranked = [f for f in figures if f.open_tasks or f.completed]
    ranked.sort(key=lambda f: (-f.overdue_tasks, 2.0 if f.rate is None else f.rate, f.code))
    return [
        DepartmentFigures(**{**f.__dict__, "rank": i}) for i, f in enumerate(ranked, start=1)
    ]


def _visible(engine: Engine, departments) -> list[DepartmentInfo]:
    shown = [d for d in engine.list_departments()
             if departments is None or d.code in departments]
    # 区直部门 first, then 街镇, each in the org chart's order
    return sorted(shown, key=lambda d: GROUPS.index(group_of(d)))


def _figures(conn, visible, months, now) -> list[DepartmentFigures]:
    codes = {d.code for d in visible}
    counts = open_counts(conn, codes, now)
    rates = month_rates(conn, codes, months)
    figures = []
    for d in visible:
        by_month = rates.get(d.code, {})
        totals = [sum(v[i] for v in by_month.values()) for i in range(3)]
        figures.append(DepartmentFigures(
            code=d.code, name=d.name, group=group_of(d),
            open_tasks=counts.get(d.code, (0, 0))[0], overdue_tasks=counts.get(d.code, (0, 0))[1],
            completed=totals[0], on_time=totals[1], with_due=totals[2],
            months=tuple(MonthRate(m, *by_month.get(m, (0, 0, 0))[1:]) for m in months),
        ))
    return figures


def department_overview(engine: Engine, departments=None, *, months: int = DEFAULT_MONTHS,
                        now: datetime | None = None) -> DepartmentOverview:
    """Figures of every department in scope over the last ``months`` months."""
    now = now or utcnow()
    window = month_window(months, local_day(now))
    visible = _visible(engine, departments)
    with engine.unit_of_work(readonly=True) as uow:
        figures = _figures(uow.conn, visible, window, now)
        types = task_types(uow.conn, engine, {d.code for d in visible}, window)
    ranking = _rank(figures)
    ranks = {f.code: f.rank for f in ranking}
    figures = [DepartmentFigures(**{**f.__dict__, "rank": ranks.get(f.code)}) for f in figures]
    # in each group the departments with most overdue (then open) work first
    figures.sort(key=lambda f: (GROUPS.index(f.group), -f.overdue_tasks, -f.open_tasks))
    return DepartmentOverview(months=window, departments=tuple(figures),
                              ranking=tuple(ranking), task_types=tuple(types))


def department_detail(engine: Engine, code: str, *, months: int = DEFAULT_MONTHS, page: int = 1,
                      overdue_only: bool = False, page_size: int = PAGE_SIZE,
                      now: datetime | None = None) -> DepartmentDetail:
    """One department's figures, its open (or only its overdue) tasks a page at a time, soonest
    due first, and its task types. The caller checks that the viewer may see ``code``."""
    now = now or utcnow()
    department = next((d for d in engine.list_departments() if d.code == code), None)
    if department is None:
        raise NotFound(f"没有部门 {code}")
    window = month_window(months, local_day(now))
    t, i = task_rows.c, instance_rows.c
    where = [t.department_code == code, t.state.in_(OPEN_STATES)]
    if overdue_only:
        where.append(t.due_at < now)
    with engine.unit_of_work(readonly=True) as uow:
        conn = uow.conn
        figures = _figures(conn, [department], window, now)[0]
        total = conn.execute(sa.select(sa.func.count()).select_from(task_rows).where(*where)).scalar()
        rows = conn.execute(
            sa.select(t.id, t.name, t.element_id, t.instance_id, i.title, i.business_key,
                      t.assignee, t.created_at, t.due_at)
            .select_from(task_rows.join(instance_rows, i.id == t.instance_id))
            .where(*where)
            .order_by(t.due_at.is_(None), t.due_at, t.created_at, t.id)
            .limit(page_size).offset((page - 1) * page_size)
        ).all()
        types = task_types(conn, engine, {code}, window)
    calendar = engine.calendar.current()
    today = local_day(now)
    tasks = tuple(
        OpenTask(
            id=r.id, name=r.name or r.element_id, instance_id=r.instance_id, case_title=r.title,
            business_key=r.business_key, assignee=r.assignee, created_at=r.created_at,
            due_at=r.due_at, overdue=r.due_at is not None and r.due_at < now,
            days_overdue=(max(0, calendar.working_days_between(local_day(r.due_at), today))
                          if r.due_at is not None and r.due_at < now else 0),
        )
        for r in rows
    )
    return DepartmentDetail(department=figures, tasks=tasks, total=int(total or 0), page=page,
                            page_size=page_size, task_types=tuple(types))
