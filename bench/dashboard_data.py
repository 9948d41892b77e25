"""The data of bench/dashboard.py: projects and cases driven through the engine's own commands
(``Engine.start`` / ``claim`` / ``complete``), on a simulated clock, by several processes.

The cases follow the demo's scripts (``workflows.demo``: ``Lifecycle``, ``Whistle``, ``Hazard``)
with names, 街镇, start times and stopping points drawn per case, so projects stand in every
stage and phase and the cases' tasks were completed on varied days (histograms, on-time
rates, overdue tasks). ``service_request`` and the small processes (radioactive_check,
river_sand) are started and advanced a few steps with form data filled in from their forms.
After the chunks, the district's one supervision ledger: the demo's monthly rounds
(``Supervision``), March 2026 to the build's day.

The engine offers no bulk start; its batch commands (suspend / resume / terminate) do not create
cases. Speed comes from processes instead: the work is cut into chunks, each chunk a simulation
of its own (its own clock, ``time_machine``), and ``--workers`` processes take the chunks in turn
on the same database. Due timers are NOT fired (a worker's clock would fire another worker's
timers at the wrong moment): escalation tasks the timers would open do not appear, but every
task keeps its deadline, so the overdue counts are real.

Resumable: a chunk that finished leaves a marker beside the database; an interrupted build
runs only the chunks without one, and a chunk skips the cases whose business key is already
in the database.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

perf = time.perf_counter

# Of the cases that are not projects, per 100: the demo's scripted processes and the rest.
OTHER_MIX = {"whistle_referral": 45, "hazard_rectification": 25, "service_request": 18,
             "radioactive_check": 6, "river_sand": 6}
HISTORY_DAYS = 540  # cases start over the last year and a half
# Of the other cases: only their first step done, a part of their script, all of it. The
# engine takes about 8 ms a command here, a whole whistle script some 90 ms: 100,000 cases run
# to their ends would take hours on two cores.
DEPTH = (50, 25, 25)
FUNNEL_DAYS = 250  # projects standing N days from their lead: weight exp(-N / FUNNEL_DAYS)
_DEBUG = False


@dataclass(frozen=True)
class Plan:
    """What to build: ``projects`` project_lifecycle cases and ``cases`` cases in all."""

    projects: int
    cases: int
    chunks: int
    seed: int = 13

    def chunk_sizes(self, n: int) -> tuple[int, int]:
        """(projects, other cases) of chunk ``n``."""
        per_p, rest_p = divmod(self.projects, self.chunks)
        others = self.cases - self.projects
        per_o, rest_o = divmod(others, self.chunks)
        return per_p + (n < rest_p), per_o + (n < rest_o)


def marker_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".chunks")


def app_for(url: str, workdir: Path, initialize: bool = False):
    from web import create_app

    app = create_app({
        "DATABASE_URL": url,
        "SCHEDULER": False,
        "SECRET_KEY": "bench",
        "DEMO": True,
        "ATTACHMENT_DIR": str(workdir / "attachments"),
    })
    if initialize:
        from web.provision import initialize as init

        init(app.extensions["kunflow"], app.extensions["kunflow.settings"])
    return app


# ---------------------------------------------------------------------------------- cases


def _guarded(case: Iterator, stats: Counter, label: str) -> Iterator:
    """A case that fails (a step its script expected is not open) stops; the rest go on."""
    try:
        yield from case
        stats[f"{label} ok"] += 1
    except Exception as exc:  # noqa: BLE001  (counted and reported)
        stats[f"{label} stopped: {type(exc).__name__}"] += 1
        if _DEBUG:
            print(label, exc, file=sys.stderr)


def _office_start(end_local: datetime, days_back: float, rng: random.Random) -> datetime:
    local = end_local - timedelta(days=days_back)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return datetime(local.year, local.month, local.day, rng.randint(9, 16), rng.randint(0, 59))


def _cut(steps: list, depth: str, rng: random.Random) -> list:
    if depth == "start":
        return steps[:1]
    if depth == "part" and len(steps) > 2:
        return steps[: rng.randint(2, len(steps) - 1)]
    return steps


def _int_steps(steps: list) -> list:
    """A script's steps up to the first one on a fixed date (the scripts are the demo's)."""
    kept = []
    for wait, action in steps:
        if not isinstance(wait, int):
            break
        kept.append((wait, action))
    return kept


class Chunk:
    """One simulation: a chunk's projects and cases on one timeline, ending now."""

    def __init__(self, eng, plan: Plan, number: int, end: datetime, streets: list[str]):
        self.eng, self.plan, self.number = eng, plan, number
        self.rng = random.Random(f"{plan.seed}:{number}")
        self.end = end  # naive UTC
        self.streets = streets
        self.stats: Counter = Counter()

    def existing_keys(self) -> set[str]:
        from engine.model import instance

        prefix = f"B{self.number:03d}-"
        with self.eng.db.connect() as conn:
            return set(conn.execute(sa.select(instance.c.business_key).where(
                instance.c.business_key.like(f"%{prefix}%"))).scalars())

    def run(self) -> Counter:
        import time_machine

        from workflows.demo import catalog
        from workflows.demo.hazard_rectification import HAZARD_SCRIPTS, Hazard
        from workflows.demo.planner import _DAYS_TO, PROJECT_STOPS, Project
        from workflows.demo.project_lifecycle import Lifecycle
        from workflows.demo.whistle_referral import STREET_SCRIPTS, WHISTLE_SCRIPTS, Whistle
        from workflows.demo.world import Simulation, World, china, utc

        rng = self.rng
        n_projects, n_others = self.plan.chunk_sizes(self.number)
        done = self.existing_keys()
        end_local = china(self.end)
        tag = f"B{self.number:03d}-"
        spawns: list[tuple[datetime, str, object]] = []

        # projects: a stopping point of the demo's (every stage, dropped, ended), fewer the
        # further along (a funnel, as the district's leads are), started so that they got there
        # somewhere in the last year and a half
        stop_weights = [math.exp(-_DAYS_TO[stop or ending] / FUNNEL_DAYS)
                        for stop, ending in PROJECT_STOPS]
        for n in range(n_projects):
            code = f"XM-{tag}{n:05d}"
            stop, ending = rng.choices(PROJECT_STOPS, stop_weights)[0]
            industry, name, capacity, invest, kind = rng.choice(catalog.PROJECTS)
            days = _DAYS_TO[stop or ending]
            waiting = rng.randint(2, 18) if stop else rng.randint(10, 40)
            stretch = rng.uniform(1.0, 1.6)
            start_local = _office_start(end_local, days * stretch + waiting
                                        + rng.uniform(0, max(0, HISTORY_DAYS - days * 1.6)), rng)
            p = Project(
                code=code, name=name, industry=industry, capacity=capacity,
                investment=rng.randrange(invest[0], invest[1], 500),
                investor=f"包头{rng.choice(catalog.FIRM_WORDS)}{kind}有限公司",
                street=rng.choice(self.streets), stop=stop, ending=ending or "",
                rng=random.Random(f"{self.plan.seed}:{code}"),
                contact=None, start=utc(start_local),
                reach_by=utc(start_local) + timedelta(days=days * stretch),
            )
            from workflows.demo.planner import Person

            p.contact = Person(rng.choice(catalog.SURNAMES) + rng.choice(catalog.GIVEN),
                               "139" + "".join(rng.choice("0123456789") for _ in range(8)))
            p.route = rng.choice(["file", "file", "file", "file_tech", "examine", "ratify"])
            if ending == "exit_idle_land":
                p.route = "ratify"
            p.civil_works = rng.random() < 0.75
            p.energy_tce = rng.choice([300, 600, 800, 1500, 3000, 6000])
            p.construction_months = rng.randint(4, 8)
            if code not in done:
                spawns.append((p.start, "project_lifecycle", p))

        whistle_scripts = [(s, _int_steps(steps)) for s, steps in WHISTLE_SCRIPTS + STREET_SCRIPTS]
        whistle_scripts = [steps for _s, steps in whistle_scripts if steps]
        reports = [r for r in catalog.WHISTLES if r[0] in self.streets]
        hazard_scripts = [(level, _int_steps(steps)) for level, _s, steps in HAZARD_SCRIPTS]
        firms = {lv: [h for h in catalog.HAZARDS if h[2] == lv] for lv in ("general", "major")}
        keys = list(OTHER_MIX)
        weights = list(OTHER_MIX.values())
        for n in range(n_others):
            key = rng.choices(keys, weights)[0]
            start_local = _office_start(end_local, rng.uniform(0, HISTORY_DAYS), rng)
            code = f"{key[:2].upper()}-{tag}{n:06d}"
            if code in done:
                continue
            # the whole script, a part of it, or only its first step (every step costs
            # engine commands: see DEPTH)
            depth = rng.choices(("start", "part", "whole"), DEPTH)[0]
            if key == "whistle_referral":
                steps = _cut(rng.choice(whistle_scripts), depth, rng)
                spawns.append((utc(start_local), key, (code, rng.choice(reports), steps)))
            elif key == "hazard_rectification":
                level, steps = rng.choice(hazard_scripts)
                spawns.append((utc(start_local), key, (code, level, rng.choice(firms[level]),
                                                        _cut(steps, depth, rng))))
            else:
                steps = {"start": 0, "part": 1, "whole": rng.randint(2, 4)}[depth]
                spawns.append((utc(start_local), key, (code, steps)))

        if not spawns:
            return self.stats
        first = min(when for when, _k, _c in spawns) - timedelta(minutes=5)
        with time_machine.travel(first.replace(tzinfo=UTC), tick=False) as traveller:
            w = World(self.eng, traveller, self.plan.seed)
            sim = Simulation(w, self.end)
            generic = Generic(self.eng, w, rng)
            for when, key, what in spawns:
                if key == "project_lifecycle":
                    case = Lifecycle(w, sim, what).run()
                elif key == "whistle_referral":
                    code, report, steps = what
                    case = Whistle(w, code, report, china(when), steps,
                                   random.Random(f"{self.plan.seed}:{code}")).run()
                elif key == "hazard_rectification":
                    code, level, firm, steps = what
                    case = Hazard(w, code, level, firm, china(when), steps,
                                  random.Random(f"{self.plan.seed}:{code}")).run()
                else:
                    code, steps = what
                    case = generic.run(key, code, steps)
                sim.spawn(when, _guarded(case, self.stats, key))
            sim.run()
        self.stats["commands"] += w.commands
        return self.stats


