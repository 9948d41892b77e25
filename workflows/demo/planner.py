"""Planning the demo: names, firms, amounts, 街镇 and schedules of every case, drawn from the
seed alone before anything runs (``plan_demo``): the same seed gives the same cases."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import catalog
from .hazard_rectification import HAZARD_SCRIPTS
from .register_cases import RegisterScript, plan_register_cases
from .supervision_monthly import supervision_title
from .whistle_referral import STREET_SCRIPTS, WHISTLE_SCRIPTS, WHISTLE_SHAPE
from .world import TODAY, china, utc

_STEP = timedelta(minutes=20)  # the least a case waits between two of its own steps


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
    ("assign_package_leader", None),
    ("first_negotiation", None),
    (None, "dropped"),
    ("joint_prereview", None),
    ("joint_prereview", None),
    ("consolidate_prereview", None),
    ("sign_agreement", None),
    ("sign_agreement", None),
    ("register_company", None),
    ("register_company", None),
    ("approval", None),
    ("approval", None),
    ("approval", None),
    ("review_land_site", None),
    ("issue_planning_permit", None),
    ("issue_planning_permit", None),
    ("permits", None),
    ("permits", None),
    ("permits", None),
    ("issue_construction_permit", None),
    ("issue_construction_permit", None),
    ("construction", None),
    ("construction", None),
    ("construction", None),
    ("leader_coordinate_progress", None),
    ("acceptance", None),
    ("special_acceptance", None),
    ("confirm_production", None),
    ("confirm_production", None),
    ("monitor_operation", None),
    ("service_request", None),
    (None, "full_production"),
    ("decide_exit", None),
    (None, "exit_breach"),
    (None, "exit_idle_land"),
]
# Rough calendar days from the lead to each stop: where a case starts on the timeline.
_DAYS_TO = {
    "assign_package_leader": 1,
    "first_negotiation": 4,
    "joint_prereview": 14,
    "consolidate_prereview": 22,
    "sign_agreement": 30,
    "register_company": 45,
    "approval": 52,
    "review_land_site": 75,
    "issue_planning_permit": 90,
    "permits": 115,
    "issue_construction_permit": 160,
    "construction": 300,
    "leader_coordinate_progress": 300,
    "acceptance": 330,
    "special_acceptance": 340,
    "confirm_production": 370,
    "monitor_operation": 420,
    "service_request": 430,
    "decide_exit": 330,
    "dropped": 8,
    "full_production": 460,
    "exit_breach": 320,
    "exit_idle_land": 110,
}
# The mine cases: the major state each stands in "today", and how long it took to get there.
MINE_STATES = ["会商研判", "专项审批", "安全设施竣工验收", "安全生产许可", "日常监管", "关闭退出"]
_MINE_DAYS = {
    "会商研判": 70,
    "专项审批": 240,
    "安全设施竣工验收": 420,
    "安全生产许可": 470,
    "日常监管": 560,
    "关闭退出": 640,
}


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
        return Person(
            name, "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        )

    def firm(self, kind: str) -> str:
        word = self._firm_words.pop() if self._firm_words else f"昆{len(kind)}"
        return f"包头{word}{kind}有限公司"

    def projects(self) -> list[Project]:
        rng = self.rng
        catalog_projects = list(catalog.PROJECTS)
        rng.shuffle(catalog_projects)
        stops = list(PROJECT_STOPS)
        rng.shuffle(stops)
        # every 街镇 is the 属地 of two or three projects
        streets = [self.streets[n % len(self.streets)] for n in range(len(stops))]
        rng.shuffle(streets)
        projects = []
        for n, ((stop, ending), (industry, name, capacity, invest, kind), street) in enumerate(
            zip(stops, catalog_projects, streets, strict=False), start=1
        ):
            days = _DAYS_TO[stop or ending]
            waiting = rng.randint(2, 18) if stop else rng.randint(10, 40)
            start_local = TODAY - timedelta(days=days + waiting)
            start_local = self._office_start(start_local, rng)
            p = Project(
                code="",
                name=name,
                industry=industry,
                capacity=capacity,
                investment=rng.randrange(invest[0], invest[1], 500),
                investor=self.firm(kind),
                street=street,
                stop=stop,
                ending=ending or "",
                rng=self.case_rng(f"project-{n}"),
                contact=self.person(rng),
                start=utc(start_local),
                reach_by=utc(TODAY - timedelta(days=waiting)),
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
            towns = [s for s in MINE_STREETS if s in self.streets] or self.streets
            street = towns[n % len(towns)]
            projects.append(
                Project(
                    code="",
                    name=name,
                    industry="heavy_industry",
                    capacity=capacity,
                    investment=rng.randrange(invest[0], invest[1], 500),
                    investor=self.firm("矿业"),
                    street=street,
                    stop=None,
                    ending="mine",
                    rng=self.case_rng(f"mine-{n}"),
                    contact=self.person(rng),
                    mine=(mineral, kind, state),
                    start=utc(start_local),
                    reach_by=utc(TODAY - timedelta(days=waiting)),
                    construction_months=rng.randint(5, 7),
                )
            )
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


@dataclass
class DemoPlan:
    """Every case of the demo, drawn from the seed before anything runs."""

    seed: int
    projects: list[Project]  # ordinary projects, then the mine projects
    whistles: list[tuple]  # (key, report, start, steps)
    hazards: list[tuple]  # (key, level, firm, start, steps)
    register_cases: list[RegisterScript] = field(default_factory=list)  # started from entries
    # case key (a whistle's or hazard's business key, ``reg-<n>`` for the n-th register case)
    # -> the code of the project it concerns, filled into the start form's 关联项目代码
    project_codes: dict[str, str] = field(default_factory=dict)

    def cases(self) -> set[tuple[str, str, str]]:
        """(process key, business key, title) of every instance the demo starts, but those
        started from register entries (``register_cases``: their keys end in random
        characters, as the entry page's 发起 makes them)."""
        found = {("project_lifecycle", p.code, p.name) for p in self.projects}
        found |= {("mine_approval", p.code, p.name) for p in self.projects if p.mine}
        found |= {
            ("supervision_monthly", f"DC-2026-{m:02d}", supervision_title(m)) for m in range(3, 12)
        }
        found |= {("whistle_referral", key, report[3]) for key, report, _s, _t in self.whistles}
        found |= {
            ("hazard_rectification", key, f"{firm[0]}隐患整改")
            for key, _level, firm, _s, _t in self.hazards
        }
        return found


# The 街镇 the demo's projects and referrals sit in: every 街道 and 镇 of the org chart (issue 12);
# the mine projects stay in the two the gazette's mine rules name.
DEMO_STREETS = (
    "shaoxianlu",
    "zhaotan",
    "linyinlu",
    "youyi",
    "aerding",
    "tuanjie",
    "anshandao",
    "qianjindao",
    "shifudong",
    "baiyunlu",
    "huanghexi",
    "kungonglu",
    "kunbei",
    "kunhe",
    "buerhantu",
)
MINE_STREETS = ("buerhantu", "kunbei")


def plan_demo(seed: int, streets: list[str]) -> DemoPlan:
    """The demo's cases for ``seed``: names, firms, amounts, 街镇, schedules (the same seed
    gives the same plan); ``streets`` are the 街镇 department codes of the org chart."""
    planner = Planner(seed, sorted(streets), utc(TODAY))
    projects = planner.projects() + planner.mine_projects()
    planner.number(projects)
    rng = planner.rng
    # the first scripts go to the reports of the two 街镇 that had the demo to themselves; each
    # other 街镇 blows one whistle on a script that leaves work in its own queue "today"
    reports = [r for r in catalog.WHISTLES if r[0] in MINE_STREETS]
    rng.shuffle(reports)
    # the scripts that need a timer of their kind get a report of that category
    shaped = {
        n: next(r for r in reports if r[1] == category) for n, category in WHISTLE_SHAPE.items()
    }
    others = iter(r for r in reports if r not in shaped.values())
    whistles = [
        (shaped[n] if n in shaped else next(others), start, steps)
        for n, (start, steps) in enumerate(WHISTLE_SCRIPTS)
    ]
    elsewhere = [r for r in catalog.WHISTLES if r[0] not in MINE_STREETS and r[0] in streets]
    rng.shuffle(elsewhere)
    whistles += [
        (report, start, steps)
        for report, (start, steps) in zip(elsewhere, STREET_SCRIPTS, strict=False)
    ]
    whistles = [
        (f"CS-2026-{n:03d}", report, start, steps)
        for n, (report, start, steps) in enumerate(
            sorted(whistles, key=lambda x: (x[1], x[0][0])), start=1
        )
    ]
    firms = {
        "general": [h for h in catalog.HAZARDS if h[2] == "general"],
        "major": [h for h in catalog.HAZARDS if h[2] == "major"],
    }
    for group in firms.values():
        rng.shuffle(group)
    hazards = [
        (f"YH-2026-{n + 1:03d}", level, firms[level].pop(), start, steps)
        for n, (level, start, steps) in enumerate(HAZARD_SCRIPTS)
    ]
    scripts = plan_register_cases()
    return DemoPlan(seed, projects, whistles, hazards, scripts,
                    project_links(projects, whistles, hazards, scripts))


def project_links(projects: list[Project], whistles: list[tuple], hazards: list[tuple],
                  scripts: list[RegisterScript]) -> dict[str, str]:
    """Which cases concern a project (the 驾驶舱's linked cases): every third whistle of a
    街镇 whose project started a month before it, the first two hazard inspections (a mine
    project), the first two 三在三找 requests (the longest-running ordinary project)."""
    month = timedelta(days=30)
    links, taken = {}, 0
    for key, report, start, _steps in whistles:
        nearby = [p for p in projects if p.street == report[0] and p.start + month < utc(start)]
        if nearby:
            taken += 1
            if taken % 3 == 1:
                links[key] = max(nearby, key=lambda p: p.start).code
    mines = sorted((p for p in projects if p.mine), key=lambda p: p.start)
    for (key, _level, _firm, start, _steps), p in zip(hazards[:2], mines, strict=False):
        if p.start < utc(start):
            links[key] = p.code
    first = min((p for p in projects if not p.mine), key=lambda p: p.start)
    requests = [n for n, s in enumerate(scripts, start=1) if s.process_key == "service_request"]
    for n in requests[:2]:
        links[f"reg-{n}"] = first.code
    return links
