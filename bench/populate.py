#!/usr/bin/env python
"""Scale data for the benchmarks: cases of every shipped process, made through the engine's own
commands over a simulated two years (issue 15, build item 2).

    .venv/bin/python bench/populate.py                                   # 100,000 cases, SQLite
    .venv/bin/python bench/populate.py --cases 5000 --tasks 50000        # a reduced scale
    .venv/bin/python bench/populate.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_scale \\
        --jobs 2                                                         # PostgreSQL, 2 processes

What it does:

1. The database: a SQLite file (``--db``, default ``var/bench/populate.db``) or the PostgreSQL
   database named in ``--pg`` (created when missing; the bench scripts open it by that name).
   Set up like ``kunflow init`` (migrations, org chart with demo passwords, calendar, the
   process library of ``bpmn/``), which is idempotent.
2. ``--cases`` cases of ALL the shipped processes (``MIX``: whistles, 三找 requests, hazards,
   projects, mines, …, the samples too), plus one ``supervision_monthly`` round a month. Each
   case is started by a user its process lets start it (``Engine.start``) and then advanced by
   the users of the departments its tasks route to: complete straight from the queue (30 % of
   steps claimed a pause before) with the task form filled in (``bench.tasklist.form_data``;
   choices lean towards the first option, which in the district's forms is the one that
   carries the case on). A case gets a budget of completions
   drawn around ``--tasks / --cases``; it stops when it ends, runs out of budget or reaches
   "today". The engine offers no bulk start or complete, so every row comes from a command.
3. The clock: cases start in office hours over the two years before the plan's end (the day of
   the first run, kept in ``<db>.populate.json``); each worker process runs its cases side by
   side on one simulated timeline (time-machine, as ``workflows.demo`` does) and, at every
   China midnight, fires the timers that fell due (``Engine.fire_due_timers``): deadlines
   escalate, monthly rounds open. With ``--jobs`` N the workers wait for each other at every
   midnight (a barrier), so no worker fires a timer of a case whose clock is behind.
4. Resumable: case *n* has the business key ``POP-<n>`` and is drawn from the seed alone;
   a rerun counts the ``POP-`` cases already there, skips them and goes on with the rest
   (a case interrupted half-way stays as it was). ``--fresh`` starts over.

Progress bar on stderr (tqdm). Last line:
``populate <db>: +C cases, +T task rows in S s: X cases/s, Y tasks/s (Z completions/s)``.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.pgdb import make_database  # noqa: E402
from bench.runinfo import load_average, machine  # noqa: E402

perf = time.perf_counter
PREFIX = "POP-"
HISTORY_DAYS = 730
# Cases per 100 (the monthly supervision round comes on top: one a month). The samples and the
# mine closures are rare; whistles, 三找 requests and hazards are the daily bulk.
MIX = {
    "whistle_referral": 27, "project_lifecycle": 22, "service_request": 14,
    "hazard_rectification": 12, "mine_approval": 10, "river_sand": 5, "radioactive_check": 4,
    "mine_closure": 2, "sample_review": 2, "sample_loop": 2,
}
MONTHLY = "supervision_monthly"
# How long a caseworker takes before the next step of a case (working days; 0.5: later today)
PAUSES = (0.5, 0.5, 1, 1, 2, 3, 5)
CLAIM_FIRST = 0.3  # share of steps claimed one pause before they are completed


# ---------------------------------------------------------------------------------- database


def plan_file(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):] + ".populate.json")
    name = urlsplit(url).path.lstrip("/")
    return ROOT / "var" / "bench" / f"populate-pg-{name}.json"


def app_for(url: str, workdir: Path, initialize: bool = False):
    from bench.dashboard_data import app_for as make

    return make(url, workdir, initialize=initialize)


def counts(eng) -> tuple[int, int, set[str]]:
    """(instances, task rows, business keys of the populate cases) in the database."""
    from engine.model import instance, task

    with eng.db.connect() as conn:
        n_inst = conn.execute(sa.select(sa.func.count()).select_from(instance)).scalar()
        n_task = conn.execute(sa.select(sa.func.count()).select_from(task)).scalar()
        keys = set(conn.execute(sa.select(instance.c.business_key).where(
            instance.c.business_key.like(f"{PREFIX}%"))).scalars())
    return n_inst, n_task, keys


# ---------------------------------------------------------------------------------- cases


def case_key(n: int) -> str:
    return f"{PREFIX}{n:06d}"


def month_key(year: int, month: int) -> str:
    return f"{PREFIX}M{year:04d}{month:02d}"


def fill_form(schema: dict | None, rng: random.Random, lean: float) -> dict:
    """Form values the server accepts (``bench.tasklist.form_data``), with each choice taking
    the first option with probability ``lean``: the district's forms list first the answer that
    carries the case on (继续推进, 通过, 同意), so cases run their main path mostly."""
    from bench.tasklist import form_data
    from engine.forms import fields as form_fields

    data = form_data(schema, rng)
    for comp in form_fields(schema or {}):
        if comp.get("type") == "checkbox" and (comp.get("validate") or {}).get("required"):
            data[comp["key"]] = True  # a confirmation the form insists on
        elif comp.get("type") in ("select", "radio") and comp["key"] in data:
            values = [v.get("value") for v in comp.get("values") or [] if isinstance(v, dict)]
            if values and rng.random() < lean:
                data[comp["key"]] = values[0]
    return data


class Driver:
    """Starts and advances the cases of one worker through the engine, as the users would."""

    def __init__(self, eng, world, seed: int, lean: float, mean: float):
        self.eng, self.w, self.seed, self.lean, self.mean = eng, world, seed, lean, mean
        self.stats: Counter = Counter()
        self.starters: dict[str, list[str]] = {}
        self._loaded: dict[str, object] = {}
        self.users = eng.list_users()

    def loaded(self, key: str):
        """The process's parsed spec and forms, and who may start it (made on first use)."""
        if key not in self._loaded:
            self._loaded[key] = self.eng.spec(self.eng.get_definition(key).id)
            self.starters[key] = [
                u.username for u in self.users
                if not u.actor().is_admin and u.username.endswith("-clerk")
                and any(x.key == key for x in self.eng.startable_definitions(u.actor()))
            ] or ["admin"]
        return self._loaded[key]

    def title(self, key: str, rng: random.Random, n: int) -> str:
        from bench.tasklist import title_and_key

        if key in ("project_lifecycle", "mine_approval", "hazard_rectification",
                   "whistle_referral"):
            return title_and_key(key, rng, self.w.today().year, n)[0]
        name = getattr(self.loaded(key).parsed, "name", None) or key
        return f"{name}（{self.w.today():%Y-%m-%d} 第{n % 1000}件）"

    def budget(self, rng: random.Random) -> int:
        """Completions for the next case: drawn around the mean, scaled by how far the rows
        made so far (about one per completion and one per case) lag behind the aim: many
        cases end early on their own (a lead dropped, no hazard found), the long ones (a
        project, a mine) make up for them."""
        made = self.stats["completions"] + self.stats["cases"]
        aimed = self.stats["cases"] * (self.mean + 1)
        scale = min(10.0, max(0.5, aimed / made)) if made else 1.0
        return max(1, min(200, round(rng.expovariate(1 / self.mean) * scale)))

    def case(self, key: str, bkey: str, rng: random.Random, budget: int | None
             ) -> Iterator[datetime]:
        """A case as a generator: each ``next`` does one step and yields when to act next."""
        loaded = self.loaded(key)
        starter = rng.choice(self.starters[key])
        start_key = getattr(loaded.parsed, "start_form_key", None)
        data = fill_form(loaded.forms.get(start_key) if start_key else None, rng, self.lean)
        iid = self.w.start(key, starter, bkey, self.title(key, rng, int(rng.random() * 1e6)),
                           data)
        self.stats["cases"] += 1
        for _ in range(budget or self.budget(rng)):
            yield self.w.workdays(rng.choice(PAUSES), rng)
            tasks = self.w.open_tasks(iid)
            if not tasks:
                # waiting for a timer or a message: look again later, unless it ended
                if self.w.status(iid) != "running":
                    return
                continue
            t = rng.choice(tasks)
            schema = loaded.forms.get(t.form_key) if t.form_key else None
            user = None if t.department_code else "admin"
            if t.assignee is None and rng.random() < CLAIM_FIRST:
                # claimed now, completed a while later: cases cut by "today" leave work in
                # someone's 我的待办
                self.w.claim(t, user)
                self.stats["claims"] += 1
                yield self.w.workdays(rng.choice(PAUSES), rng)
                t = next((x for x in self.w.open_tasks(iid) if x.id == t.id), None)
                if t is None:  # a timer or a colleague's step took it away
                    continue
            # the rest is completed straight from the queue (one command, as the API allows)
            self.w.complete(t, fill_form(schema, rng, self.lean), user, claim=False)
            self.stats["completions"] += 1
        # the budget spent, the case stays open (a step nobody took up yet, or one in hand)
        tasks = self.w.open_tasks(iid)
        if tasks and rng.random() < CLAIM_FIRST:
            t = rng.choice(tasks)
            if t.assignee is None:
                self.w.claim(t, None if t.department_code else "admin")
                self.stats["claims"] += 1


