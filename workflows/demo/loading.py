"""Loading the demo (``kunflow demo``): every planned case spawned on the simulation's
timeline, the caseworkers claiming work in the last fortnight, and what was loaded."""

from __future__ import annotations

import random
import time as wall
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import time_machine

from engine import SYSTEM, CaseFiles, Engine

from ..dashboard.projection import refresh_lights
from .hazard_rectification import Hazard
from .mine_approval import mine_project
from .planner import DemoPlan, plan_demo
from .project_lifecycle import Lifecycle
from .register_cases import (
    closure_deployed,
    spawn_register_cases,
    start_mine_closure,
)
from .registers import DemoRegisterSummary, load_demo_registers
from .supervision_monthly import Supervision
from .whistle_referral import Whistle
from .world import TODAY, DemoError, Simulation, World, china, task_order, utc

DEMO_SEED = 2026
# Service-task handlers the shipped diagrams call (workflows.register puts them on the engine)
SERVICE_HANDLERS = (
    "assign_package_leader",
    # ledger (issue 12): supervision_monthly on the ledger's tables
    "ledger_open_round", "ledger_unit_rows", "ledger_record_progress", "ledger_check_round",
    "ledger_record_lights", "ledger_record_consultation", "ledger_close_rows",
)


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
    registers: DemoRegisterSummary | None = None
    register_cases: int = 0  # cases started from register entries (register_case rows)
    register_cases_open: int = 0
    closure_started: bool = False  # mine_closure of the 临近关闭 mine (when deployed)
    street_queues: dict = field(default_factory=dict)  # 街镇 code -> open tasks in its queue


def street_codes(engine: Engine) -> list[str]:
    """The 街镇 of the org chart (kind street.subdistrict / street.town)."""
    return [d.code for d in engine.list_departments() if d.kind.split(".")[0] == "street"]


def street_queues(engine: Engine) -> dict[str, int]:
    """Open tasks in each 街镇's queue (what its clerk and head see under 本部门)."""
    found = {}
    for code in street_codes(engine):
        total = 0
        for role in ("clerk", "head"):
            user = engine.get_user(f"{code}-{role}")
            if user is not None:
                total = max(
                    total,
                    engine.list_tasks(
                        user.actor(), scope="department", state="open", count_only=True
                    ).total,
                )
        found[code] = total
    return found


def instance_count(engine: Engine) -> int:
    """Process instances in the database (``kunflow demo --if-empty`` loads only when 0)."""
    return engine.list_instances(SYSTEM, count_only=True).total


def caseworkers(w: World, rng: random.Random) -> Iterator[datetime]:
    """In the last fortnight caseworkers (and heads, for sign-offs) claim part of the work in
    their departments' queues: "today" some open tasks are in hand, the rest wait."""
    while True:
        yield w.on(china(w.now()).date() + timedelta(days=1), rng)
        page = w.engine.list_tasks(w.admin, scope="all", state="ready", limit=500)
        for t in sorted(page.items, key=task_order):
            if (
                t.department_code
                and w.now() - t.created_at > timedelta(hours=4)
                and (rng.random() < 0.12)
            ):
                w.claim(t)


