"""The project list and one project's page of the 驾驶舱: filters shared with the overview, the
list (50 a page), and a project's stages, dates, open steps, linked cases, forecast and clock.

Reads ``dash_project`` / ``dash_stage_span`` / ``dash_case_link`` and the engine's indexed
``instance``, ``task`` and ``task_pause`` rows (``engine.READ_TABLES``, read only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from engine import READ_TABLES, Forbidden, InvalidInput, NotFound, local_day, utcnow
from workflows.lifecycle import PHASES, STAGES, stage

from . import forecast
from .clock import project_clocks, task_rows
from .tables import dash_case_link, dash_project, dash_stage_span

instance_rows = READ_TABLES.instance
PAGE_SIZE = 50
OPEN_TASK_STATES = ("ready", "claimed")
LIGHTS = ("red", "yellow", "green")
LATE_KINDS = {"start": "逾期未开工", "production": "逾期未投产", "forecast": "预测投产晚于约定"}
STATUS_CHOICES = {"": "在办及已办结", "terminated": "已终止", "all": "全部"}
SORTS = {
    "-updated": (dash_project.c.updated_at.desc(),),
    "updated": (dash_project.c.updated_at.asc(),),
    "stage": (dash_project.c.stage_number.asc(),),
    "-stage": (dash_project.c.stage_number.desc(),),
    "light": (sa.case({"red": 0, "yellow": 1, "green": 2}, value=dash_project.c.light, else_=3),),
    "-light": (sa.case({"red": 0, "yellow": 1, "green": 2}, value=dash_project.c.light,
                       else_=3).desc(),),
}
# 开工 happens on entering 开工建设, 投产 on entering 投产 (workflows/lifecycle.py)
START_STAGE = 9
PRODUCTION_STAGE = forecast.PRODUCTION_STAGE
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Period:
    """Projects registered (started_at, China days) from ``first`` to ``last`` inclusive."""

    first: date
    last: date
    label: str


@dataclass(frozen=True)
class ProjectFilter:
    phase: str | None = None
    stage_number: int | None = None
    light: str | None = None
    street: str | None = None
    lead: str | None = None
    leader: str | None = None
    key: bool = False
    late: str | None = None  # start / production / forecast
    period: Period | None = None
    status: str = ""  # "" running or completed; terminated; all
    mine_stage: str | None = None  # has a linked 非煤矿山 case standing in this stage
    args: dict = field(default_factory=dict, compare=False)  # the query as given (links)

    def with_(self, **changes) -> dict:
        """The query parameters of this filter with ``changes`` (None removes one)."""
        args = dict(self.args)
        for k, v in changes.items():
            if v is None or v == "":
                args.pop(k, None)
            else:
                args[k] = v
        return args


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message)


def _day(value: str, label: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _bad(f"{label}“{value[:20]}”不是日期（应为 2026-03-06 这样的格式）") from None
    if not 1900 <= day.year <= 9999:  # year 1 would overflow on the shift to UTC
        raise _bad(f"{label}“{value[:20]}”超出范围")
    return day


def parse_period(args, today: date) -> Period | None:
    """``period``: empty (all), ``year`` (this year), ``YYYY``, ``YYYY-MM``; or ``from`` / ``to``
    dates (either may be left open)."""
    first, last = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    value = (args.get("period") or "").strip()
    if first or last:
        a = _day(first, "起始日期") if first else date(1900, 1, 1)
        b = _day(last, "截止日期") if last else date(9999, 12, 31)
        if b < a:
            raise _bad("截止日期早于起始日期")
        label = f"{_cn(a) if first else '…'} 至 {_cn(b) if last else '今'}"
        return Period(a, b, label)
    if not value:
        return None
    if value == "year":
        value = str(today.year)
    if _YEAR.match(value):
        y = int(value)
        if not 1900 <= y <= 9999:
            raise _bad(f"年份“{value}”超出范围")
        return Period(date(y, 1, 1), date(y, 12, 31), f"{y}年")
    m = _MONTH.match(value)
    if m and 1 <= int(m.group(2)) <= 12 and 1900 <= int(m.group(1)) <= 9999:
        y, mo = int(m.group(1)), int(m.group(2))
        nxt = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        return Period(date(y, mo, 1), nxt - timedelta(days=1), f"{y}年{mo}月")
    raise _bad(f"期间“{value[:20]}”无法识别（可选：本年、某年 2026、某月 2026-03，或起止日期）")


def parse_filter(args, today: date, departments=None) -> ProjectFilter:
    """The list's and overview's filters from query parameters (``args``: a mapping of str);
    a value that is not one of the allowed ones raises ``InvalidInput`` (422)."""
    kept = {k: str(v) for k, v in args.items()
            if k in ("phase", "stage", "light", "street", "lead", "leader", "key", "late",
                     "period", "from", "to", "status", "mine_stage") and str(v).strip()}
    phase = kept.get("phase")
    if phase and phase not in PHASES:
        raise _bad(f"阶段分组“{phase[:20]}”不存在（{'、'.join(PHASES)}）")
    stage_number = None
    if kept.get("stage"):
        raw = kept["stage"].strip()
        found = stage(raw) or (STAGES[int(raw) - 1] if raw.isdigit() and 1 <= int(raw) <= 13
                               else None)
        if found is None:
            raise _bad(f"阶段“{raw[:20]}”不是项目全生命周期的 13 个阶段之一")
        stage_number = found.number
    light = kept.get("light")
    if light and light not in LIGHTS:
        raise _bad("灯色只能是 red、yellow 或 green")
    late = kept.get("late")
    if late and late not in LATE_KINDS:
        raise _bad("逾期类型只能是 start（未开工）、production（未投产）或 forecast（预测）")
    status = kept.get("status", "")
    if status not in STATUS_CHOICES:
        raise _bad("状态只能是 terminated 或 all")
    key = kept.get("key")
    if key and key not in ("1", "0"):
        raise _bad("重点项目筛选只能是 1")
    for name in ("street", "lead", "leader", "mine_stage"):
        if len(kept.get(name, "")) > 200:
            raise _bad("筛选值过长")
    return ProjectFilter(
        phase=phase, stage_number=stage_number, light=light, street=kept.get("street"),
        lead=kept.get("lead"), leader=kept.get("leader"), key=key == "1", late=late,
        period=parse_period(kept, today), status=status, mine_stage=kept.get("mine_stage"),
        args=kept,
    )


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def local_start(day: date) -> datetime:
    """Naive UTC of 00:00 China time on ``day`` (UTC+8 all year)."""
    return datetime(day.year, day.month, day.day) - timedelta(hours=8)


def scope_clause(departments):
    """A department head sees projects it leads or that lie in its 街镇."""
    if departments is None:
        return sa.true()
    codes = sorted(departments)
    p = dash_project.c
    return sa.or_(p.lead_department.in_(codes), p.street.in_(codes))


def where_of(flt: ProjectFilter, departments, today: date, *, ignore=()) -> list:
    """The WHERE terms of ``flt`` within the viewer's scope (``ignore``: filter names left out,
    e.g. the overview's stage chart ignores ``stage``). ``late=forecast`` is not SQL
    (``forecast_late_ids``)."""
    p = dash_project.c
    terms = [scope_clause(departments)]
    if flt.status == "":
        terms.append(p.status != "terminated")
    elif flt.status == "terminated":
        terms.append(p.status == "terminated")
    if flt.phase and "phase" not in ignore:
        terms.append(p.phase == flt.phase)
    if flt.stage_number and "stage" not in ignore:
        terms.append(p.stage_number == flt.stage_number)
    if flt.light and "light" not in ignore:
        terms.append(p.light == flt.light)
    if flt.street:
        terms.append(p.street == flt.street)
    if flt.lead:
        terms.append(p.lead_department == flt.lead)
    if flt.leader:
        terms.append(p.leader == flt.leader)
    if flt.key:
        terms.append(p.is_key.is_(True))
    if flt.period:
        terms.append(p.started_at >= local_start(flt.period.first))
        if flt.period.last < date(9999, 12, 31):
            terms.append(p.started_at < local_start(flt.period.last + timedelta(days=1)))
    if flt.late == "start" and "late" not in ignore:
        terms.append(late_start_clause(today))
    elif flt.late == "production" and "late" not in ignore:
        terms.append(late_production_clause(today))
    if flt.mine_stage:
        i, link = instance_rows.c, dash_case_link.c
        terms.append(p.instance_id.in_(
            sa.select(link.project_instance_id)
            .join(instance_rows, i.id == link.case_instance_id)
            .where(link.process_key == "mine_approval", i.stage == flt.mine_stage)))
    return terms


def late_start_clause(today: date):
    """Past the agreed 开工 date and not yet started."""
    p = dash_project.c
    return sa.and_(p.planned_start < today, p.actual_start.is_(None),
                   sa.or_(p.stage_number.is_(None), p.stage_number < START_STAGE),
                   p.status != "terminated")


def late_production_clause(today: date):
    """Past the agreed 投产 date and not yet producing."""
    p = dash_project.c
    return sa.and_(p.planned_production < today, p.actual_production.is_(None),
                   sa.or_(p.stage_number.is_(None), p.stage_number < PRODUCTION_STAGE),
                   p.status != "terminated")


def forecast_late_ids(engine, conn, terms, today: date) -> list[int]:
    """Projects (within ``terms``) whose forecast 投产 passes the agreed date. The set over every
    project is computed once per ``forecast.CACHE_SECONDS`` (one indexed join with each
    project's open span, then integer arithmetic on working-day numbers); the filters pick
    from it."""
    late = forecast.cached(engine, ("production_late", today),
                           lambda: _all_forecast_late(engine, conn, today))
    if not late:
        return []
    p = dash_project.c
    return [iid for (iid,) in conn.execute(
        sa.select(p.instance_id).where(*terms, *_forecast_candidates())) if iid in late]


def _forecast_candidates() -> tuple:
    p = dash_project.c
    return (p.status == "running", p.planned_production.is_not(None),
            p.actual_production.is_(None), p.stage_number < PRODUCTION_STAGE)


def _all_forecast_late(engine, conn, today: date) -> frozenset[int]:
    p, s = dash_project.c, dash_stage_span.c
    rows = conn.execute(
        sa.select(p.instance_id, p.project_type, p.stage_number, p.planned_production,
                  s.entered_at)
        .join(dash_stage_span, sa.and_(s.instance_id == p.instance_id,
                                       s.stage_number == p.stage_number, s.left_at.is_(None)))
        .where(*_forecast_candidates())
    ).all()
    if not rows:
        return frozenset()
    stats = forecast.statistics(engine, conn)
    index = forecast.WorkingDayIndex(engine.calendar.current(conn))
    china = timedelta(hours=8)  # China keeps UTC+8 all year: the local day without zoneinfo
    return frozenset(
        r.instance_id for r in rows
        if forecast.production_late(stats, index, project_type=r.project_type,
                                    stage_number=r.stage_number,
                                    entered=(r.entered_at + china).date(), today=today,
                                    planned_production=r.planned_production))


LIST_COLUMNS = (
    dash_project.c.instance_id, dash_project.c.business_key, dash_project.c.name,
    dash_project.c.investor, dash_project.c.project_type, dash_project.c.street,
    dash_project.c.lead_department, dash_project.c.leader, dash_project.c.is_key,
    dash_project.c.investment, dash_project.c.stage, dash_project.c.stage_number,
    dash_project.c.phase, dash_project.c.status, dash_project.c.light,
    dash_project.c.light_reason, dash_project.c.planned_start,
    dash_project.c.planned_production, dash_project.c.actual_start,
    dash_project.c.actual_production, dash_project.c.open_tasks,
    dash_project.c.overdue_tasks, dash_project.c.updated_at,
)


@dataclass(frozen=True)
class ProjectPage:
    rows: list
    total: int
    page: int
    pages: int
    sort: str


def list_projects(engine, flt: ProjectFilter, departments, today: date, *, sort: str = "-updated",
                  page: int = 1) -> ProjectPage:
    """One page (``PAGE_SIZE``) of the projects matching ``flt`` in the viewer's scope."""
    if page < 1 or page > 100_000:
        raise _bad("页码超出范围")
    with engine.unit_of_work(readonly=True) as uow:
        terms, total = _matching(engine, uow.conn, flt, departments, today, sort)
        pages = max(1, -(-total // PAGE_SIZE))
        rows = _rows(uow.conn, terms, sort, PAGE_SIZE, (min(page, pages) - 1) * PAGE_SIZE)
    return ProjectPage(rows, total, min(page, pages), pages, sort)


def project_rows(engine, flt: ProjectFilter, departments, today: date, *, sort: str = "-updated",
                 limit: int = PAGE_SIZE, offset: int = 0) -> tuple[list[dict], int]:
    """The list's rows from ``offset`` (at most ``limit``) and how many match (the API)."""
    with engine.unit_of_work(readonly=True) as uow:
        terms, total = _matching(engine, uow.conn, flt, departments, today, sort)
        rows = _rows(uow.conn, terms, sort, limit, offset) if offset < total else []
    return rows, total


def _matching(engine, conn, flt: ProjectFilter, departments, today: date, sort: str):
    if sort not in SORTS:
        raise _bad("排序方式无法识别")
    terms = where_of(flt, departments, today)
    if flt.late == "forecast":
        terms.append(dash_project.c.instance_id.in_(
            forecast_late_ids(engine, conn, terms, today) or [-1]))
    total = conn.execute(sa.select(sa.func.count()).select_from(dash_project)
                         .where(*terms)).scalar_one()
    return terms, total


def _rows(conn, terms, sort: str, limit: int, offset: int) -> list[dict]:
    rows = conn.execute(
        sa.select(*LIST_COLUMNS).where(*terms)
        .order_by(*SORTS[sort], dash_project.c.instance_id.desc())
        .limit(limit).offset(offset)
    ).mappings().all()
    return [dict(r) for r in rows]


# ------------------------------------------------------------------ one project

CASE_KINDS = {
    "mine_approval": "非煤矿山审批",
    "whistle_referral": "吹哨报到",
    "hazard_rectification": "隐患整改",
    "service_request": "服务诉求",
}


@dataclass(frozen=True)
class StageStep:
    number: int
    name: str
    phase: str
    state: str  # done / current / ahead
    entered: date | None
    left: date | None
    working_days: int | None


@dataclass(frozen=True)
class ProjectDetail:
    project: dict
    stages: tuple[StageStep, ...]
    open_steps: list[dict]
    cases: list[dict]
    forecast: forecast.ProjectForecast
    clocks: list
    today: date


def project_detail(engine, instance_id: int, departments, today: date) -> ProjectDetail:
    """Everything the project page shows; NotFound for an unknown id, Forbidden outside the
    viewer's scope."""
    now = utcnow()
    with engine.unit_of_work(readonly=True) as uow:
        conn = uow.conn
        row = conn.execute(sa.select(dash_project).where(
            dash_project.c.instance_id == instance_id)).mappings().first()
        if row is None:
            raise NotFound(f"项目 {instance_id} 不存在")
        project = dict(row)
        if departments is not None and not ({project["lead_department"], project["street"]}
                                            & set(departments)):
            raise Forbidden("该项目不属于本部门牵头或属地")
        spans = conn.execute(
            sa.select(dash_stage_span).where(dash_stage_span.c.instance_id == instance_id)
            .order_by(dash_stage_span.c.entered_at, dash_stage_span.c.id)
        ).mappings().all()
        t = task_rows.c
        open_steps = [dict(r) for r in conn.execute(
            sa.select(t.id, t.element_id, t.name, t.department_code, t.assignee, t.state,
                      t.created_at, t.due_at, t.stage, t.paused_at)
            .where(t.instance_id == instance_id, t.state.in_(OPEN_TASK_STATES))
            .order_by(t.created_at, t.id)).mappings()]
        for step in open_steps:
            step["overdue"] = step["due_at"] is not None and step["due_at"] < now \
                and step["paused_at"] is None
        link, i = dash_case_link.c, instance_rows.c
        cases = [dict(r) for r in conn.execute(
            sa.select(i.id, i.process_key, i.business_key, i.title, i.status, i.stage,
                      i.started_at, i.ended_at, link.link)
            .join(instance_rows, i.id == link.case_instance_id)
            .where(link.project_instance_id == instance_id)
            .order_by(i.process_key, i.started_at)).mappings()]
        for case in cases:
            case["kind"] = CASE_KINDS.get(case["process_key"], case["process_key"])
        calendar = engine.calendar.current(conn)
        stats = forecast.statistics(engine, conn)
        clocks = project_clocks(conn, calendar, instance_id, now)
    stages = _timeline(project, spans)
    open_span = next((s for s in reversed(spans) if s["left_at"] is None
                      and s["stage_number"] == project["stage_number"]), None)
    prediction = forecast.forecast_project(
        stats, forecast.WorkingDayIndex(calendar), project_type=project["project_type"],
        stage_number=project["stage_number"] if project["status"] == "running" else None,
        entered=local_day(open_span["entered_at"]) if open_span else None, today=today,
        planned_production=project["planned_production"],
        actual_production=project["actual_production"])
    return ProjectDetail(project, stages, open_steps, cases, prediction, clocks, today)


def _timeline(project: dict, spans) -> tuple[StageStep, ...]:
    current = project["stage_number"]
    first: dict[int, dict] = {}
    last: dict[int, dict] = {}
    days: dict[int, int] = {}
    for s in spans:
        first.setdefault(s["stage_number"], s)
        last[s["stage_number"]] = s
        if s["working_days"] is not None:
            days[s["stage_number"]] = days.get(s["stage_number"], 0) + s["working_days"]
    steps = []
    for st in STAGES:
        if st.number == current and project["status"] != "completed":
            state = "current"
        elif st.number in first or (current and st.number < current and st.number != 13):
            state = "done"
        else:
            state = "ahead"
        entered = first.get(st.number)
        left = last.get(st.number)
        steps.append(StageStep(
            st.number, st.name, st.phase, state,
            local_day(entered["entered_at"]) if entered else None,
            local_day(left["left_at"]) if left and left["left_at"] else None,
            days.get(st.number)))
    return tuple(steps)