class Generic:
    """A case of a process without a demo script: started with its start form filled in, then
    ``steps`` open tasks completed (claimed first), a few working days apart."""

    def __init__(self, eng, world, rng: random.Random):
        self.eng, self.w, self.rng = eng, world, rng
        self.starters: dict[str, str] = {}
        self.forms: dict[str, object] = {}

    def starter(self, key: str) -> str:
        if key not in self.starters:
            definition = self.eng.get_definition(key)
            for user in self.eng.list_users():
                actor = user.actor()
                if not actor.is_admin and any(d.key == key for d in
                                              self.eng.startable_definitions(actor)):
                    self.starters[key] = user.username
                    break
            else:
                self.starters[key] = "admin"
            self.forms[key] = self.eng.spec(definition.id)
        return self.starters[key]

    def run(self, key: str, code: str, steps: int) -> Iterator[datetime]:
        from bench.tasklist import form_data

        w, rng = self.w, self.rng
        username = self.starter(key)
        loaded = self.forms[key]
        start_key = getattr(loaded.parsed, "start_form_key", None)
        data = form_data(loaded.forms.get(start_key) if start_key else None, rng)
        iid = w.start(key, username, code, f"{loaded.parsed.name} {code}", data)
        for _ in range(steps):
            yield w.workdays(rng.choice([0.5, 1, 2, 3, 5, 8]), rng)
            tasks = w.open_tasks(iid)
            if not tasks:
                return
            t = rng.choice(tasks)
            schema = loaded.forms.get(t.form_key) if t.form_key else None
            w.complete(t, form_data(schema, rng), None if t.department_code else "admin")


