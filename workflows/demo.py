"""Demo data: a year of the district's work, made by driving the real engine (``kunflow demo``).

Every case is started, claimed and completed through the Engine's commands by the users of the
departments its tasks route to; timers fire from ``Engine.fire_due_timers`` and the mine cases
report back by message — nothing is written to a table directly. The clock is moved with
time-machine through the past months (SpiffWorkflow and the engine read the clock themselves),
so created, due and completed times look like real work, and what was not done by "today"
(28 November 2026) is open, some of it overdue, with the escalations its timers raised.

The cases run side by side on one timeline: each case is a generator that does a step and
yields when it wants to act next; the simulation wakes the earliest, firing on the way every
timer that falls due, at its due time. A seeded random generator picks names, amounts and
durations: the same seed gives the same cases. What the demo contains: ``docs/demo.md``.
"""

from __future__ import annotations

import heapq
import io
import random
import struct
import time as wall
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from engine import Engine, InvalidInput, TaskInfo, utcnow
from engine.casefiles import CaseFiles
from engine.model import instance
from engine.model import task as task_table

from . import demo_catalog as catalog

DEMO_SEED = 2026
CN = timedelta(hours=8)  # China time = UTC + 8, no daylight saving
TODAY = datetime(2026, 11, 28, 10, 0)  # the demo's "now", China time
SUPERVISION_KEY = "DC-2026-03"  # the first month's supervision instance
# Service-task handlers the shipped diagrams call (workflows.register puts them on the engine)
SERVICE_HANDLERS = ("assign_package_leader", "ledger_open_rows", "ledger_close_rows")
_STEP = timedelta(minutes=20)  # the least a case waits between two of its own steps


class DemoError(RuntimeError):
    """The demo could not drive a case as planned (a task it expected is not open)."""


def china(moment: datetime) -> datetime:
    """Naive UTC (the engine's clock) as China wall time."""
    return moment + CN


def utc(local: datetime) -> datetime:
    """China wall time as the engine's naive UTC."""
    return local - CN


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    projects: int
    mine_cases: int
    supervision_months: tuple[str, ...]
    whistles: int
    hazards: int
    instances: int
    open_tasks: int
    overdue_tasks: int
    commands: int
    attachments: int
    seconds: float
    stages: dict = field(default_factory=dict)


def instance_count(engine: Engine) -> int:
    """Process instances in the database (``kunflow demo --if-empty`` loads only when 0)."""
    with engine.db.connect().execution_options(kunflow_readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(instance)).scalar_one()


# ------------------------------------------------------------------------------ the world


@dataclass(frozen=True)
class Upload:
    """A file a step attaches as evidence (named; made and uploaded when the step is done)."""

    name: str


def _photo(n: int) -> bytes:
    """A small PNG (a flat colour that varies with ``n``) standing in for a site photo."""
    width, height = 64, 48
    colour = bytes(((60 + 37 * n) % 200 + 30, (90 + 53 * n) % 200 + 30, (120 + 71 * n) % 200 + 30))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


class World:
    """The engine as the district's users act on it, with the clock under the demo's control."""

    def __init__(self, engine: Engine, traveller, seed: int, files: CaseFiles | None = None):
        self.engine = engine
        self.files = files
        self.traveller = traveller
        self.seed = seed
        self.admin = engine.get_user("admin").actor()
        self.calendar = engine.calendar.current()
        self._actors: dict = {}
        self.commands = 0
        self.attachments = 0

    # -- time

    def now(self) -> datetime:
        return utcnow()

    def move_to(self, moment: datetime) -> None:
        if moment > self.now():
            self.traveller.move_to(moment.replace(tzinfo=UTC))

    def today(self) -> date:
        return china(self.now()).date()

    def office(self, day: date, rng: random.Random, earliest: int = 8 * 60 + 40) -> datetime:
        """A moment in office hours (08:40–17:20 China time) of ``day``, as naive UTC."""
        minute = rng.randint(earliest, 17 * 60 + 20) if earliest < 17 * 60 + 20 else earliest
        return utc(datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute))

    def workdays(self, n: float, rng: random.Random) -> datetime:
        """About ``n`` working days from now, in office hours; below 1, later the same working
        day when there is time left, else the next working day's morning."""
        local = china(self.now())
        if n < 1:
            later = local + timedelta(minutes=rng.randint(30, 180))
            if self.calendar.is_workday(local.date()) and later.hour < 17:
                return utc(later)
            return self.office(self.calendar.add_working_days(local.date(), 1), rng)
        return self.office(self.calendar.add_working_days(local.date(), int(n)), rng)

    def office_after(self, moment: datetime) -> datetime:
        """``moment`` when it falls in office hours of a working day, else the start of the
        next office hours (08:45–09:15 China time)."""
        local = china(moment)
        minutes = local.hour * 60 + local.minute
        if self.calendar.is_workday(local.date()) and 8 * 60 + 40 <= minutes <= 17 * 60 + 20:
            return moment
        day = local.date()
        if not (self.calendar.is_workday(day) and minutes < 8 * 60 + 40):
            day = self.calendar.add_working_days(day, 1)
        return utc(datetime.combine(day, datetime.min.time())
                   + timedelta(minutes=8 * 60 + 45 + local.minute % 30))

    def on(self, day: date, rng: random.Random) -> datetime:
        """Office hours of ``day`` or, when it is not a working day, of the next one."""
        return self.office(self.calendar.add_working_days(day, 0), rng)

    def first_of_next_month(self, hour: int = 9) -> datetime:
        local = china(self.now())
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return utc(datetime(year, month, 1, hour))

    # -- people

    def actor(self, username: str):
        found = self._actors.get(username)
        if found is None:
            found = self._actors[username] = self.engine.get_user(username).actor()
        return found

    @staticmethod
    def user_for(t: TaskInfo) -> str:
        return f"{t.department_code}-{'head' if t.candidate_role == 'head' else 'clerk'}"

    # -- commands

    def start(self, process_key: str, username: str, key: str, title: str,
              data: dict | None = None) -> int:
        self.commands += 1
        return self.engine.start(process_key, self.actor(username), business_key=key,
                                 title=title, data=data).id

    def open_tasks(self, iid: int) -> list[TaskInfo]:
        """The case's open tasks in an order that does not depend on their (random) ids, so
        that the same seed makes the same choices."""
        return sorted(self.engine.get_instance(iid, self.admin).tasks, key=_task_order)

    def find(self, iid: int, element_id: str, department: str | None = None) -> TaskInfo | None:
        for t in self.open_tasks(iid):
            if t.element_id == element_id and department in (None, t.department_code):
                return t
        return None

    def is_open(self, iid: int, element_id: str) -> bool:
        return self.find(iid, element_id) is not None

    def status(self, iid: int) -> str:
        return self.engine.get_instance(iid, self.admin).status

    def data(self, iid: int) -> dict:
        return self.engine.get_instance(iid, self.admin, with_data=True).data or {}

    def task_data(self, iid: int, element_id: str) -> dict:
        """The data the open task of ``element_id`` shows its form (DemoError when not open)."""
        t = self.find(iid, element_id)
        if t is None:
            raise DemoError(f"实例 #{iid} 的 {element_id} 未打开（状态 {self.status(iid)}）")
        return self.engine.get_task(t.id, self.admin).data or {}

    def claim(self, t: TaskInfo, username: str | None = None) -> None:
        username = username or self.user_for(t)
        if t.assignee is None:
            self.commands += 1
            self.engine.claim(t.id, self.actor(username))

    def complete(self, t: TaskInfo, data: dict, username: str | None = None) -> None:
        username = username or t.assignee or self.user_for(t)
        self.claim(t, username)
        data = self._uploads(t, username, data)
        self.commands += 1
        try:
            self.engine.complete(t.id, self.actor(username), data)
        except InvalidInput as exc:
            raise DemoError(f"{t.element_id}（{t.process_key} #{t.instance_id}）：{exc.message} "
                            f"{exc.details}") from None

    def do(self, iid: int, element_id: str, data: dict, department: str | None = None) -> TaskInfo:
        """Complete the open task of ``element_id`` as its department's clerk (or head)."""
        t = self.find(iid, element_id, department)
        if t is None:
            opened = sorted(x.element_id for x in self.open_tasks(iid))
            raise DemoError(f"实例 #{iid} 的 {element_id} 未打开（打开的：{opened}，"
                            f"状态 {self.status(iid)}）")
        self.complete(t, data)
        return t

    def each(self, iid: int, element_id: str, data_for: Callable[[TaskInfo], dict],
             limit: int | None = None) -> int:
        """Complete the open instances of a multi-instance task (up to ``limit``)."""
        done = 0
        for t in [x for x in self.open_tasks(iid) if x.element_id == element_id]:
            if limit is not None and done >= limit:
                break
            self.complete(t, data_for(t))
            done += 1
        return done

    def attach(self, *names: str) -> list[Upload]:
        """Evidence for a form's file field: uploaded to the task when it is completed."""
        return [Upload(name) for name in names]

    def _uploads(self, t: TaskInfo, username: str, data: dict) -> dict:
        """The data with each Upload replaced by the id of a file attached to the task (with
        CaseFiles), or by a named id when the demo runs without a file store."""
        result = {}
        for key, value in data.items():
            if isinstance(value, list) and value and all(isinstance(v, Upload) for v in value):
                value = [self._upload(t, username, key, v.name) for v in value]
            result[key] = value
        return result

    def _upload(self, t: TaskInfo, username: str, field_key: str, name: str) -> str:
        self.attachments += 1
        if self.files is None:
            return f"demo-{self.attachments:05d}-{name}"
        stem, _, ext = name.rpartition(".")
        if ext in ("jpg", "jpeg", "png"):
            filename, content_type, content = f"{stem}.png", "image/png", _photo(self.attachments)
        else:
            filename, content_type = f"{stem}（演示）.txt", "text/plain; charset=utf-8"
            content = (f"昆都仑区工作流平台 · 演示附件\n文件：{stem}\n环节：{t.name}\n"
                       f"案件：{t.business_key or ''} {t.title or ''}\n"
                       f"上传：{china(self.now()):%Y-%m-%d %H:%M}\n"
                       "（演示数据，由 kunflow demo 生成，并非真实文件）\n").encode()
        self.commands += 1
        return self.files.add_attachment(
            self.actor(username), filename=filename, content_type=content_type,
            stream=io.BytesIO(content), task_id=t.id, field=field_key).id

    def correlate(self, name: str, key: str, payload: dict, username: str) -> dict:
        self.commands += 1
        return self.engine.correlate_message(name, key, payload, actor=self.actor(username))

    # -- timers

    def _next_due(self) -> datetime | None:
        with self.engine.db.connect().execution_options(kunflow_readonly=True) as conn:
            return conn.execute(
                sa.select(sa.func.min(instance.c.next_due_at))
                .where(instance.c.status == "running", instance.c.next_due_at.is_not(None))
            ).scalar_one()

    def advance(self, until: datetime) -> None:
        """Move the clock to ``until``, firing every timer that falls due on the way at its
        due time (as the scheduler would have done)."""
        for _ in range(100_000):
            due = self._next_due()
            if due is None or due > until:
                break
            self.move_to(due + timedelta(seconds=1))
            self.commands += self.engine.fire_due_timers()
        else:
            raise DemoError("定时器未能推进（同一时刻反复到期）")
        self.move_to(until)