def load_demo(
    engine: Engine,
    seed: int = DEMO_SEED,
    progress: Callable[[datetime, datetime, datetime], None] | None = None,
    files: CaseFiles | None = None,
) -> DemoSummary:
    """Drive the demo's cases through ``engine`` (migrated, org synced, library deployed, the
    service-task handlers registered with ``workflows.register``) up to 28 November 2026.
    ``progress(start, now, end)`` is called as the simulated clock moves (China times);
    evidence is uploaded through ``files`` (without it, file fields hold named ids that match
    no file). Raises DemoError when a case cannot go as planned."""
    began = wall.perf_counter()
    missing = sorted(set(SERVICE_HANDLERS) - set(engine.services.names()))
    if missing:
        raise DemoError(f"引擎未注册服务任务处理程序 {', '.join(missing)}（workflows.register）")
    plan = plan_demo(seed, street_codes(engine))
    end = utc(TODAY)
    first = min(p.start for p in plan.projects) - timedelta(days=1)
    with time_machine.travel(first.replace(tzinfo=UTC), tick=False) as traveller:
        w = World(engine, traveller, seed, files)
        # the registers first (mines in each status, 选矿厂, 尾矿库, firms): cases start from them
        registers = load_demo_registers(engine, w.admin)

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
            case = Whistle(w, key, report, start, steps, random.Random(f"{seed}:{key}"),
                           plan.project_codes.get(key))
            sim.spawn(utc(start), case.run())
        for key, level, firm, start, steps in plan.hazards:
            case = Hazard(w, key, level, firm, start, steps, random.Random(f"{seed}:{key}"),
                          plan.project_codes.get(key))
            sim.spawn(utc(start), case.run())
        register_cases = spawn_register_cases(w, sim, seed, plan.project_codes)
        closure: list[int] = []
        if closure_deployed(engine):  # mine_closure merged: the 临近关闭 mine is being closed
            sim.spawn(utc(datetime(2026, 11, 20, 9, 30)), _closure(w, closure))
        sim.spawn(utc(TODAY - timedelta(days=14)), caseworkers(w, random.Random(f"{seed}:claims")))
        sim.run()
        # lights as of the demo's day (a task fell due, an agreed date passed, between steps);
        # the running app's housekeeping brings them up to the real day
        refresh_lights(engine, end)
        # >>> inbox: deadline reminders as of the demo's day, so the inboxes are not empty
        engine.send_deadline_reminders(end)
        # <<< inbox
        summary = _summary(w, plan, supervision, wall.perf_counter() - began)
        summary = _with_registers(w, summary, registers, register_cases, bool(closure))
    return summary


def _closure(w: World, started: list[int]) -> Iterator[datetime]:
    iid = start_mine_closure(w.engine)
    if iid is not None:
        w.commands += 2
        started.append(iid)
    return
    yield  # a case of the simulation (a generator), done in one step


def _with_registers(
    w: World, summary: DemoSummary, registers: DemoRegisterSummary, cases: list, closure: bool
) -> DemoSummary:
    from dataclasses import replace

    started = [c.iid for c in cases if c.iid is not None]
    open_ = sum(1 for iid in started if w.status(iid) == "running")
    with time_machine.travel(utc(TODAY).replace(tzinfo=UTC), tick=False):
        queues = street_queues(w.engine)
    return replace(
        summary,
        registers=registers,
        register_cases=len(started),
        register_cases_open=open_,
        closure_started=closure,
        street_queues=queues,
    )


def _summary(w: World, plan: DemoPlan, supervision: Supervision, seconds: float) -> DemoSummary:
    engine = w.engine
    stages = engine.count_instances_by_stage("project_lifecycle")
    open_tasks = engine.list_tasks(SYSTEM, scope="all", state="open", count_only=True).total
    # Overdue "today": due before the demo's now. The clock stands there, or a second past it
    # when a timer fell due at that very moment; the count is taken at the moment itself.
    with time_machine.travel(utc(TODAY).replace(tzinfo=UTC), tick=False):
        overdue = engine.list_tasks(
            SYSTEM, scope="all", state="open", light="red", count_only=True
        ).total
    months = tuple(sorted(supervision.instances))
    return DemoSummary(
        seed=plan.seed,
        projects=len(plan.projects),
        mine_cases=sum(1 for p in plan.projects if p.mine),
        supervision_months=months,
        whistles=len(plan.whistles),
        hazards=len(plan.hazards),
        instances=instance_count(engine),
        open_tasks=open_tasks,
        overdue_tasks=overdue,
        commands=w.commands,
        attachments=w.attachments,
        seconds=seconds,
        stages=dict(stages),
    )