def run_supervision(url: str, workdir: Path, end: datetime, seed: int) -> Counter:
    """The district's one supervision ledger: the demo's 督查督办月报 (its 分解表 imported, a
    ``supervision_monthly`` round a month from March 2026 with late, unsigned, revised and
    missing reports), on its own clock; what the supervision page shows."""
    import logging

    import time_machine

    from workflows.demo.supervision_monthly import Supervision
    from workflows.demo.world import Simulation, World, utc

    logging.disable(logging.WARNING)
    app = app_for(url, workdir)
    eng = app.extensions["kunflow"]
    stats: Counter = Counter()
    start = utc(datetime(2026, 2, 24, 10, 0))
    with time_machine.travel(start.replace(tzinfo=UTC), tick=False) as traveller:
        w = World(eng, traveller, seed)
        sim = Simulation(w, end)
        sim.spawn(start + timedelta(minutes=5),
                  _guarded(Supervision(w, seed).run(), stats, "supervision_monthly"))
        sim.run()
    stats["commands"] += w.commands
    eng.close()
    return stats


# ---------------------------------------------------------------------------------- workers


def _worker(url: str, workdir: str, plan: Plan, chunks: list[int], end_iso: str,
            markers: str, log_path: str, wid: int) -> None:
    import logging

    logging.disable(logging.WARNING)  # the engine logs each stopped case's error
    end = datetime.fromisoformat(end_iso)
    app = app_for(url, Path(workdir))
    eng = app.extensions["kunflow"]
    from workflows.demo.loading import street_codes

    streets = sorted(street_codes(eng))
    with open(log_path, "a", encoding="utf-8") as log:
        for n in chunks:
            t0 = perf()
            try:
                stats = Chunk(eng, plan, n, end, streets).run()
            except Exception:  # noqa: BLE001  (logged; the chunk has no marker and is rerun)
                log.write(f"worker {wid} chunk {n} FAILED\n{traceback.format_exc()}\n")
                log.flush()
                continue
            (Path(markers) / f"{n}.done").write_text(json.dumps(
                {"seconds": perf() - t0, "stats": stats}, ensure_ascii=False))
            log.write(f"{datetime.now():%H:%M:%S} worker {wid} chunk {n} in {perf() - t0:.0f} s: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) + "\n")
            log.flush()
    eng.db.dispose()


def build(db_path: Path, plan: Plan, workers: int, log_path: Path, end: datetime | None = None
          ) -> float:
    """Build (or finish building) the SQLite database at ``db_path``; the wall seconds spent."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    markers = marker_dir(db_path)
    markers.mkdir(exist_ok=True)
    url = f"sqlite:///{db_path}"
    settings_file = markers / "plan.json"
    t0 = perf()
    if not settings_file.exists():
        end = end or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        app = app_for(url, db_path.parent, initialize=True)
        app.extensions["kunflow"].db.dispose()
        settings_file.write_text(json.dumps({"end": end.isoformat(), "projects": plan.projects,
                                             "cases": plan.cases, "chunks": plan.chunks,
                                             "seed": plan.seed}))
    saved = json.loads(settings_file.read_text())
    plan = Plan(saved["projects"], saved["cases"], saved["chunks"], saved["seed"])
    todo = [n for n in range(plan.chunks) if not (markers / f"{n}.done").exists()]
    print(f"  chunks to run: {len(todo)} of {plan.chunks} ({workers} worker processes; "
          f"progress in {log_path})", flush=True)
    if todo:
        ctx = multiprocessing.get_context("spawn")
        procs = []
        for wid in range(workers):
            mine = todo[wid::workers]
            if not mine:
                continue
            proc = ctx.Process(target=_worker, args=(url, str(db_path.parent), plan, mine,
                                                     saved["end"], str(markers), str(log_path),
                                                     wid))
            proc.start()
            procs.append(proc)
        for proc in procs:
            proc.join()
    missing = [n for n in range(plan.chunks) if not (markers / f"{n}.done").exists()]
    if missing:
        raise RuntimeError(f"chunks {missing} failed: see {log_path}")
    supervision = markers / "supervision.done"
    if not supervision.exists():
        t1 = perf()
        stats = run_supervision(url, db_path.parent, datetime.fromisoformat(saved["end"]),
                                plan.seed)
        supervision.write_text(json.dumps({"seconds": perf() - t1, "stats": stats},
                                          ensure_ascii=False))
        print(f"  supervision rounds in {perf() - t1:.0f} s: "
              + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())), flush=True)
    return perf() - t0


def build_summary(db_path: Path) -> tuple[float, Counter]:
    """Seconds the chunks took (summed over workers) and their counters."""
    total, stats = 0.0, Counter()
    for marker in marker_dir(db_path).glob("*.done"):  # the chunks and the supervision rounds
        saved = json.loads(marker.read_text())
        total += saved["seconds"]
        stats.update(saved["stats"])
    return total, stats