def guarded(case: Iterator, stats: Counter, key: str) -> Iterator:
    """A case that fails (a form the generic filler cannot satisfy, a script's incident) stops;
    the others go on. Counted by reason."""
    try:
        yield from case
    except Exception as exc:  # noqa: BLE001  (counted and reported)
        stats[f"stopped {key}: {type(exc).__name__}"] += 1
        if os.environ.get("POPULATE_DEBUG"):
            print(f"{key}: {exc}", file=sys.stderr)


def draw_case(n: int, seed: int, begin: datetime, end: datetime):
    """Case ``n`` from the seed alone: (start time as naive UTC, process key, rng)."""
    from workflows.demo.world import china, utc

    rng = random.Random(f"{seed}:{n}")
    key = rng.choices(list(MIX), list(MIX.values()))[0]
    local = china(begin) + timedelta(days=rng.uniform(0, (end - begin).days))
    while local.weekday() >= 5:
        local += timedelta(days=1)
    local = local.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59), second=0,
                          microsecond=0)
    return utc(local), key, rng


# ---------------------------------------------------------------------------------- workers


def worker(url: str, workdir: str, plan: dict, wid: int, jobs: int, done: list[str],
           barrier, counters, log_path: str) -> None:
    import time_machine

    from workflows.demo.world import World, china, utc

    muted = logging.root.manager.disable
    logging.disable(logging.WARNING)  # the engine logs every incident a stopped case raises
    begin, end = (datetime.fromisoformat(plan[k]) for k in ("begin", "end"))
    seed, lean, mean = plan["seed"], plan["lean"], plan["mean_completions"]
    done_keys = set(done)
    app = app_for(url, Path(workdir))
    eng = app.extensions["kunflow"]
    heap: list = []
    seq = 0
    log = open(log_path, "a", encoding="utf-8")
    try:
        with time_machine.travel(begin.replace(tzinfo=UTC), tick=False) as traveller:
            w = World(eng, traveller, seed)
            driver = Driver(eng, w, seed, lean, mean)

            def spawn(when, gen):
                nonlocal seq
                seq += 1
                heapq.heappush(heap, (when, seq, gen))

            for n in range(wid, plan["cases"], jobs):
                bkey = case_key(n)
                if bkey in done_keys:
                    continue
                when, key, rng = draw_case(n, seed, begin, end)
                spawn(when, guarded(driver.case(key, bkey, rng, None), driver.stats, key))
            # the monthly supervision round: worker 0 starts one on each month's first day
            if wid == 0:
                local = china(begin).replace(day=1, hour=9, minute=0, second=0, microsecond=0)
                while utc(local) < end:
                    local = (local + timedelta(days=32)).replace(day=1)
                    bkey = month_key(local.year, local.month)
                    if bkey not in done_keys and utc(local) < end:
                        rng = random.Random(f"{seed}:{bkey}")
                        spawn(utc(local), guarded(driver.case(MONTHLY, bkey, rng, None),
                                                  driver.stats, MONTHLY))

            day_end = utc(datetime.combine(china(begin).date() + timedelta(days=1),
                                           datetime.min.time()))
            last = driver.stats.copy()

            def midnight(moment: datetime) -> None:
                """Every worker reached ``moment``: fire the timers due by then."""
                if barrier is not None:
                    barrier.wait(timeout=1800)
                try:
                    w.advance(moment)
                except Exception as exc:  # noqa: BLE001  (a timer that refires: noted, go on)
                    driver.stats[f"timers: {type(exc).__name__}"] += 1
                    w.move_to(moment)

            while heap or day_end <= end:
                when = heap[0][0] if heap else end
                while day_end <= min(when, end):
                    midnight(day_end)
                    day_end += timedelta(days=1)
                    with counters.get_lock():
                        counters[0] += driver.stats["cases"] - last["cases"]
                        counters[1] += driver.stats["completions"] - last["completions"]
                    last = driver.stats.copy()
                if not heap:
                    break
                when, _, gen = heapq.heappop(heap)
                if when > end:
                    continue  # what a case would do after "today" does not happen
                w.move_to(when)
                try:
                    wake = next(gen)
                except StopIteration:
                    continue
                spawn(max(wake, w.now() + timedelta(seconds=1)), gen)
            # the days after the last event: the barrier counts every worker's midnights
            while day_end <= end:
                midnight(day_end)
                day_end += timedelta(days=1)
            with counters.get_lock():
                counters[0] += driver.stats["cases"] - last["cases"]
                counters[1] += driver.stats["completions"] - last["completions"]
            driver.stats["engine commands"] = w.commands
            log.write(json.dumps({"worker": wid, "stats": driver.stats}, ensure_ascii=False)
                      + "\n")
    except Exception:
        log.write(f"worker {wid} FAILED\n{traceback.format_exc()}\n")
        if barrier is not None:
            barrier.abort()
        raise
    finally:
        log.close()
        eng.db.dispose()
        logging.disable(muted)  # run in the caller's process (--quiet): leave its logging be