def _task_order(t: TaskInfo) -> tuple:
    return (t.created_at, t.instance_id, t.element_id, t.department_code or "", t.name or "")


class Simulation:
    """Cases side by side on one timeline (see the module docstring)."""

    def __init__(self, world: World, end: datetime,
                 progress: Callable[[datetime], None] | None = None):
        self.world, self.end, self.progress = world, end, progress
        self._heap: list = []
        self._seq = 0

    def spawn(self, when: datetime, case: Iterator[datetime]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, case))

    def run(self) -> None:
        while self._heap:
            when, _, case = heapq.heappop(self._heap)
            if when > self.end:
                continue  # what a case would do after "today" does not happen
            self.world.advance(when)
            if self.progress:
                self.progress(self.world.now())
            try:
                wake = next(case)
            except StopIteration:
                continue
            self.spawn(max(wake, self.world.now() + timedelta(seconds=1)), case)
        self.world.advance(self.end)
        if self.progress:
            self.progress(self.end)


# ------------------------------------------------------------------------------ planning


@dataclass
class Person:
    name: str
    phone: str


@dataclass
class Project:
    code: str
    name: str
    industry: str
    capacity: str
    investment: int
    investor: str
    street: str
    stop: str | None  # the step left open "today"; None: the case runs to its end
    ending: str  # how a case that runs to its end ends
    rng: random.Random
    route: str = "file"  # 立项: file / file_tech / examine / ratify
    civil_works: bool = True
    energy_tce: int = 500
    construction_months: int = 6
    mine: tuple | None = None  # (mineral, project_kind, state) for mine projects
    contact: Person | None = None
    start: datetime = TODAY
    reach_by: datetime = TODAY
    iid: int | None = None
    mine_iid: int | None = None

    def pace(self, wake: datetime, now: datetime) -> datetime:
        """Keep the case on schedule: a wait never takes more than half of what is left before
        the case must stand at its step of "today" (World.office_after puts a shortened wait
        back into office hours)."""
        if wake <= now:
            return now + _STEP
        left = self.reach_by - now
        if left <= timedelta(0):
            return now + _STEP
        return min(wake, now + max(left / 2, _STEP))


# Stop points of the ordinary projects (each a step left open "today") and how many projects
# stand at each: every one of the 13 stages is covered. ``None`` runs the case to its end.
PROJECT_STOPS = [
    ("assign_package_leader", None), ("first_negotiation", None), (None, "dropped"),
    ("joint_prereview", None), ("joint_prereview", None), ("consolidate_prereview", None),
    ("sign_agreement", None), ("sign_agreement", None),
    ("register_company", None), ("register_company", None),
    ("approval", None), ("approval", None), ("approval", None),
    ("review_land_site", None), ("issue_planning_permit", None), ("issue_planning_permit", None),
    ("permits", None), ("permits", None), ("permits", None),
    ("issue_construction_permit", None), ("issue_construction_permit", None),
    ("construction", None), ("construction", None), ("construction", None),
    ("leader_coordinate_progress", None),
    ("acceptance", None), ("special_acceptance", None),
    ("confirm_production", None), ("confirm_production", None),
    ("monitor_operation", None), ("service_request", None), (None, "full_production"),
    ("decide_exit", None), (None, "exit_breach"), (None, "exit_idle_land"),
]
# Rough calendar days from the lead to each stop: where a case starts on the timeline.
_DAYS_TO = {
    "assign_package_leader": 1, "first_negotiation": 4, "joint_prereview": 14,
    "consolidate_prereview": 22, "sign_agreement": 30, "register_company": 45,
    "approval": 52, "review_land_site": 75, "issue_planning_permit": 90, "permits": 115,
    "issue_construction_permit": 160, "construction": 300, "leader_coordinate_progress": 300,
    "acceptance": 330, "special_acceptance": 340, "confirm_production": 370,
    "monitor_operation": 420, "service_request": 430, "decide_exit": 330,
    "dropped": 8, "full_production": 460, "exit_breach": 320, "exit_idle_land": 110,
}
# The mine cases: the major state each stands in "today", and how long it took to get there.
MINE_STATES = ["会商研判", "专项审批", "安全设施竣工验收", "安全生产许可", "日常监管", "关闭退出"]
_MINE_DAYS = {"会商研判": 70, "专项审批": 240, "安全设施竣工验收": 420, "安全生产许可": 470,
              "日常监管": 560, "关闭退出": 640}


class Planner:
    """Names, amounts and schedules of every case, from the seed alone."""

    def __init__(self, seed: int, streets: list[str], end: datetime):
        self.rng = random.Random(seed)
        self.seed = seed
        self.streets = streets
        self.end = end
        self._firm_words = list(catalog.FIRM_WORDS)
        self.rng.shuffle(self._firm_words)

    def case_rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}")

    def person(self, rng: random.Random) -> Person:
        name = rng.choice(catalog.SURNAMES) + rng.choice(catalog.GIVEN)
        return Person(name, "1" + rng.choice("3589") + "".join(rng.choice("0123456789")
                                                             for _ in range(9)))

    def firm(self, kind: str) -> str:
        word = self._firm_words.pop() if self._firm_words else f"昆{len(kind)}"
        return f"包头{word}{kind}有限公司"

    def projects(self) -> list[Project]:
        rng = self.rng
        catalog_projects = list(catalog.PROJECTS)
        rng.shuffle(catalog_projects)
        stops = list(PROJECT_STOPS)
        rng.shuffle(stops)
        projects = []
        for n, ((stop, ending), (industry, name, capacity, invest, kind)) in enumerate(
            zip(stops, catalog_projects, strict=False), start=1
        ):
            days = _DAYS_TO[stop or ending]
            waiting = rng.randint(2, 18) if stop else rng.randint(10, 40)
            start_local = TODAY - timedelta(days=days + waiting)
            start_local = self._office_start(start_local, rng)
            p = Project(
                code="", name=name, industry=industry, capacity=capacity,
                investment=rng.randrange(invest[0], invest[1], 500), investor=self.firm(kind),
                street=rng.choice(self.streets), stop=stop, ending=ending or "",
                rng=self.case_rng(f"project-{n}"), contact=self.person(rng),
                start=utc(start_local), reach_by=utc(TODAY - timedelta(days=waiting)),
            )
            p.route = rng.choice(["file", "file", "file", "file_tech", "examine", "ratify"])
            if "技改" in name:
                p.route = "file_tech"
            if ending == "exit_idle_land":
                p.route = "ratify"  # 核准 refused: the land goes back
            p.civil_works = rng.random() < 0.75
            p.energy_tce = rng.choice([300, 600, 800, 1500, 3000, 6000])
            p.construction_months = rng.randint(4, 8)
            projects.append(p)
        return projects

    def mine_projects(self) -> list[Project]:
        rng = self.rng
        projects = []
        for n, ((mineral, kind, name, capacity, invest), state) in enumerate(
            zip(catalog.MINE_PROJECTS, MINE_STATES, strict=True)
        ):
            days = _MINE_DAYS[state]
            waiting = rng.randint(3, 12)
            start_local = self._office_start(TODAY - timedelta(days=days + waiting), rng)
            street = self.streets[n % len(self.streets)]
            projects.append(Project(
                code="", name=name, industry="heavy_industry", capacity=capacity,
                investment=rng.randrange(invest[0], invest[1], 500),
                investor=self.firm("矿业"), street=street, stop=None, ending="mine",
                rng=self.case_rng(f"mine-{n}"), contact=self.person(rng),
                mine=(mineral, kind, state),
                start=utc(start_local), reach_by=utc(TODAY - timedelta(days=waiting)),
                construction_months=rng.randint(5, 7),
            ))
        return projects

    @staticmethod
    def number(projects: list[Project]) -> None:
        """Project codes in the order the leads came in: XM-<year>-<number in the year>."""
        counts: Counter = Counter()
        for p in sorted(projects, key=lambda x: x.start):
            year = china(p.start).year
            counts[year] += 1
            p.code = f"XM-{year}-{counts[year]:03d}"

    @staticmethod
    def _office_start(local: datetime, rng: random.Random) -> datetime:
        while local.weekday() >= 5:
            local += timedelta(days=1)
        return datetime(local.year, local.month, local.day, rng.randint(9, 16), rng.randint(0, 59))


