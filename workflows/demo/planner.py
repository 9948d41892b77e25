"""Planning the demo: names, firms, amounts, 街镇 and schedules of every case, drawn from the
seed alone before anything runs (``plan_demo``): the same seed gives the same cases."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import catalog
from .hazard_rectification import HAZARD_SCRIPTS
from .supervision_monthly import supervision_title
from .whistle_referral import WHISTLE_SCRIPTS, WHISTLE_SHAPE
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


# The 街镇 the demo's projects and referrals sit in: the two project_lifecycle has a lane for
# (its monthly progress steps are drawn per 街镇); the other 13 join when the demo is rewritten.
DEMO_STREETS = ("buerhantu", "kunbei")


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
              for n, category in WHISTLE_SHAPE.items()}
    others = iter(r for r in reports if r not in shaped.values())
    whistles = [(f"CS-2026-{n + 1:03d}", shaped[n] if n in shaped else next(others), start, steps)
                for n, (start, steps) in enumerate(WHISTLE_SCRIPTS)]
    firms = {"general": [h for h in catalog.HAZARDS if h[2] == "general"],
             "major": [h for h in catalog.HAZARDS if h[2] == "major"]}
    for group in firms.values():
        rng.shuffle(group)
    hazards = [(f"YH-2026-{n + 1:03d}", level, firms[level].pop(), start, steps)
               for n, (level, start, steps) in enumerate(HAZARD_SCRIPTS)]
    return DemoPlan(seed, projects, whistles, hazards)
