"""The 驾驶舱's read model: the summary tables of ``tables.py`` kept in every step's transaction.

``DashboardProjection(calendar, departments, users)`` is an observer for
``Engine.add_read_model`` (``engine/read_models.py``): after the engine has written an
instance's own rows it

- upserts the project's ``dash_project`` row (a ``project_lifecycle`` case: the facts of its
  forms, its stage, counts of its open and overdue tasks, its light),
- closes the project's open ``dash_stage_span`` and opens the next when the stage changes,
- adds each task the step completed to the ``dash_task_stat`` histogram,
- links another case to its project (``dash_case_link``: a called process, or a case whose data
  names the project's code).

A handful of indexed statements per step; the serialized state is never read. ``rebuild(engine)``
recomputes the four tables from the engine's rows and the projects' data (a maintenance command,
``kunflow dashboard-rebuild``). Bad values in a case's data (text where a number belongs, an odd
date) become NULL here: a dashboard never stops a step. The light's rule: ``project_light``.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from engine import READ_TABLES, SYSTEM, DepartmentInfo, UserInfo, local_day

from ..lifecycle import stage as lifecycle_stage
from .tables import dash_case_link, dash_project, dash_stage_span, dash_task_stat

log = logging.getLogger(__name__)

# The engine's rows this model reads (engine/model.py; the engine exports no tables): typed
# column lists, so that times come back as datetimes on SQLite too.
instance = READ_TABLES.instance
task = READ_TABLES.task
task_pause = READ_TABLES.task_pause
event = READ_TABLES.event
TASK_EVENTS = ("task_created", "task_completed", "task_cancelled")
# What a save (a step: the observer sees the case's data) writes to the event log, and what a
# status change without a step writes; a claim or a comment touches the instance row, not the
# read model.
STEP_EVENTS = (*TASK_EVENTS, "instance_started", "instance_completed", "timer_fired",
               "message_received", "call_completed", "incident_raised", "task_paused",
               "task_resumed")
STATUS_EVENTS = ("instance_suspended", "instance_running", "instance_terminated")

PROJECT_PROCESS = "project_lifecycle"
OPEN_STATES = ("ready", "claimed")
ENDED = ("completed", "terminated")
MAX_DAYS = 99  # the histogram's last bucket: 99 working days or more
START_STAGE = "开工建设"
PRODUCTION_STAGE = "投产"
# Stages at or past which a project has started building / is producing (a send-back or a
# diagram that skips a stage still counts the first of them it enters).
_STARTED = range(9, 13)  # 开工建设 .. 运营/达产
_PRODUCING = range(11, 13)  # 投产, 运营/达产
# The DMN approval_type's 立项 routes as the forecast's project types
_APPROVAL_TYPES = {"ratify": "ratify", "file": "file", "examine": "approve"}


# ------------------------------------------------------------------------------ values


def as_number(value) -> float | None:
    """A finite number, or None (text that is not a number, NaN, a boolean)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def as_day(value) -> date | None:
    """The China day a form's date or datetime value names, or None: ``2026-03-10``, a
    ``2026-03-10T09:00`` wall clock, an ISO time with a zone (converted to China time)."""
    if isinstance(value, datetime):
        return local_day(value.astimezone(UTC).replace(tzinfo=None)) if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 10 and (text.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", text)):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return local_day(moment.astimezone(UTC).replace(tzinfo=None))
        except (ValueError, OverflowError):
            return None
    found = _DAY.match(text)
    if not found:
        return None
    try:
        day = date(*map(int, found.groups()))
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2200 else None


def _text(value, limit: int) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text[:limit] or None


# ------------------------------------------------------------------------------ the light


@dataclass(frozen=True)
class Light:
    colour: str  # green | yellow | red
    reason: str | None


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def project_light(today: date, *, status: str, planned_start: date | None,
                  actual_start: date | None, planned_production: date | None,
                  actual_production: date | None, overdue_tasks: int,
                  report_light: str | None) -> Light:
    """The project's light (docs/dashboard.md): red past the agreed 开工 date without having
    started, or past the agreed 投产 date without producing, or when the latest monthly progress
    report says red; yellow when an open task is overdue or the report says yellow; else green.
    An ended project is green. The report counts until the project produces."""
    if status == "completed":
        return Light("green", "项目已办结")
    if status == "terminated":
        return Light("green", "项目已终止")
    report = report_light if actual_production is None else None
    reds = []
    if planned_start is not None and actual_start is None and today > planned_start:
        reds.append(f"已过约定开工日期{_cn(planned_start)}仍未开工")
    if planned_production is not None and actual_production is None and today > planned_production:
        reds.append(f"已过约定投产日期{_cn(planned_production)}仍未投产")
    if report == "red":
        reds.append("最近一期月度进度报告亮红灯")
    if reds:
        return Light("red", "；".join(reds)[:200])
    yellows = []
    if overdue_tasks > 0:
        yellows.append(f"{overdue_tasks}项办理事项已逾期")
    if report == "yellow":
        yellows.append("最近一期月度进度报告亮黄灯")
    if yellows:
        return Light("yellow", "；".join(yellows)[:200])
    return Light("green", None)


# ------------------------------------------------------------------------------ statements

# Built once: a step runs a few of them, and building and compiling a statement costs more
# than running it on an indexed row.
_bp = sa.bindparam
_STAT_KEY = ("process_key", "element_id", "department_code", "month", "days")
_PROJECT_HEAD = (
    sa.select(instance.c.started_at.label("opened_at"), dash_project)
    .select_from(instance.outerjoin(dash_project, dash_project.c.instance_id == instance.c.id))
    .where(instance.c.id == _bp("iid")))
_TASK_COUNTS = (
    sa.select(sa.func.count(),
              sa.func.count().filter(task.c.due_at < _bp("now"), task.c.paused_at.is_(None)))
    .where(task.c.instance_id == _bp("iid"), task.c.state.in_(OPEN_STATES)))
_OPEN_SPAN = (sa.select(dash_stage_span.c.id, dash_stage_span.c.entered_at)
              .where(dash_stage_span.c.instance_id == _bp("iid"),
                     dash_stage_span.c.left_at.is_(None)))
_CLOSE_SPAN = (dash_stage_span.update().where(dash_stage_span.c.id == _bp("span"))
               .values(left_at=_bp("left_at"), working_days=_bp("working_days")))
_SPAN_TYPE = (dash_stage_span.update().where(dash_stage_span.c.instance_id == _bp("iid"))
              .values(project_type=_bp("project_type")))
_PROJECT_STATUS = (dash_project.update().where(dash_project.c.instance_id == _bp("iid"))
                   .values(status=_bp("status"), ended_at=_bp("ended_at"),
                           updated_at=_bp("updated_at"), open_tasks=_bp("open_tasks"),
                           overdue_tasks=_bp("overdue_tasks"), light=_bp("light"),
                           light_reason=_bp("light_reason")))
# completed tasks of a step with their pauses (one row per pause)
_COMPLETED = (
    sa.select(task.c.id, task.c.process_key, task.c.element_id, task.c.department_code,
              task.c.created_at, task.c.completed_at, task.c.due_at,
              task_pause.c.paused_at, task_pause.c.resumed_at)
    .select_from(task.outerjoin(task_pause, task_pause.c.task_id == task.c.id))
    .where(task.c.id.in_(_bp("ids", expanding=True)), task.c.state == "completed"))
_CASE_HEAD = sa.select(
    instance.c.parent_instance_id,
    sa.exists().where(dash_case_link.c.case_instance_id == instance.c.id).label("linked"),
).where(instance.c.id == _bp("iid"))
_PARENT_PROJECT = (
    sa.select(dash_project.c.instance_id).where(dash_project.c.instance_id == _bp("parent"))
    .union_all(sa.select(dash_case_link.c.project_instance_id)
               .where(dash_case_link.c.case_instance_id == _bp("parent"))))
_PROJECT_BY_CODE = (sa.select(dash_project.c.instance_id)
                    .where(dash_project.c.business_key == _bp("code"))
                    .order_by(dash_project.c.instance_id).limit(1))
_UPSERTS: dict[str, tuple] = {}


def _upserts(conn) -> tuple:
    """(project upsert, histogram upsert) in the connection's dialect: INSERT … ON CONFLICT
    DO UPDATE, on SQLite and PostgreSQL."""
    name = conn.dialect.name
    if name not in _UPSERTS:
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        project = insert(dash_project)
        project = project.on_conflict_do_update(
            index_elements=["instance_id"],
            set_={c.name: project.excluded[c.name] for c in dash_project.c
                  if c.name != "instance_id"})
        stat = insert(dash_task_stat)
        stat = stat.on_conflict_do_update(
            index_elements=list(_STAT_KEY),
            set_={"count": dash_task_stat.c.count + stat.excluded.count,
                  "on_time": dash_task_stat.c.on_time + stat.excluded.on_time,
                  "with_due": dash_task_stat.c.with_due + stat.excluded.with_due})
        _UPSERTS[name] = (project, stat)
    return _UPSERTS[name]


def add_task_stats(conn, buckets: Mapping[tuple, list[int]]) -> None:
    """Add ``{(process_key, element_id, department_code, month, days): [count, on_time,
    with_due]}`` to the histogram."""
    if buckets:
        conn.execute(_upserts(conn)[1], [
            dict(zip(_STAT_KEY, key, strict=True), count=c, on_time=o, with_due=w)
            for key, (c, o, w) in buckets.items()])


# ------------------------------------------------------------------------------ the observer


class DashboardProjection:
    """The observer: ``projection(conn, saved)`` in each save's transaction. Bound to the
    engine's calendar (working days) and the org chart (a 街镇 or a leader named by name)."""

    def __init__(self, calendar, departments: Iterable[DepartmentInfo],
                 users: Iterable[UserInfo]):
        self.calendar = calendar
        self.departments: dict[str, str] = {}
        for d in departments:
            self.departments[d.code] = d.code
            self.departments.setdefault(d.name, d.code)
        users = list(users)
        self.leaders: dict[str, str] = {u.username: u.username for u in users}
        # a leader named by display name: the 区领导 of that name first
        for u in sorted(users, key=lambda u: "leader" not in u.roles):
            self.leaders.setdefault(u.display_name, u.username)

    def __call__(self, conn, saved) -> None:
        if saved.process_key == PROJECT_PROCESS:
            self.project(conn, saved)
        elif saved.data is not None:
            self.link_case(conn, saved)
        if saved.closed:
            self.count_tasks(conn, saved.closed)

    # -- working days

    def working_days(self, conn, start: datetime, end: datetime) -> int:
        """Working days from the China day of ``start`` to that of ``end``."""
        return max(0, self.calendar.current(conn).working_days_between(
            local_day(start), local_day(end)))

    # -- dash_project, dash_stage_span

    def project(self, conn, saved) -> None:
        iid, now = saved.instance_id, saved.now
        head = conn.execute(_PROJECT_HEAD, {"iid": iid}).mappings().first()
        if head is None:
            return
        row = head if head["instance_id"] is not None else None
        open_tasks, overdue = conn.execute(_TASK_COUNTS, {"iid": iid, "now": now}).one()
        ended_at = now if saved.status in ENDED else None
        if saved.data is None:
            if row is None:
                return  # a project never seen with its data: rebuild() makes its row
            light = Light(row["light"], row["light_reason"])
            if saved.status in ENDED:
                self.close_span(conn, iid, now)
                light = project_light(local_day(now), status=saved.status, planned_start=None,
                                      actual_start=None, planned_production=None,
                                      actual_production=None, overdue_tasks=0,
                                      report_light=None)
            conn.execute(_PROJECT_STATUS, {
                "iid": iid, "status": saved.status, "ended_at": ended_at, "updated_at": now,
                "open_tasks": open_tasks, "overdue_tasks": overdue, "light": light.colour,
                "light_reason": light.reason})
            return
        stage_name = saved.stage or (row["stage"] if row else None)
        found = lifecycle_stage(stage_name)
        facts = self.facts(saved.data)
        actual_start = row["actual_start"] if row else None
        if row is not None and row["project_type"] != facts["project_type"]:
            # the type is known from 立项 on: the earlier stages' dwell times count for it too
            conn.execute(_SPAN_TYPE, {"iid": iid, "project_type": facts["project_type"]})
        entered = None
        if stage_name is not None and (row is None or row["stage"] != stage_name):
            self.close_span(conn, iid, now)
            conn.execute(dash_stage_span.insert(), {
                "instance_id": iid, "stage": stage_name,
                "stage_number": found.number if found else 0,
                "project_type": facts["project_type"], "entered_at": now})
            entered = found
        if actual_start is None and entered is not None and entered.number in _STARTED:
            actual_start = local_day(now)
        actual_production = as_day(saved.data.get("production_date"))
        if actual_production is None:
            actual_production = row["actual_production"] if row else None
            if actual_production is None and entered is not None and entered.number in _PRODUCING:
                actual_production = local_day(now)
        if saved.status in ENDED:
            self.close_span(conn, iid, now)
        light = project_light(
            local_day(now), status=saved.status, planned_start=facts["planned_start"],
            actual_start=actual_start, planned_production=facts["planned_production"],
            actual_production=actual_production, overdue_tasks=overdue,
            report_light=facts["report_light"])
        conn.execute(_upserts(conn)[0], {
            "instance_id": iid, "business_key": saved.business_key or (row and row["business_key"]),
            **facts, "stage": stage_name, "stage_number": found.number if found else None,
            "phase": found.phase if found else None, "status": saved.status,
            "light": light.colour, "light_reason": light.reason,
            "actual_start": actual_start, "actual_production": actual_production,
            "open_tasks": open_tasks, "overdue_tasks": overdue, "started_at": head["opened_at"],
            "updated_at": now, "ended_at": ended_at})

    def facts(self, data: Mapping) -> dict:
        """The project's facts from its case data (the lifecycle's forms), never raising."""
        is_mine = data.get("is_mine") is True
        approval = data.get("approval_type")
        street = _text(data.get("street"), 200)
        leader = _text(data.get("package_leader"), 200)
        if leader is not None and leader not in self.leaders:
            proposal = data.get("package_proposal")
            if isinstance(proposal, Mapping) and proposal.get("package_leader") == leader:
                leader = _text(proposal.get("package_leader_username"), 64)
        light = data.get("progress_light")
        return {
            "name": _text(data.get("project_name"), 400),
            "investor": _text(data.get("investor"), 400),
            "industry": _text(data.get("industry_category"), 100),
            "project_type": "mine" if is_mine else _APPROVAL_TYPES.get(approval, "unknown")
            if isinstance(approval, str) else "unknown",
            "street": self.departments.get(street, street) if street else None,
            "lead_department": _text(data.get("lead_department"), 64),
            "leader": self.leaders.get(leader, leader)[:64] if leader else None,
            "is_key": data.get("is_key_project") is True,
            "investment": as_number(data.get("total_investment")),
            "signed_on": as_day(data.get("signed_date")),
            "planned_start": as_day(data.get("planned_start_date")),
            "planned_production": as_day(data.get("planned_production_date")),
            "planned_full_production": as_day(data.get("planned_full_production_date")),
            "report_light": light if light in ("green", "yellow", "red") else None,
        }

    def close_span(self, conn, iid: int, now: datetime) -> None:
        span = conn.execute(_OPEN_SPAN, {"iid": iid}).first()
        if span is not None:
            conn.execute(_CLOSE_SPAN, {"span": span.id, "left_at": now,
                                       "working_days": self.working_days(
                                           conn, span.entered_at, now)})

    # -- dash_task_stat

    def count_tasks(self, conn, closed: Iterable[str]) -> None:
        rows, pauses = {}, defaultdict(list)
        for r in conn.execute(_COMPLETED, {"ids": list(closed)}):
            rows[r.id] = r
            if r.paused_at is not None:
                pauses[r.id].append(r)
        add_task_stats(conn, self.buckets(conn, rows.values(), pauses))

    def buckets(self, conn, rows, pauses: Mapping[str, list]) -> dict[tuple, list[int]]:
        """Histogram buckets of completed task rows; ``pauses``: task id -> rows with
        ``paused_at`` and ``resumed_at``."""
        out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in rows:
            if r.completed_at is None:
                continue
            days = self.working_days(conn, r.created_at, r.completed_at)
            for p in pauses.get(r.id, ()):  # the clock stood still while paused (补正 etc.)
                days -= self.working_days(conn, p.paused_at, p.resumed_at or r.completed_at)
            done = local_day(r.completed_at)
            bucket = out[(r.process_key, r.element_id, r.department_code or "",
                          f"{done.year:04d}-{done.month:02d}", min(max(days, 0), MAX_DAYS))]
            bucket[0] += 1
            bucket[1] += r.due_at is not None and r.completed_at <= r.due_at
            bucket[2] += r.due_at is not None
        return out

    # -- dash_case_link

    def link_case(self, conn, saved) -> None:
        head = conn.execute(_CASE_HEAD, {"iid": saved.instance_id}).first()
        if head is None or head.linked:
            return
        found = link_for(conn, head.parent_instance_id, saved.data.get("project_code"))
        if found is not None:
            conn.execute(dash_case_link.insert(), {
                "case_instance_id": saved.instance_id, "project_instance_id": found[0],
                "process_key": saved.process_key, "link": found[1]})


def link_for(conn, parent: int | None, project_code) -> tuple[int, str] | None:
    """(project instance, ``child`` | ``code``) a case belongs to: its parent is a project or
    a case of one; else its data names a project's code."""
    if parent is not None:
        project = conn.execute(_PARENT_PROJECT, {"parent": parent}).scalar()
        if project is not None:
            return project, "child"
    code = _text(project_code, 200)
    if code:
        project = conn.execute(_PROJECT_BY_CODE, {"code": code}).scalar()
        if project is not None:
            return project, "code"
    return None


# ------------------------------------------------------------------------------ rebuild

BATCH = 200


def needs_rebuild(engine) -> bool:
    """Projects but no project rows: a database from before the read model (an upgrade)."""
    with engine.unit_of_work(readonly=True) as uow:
        if uow.conn.execute(sa.select(dash_project.c.instance_id).limit(1)).first() is not None:
            return False
        return uow.conn.execute(sa.select(instance.c.id).where(
            instance.c.process_key == PROJECT_PROCESS).limit(1)).first() is not None


def rebuild(engine, progress: Callable[[str], None] | None = None,
            projection: DashboardProjection | None = None) -> dict[str, int]:
    """Recompute the four tables from the engine's rows (instance, task, task_pause, the event
    log's submitted ``project_code``) and each project's data, read once: for a database that
    had cases before the read model (an upgrade) or after a fix of its rules. Idempotent; one
    transaction per batch of projects. Returns the rows written per table."""
    say = progress or (lambda _message: None)
    projection = projection or DashboardProjection(
        engine.calendar, engine.list_departments(), engine.list_users())
    with engine.unit_of_work() as uow:
        for table in (dash_case_link, dash_task_stat, dash_stage_span, dash_project):
            uow.conn.execute(table.delete())
        ids = list(uow.conn.execute(
            sa.select(instance.c.id).where(instance.c.process_key == PROJECT_PROCESS)
            .order_by(instance.c.id)).scalars())
        uow.commit()
    counts = {"dash_project": 0, "dash_stage_span": 0, "dash_task_stat": 0, "dash_case_link": 0}
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        data = {iid: engine.get_instance(iid, SYSTEM, with_data=True).data for iid in batch}
        with engine.unit_of_work() as uow:
            projects, spans = _rebuild_projects(uow.conn, projection, batch, data)
            if projects:
                uow.conn.execute(dash_project.insert(), projects)
            if spans:
                uow.conn.execute(dash_stage_span.insert(), spans)
            uow.commit()
        counts["dash_project"] += len(projects)
        counts["dash_stage_span"] += len(spans)
        say(f"项目 {min(start + BATCH, len(ids))}/{len(ids)}")
    counts["dash_task_stat"] = _rebuild_task_stats(engine, projection, say)
    counts["dash_case_link"] = _rebuild_case_links(engine)
    say(f"关联案件 {counts['dash_case_link']}")
    return counts


def _rebuild_projects(conn, projection: DashboardProjection, ids: list[int],
                      data: Mapping[int, Mapping]) -> tuple[list[dict], list[dict]]:
    """The projects' rows and stage spans. The stages are replayed from the event log (tasks
    created, completed, cancelled, in order): after each step the project stands in the stage
    of its newest open task (none open: where it stood), as the observer saw it step by step.
    A step ends where the time moves on or the next completion begins."""
    i = instance.c  # not the serialized state
    heads = {r.id: r for r in conn.execute(sa.select(
        i.id, i.process_key, i.business_key, i.status, i.started_at, i.updated_at, i.ended_at,
        i.parent_instance_id).where(i.id.in_(ids)))}
    tasks = defaultdict(list)
    stages: dict[str, str | None] = {}
    for t in conn.execute(sa.select(task).where(task.c.instance_id.in_(ids))):
        tasks[t.instance_id].append(t)
        stages[t.id] = t.stage
    events = defaultdict(list)
    for e in conn.execute(
            sa.select(event.c.instance_id, event.c.kind, event.c.task_id, event.c.at)
            .where(event.c.instance_id.in_(ids), event.c.kind.in_(TASK_EVENTS))
            .order_by(event.c.id)):
        events[e.instance_id].append(e)
    # when the observer last saw a step of each project, and a step or a status change
    stepped, touched = {}, {}
    for e in conn.execute(
            sa.select(event.c.instance_id, event.c.kind, sa.func.max(event.c.at).label("at"))
            .where(event.c.instance_id.in_(ids), event.c.kind.in_(STEP_EVENTS + STATUS_EVENTS))
            .group_by(event.c.instance_id, event.c.kind)):
        if e.kind in STEP_EVENTS:
            stepped[e.instance_id] = max(e.at, stepped.get(e.instance_id, e.at))
        touched[e.instance_id] = max(e.at, touched.get(e.instance_id, e.at))
    projects, spans = [], []
    for iid in ids:
        head, facts = heads[iid], projection.facts(data[iid] or {})
        mine: list[dict] = []
        replay = _StageReplay(conn, projection, iid, facts["project_type"], mine)
        open_now: dict[str, str | None] = {}  # task id -> stage, newest last
        previous = None
        for e in events[iid]:
            if previous is not None and (e.kind == "task_completed" or e.at != previous):
                replay.settle(open_now, previous)
            if e.kind == "task_created":
                open_now.pop(e.task_id, None)
                open_now[e.task_id] = stages.get(e.task_id)
            else:
                open_now.pop(e.task_id, None)
            previous = e.at
        if previous is not None:
            replay.settle(open_now, previous)
        ended_at = head.ended_at if head.status in ENDED else None
        if ended_at is not None and mine and mine[-1]["left_at"] is None:
            replay.leave(ended_at)
        spans.extend(mine)
        now = stepped.get(iid, head.started_at)
        open_rows = [t for t in tasks[iid] if t.state in OPEN_STATES]
        overdue = sum(1 for t in open_rows
                      if t.due_at is not None and t.due_at < now and t.paused_at is None)
        actual_production = as_day((data[iid] or {}).get("production_date")) or replay.producing
        found = lifecycle_stage(replay.stage)
        light = project_light(
            local_day(now), status=head.status, planned_start=facts["planned_start"],
            actual_start=replay.started, planned_production=facts["planned_production"],
            actual_production=actual_production, overdue_tasks=overdue,
            report_light=facts["report_light"])
        projects.append({
            "instance_id": iid, "business_key": head.business_key, **facts,
            "stage": replay.stage, "stage_number": found.number if found else None,
            "phase": found.phase if found else None, "status": head.status,
            "light": light.colour, "light_reason": light.reason,
            "actual_start": replay.started, "actual_production": actual_production,
            "open_tasks": len(open_rows), "overdue_tasks": overdue,
            "started_at": head.started_at, "updated_at": touched.get(iid, now),
            "ended_at": ended_at})
    return projects, spans


class _StageReplay:
    """One project's stage spans as its steps are replayed."""

    def __init__(self, conn, projection, iid: int, project_type: str, spans: list[dict]):
        self.conn, self.projection, self.iid = conn, projection, iid
        self.project_type, self.spans = project_type, spans
        self.stage: str | None = None
        self.started: date | None = None
        self.producing: date | None = None

    def leave(self, at: datetime) -> None:
        if self.spans and self.spans[-1]["left_at"] is None:
            span = self.spans[-1]
            span["left_at"] = at
            span["working_days"] = self.projection.working_days(self.conn, span["entered_at"], at)

    def settle(self, open_now: Mapping[str, str | None], at: datetime) -> None:
        named = [s for s in open_now.values() if s]
        if not named or named[-1] == self.stage:
            return
        self.leave(at)
        self.stage = named[-1]
        found = lifecycle_stage(self.stage)
        self.spans.append({"instance_id": self.iid, "stage": self.stage,
                           "stage_number": found.number if found else 0,
                           "project_type": self.project_type, "entered_at": at,
                           "left_at": None, "working_days": None})
        if found is not None and self.started is None and found.number in _STARTED:
            self.started = local_day(at)
        if found is not None and self.producing is None and found.number in _PRODUCING:
            self.producing = local_day(at)


def _rebuild_task_stats(engine, projection: DashboardProjection,
                        say: Callable[[str], None]) -> int:
    """The histogram of every completed task, read in id order a batch at a time."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    after, seen = "", 0
    while True:
        with engine.unit_of_work(readonly=True) as uow:
            rows = uow.conn.execute(
                sa.select(task.c.id, task.c.process_key, task.c.element_id,
                          task.c.department_code, task.c.created_at, task.c.completed_at,
                          task.c.due_at)
                .where(task.c.state == "completed", task.c.id > after)
                .order_by(task.c.id).limit(BATCH * 10)).all()
            if not rows:
                break
            pauses = defaultdict(list)
            for p in uow.conn.execute(
                    sa.select(task_pause.c.task_id, task_pause.c.paused_at,
                              task_pause.c.resumed_at)
                    .where(task_pause.c.task_id.in_([r.id for r in rows]))):
                pauses[p.task_id].append(p)
            for key, (c, o, w) in projection.buckets(uow.conn, rows, pauses).items():
                total = totals[key]
                total[0] += c
                total[1] += o
                total[2] += w
        after, seen = rows[-1].id, seen + len(rows)
        say(f"已办任务 {seen}")
    items = list(totals.items())
    with engine.unit_of_work() as uow:
        for start in range(0, len(items), BATCH * 5):
            add_task_stats(uow.conn, dict(items[start:start + BATCH * 5]))
        uow.commit()
    return len(items)


def _event_codes(conn) -> dict[int, list[str]]:
    """``project_code`` values each case was started or completed with (the event log keeps
    the data submitted), in the order submitted."""
    import json

    codes: dict[int, list[str]] = defaultdict(list)
    for e in conn.execute(
            sa.select(event.c.instance_id, event.c.kind, event.c.data_json)
            .where(event.c.kind.in_(("instance_started", "task_completed")),
                   event.c.data_json.like('%"project_code"%'))
            .order_by(event.c.id)):
        try:
            submitted = json.loads(e.data_json)
        except ValueError:
            continue
        if e.kind == "instance_started" and isinstance(submitted, dict):
            submitted = submitted.get("data")
        code = _text(submitted.get("project_code"), 200) if isinstance(submitted, dict) else None
        if code:
            codes[e.instance_id].append(code)
    return codes


def _rebuild_case_links(engine) -> int:
    with engine.unit_of_work() as uow:
        conn = uow.conn
        projects: dict[int, str | None] = {
            r.instance_id: r.business_key for r in conn.execute(
                sa.select(dash_project.c.instance_id, dash_project.c.business_key))}
        by_code: dict[str, int] = {}
        for iid, code in sorted(projects.items()):
            if code:
                by_code.setdefault(code, iid)
        codes = _event_codes(conn)
        links: dict[int, int] = {}
        rows = []
        for case in conn.execute(
                sa.select(instance.c.id, instance.c.process_key, instance.c.parent_instance_id)
                .where(instance.c.process_key != PROJECT_PROCESS).order_by(instance.c.id)):
            parent = case.parent_instance_id
            project = parent if parent in projects else links.get(parent)
            link = "child"
            if project is None:
                link = "code"
                project = next((by_code[c] for c in codes.get(case.id, ()) if c in by_code),
                               None)
            if project is not None:
                links[case.id] = project
                rows.append({"case_instance_id": case.id, "project_instance_id": project,
                             "process_key": case.process_key, "link": link})
        for start in range(0, len(rows), BATCH * 5):
            conn.execute(dash_case_link.insert(), rows[start:start + BATCH * 5])
        uow.commit()
    return len(rows)


# ------------------------------------------------------------------------------ passing time

_LIVE_PROJECTS = (
    sa.select(dash_project.c.instance_id, dash_project.c.status, dash_project.c.planned_start,
              dash_project.c.actual_start, dash_project.c.planned_production,
              dash_project.c.actual_production, dash_project.c.report_light,
              dash_project.c.light, dash_project.c.light_reason,
              dash_project.c.overdue_tasks)
    .where(dash_project.c.status.not_in(ENDED)))
_OVERDUE_BY_PROJECT = (
    sa.select(task.c.instance_id, sa.func.count())
    .where(task.c.process_key == "project_lifecycle", task.c.state.in_(OPEN_STATES),
           task.c.due_at < _bp("now"), task.c.paused_at.is_(None))
    .group_by(task.c.instance_id))
_SET_LIGHT = (dash_project.update().where(dash_project.c.instance_id == _bp("b_iid"))
              .values(light=_bp("light"), light_reason=_bp("light_reason"),
                      overdue_tasks=_bp("overdue_tasks")))


def refresh_lights(engine, now: datetime) -> int:
    """Lights change with time as well as with steps: a task falls due, an agreed 开工 date
    passes while no step happens. Recompute every live project's overdue count and light as of
    ``now`` (naive UTC) from the indexed task rows and the stored facts, and write those that
    changed; returns how many changed. Run by the scheduler's housekeeping (every ten minutes)."""
    today = local_day(now)
    with engine.unit_of_work() as uow:
        conn = uow.conn
        overdue = dict(conn.execute(_OVERDUE_BY_PROJECT, {"now": now}).all())
        changes = []
        for p in conn.execute(_LIVE_PROJECTS):
            count = overdue.get(p.instance_id, 0)
            light = project_light(
                today, status=p.status, planned_start=p.planned_start,
                actual_start=p.actual_start, planned_production=p.planned_production,
                actual_production=p.actual_production, overdue_tasks=count,
                report_light=p.report_light)
            if (light.colour, light.reason, count) != (p.light, p.light_reason, p.overdue_tasks):
                changes.append({"b_iid": p.instance_id, "light": light.colour,
                                "light_reason": light.reason, "overdue_tasks": count})
        if changes:
            conn.execute(_SET_LIGHT, changes)
        uow.commit()
    return len(changes)