# ------------------------------------------------------------------------------ lifecycle


def _doc_no(prefix: str, w: World, rng: random.Random) -> str:
    return f"{prefix}〔{china(w.now()).year}〕{rng.randint(3, 180)}号"


def _iso(moment: datetime) -> str:
    return china(moment).date().isoformat()


def _lead(p: Project) -> dict:
    is_mine = p.mine is not None
    return {
        "project_name": p.name,
        "investor": p.investor,
        "industry_category": p.industry,
        "total_investment": p.investment,
        "street": p.street,
        "is_mine": is_mine,
        "contact_person": p.contact.name,
        "contact_phone": p.contact.phone,
        "lead_summary": (
            f"{p.investor}拟在昆都仑区投资建设{p.name}，总投资约{p.investment / 10000:.1f}亿元，"
            f"建成后{p.capacity}。" + ("项目涉及非煤矿山开发，须履行矿山审批程序。" if is_mine
                                  else "经产业链招商对接，企业已完成初步选址踏勘。")
        ),
    }


class Lifecycle:
    """Drives one project_lifecycle instance."""

    def __init__(self, w: World, sim: Simulation, p: Project):
        self.w, self.sim, self.p = w, sim, p
        self.rng = p.rng

    # -- pacing

    def later(self, working_days: float) -> datetime:
        wake = self.w.workdays(working_days, self.rng)
        paced = self.p.pace(wake, self.w.now())
        return wake if paced == wake else self.w.office_after(paced)

    def stops_at(self, step: str) -> bool:
        return self.p.stop == step

    def settle_escalations(self, everything: bool = False) -> None:
        """The 包联 leader's office deals with most 督办 the overdue timers raised."""
        for t in self.w.open_tasks(self.p.iid):
            if t.element_id.startswith("escalate_") and (
                everything or (self.w.now() - t.created_at > timedelta(days=1)
                               and self.rng.random() < 0.8)
            ):
                method, measures = self.rng.choice(catalog.ESCALATION_MEASURES)
                self.w.complete(t, {"supervision_method": method,
                                    "supervision_measures": measures})

    def step(self, element_id: str, data: dict) -> None:
        self.settle_escalations()
        self.w.do(self.p.iid, element_id, data)

    # -- the case

    def run(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        p.iid = w.start("project_lifecycle", "invest-clerk", p.code, p.name)
        lead = _lead(p)
        w.do(p.iid, "register_lead", lead)
        if self.stops_at("assign_package_leader"):
            return
        yield self.later(rng.choice([0, 1, 1, 2]))
        # the diagram's service task proposed leader and lead department (assign_package_leader,
        # package_leaders.yaml) and prefilled the form: the 区领导 confirms the proposal
        proposal = w.task_data(p.iid, "assign_package_leader").get("package_proposal")
        if not proposal:
            raise DemoError(f"{p.code}：确定包联领导没有系统提出的包联建议")
        # confirming submits the prefilled values back, as the task page does
        self.step("assign_package_leader", {
            **{k: proposal[k] for k in ("package_leader", "lead_department", "is_key_project",
                                        "package_rule")},
            "package_notes": f"同意按“{proposal['package_rule']}”确定包联领导和牵头部门。",
        })
        if self.stops_at("first_negotiation"):
            return
        yield self.later(rng.randint(1, 5))
        dropped = p.ending == "dropped"
        self.step("first_negotiation", {
            "negotiation_date": _iso(w.now()),
            "leader_attended": rng.random() < 0.7,
            "negotiation_summary": (
                "企业因母公司战略调整暂缓投资，双方同意保持联系。" if dropped else
                f"企业介绍{p.capacity}的建设方案，包联区领导介绍昆区产业政策和要素保障措施。"),
            "negotiation_result": "drop" if dropped else "continue",
        })
        if dropped:
            return
        yield from self.prereview()
        if self.stops_at("joint_prereview") or self.stops_at("consolidate_prereview"):
            return
        yield self.later(rng.randint(3, 12))
        yield from self.sign()
        if self.stops_at("sign_agreement"):
            return
        yield self.later(rng.choice([0, 1]))
        if self.stops_at("register_company"):
            return
        self.register_company()
        if p.mine is not None:
            return  # the mine chain goes on (Mine.run) and resumes the project after approval
        if self.stops_at("approval"):
            yield from self.approval(stop=True)
            return
        approved = yield from self.approval()
        if not approved:
            yield self.later(rng.randint(2, 6))
            yield from self.exit("idle_land", "项目核准未获通过，协议约定的用地由区自然资源分局依法收回。")
            return
        yield self.later(rng.randint(1, 3))
        if self.stops_at("review_land_site"):
            return
        self.step("review_land_site", {
            "land_area_ha": round(rng.uniform(2, 30), 1),
            "land_preapproval_no": f"用字第150203{china(w.now()).year}{rng.randint(10, 99):04d}号",
        })
        yield self.later(rng.randint(6, 14))
        if self.stops_at("issue_planning_permit"):
            return
        self.step("issue_planning_permit", {
            "planning_permit_no": f"建字第150203{china(w.now()).year}{rng.randint(10, 99):05d}号",
            "public_notice_done": True,
        })
        yield from self.permits()
        if self.stops_at("permits"):
            return
        yield from self.build_and_operate()

    def prereview(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(1, 3))
        if not w.is_open(p.iid, "joint_prereview"):
            raise DemoError(f"{p.code}：联合研判未打开")
        opinions = [t for t in w.open_tasks(p.iid) if t.element_id == "joint_prereview"]
        rng.shuffle(opinions)
        keep_open = rng.randint(2, 4) if self.stops_at("joint_prereview") else 0
        for t in opinions[: len(opinions) - keep_open]:
            conditional = t.department_code in catalog.PREREVIEW_CONDITIONS and rng.random() < 0.3
            w.complete(t, {
                "opinion": "conditional" if conditional else "agree",
                "opinion_basis": (catalog.PREREVIEW_CONDITIONS if conditional
                                  else catalog.PREREVIEW_OPINIONS)[t.department_code],
            })
            yield self.later(rng.choice([0, 1, 2, 3, 5, 7]))
        if keep_open:
            return
        self.settle_escalations(everything=True)
        if self.stops_at("consolidate_prereview"):
            return
        yield self.later(rng.randint(1, 3))
        self.step("consolidate_prereview", {
            "prereview_result": "pass",
            "prereview_summary": "六部门联合研判一致同意，项目符合产业政策和准入条件，建议签约落地。",
        })

    def sign(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        if self.stops_at("sign_agreement"):
            return
        signed = china(w.now()).date()
        planned_start = signed + timedelta(days=rng.randint(45, 100))
        production = planned_start + timedelta(days=30 * p.construction_months + rng.randint(40, 90))
        self.step("sign_agreement", {
            "agreement_no": f"KQZS-{signed.year}-{rng.randint(10, 99):03d}",
            "signed_date": signed.isoformat(),
            "planned_start_date": planned_start.isoformat(),
            "planned_production_date": production.isoformat(),
            "planned_full_production_date": (production + timedelta(days=rng.randint(150, 300))
                                             ).isoformat(),
            "investment_source": "government" if p.route == "examine" else "enterprise",
            "in_ratify_catalog": p.route == "ratify",
            "is_tech_upgrade": p.route == "file_tech",
            "has_civil_works": p.civil_works,
            "annual_energy_tce": p.energy_tce,
            "agreement_file": w.attach("投资协议.pdf"),
        })
        yield self.later(0)

    def register_company(self) -> None:
        rng = self.rng
        code = "91150203" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")
                                    for _ in range(10))
        self.step("register_company", {
            "company_name": self.p.investor.replace("包头", "包头昆区", 1),
            "credit_code": code,
            "registered_date": _iso(self.w.now()),
            "agent_service": rng.random() < 0.8,
            "agent_name": "王丽娜",
        })

    def approval(self, stop: bool = False) -> Iterator[datetime]:
        """立项 on the route the DMN approval_type chose; returns whether it was granted."""
        w, p, rng = self.w, self.p, self.rng
        year = china(w.now()).year
        if p.route in ("file", "file_tech"):
            if stop:
                return False
            yield self.later(rng.choice([0, 1, 1, 2, 4]))
            element = "file_tech_upgrade" if p.route == "file_tech" else "file_project"
            self.step(element, {
                "filing_no": f"{year}-150203-{rng.randint(10, 99)}-03-{rng.randint(1, 999999):06d}",
                "filing_date": _iso(w.now()),
            })
            return True
        if p.route == "examine":
            yield self.later(rng.randint(3, 8))
            task = w.find(p.iid, "examine_project")
            if task is not None and rng.random() < 0.5:  # 专家评审 stops the clock
                w.commands += 2
                clerk = w.actor("drc-clerk")
                w.engine.pause_task(task.id, clerk, "组织专家评审，评审时间不计入审批时限")
                yield self.later(rng.randint(4, 8))
                w.engine.resume_task(task.id, clerk)
            if stop:
                return False
            yield self.later(rng.randint(2, 8))
            self.step("examine_project", {
                "approval_decision": "approved",
                "approval_doc_no": _doc_no("昆发改审", w, rng),
                "approval_opinion": "项目符合规划和产业政策，同意建设。",
            })
            return True
        # ratify: 核准, sometimes extended, sometimes refused
        refused = p.ending == "exit_idle_land"
        if stop:
            if rng.random() < 0.5:
                yield self.later(rng.randint(5, 12))
                self.step("ratify_project", {"approval_decision": "extend",
                                             "approval_opinion": "需征求市有关部门意见，申请延期。"})
            return False
        yield self.later(rng.randint(8, 22))
        if refused:
            self.step("ratify_project", {"approval_decision": "rejected",
                                         "approval_opinion": "项目不符合《产业结构调整指导目录》准入要求。"})
            return False
        if rng.random() < 0.35:
            self.step("ratify_project", {"approval_decision": "extend",
                                         "approval_opinion": "需征求市有关部门意见，申请延期。"})
            yield self.later(rng.randint(1, 2))
            self.step("approve_ratify_extension", {"extension_reason": "征求市直部门意见",
                                                   "extension_days": rng.choice([20, 30, 40])})
            yield self.later(rng.randint(8, 20))
            element = "ratify_project_extended"
        else:
            element = "ratify_project"
        self.step(element, {"approval_decision": "approved",
                            "approval_doc_no": _doc_no("昆发改核", w, rng),
                            "approval_opinion": "符合产业政策和规划，予以核准。"})
        return True

    def permits(self) -> Iterator[datetime]:
        """前期手续 in parallel, as the DMN prereq_permits asked; then 施工许可 opens."""
        w, p, rng = self.w, self.p, self.rng
        data = {
            "review_energy": lambda: {"energy_review_no": _doc_no("昆发改能审", w, rng)},
            "review_eia": lambda: {"eia_approval_no": _doc_no("包环审", w, rng),
                                   "eia_approval_date": _iso(w.now())},
            "review_safety_design": lambda: {"safety_design_no": _doc_no("昆应急设审", w, rng)},
            "review_soil_plan": lambda: {"soil_plan_no": _doc_no("昆农牧水保", w, rng)},
        }
        waits = {"review_energy": (8, 22), "review_eia": (15, 45), "review_safety_design": (8, 22),
                 "review_soil_plan": (4, 12)}
        opened = sorted(t.element_id for t in w.open_tasks(p.iid) if t.element_id in data)
        rng.shuffle(opened)
        keep_open = rng.randint(1, len(opened)) if self.stops_at("permits") and opened else 0
        for element in opened[: len(opened) - keep_open]:
            yield self.later(rng.randint(*waits[element]))
            self.step(element, data[element]())
        if keep_open:
            return
        self.settle_escalations(everything=True)

    def build_and_operate(self) -> Iterator[datetime]:
        """施工许可 → 开工建设 (monthly reports) → 竣工验收 → 投产 → 运营 (or 退出)."""
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(2, 9))
        if self.stops_at("issue_construction_permit"):
            return
        permit_day = china(w.now()).date()
        self.step("issue_construction_permit", {
            "construction_permit_no": f"150203{permit_day:%Y%m%d}{rng.randint(1, 99):02d}01",
            "construction_permit_date": permit_day.isoformat(),
        })
        self.settle_escalations(everything=True)
        finished = yield from self.construction()
        if not finished:
            return
        yield from self.acceptance()
        if p.stop in ("acceptance", "special_acceptance"):
            return
        yield from self.production()

    def construction(self) -> Iterator[datetime]:
        """One report a month by the project's 街镇 until the works are completed; returns
        whether they were (projects standing in 开工建设 "today" report on)."""
        w, p, rng = self.w, self.p, self.rng
        ongoing = p.stop in ("construction", "leader_coordinate_progress")
        leave = p.stop == "decide_exit" or p.ending == "exit_breach"
        after = {"acceptance": 25, "special_acceptance": 35, "confirm_production": 60,
                 "monitor_operation": 110, "service_request": 120, "decide_exit": 20,
                 "exit_breach": 40, "leader_coordinate_progress": 10}
        budget = (p.reach_by - w.now()).days - after.get(p.stop or p.ending, 120)
        # as long as the schedule allows: the step left open "today" is a recent one
        months = max(2 if leave else 1, min(12, budget // 31))
        plan = p.construction_months + 2 if ongoing else months
        red_month = months if leave else None
        if p.stop == "leader_coordinate_progress":  # red in the last month before "today"
            red_month = max(2, min(12, budget // 31))
        element = f"report_progress_{p.street}"
        for month in range(1, 999):
            first = w.first_of_next_month()
            yield first + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
            for _ in range(6):
                if w.is_open(p.iid, element):
                    break
                yield w.now() + timedelta(days=1)
            else:
                raise DemoError(f"{p.code}：{china(w.now()):%Y-%m} 的月度进度未打开")
            previous = china(w.now()).replace(day=1) - timedelta(days=1)
            red = month == red_month
            done = not ongoing and not red and month >= months
            percent = 100 if done else min(95, round(100 * month / plan) + rng.randint(-5, 5))
            light, problems = "green", None
            if red:
                light, problems = "red", "企业资金链紧张，项目已停工两个月，复工时间不确定。"
                percent = max(5, percent - 30)
            elif not done and rng.random() < 0.2:
                light, problems = "yellow", rng.choice(catalog.PROGRESS_PROBLEMS)
            self.step(element, {
                "report_month": f"{previous:%Y-%m}",
                "construction_status": "completed" if done else "in_progress",
                "progress_percent": max(0, percent),
                "progress_light": light,
                "progress_problems": problems,
                "site_photos": w.attach("现场照片.jpg"),
            })
            if red:
                if p.stop == "leader_coordinate_progress":
                    return False
                yield self.later(rng.randint(1, 4))
                self.step("leader_coordinate_progress", {
                    "coordination_measures": "约谈企业实际控制人，协调金融机构纾困，督促制定复工计划。",
                    "coordination_result": "exit" if leave else "continue",
                })
                if leave:
                    if p.stop == "decide_exit":
                        return False
                    yield self.later(rng.randint(2, 6))
                    yield from self.exit("breach", "企业停工超过协议约定期限且无力复工，构成违约。")
                    return False
            if done:
                return True
        return False

    def acceptance(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(5, 12))
        if self.stops_at("acceptance"):
            return
        self.step("apply_joint_acceptance", {
            "acceptance_application_no": f"LHYS-{china(w.now()).year}-{rng.randint(1, 99):03d}",
            "acceptance_accepted_date": _iso(w.now()),
        })
        specials = {
            "verify_planning_conditions": {"planning_verified": "pass"},
            "accept_fire_protection": {"fire_accepted": "pass"},
            "accept_safety_facilities": {"safety_accepted": "pass"},
            "accept_soil_facilities": {"soil_accepted": "pass"},
        }
        opened = sorted(t.element_id for t in w.open_tasks(p.iid) if t.element_id in specials)
        rng.shuffle(opened)
        keep = rng.randint(1, len(opened)) if self.stops_at("special_acceptance") else 0
        for element in opened[: len(opened) - keep]:
            yield self.later(rng.randint(2, 8))
            self.step(element, specials[element])
        if keep:
            return
        yield self.later(rng.randint(1, 3))
        self.step("issue_acceptance", {"acceptance_result": "passed",
                                       "acceptance_opinion": "各专项验收合格，同意通过联合验收。",
                                       "acceptance_report": w.attach("联合验收意见书.pdf")})

    def production(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        if self.stops_at("confirm_production"):
            return
        yield self.later(rng.randint(8, 25))
        self.step("confirm_production", {"production_date": _iso(w.now()),
                                         "production_capacity": p.capacity})
        if self.stops_at("monitor_operation"):
            return
        kinds = ["orders", "funds", "materials"]
        rng.shuffle(kinds)
        for kind in kinds[: rng.randint(1, 2)]:
            yield self.later(rng.randint(10, 30))
            self.step("monitor_operation", {"operation_event": "service_request",
                                            "request_kind": kind,
                                            "request_detail": catalog.SERVICE_REQUESTS[kind]})
            if self.stops_at("service_request"):
                return
            yield self.later(rng.randint(2, 6))
            answer = next((t for t in w.open_tasks(p.iid)
                           if t.element_id == "answer_service_request"), None)
            if answer is not None:
                w.complete(answer, {"service_result": "resolved",
                                    "service_response": catalog.SERVICE_ANSWERS[kind]})
        self.settle_escalations(everything=True)
        if p.ending == "exit_closure":
            # A mine project whose mine is being closed: its 关闭退出 (licences cancelled) is
            # still under way "today", so the project stays in operation. Exiting it now would
            # end the mine case too (the exit is a terminate end event, which ends the cases
            # it called) before its 注销 steps are done.
            return
        if p.ending == "full_production":
            yield self.later(rng.randint(10, 30))
            self.step("monitor_operation", {"operation_event": "full_production",
                                            "output_value": rng.randrange(20000, 200000, 1000)})

    def exit(self, mode: str, reason: str) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.settle_escalations(everything=True)
        self.step("decide_exit", {"exit_mode": mode, "exit_reason": reason})
        yield self.later(rng.randint(3, 10))
        if mode == "breach":
            self.step("pursue_breach", {"breach_measures": "解除投资协议，追缴已兑现的奖补资金。",
                                        "recovered_amount": rng.randrange(100, 800, 10)})
        elif mode == "idle_land":
            self.step("reclaim_idle_land", {"reclaimed_area_ha": round(rng.uniform(3, 20), 1),
                                            "reclaim_doc_no": _doc_no("昆自然资收", w, rng)})
        else:
            self.step("close_enterprise", {"closure_date": _iso(w.now()),
                                           "closure_measures": "停产关闭，妥善安置职工。"})


# ------------------------------------------------------------------------------ mine cases


_MINE_PERMITS = {
    "review_land_use": {"land_use_conclusion": "approved"},
    "review_eia": None,  # with a document number, built when due
    "review_water_intake": {"water_intake_conclusion": "approved"},
    "review_soil_conservation": {"soil_conservation_conclusion": "approved"},
    "review_forest_grass_use": {"forest_grass_conclusion": "approved_conditionally",
                                "avoids_protected_areas": True},
    "accept_safety_design": {"safety_design_materials": "accepted",
                             "has_approval_or_filing": True, "has_safety_pre_evaluation": True},
}
# What the lifecycle of a mine project stands at while its mine case is in each state.
_MINE_LIFECYCLE_STOP = {"安全设施竣工验收": "construction", "安全生产许可": "confirm_production",
                        "日常监管": "monitor_operation"}


class Mine:
    """Drives the mine_approval instance a mine project's lifecycle called, to its state."""

    def __init__(self, w: World, sim: Simulation, p: Project, lifecycle: Lifecycle):
        self.w, self.sim, self.p, self.lifecycle = w, sim, p, lifecycle
        self.rng = p.rng
        self.state = p.mine[2]

    def later(self, working_days: float) -> datetime:
        wake = self.w.workdays(working_days, self.rng)
        paced = self.p.pace(wake, self.w.now())
        return wake if paced == wake else self.w.office_after(paced)

    def step(self, element_id: str, data: dict) -> None:
        self.w.do(self.p.mine_iid, element_id, data)

    def run(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        page = w.engine.list_instances(w.admin, process_key="mine_approval", business_key=p.code)
        if not page.items:
            raise DemoError(f"{p.code}：项目未调起非煤矿山审批流程")
        p.mine_iid = page.items[0].id
        mineral, kind, _state = p.mine
        yield self.later(rng.choice([0, 1]))
        self.step("register_mine_case", {
            "project_code": p.code,
            "mine_name": p.name.removesuffix("项目"),
            "applicant": p.investor,
            "mineral": mineral,
            "project_kind": kind,
            "cross_county": False,
            "capacity_change": kind != "new",
            "water_use": mineral in ("iron", "rare_earth"),
            "forest_land": mineral == "sand_gravel",
            "new_land": kind == "expansion",
            "town": p.street,
            "mine_location": f"{'卜尔汉图镇' if p.street == 'buerhantu' else '昆北街道'}"
                             f"{rng.choice(['北部', '西北部', '东部'])}矿区",
            "mine_area_km2": round(rng.uniform(0.3, 4.5), 2),
            "application_files": w.attach("开发利用方案.pdf", "采矿权申请书.pdf"),
        })
        # 会商研判: opinions from 生态环境、农牧、应急 and the 街镇
        opinions = [t for t in w.open_tasks(p.mine_iid)
                    if t.element_id == "give_consultation_opinion"]
        rng.shuffle(opinions)
        keep = 2 if self.state == "会商研判" else 0
        for t in opinions[: len(opinions) - keep]:
            yield self.later(rng.randint(1, 4))
            w.complete(t, {"opinion": "agree",
                           "opinion_note": "不涉及禁止开采区和生态保护红线，与已设矿业权无重叠。"})
        if keep:
            return
        yield self.later(rng.randint(1, 3))
        self.step("decide_mining_allowed", {"mining_allowed": "yes", "fits_spatial_plan": True,
                                            "mining_decision_reason": "符合国土空间规划和矿产资源规划，同意设立。"})
        facts = w.data(p.mine_iid)
        year = china(w.now()).year
        if facts.get("approval_kind") == "核准":
            yield self.later(rng.randint(1, 3))
            self.step("accept_approval_application", {
                "approval_application_no": f"KZ-{year}-{rng.randint(1, 60):02d}",
                "forwarded_on": _iso(w.now()), "materials_complete": True})
            yield self.later(rng.randint(2, 5))
            self.step("drc_approval_opinion", {"cooperation_opinion": "agree",
                                               "cooperation_note": "符合产业政策"})
            self.step("miit_approval_opinion", {"cooperation_opinion": "agree",
                                                "cooperation_note": "符合行业规划和准入条件"})
            yield self.later(rng.randint(10, 18))
            self.step("record_approval_decision", {
                "project_approved": "yes", "approval_doc_no": _doc_no("包发改核", w, rng),
                "approval_decided_on": _iso(w.now())})
        else:
            yield self.later(rng.choice([0, 1]))
            self.step("file_project_record", {"filing_no": f"BA-{year}-{rng.randint(10, 99):03d}",
                                              "filed_on": _iso(w.now())})
        yield self.later(rng.randint(3, 8))
        self.step("check_source_control", {
            "source_control_passed": "yes", "outside_prohibited_zone": True,
            "exploration_sufficient": True, "no_vertical_overlap": True,
            "source_control_note": "已核实不在禁止开采区，勘查程度满足要求，无垂直重叠。"})
        yield self.later(rng.randint(8, 15))
        self.step("review_development_plans", {"development_plan_conclusion": "pass",
                                               "restoration_plan_conclusion_initial": "pass_revised"})
        yield self.later(rng.randint(20, 35))
        self.step("record_mining_registration", {
            "mining_registered": "yes",
            "mining_licence_no": f"C1502002{year}{rng.randint(10000, 99999)}"})
        # the parallel permits the DMN mine_permits requires
        opened = sorted(t.element_id for t in w.open_tasks(p.mine_iid)
                        if t.element_id in _MINE_PERMITS)
        rng.shuffle(opened)
        keep = max(1, len(opened) // 2) if self.state == "专项审批" else 0
        for element in opened[: len(opened) - keep]:
            yield self.later(rng.randint(8, 25))
            if element == "review_eia":
                self.step(element, {"eia_conclusion": "approved",
                                    "eia_approval_no": _doc_no("包环审", w, rng)})
                continue
            self.step(element, _MINE_PERMITS[element])
            if element == "accept_safety_design":
                yield self.later(rng.randint(8, 18))
                self.step("review_safety_design", {
                    "safety_design_conclusion": "approved", "adjacent_distance_ok": True,
                    "safety_design_opinion": "安全设施设计符合规范，同意。"})
        if keep:
            return
        # approved: the project resumes (construction permit …) on its own timeline
        p.stop = _MINE_LIFECYCLE_STOP.get(self.state)
        p.ending = "exit_closure" if self.state == "关闭退出" else ""
        self.sim.spawn(self.w.now() + timedelta(hours=1), self.lifecycle.build_and_operate())
        yield from self.construction_and_licence()

    def construction_and_licence(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        months = p.construction_months
        for element, data in (
            ("supervise_environmental_facilities",
             {"environment_supervision_note": "环保设施与主体工程同时设计、同时施工。"}),
            ("supervise_soil_facilities", {"soil_supervision_note": "水土保持设施同步建设。"}),
        ):
            yield self.later(rng.randint(15, 40))
            self.step(element, data)
        yield w.office_after(p.pace(w.now() + timedelta(days=30 * max(1, months - 2)), w.now()))
        self.step("supervise_construction_safety", {
            "construction_completed_on": _iso(w.now()), "built_per_safety_design": True})
        if self.state == "安全设施竣工验收":
            return
        yield self.later(rng.randint(5, 12))
        self.step("check_completion_acceptance", {"acceptance_passed": "yes",
                                                  "acceptance_note": "安全设施竣工验收合格。"})
        if self.state == "安全生产许可":
            return
        yield self.later(rng.randint(15, 35))
        self.step("issue_safety_licence", {
            "licence_no": f"(蒙)FM安许证字〔{china(w.now()).year}〕{rng.randint(1, 99):03d}",
            "licence_issued_on": _iso(w.now())})
        yield self.later(rng.randint(2, 6))
        self.step("assign_supervision_body", {
            "supervising_body": "区应急局非煤矿山安全监管股",
            "risk_level": rng.choice(["high", "general"]),
            "announced_to_public": True, "posted_at_entrance": True})
        # 日常监管: a joint inspection with the 街镇, a 问题线索 verified by its department
        yield self.later(rng.randint(15, 30))
        self.step("supervise_mine", {"supervision_action": "joint_inspection",
                                     "supervision_note": "季度联合检查"})
        yield self.later(rng.randint(1, 4))
        w.each(p.mine_iid, "joint_inspection", lambda t: {"inspection_finding": "no_issue"})
        self.step("town_site_supervision", {"town_patrol_result": "normal"})
        yield self.later(rng.randint(10, 25))
        self.step("supervise_mine", {"supervision_action": "issue_clue",
                                     "clue_department": "eco",
                                     "supervision_note": "排土场扬尘防治措施不到位"})
        yield self.later(rng.randint(2, 5))
        self.step("verify_issue_clue", {"clue_verified": "confirmed",
                                        "clue_handling": "责令限期整改，已复查整改到位。",
                                        "clue_is_major": "no"})
        # 区生态环境分局 raises a major issue to 会商研判 (a message, as the platform's API does)
        yield self.later(rng.randint(5, 15))
        w.correlate("mine_major_issue", p.code, {
            "raised_by": "eco", "summary": "矿区排土场紧邻水源保护区，存在渗漏风险"}, "admin")
        yield self.later(rng.randint(1, 4))
        w.each(p.mine_iid, "give_issue_opinion", lambda t: {
            "issue_opinion": "rectification", "issue_note": "建议限期整改并加强监测"})
        yield self.later(rng.randint(1, 3))
        self.step("decide_major_issue", {"issue_decision": "rectification",
                                         "issue_measures": "责令企业限期完成排土场防渗改造，区生态环境分局跟踪监测。"})
        if self.state == "日常监管":
            return
        yield self.later(rng.randint(20, 40))
        self.step("supervise_mine", {"supervision_action": "closure",
                                     "supervision_note": "资源枯竭，企业申请关闭矿山。"})
        yield self.later(rng.randint(2, 6))
        self.step("confirm_mine_closure", {"closure_reason": "resources_exhausted",
                                           "closure_note": "资源已枯竭，依企业申请关闭退出。"})
        yield self.later(rng.randint(3, 8))
        self.step("cancel_safety_licence", {"safety_licence_cancelled_on": _iso(w.now())})
        yield self.later(rng.randint(2, 6))
        self.step("cancel_discharge_permit", {"discharge_permit_cancelled_on": _iso(w.now())})
        # 采矿证注销 waits for the region's decision: open "today"


def mine_project(w: World, sim: Simulation, p: Project):
    lifecycle = Lifecycle(w, sim, p)
    yield from lifecycle.run()
    yield from Mine(w, sim, p, lifecycle).run()


# ------------------------------------------------------------------------------ supervision


_MONTH_EVENTS = {  # what goes wrong in each round besides the usual on-time signed reports
    3: ["late"], 4: ["unsigned"], 5: ["revise", "late"], 6: ["very_late"], 7: ["unsigned"],
    8: ["late", "unsigned"], 9: ["unsigned", "revise"], 10: ["late"], 11: ["missing", "unsigned"],
}


class Supervision:
    """督查督办月报, March to November 2026: one supervision_monthly instance per month.

    The diagram can cycle month by month in one instance, but the engine keeps every finished
    sub-process of the rounds (the units' reports, the rows' lights), each with a copy of the
    ledger: after seven months that instance's state was 10 MB and each step cost over a
    second. So each month's round runs in an instance of its own: started on the 1st with the
    rows the last round rolled over, ended when the next 1st's 建账 of the last round is
    submitted empty (its rows carried into the new instance)."""

    def __init__(self, w: World, seed: int):
        self.w = w
        self.rng = random.Random(f"{seed}:{SUPERVISION_KEY}")
        self.iid: int | None = None
        self.instances: dict[str, int] = {}
        self.notices = 0

    @staticmethod
    def planned(row: tuple, month: int) -> int:
        """Planned progress of a row by the end of ``month`` (even from its first month)."""
        _rid, _task, _unit, _owner, deadline, first, finished, _lag = row
        last = int(deadline[5:7])
        if finished:
            last = min(last, finished)
        return max(0, min(100, round(100 * (month - first + 1) / (last - first + 1))))

    def actual(self, row: tuple, month: int) -> int:
        finished, lag = row[6], row[7]
        if finished and month >= finished:
            return 100
        value = self.planned(row, month) - lag + self.rng.randint(-3, 3)
        return max(0, min(95, value))

    def ledger_for(self, month: int, current: list[dict]) -> list[dict]:
        """建账: rolled-over rows with this month's plan, and the rows new this month."""
        rows = {r[0]: r for r in catalog.SUPERVISION_ROWS}
        result = []
        for row in current:
            spec = rows.get(row["row_id"])
            result.append(dict(row, planned_pct=self.planned(spec, month - 1) if spec
                               else row.get("planned_pct", 0)))
        have = {r["row_id"] for r in current}
        for spec in catalog.SUPERVISION_ROWS:
            rid, task, unit, owner, deadline, first, _fin, _lag = spec
            if first == month and rid not in have:
                result.append({"row_id": rid, "task": task, "unit": unit, "owner": owner,
                               "deadline": deadline, "planned_pct": 0, "months_behind": 0})
        return result

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        carried: list[dict] = []
        cal = w.calendar
        for month in range(3, 12):
            # 建账 on the month's first working day — on the 1st itself when the holidays
            # leave no working day before the report deadline
            first = date(2026, month, 1)
            day = cal.add_working_days(first, 0)
            if (cal.add_working_days(date(2026, month, 6), 0) - day).days < 2:
                day = first
            yield w.office(day, rng)
            if self.iid is not None:  # last month's instance: its rows move to this month's
                if not w.is_open(self.iid, "build_ledger"):
                    raise DemoError(f"督查督办：{month} 月未开轮（{w.open_tasks(self.iid)}）")
                carried = list(w.data(self.iid).get("ledger") or [])
                w.do(self.iid, "build_ledger", {
                    "ledger": [], "ledger_note": f"未销账事项已结转至2026年{month}月督查督办"})
                yield w.now() + timedelta(minutes=rng.randint(10, 40))
            key = f"DC-2026-{month:02d}"
            self.iid = self.instances[f"2026-{month:02d}"] = w.start(
                "supervision_monthly", "supervision-clerk", key, supervision_title(month),
                {"first_round_month": f"2026-{month:02d}"})
            new = [r for r in catalog.SUPERVISION_ROWS if r[5] == month]
            w.do(self.iid, "build_ledger", {
                "ledger": self.ledger_for(month, carried),
                "ledger_note": (f"结转上月未销账事项{len(carried)}项" if carried else "首轮建账")
                + (f"，新增交办事项{len(new)}项" if new and carried else ""),
            })
            yield from self.round(month)

    def round(self, month: int) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        facts = w.data(self.iid)
        deadline = date.fromisoformat(facts["report_deadline_day"])
        units = list(facts["units"])
        rng.shuffle(units)
        events = list(_MONTH_EVENTS[month])
        behaviour = {u: "signed" for u in units}
        for unit, event_kind in zip(units, events, strict=False):
            behaviour[unit] = event_kind
        if month == 11:  # 昆北街道 has not reported this month: 约谈 and 通报 on the way
            missing = next((u for u, b in behaviour.items() if b == "missing"), None)
            if missing and "kunbei" in behaviour and missing != "kunbei":
                behaviour[missing], behaviour["kunbei"] = behaviour["kunbei"], "missing"
        cal = w.calendar
        # report days: the working days after 建账 and before the deadline, or — when the
        # holidays take them all (May Day, National Day) — the holidays themselves
        built = china(w.now()).date()
        before = [built + timedelta(days=n) for n in range(1, (deadline - built).days)]
        report_days = [d for d in before if cal.is_workday(d)] or before or [built]
        actions: list[tuple[datetime, int, Callable[[], None]]] = []

        def at(day: date, fn: Callable[[], None], hour: float = 9) -> None:
            """``fn`` on ``day`` within the hour after ``hour`` o'clock (China time)."""
            minute = int(hour * 60) + rng.randint(0, 50)
            moment = utc(datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute))
            actions.append((moment, len(actions), fn))

        rows = {r[0]: r for r in catalog.SUPERVISION_ROWS}
        for unit, kind in behaviour.items():
            mine = [r for r in facts["ledger"] if r["unit"] == unit]
            progress = [{"row_id": r["row_id"], "actual_pct": self.actual(rows[r["row_id"]], month - 1),
                         "progress_note": "按节点推进" if rows[r["row_id"]][7] == 0 else "进度滞后，已制定追赶计划"}
                        for r in mine if r["row_id"] in rows]
            report = {
                "report_summary": f"{month - 1}月份重点任务推进情况：" + "；".join(
                    f"{r['task']}完成{p['actual_pct']}%" for r, p in zip(mine, progress, strict=False)),
                "row_progress": progress,
                "report_files": w.attach(f"{unit}-{month - 1}月工作台账.xlsx"),
                "head_available": "no" if kind == "unsigned" else "yes",
            }
            day = rng.choice(report_days)
            if kind in ("signed", "unsigned", "revise"):
                at(day, self._report(unit, report), 9)
                if kind == "unsigned":
                    at(day, self._explain(unit), 15)
                elif kind == "revise":  # sent back by the head, corrected, signed: one day
                    at(day, self._sign(unit, "revise"), 11)
                    at(day, self._revise(unit, progress), 14)
                    at(day, self._sign(unit, "approve"), 16.5)
                else:
                    at(day, self._sign(unit, "approve"), 14)
            elif kind == "late":
                at(deadline, self._urge(), 9)
                late_day = cal.add_working_days(deadline, 1)
                at(late_day, self._report(unit, report), 10)
                at(late_day, self._sign(unit, "approve"), 15)
            elif kind == "very_late":
                at(deadline, self._urge(), 9)
                at(cal.add_working_days(deadline, 2), self._notice(deadline), 9)
                late_day = cal.add_working_days(deadline, 3)
                at(late_day, self._report(unit, report), 10)
                at(late_day, self._sign(unit, "approve"), 15)
            else:  # missing: urged, 督办单, 约谈, 通报 — and still nothing
                at(deadline, self._urge(), 9)
                at(cal.add_working_days(deadline, 2), self._notice(deadline), 9)
                at(cal.add_working_days(deadline, 5), self._interview(unit), 10)
                at(cal.add_working_days(deadline, 10), self._circular(unit), 10)
        actions.sort(key=lambda a: (a[0], a[1]))
        for when, _n, fn in actions:
            yield when
            fn()
        # 对账 → 查账 → 督查报告 → 销账 (November's round stands at 对账 "today")
        for _ in range(30):
            if w.is_open(self.iid, "reconcile_ledger"):
                break
            yield w.workdays(1, rng)
        else:
            opened = [(t.element_id, t.department_code) for t in w.open_tasks(self.iid)]
            raise DemoError(f"督查督办：{month} 月报送后未进入对账（打开的：{opened}）")
        yield w.workdays(rng.choice([1, 1, 2]), rng)
        visit = month in (5, 9)
        w.do(self.iid, "reconcile_ledger", {
            "reconcile_result": "mismatch" if visit else "match",
            "reconcile_notes": "部分单位填报进度与佐证材料不一致" if visit else "报送情况与台账一致"})
        yield w.workdays(1, rng)
        if visit:
            w.do(self.iid, "audit_ledger", {"site_visit": "yes",
                                            "audit_notes": "抽查两项任务，赴现场核实"})
            yield w.workdays(rng.randint(1, 3), rng)
            ledger = w.data(self.iid)["ledger"]
            behind = [r for r in ledger if 10 <= (r.get("reported_pct") or 0) < 100]
            target = rng.choice(behind) if behind else ledger[0]
            w.do(self.iid, "visit_site", {
                "visit_date": _iso(w.now()),
                "visit_findings": f"{target['task']}：现场核查，实际进度低于填报，已责令更正。",
                "visit_evidence": w.attach("现场核查照片.jpg"),
                "verified_progress": [{"row_id": target["row_id"],
                                       "actual_pct": max(0, (target.get("reported_pct") or 0) - 10)}]})
        else:
            w.do(self.iid, "audit_ledger", {"site_visit": "no", "audit_notes": "无异常"})
        yield w.workdays(rng.randint(1, 2), rng)
        w.do(self.iid, "compile_supervision_report", {
            "supervision_report": f"2026年{month}月督查通报：各责任单位报送{month - 1}月份工作完成情况，"
                                  "红黄灯事项已交办责任单位限期整改。",
            "supervision_report_files": w.attach(f"{month}月督查报告.docx")})
        if w.is_open(self.iid, "close_ledger_rows"):
            yield w.workdays(rng.randint(1, 3), rng)
            finished = w.data(self.iid).get("finished_row_ids") or []
            w.do(self.iid, "close_ledger_rows", {
                "closed_row_ids": finished, "closure_evidence": w.attach("销账佐证材料.pdf"),
                "closure_note": "已完成事项经核实予以销账"})

    # -- a unit's actions in a round (each checks that its task is open)

    def _task(self, element_id: str, unit: str | None = None) -> TaskInfo | None:
        return self.w.find(self.iid, element_id, unit)

    def _report(self, unit, report):
        def act():
            t = self._task("prepare_monthly_report", unit)
            if t is not None:
                self.w.complete(t, report)
        return act

    def _sign(self, unit, decision):
        def act():
            t = self._task("sign_monthly_report", unit)
            if t is not None:
                self.w.complete(t, {"sign_decision": decision, "sign_opinion": (
                    "同意报送" if decision == "approve" else "部分任务进度数据需核实后重报")})
        return act

    def _revise(self, unit, progress):
        def act():
            t = self._task("revise_monthly_report", unit)
            if t is not None:
                self.w.complete(t, {"report_summary": "已按负责人意见核实并更正各项任务进度。",
                                    "row_progress": progress, "revise_note": "已更正"})
        return act

    def _explain(self, unit):
        def act():
            t = self._task("explain_unsigned_report", unit)
            if t is not None:
                channel, text = self.rng.choice(catalog.UNSIGNED_EXPLANATIONS)
                self.w.complete(t, {"explanation": text, "head_approval_channel": channel,
                                    "explanation_files": self.w.attach("负责人审核截图.png")})
        return act

    def _urge(self):
        def act():
            for t in [x for x in self.w.open_tasks(self.iid) if x.element_id == "urge_report"]:
                self.w.complete(t, {"urge_method": self.rng.choice(["phone", "platform"]),
                                    "urge_notes": "已提醒单位尽快报送上月工作完成情况"})
        return act

    def _notice(self, deadline: date):
        def act():
            for t in [x for x in self.w.open_tasks(self.iid)
                      if x.element_id == "issue_supervision_notice"]:
                self.notices += 1
                self.w.complete(t, {
                    "notice_number": f"督办〔2026〕{self.notices + 2}号",
                    "notice_deadline": (deadline + timedelta(days=6)).isoformat(),
                    "notice_file": self.w.attach("督办单.pdf")})
        return act

    def _interview(self, unit):
        def act():
            t = self._task("interview_unit_head")
            if t is not None:
                self.w.complete(t, {"interview_date": _iso(self.w.now()), "interviewer": "分管副区长",
                                    "interview_record": "约谈责任单位主要负责人，要求立即报送并说明原因"})
        return act

    def _circular(self, unit):
        def act():
            t = self._task("issue_circular")
            if t is not None:
                self.w.complete(t, {"circular_number": "昆督通〔2026〕9号",
                                    "circular_content": "未按时报送月报，予以全区通报。"})
        return act


# ------------------------------------------------------------------------------ whistle, hazard

# Scripts of the referrals (街镇吹哨、部门报到) and hazards (隐患整改): when each case starts
# (China time) and its steps, each after a number of working days (or on a date). Which
# report or firm each script gets is drawn from the seed.
_WHISTLE_SCRIPTS = [
    (datetime(2026, 9, 8, 9, 30), [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"),
                                   (3, "handle"), (0, "feedback"), (1, "rate:satisfied")]),
    (datetime(2026, 9, 22, 10, 0), [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"),
                                    (4, "handle"), (0, "feedback"), (2, "rate:unsatisfied"),
                                    (4, "handle"), (0, "feedback"), (2, "rate:unsatisfied"),
                                    (5, "handle"), (0, "feedback"), (2, "rate:unsatisfied")]),
    (datetime(2026, 10, 10, 9, 0), [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"),
                                    (2, "handle"), (0, "feedback"), (1, "rate:unsatisfied"),
                                    (3, "handle"), (0, "feedback"), (1, "rate:satisfied")]),
    (datetime(2026, 10, 28, 14, 0), [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"),
                                     (4, "handle:1"), (0, "feedback:1"),
                                     (date(2026, 11, 12), "supervise")]),
    (datetime(2026, 11, 16, 9, 40), [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"),
                                     (4, "handle"), (1, "feedback")]),
    (datetime(2026, 11, 25, 10, 15), [(0, "blow"), (0, "sign"),
                                      (date(2026, 11, 27), "urge_accept")]),
    (datetime(2026, 11, 27, 14, 50), [(0, "blow"), (0, "sign"), (0, "accept")]),
    (datetime(2026, 11, 27, 16, 10), [(0, "blow")]),
]
# The category of the report some scripts need (the 2nd escalates to the 包联 leader, the 4th
# is a hard case for two departments, the 7th urgent); the others take any report.
_WHISTLE_SHAPE = {1: "construction", 3: "construction_dust", 6: "safety"}

_HAZARD_SCRIPTS = [
    ("general", datetime(2026, 9, 3, 10, 0), [(0, "record"), (0, "notice"), (6, "rectify"),
                                              (2, "pass")]),
    ("major", datetime(2026, 9, 8, 9, 30), [(0, "record"), (1, "notice"), (12, "rectify"),
                                            (3, "fail"), (2, "interview"), (8, "rectify"),
                                            (3, "fail"), (2, "propose")]),
    ("major", datetime(2026, 9, 10, 14, 0), [(0, "record"), (0, "notice"), (7, "rectify"),
                                             (2, "fail"), (2, "interview"), (9, "rectify"),
                                             (2, "fail"), (1, "propose"), (3, "shutdown"),
                                             (3, "enforce")]),
    ("major", datetime(2026, 9, 16, 10, 30), [(0, "record"), (0, "notice"),
                                              (date(2026, 11, 5), "fail"), (2, "interview")]),
    ("general", datetime(2026, 10, 12, 9, 0), [(0, "record"), (0, "notice"), (7, "rectify"),
                                               (2, "fail"), (1, "interview"), (4, "rectify"),
                                               (2, "pass")]),
    ("general", datetime(2026, 11, 2, 15, 0), [(0, "record"), (0, "notice")]),
    ("general", datetime(2026, 11, 16, 9, 30), [(0, "record"), (0, "notice"), (7, "rectify")]),
    ("general", datetime(2026, 11, 20, 10, 0), [(0, "record"), (0, "notice")]),
]


class Whistle:
    def __init__(self, w: World, key: str, report: tuple, start: datetime, steps: list,
                 rng: random.Random):
        self.w, self.key, self.rng = w, key, rng
        self.street, category, urgency, title, location, description, enterprise = report
        self.report = {
            "problem_title": title, "category": category, "urgency": urgency,
            "location": location, "problem_description": description,
            "reporter_phone": f"0472-{rng.randint(2100000, 2199999)}",
        }
        if enterprise:
            self.report["enterprise_name"] = enterprise
        self.start, self.steps, self.iid = start, steps, None

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.report["scene_photos"] = w.attach("现场照片.jpg")
        self.iid = w.start("whistle_referral", f"{self.street}-clerk", self.key,
                           self.report["problem_title"], {"street": self.street})
        for wait, action in self.steps:
            if isinstance(wait, date):
                yield w.on(wait, rng)
            elif wait or action != "blow":
                yield w.workdays(wait, rng) if wait else w.now() + timedelta(
                    minutes=rng.randint(20, 90))
            self.act(action)

    def act(self, action: str) -> None:
        w, iid, rng = self.w, self.iid, self.rng
        kind, _, arg = action.partition(":")
        limit = int(arg) if arg.isdigit() else None
        if kind not in ("blow", "sign", "urge_accept", "supervise"):
            # the 督查室 deals with the urges the timers raised while the case waited
            w.each(iid, "urge_accept", lambda t: {"urge_method": "phone",
                                                  "urge_note": "已电话督促责任部门接单"})
            w.each(iid, "urge_arrival", lambda t: {"urge_method": "phone",
                                                   "urge_note": "已电话督促责任部门尽快到场"})
        if kind == "blow":
            w.do(iid, f"blow_whistle_{self.street}", self.report)
        elif kind == "sign":
            w.do(iid, f"sign_whistle_{self.street}", {"sign_decision": "sign",
                                                      "head_opinion": "镇（街道）无法单独解决，同意吹哨"})
        elif kind == "accept":
            w.each(iid, "accept_referral", lambda t: {
                "handler_name": w.engine.get_user(f"{t.department_code}-clerk").display_name,
                "handler_phone": f"0472-{rng.randint(2100000, 2199999)}",
                "responsibility_confirmed": True})
        elif kind == "arrive":
            w.each(iid, "arrive_on_site", lambda t: {
                "arrival_date": _iso(w.now()), "arrival_note": "已到场核实，问题属实",
                "arrival_photos": w.attach("到场照片.jpg")})
        elif kind == "handle":
            w.each(iid, "handle_problem", lambda t: {
                "measures": "下达责令整改通知书，依法立案查处", "handling_result": "solved",
                "handling_evidence": w.attach("处置佐证.jpg")}, limit)
        elif kind == "feedback":
            w.each(iid, "feed_back", lambda t: {"feedback_summary": "已处置完毕，问题已整改到位",
                                                "feedback_date": _iso(w.now())}, limit)
        elif kind == "rate":
            w.do(iid, f"rate_result_{self.street}", {
                "rating": arg, "rating_note": "处置到位" if arg == "satisfied" else "问题反弹，群众仍有投诉"})
        elif kind in ("urge_accept", "supervise"):
            element = "urge_accept" if kind == "urge_accept" else "supervise_handling"
            w.each(iid, element, lambda t: {"urge_method": "phone",
                                            "urge_note": "已电话督促责任部门限时办理"})


class Hazard:
    def __init__(self, w: World, key: str, level: str, firm: tuple, start: datetime, steps: list,
                 rng: random.Random):
        self.w, self.key, self.level, self.rng = w, key, level, rng
        self.enterprise, self.head, _level, self.description, self.basis = firm
        self.start, self.steps, self.iid = start, steps, None

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.iid = w.start("hazard_rectification", "emergency-clerk", self.key,
                           f"{self.enterprise}隐患整改")
        for wait, action in self.steps:
            if isinstance(wait, date):
                yield w.on(wait, rng)
            elif wait:
                yield w.workdays(wait, rng)
            elif action != "record":
                yield w.now() + timedelta(minutes=rng.randint(30, 120))
            self.act(action)

    def act(self, action: str) -> None:
        w, iid, rng = self.w, self.iid, self.rng
        today = _iso(w.now())
        if action == "record":
            w.do(iid, "record_hazards", {
                "enterprise_name": self.enterprise, "enterprise_head": self.head,
                "enterprise_phone": f"0472-{rng.randint(5100000, 5199999)}",
                "inspection_date": today, "inspection_team": "区应急局 郑磊、马福明（四不两直）",
                "hazard_level": self.level, "hazard_description": self.description,
                "legal_basis": self.basis, "hazard_photos": w.attach("隐患照片.jpg")})
        elif action == "notice":
            w.do(iid, "issue_rectification_notice", {
                "notice_number": _doc_no("昆应急责改", w, rng),
                "rectification_requirements": "对照隐患清单逐项整改，整改完成后报送佐证材料",
                "notice_served_date": today, "notice_scan": w.attach("整改通知书.pdf")})
        elif action == "rectify":
            w.do(iid, "record_rectification", {
                "rectification_summary": "企业已按整改通知逐项整改", "completed_date": today,
                "rectification_evidence": w.attach("整改前后对比照片.jpg", "整改报告.pdf")})
        elif action in ("pass", "fail"):
            w.do(iid, "review_rectification", {
                "review_date": today, "review_result": action,
                "review_opinion": "整改到位，隐患销号" if action == "pass" else "整改不彻底，报警装置未联动"})
        elif action == "interview":
            w.do(iid, "interview_enterprise_head", {
                "interview_date": today, "interviewee": self.head,
                "interview_record": "指出整改不到位的问题，提出限期整改要求",
                "enterprise_commitment": "按期整改到位"})
        elif action == "propose":
            w.do(iid, "propose_closure", {
                "closure_reason": "两次复查不合格，屡改不合格",
                "legal_basis": "《中华人民共和国安全生产法》第一百一十三条",
                "proposal_files": w.attach("提请关停报告.pdf")})
        elif action == "shutdown":
            w.do(iid, "decide_closure", {"closure_decision": "shutdown",
                                         "decision_note": "同意依法关停"})
        elif action == "enforce":
            w.do(iid, "enforce_shutdown", {
                "shutdown_date": today, "shutdown_measures": "停止供电，查封生产装置并公告",
                "shutdown_files": w.attach("关停执行记录.pdf")})


def caseworkers(w: World, rng: random.Random) -> Iterator[datetime]:
    """In the last fortnight caseworkers (and heads, for sign-offs) claim part of the work in
    their departments' queues: "today" some open tasks are in hand, the rest wait."""
    while True:
        yield w.on(china(w.now()).date() + timedelta(days=1), rng)
        page = w.engine.list_tasks(w.admin, scope="all", state="ready", limit=500)
        for t in sorted(page.items, key=_task_order):
            if t.department_code and w.now() - t.created_at > timedelta(hours=4) and (
                rng.random() < 0.12
            ):
                w.claim(t)


# ------------------------------------------------------------------------------ loading


def supervision_title(month: int) -> str:
    return f"2026年{month}月全区重点工作督查督办（昆府发〔2026〕10号）"


@dataclass
class DemoPlan:
    """Every case of the demo, drawn from the seed before anything runs."""

    seed: int
    projects: list[Project]  # ordinary projects, then the mine projects
    whistles: list[tuple]  # (key, report, start, steps)
    hazards: list[tuple]  # (key, level, firm, start, steps)

    def cases(self) -> set[tuple[str, str, str]]:
        """(process key, business key, title) of every instance the demo starts."""
        found = {("project_lifecycle", p.code, p.name) for p in self.projects}
        found |= {("mine_approval", p.code, p.name) for p in self.projects if p.mine}
        found |= {("supervision_monthly", f"DC-2026-{m:02d}", supervision_title(m))
                  for m in range(3, 12)}
        found |= {("whistle_referral", key, report[3]) for key, report, _s, _t in self.whistles}
        found |= {("hazard_rectification", key, f"{firm[0]}隐患整改")
                  for key, _level, firm, _s, _t in self.hazards}
        return found


def plan_demo(seed: int, streets: list[str]) -> DemoPlan:
    """The demo's cases for ``seed``: names, firms, amounts, 街镇, schedules (the same seed
    gives the same plan); ``streets`` are the 街镇 department codes of the org chart."""
    planner = Planner(seed, sorted(streets), utc(TODAY))
    projects = planner.projects() + planner.mine_projects()
    planner.number(projects)
    rng = planner.rng
    reports = list(catalog.WHISTLES)
    rng.shuffle(reports)
    # the scripts that need a timer of their kind get a report of that category
    shaped = {n: next(r for r in reports if r[1] == category)
              for n, category in _WHISTLE_SHAPE.items()}
    others = iter(r for r in reports if r not in shaped.values())
    whistles = [(f"CS-2026-{n + 1:03d}", shaped[n] if n in shaped else next(others), start, steps)
                for n, (start, steps) in enumerate(_WHISTLE_SCRIPTS)]
    firms = {"general": [h for h in catalog.HAZARDS if h[2] == "general"],
             "major": [h for h in catalog.HAZARDS if h[2] == "major"]}
    for group in firms.values():
        rng.shuffle(group)
    hazards = [(f"YH-2026-{n + 1:03d}", level, firms[level].pop(), start, steps)
               for n, (level, start, steps) in enumerate(_HAZARD_SCRIPTS)]
    return DemoPlan(seed, projects, whistles, hazards)


def load_demo(engine: Engine, seed: int = DEMO_SEED,
              progress: Callable[[datetime, datetime, datetime], None] | None = None,
              files: CaseFiles | None = None) -> DemoSummary:
    """Drive the demo's cases through ``engine`` (migrated, org synced, library deployed, the
    service-task handlers registered with ``workflows.register``) up to 28 November 2026.
    ``progress(start, now, end)`` is called as the simulated clock moves (China times);
    evidence is uploaded through ``files`` (without it, file fields hold named ids that match
    no file). Raises DemoError when a case cannot go as planned."""
    began = wall.perf_counter()
    missing = sorted(set(SERVICE_HANDLERS) - set(engine.services.names()))
    if missing:
        raise DemoError(f"引擎未注册服务任务处理程序 {', '.join(missing)}（workflows.register）")
    departments = engine.list_departments()
    plan = plan_demo(seed, [d.code for d in departments if d.kind == "street"])
    end = utc(TODAY)
    first = min(p.start for p in plan.projects) - timedelta(days=1)
    with time_machine.travel(first.replace(tzinfo=UTC), tick=False) as traveller:
        w = World(engine, traveller, seed, files)

        def moved(now: datetime) -> None:
            if progress:
                progress(china(first), china(now), TODAY)

        sim = Simulation(w, end, moved)
        for p in plan.projects:
            case = mine_project(w, sim, p) if p.mine else Lifecycle(w, sim, p).run()
            sim.spawn(p.start, case)
        supervision = Supervision(w, seed)
        sim.spawn(utc(datetime(2026, 2, 24, 10, 0)), supervision.run())
        for key, report, start, steps in plan.whistles:
            case = Whistle(w, key, report, start, steps, random.Random(f"{seed}:{key}"))
            sim.spawn(utc(start), case.run())
        for key, level, firm, start, steps in plan.hazards:
            case = Hazard(w, key, level, firm, start, steps, random.Random(f"{seed}:{key}"))
            sim.spawn(utc(start), case.run())
        sim.spawn(utc(TODAY - timedelta(days=14)), caseworkers(w, random.Random(f"{seed}:claims")))
        sim.run()
        summary = _summary(w, plan, supervision, wall.perf_counter() - began)
    return summary


def _summary(w: World, plan: DemoPlan, supervision: Supervision,
             seconds: float) -> DemoSummary:
    engine = w.engine
    with engine.db.connect().execution_options(kunflow_readonly=True) as conn:
        stages = Counter(dict(conn.execute(
            sa.select(instance.c.stage, sa.func.count())
            .where(instance.c.process_key == "project_lifecycle")
            .group_by(instance.c.stage)).all()))
        open_tasks = conn.execute(sa.select(sa.func.count()).select_from(task_table).where(
            task_table.c.state.in_(("ready", "claimed")))).scalar_one()
        overdue = conn.execute(sa.select(sa.func.count()).select_from(task_table).where(
            task_table.c.state.in_(("ready", "claimed")), task_table.c.due_at < utc(TODAY)
        )).scalar_one()
    months = tuple(sorted(supervision.instances))
    return DemoSummary(
        seed=plan.seed, projects=len(plan.projects),
        mine_cases=sum(1 for p in plan.projects if p.mine),
        supervision_months=months, whistles=len(plan.whistles), hazards=len(plan.hazards),
        instances=instance_count(engine), open_tasks=open_tasks, overdue_tasks=overdue,
        commands=w.commands, attachments=w.attachments, seconds=seconds, stages=dict(stages),
    )