# ---------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(ROOT / "var" / "bench" / "populate.db"),
                    help="SQLite file (default var/bench/populate.db)")
    ap.add_argument("--pg", metavar="URL",
                    help="PostgreSQL URL naming the database to fill (created when missing)")
    ap.add_argument("--cases", type=int, default=100_000, help="cases in all (default 100000)")
    ap.add_argument("--tasks", type=int, default=1_000_000,
                    help="task rows aimed at (default 1000000): sets the completion budget")
    ap.add_argument("--jobs", type=int, default=None,
                    help="worker processes (default: 1 on SQLite, the cores on PostgreSQL)")
    ap.add_argument("--lean", type=float, default=0.8,
                    help="probability that a choice takes the form's first option")
    ap.add_argument("--days", type=int, default=HISTORY_DAYS,
                    help="days of simulated history before the end (default 730)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--fresh", action="store_true", help="start over (delete / drop first)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)

    if args.pg:
        url = args.pg
        make_database(url, drop=args.fresh)
        workdir = ROOT / "var" / "bench"
        jobs = args.jobs or os.cpu_count() or 2
        kind = f"PostgreSQL {urlsplit(url).path.lstrip('/')}"
    else:
        path = Path(args.db).resolve()
        if args.fresh:
            for suffix in ("", "-wal", "-shm", ".populate.json", ".populate.log"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        workdir = path.parent
        jobs = args.jobs or 1
        kind = f"SQLite {path.name}"
    workdir.mkdir(parents=True, exist_ok=True)
    if args.pg and args.fresh:
        plan_file(url).unlink(missing_ok=True)

    print(f"kunflow bench/populate.py: {machine()}; {load_average()}", flush=True)
    t0 = perf()
    app = app_for(url, workdir, initialize=True)
    eng = app.extensions["kunflow"]
    inst0, tasks0, done = counts(eng)
    eng.db.dispose()
    print(f"database {kind}: set up in {perf() - t0:.1f} s; {inst0:,} instances and "
          f"{tasks0:,} task rows there ({len(done):,} populate cases)", flush=True)

    pfile = plan_file(url)
    pfile.parent.mkdir(parents=True, exist_ok=True)
    if pfile.exists():
        saved = json.loads(pfile.read_text())
    else:
        end = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        saved = {"end": end.isoformat(), "seed": args.seed, "days": args.days}
        pfile.write_text(json.dumps(saved))
    end = datetime.fromisoformat(saved["end"])
    begin = end - timedelta(days=saved.get("days", args.days))
    remaining = sum(1 for n in range(args.cases) if case_key(n) not in done)
    # completions per remaining case: a case leaves about one row more than it completes
    rows_left = max(args.tasks - tasks0, remaining)
    mean = max(1.0, rows_left / max(remaining, 1) - 1)
    plan = {"begin": begin.isoformat(), "end": end.isoformat(), "seed": saved["seed"],
            "lean": args.lean, "cases": args.cases, "mean_completions": mean}
    print(f"plan: {args.cases:,} cases over {begin:%Y-%m-%d} .. {end:%Y-%m-%d} (UTC), "
          f"{remaining:,} to make, about {mean:.1f} completions each, {jobs} worker "
          f"process(es); plan kept in {pfile}", flush=True)

    # a SIGTERM ends the run like Ctrl-C: the workers are stopped, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log_path = str(pfile.with_suffix(".log"))
    ctx = multiprocessing.get_context("spawn")
    counters = ctx.Array("q", 2)  # cases started, completions
    barrier = ctx.Barrier(jobs) if jobs > 1 else None
    t1 = perf()
    if jobs == 1 and args.quiet:
        # nothing to show meanwhile: the one worker runs here (a process less to start)
        worker(url, str(workdir), plan, 0, 1, sorted(done), None, counters, log_path)
    procs = [ctx.Process(target=worker, args=(url, str(workdir), plan, wid, jobs, sorted(done),
                                              barrier, counters, log_path))
             for wid in range(jobs) if not (jobs == 1 and args.quiet)]
    for proc in procs:
        proc.start()
    from tqdm import tqdm

    bar = tqdm(total=remaining, unit="case", disable=args.quiet, smoothing=0.05,
               dynamic_ncols=True)
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            bar.n = min(counters[0], remaining)
            bar.set_postfix_str(f"{counters[1]:,} completions", refresh=False)
            bar.refresh()
        bar.n = min(counters[0], remaining)
        bar.refresh()
    finally:
        bar.close()
        for proc in procs:
            if sys.exc_info()[0] is not None and proc.is_alive():
                proc.terminate()  # interrupted: the workers stop too (rerun to resume)
            proc.join()
    wall = perf() - t1
    failed = [p.pid for p in procs if p.exitcode != 0]

    app = app_for(url, workdir)
    eng = app.extensions["kunflow"]
    inst1, tasks1, _ = counts(eng)
    if eng.db.dialect.name == "postgresql":
        with eng.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    eng.db.dispose()
    stats: Counter = Counter()
    for line in Path(log_path).read_text(encoding="utf-8").splitlines()[-jobs:]:
        if line.startswith("{"):
            stats.update(json.loads(line)["stats"])
    print("  " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.items())))
    print(f"  database now: {inst1:,} instances, {tasks1:,} task rows; {load_average()}")
    if failed:
        print(f"  worker(s) {failed} failed: see {log_path}", file=sys.stderr)
    cases, rows = inst1 - inst0, tasks1 - tasks0
    print(f"populate {kind}: +{cases:,} cases, +{rows:,} task rows in {wall:.0f} s: "
          f"{cases / wall:.1f} cases/s, {rows / wall:.1f} tasks/s "
          f"({stats['completions'] / wall:.1f} completions/s, {jobs} process(es))")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
