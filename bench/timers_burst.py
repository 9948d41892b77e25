#!/usr/bin/env python
"""10,000 timers due at once, fired by the scheduler's sweep (issue 15, benchmark 3c).

    .venv/bin/python bench/timers_burst.py                          # SQLite file, 10,000 timers
    .venv/bin/python bench/timers_burst.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/timers_burst.py --timers 500 --sweepers 2 # smaller, two sweepers

1. A fresh database (a SQLite file in a temporary directory, or a schema of its own on the
   PostgreSQL server, dropped at the end), set up like ``kunflow init``.
2. ``--timers`` instances of ``service_request`` (三找 requests: the answering department's task
   carries a boundary timer, ``due_in_working_days(answer_due_days)``, that escalates it) are
   started through ``Engine.start`` and their registration step completed (``claim`` +
   ``complete``), with the clock set 60 days back (time-machine), so that
   every timer is due by the real "now" and the instance rows name it (``next_due_at``). Not
   timed.
3. The clock runs again (real time). The sweep: ``--sweepers`` processes each call
   ``Engine.fire_due_timers(limit=200)`` — the scheduler's job — round after round, back to
   back, until a round finds nothing due. On PostgreSQL the sweepers share the work through
   ``FOR UPDATE SKIP LOCKED``; on SQLite the writer lock serialises them.
4. Measured from the instant the sweep starts (every timer is due by then): the time until the
   first instance was advanced (its ``updated_at``, the engine's clock) — "lag of the first" —
   and until the last one was; rounds and instances per second. Checked: every instance fired
   exactly once (no ``next_due_at`` left due, one timer event per instance).

``kunflow worker``'s job (``web.scheduler.fire_timers``, every ``KUNFLOW_TIMER_SECONDS``, 30 s by
default) runs the same rounds back to back until one is not full (for at most 5 minutes a run),
so there the last timer fires at most one interval plus this sweep after it fell due; the script
prints that figure too.

Last line: ``timers burst N on <db>: last fired after X s, first after Y ms (target <= 60 s)``.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402

perf = time.perf_counter
TARGET_S = 60.0
PROCESS = "service_request"
REGISTER = "record_service_request"
LIMIT = 200  # what the scheduler's job passes (Engine.fire_due_timers' default)


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class Database:
    """A SQLite file in the work directory, or a new schema on the PostgreSQL server."""

    def __init__(self, workdir: Path, pg_url: str | None):
        self.schema = None
        if pg_url is None:
            self.url, self.kind = f"sqlite:///{workdir / 'timers.db'}", "SQLite"
            return
        self.schema = f"bench_timers_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(_psycopg(pg_url))
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in pg_url else "?"
        self.url = f"{pg_url}{sep}options=-csearch_path%3D{self.schema}"
        self.kind = "PostgreSQL"

    def drop(self) -> None:
        if self.schema is not None:
            with self.admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()


def app_for(url: str, workdir: Path, initialize: bool = False):
    from bench.dashboard_data import app_for as make

    return make(url, workdir, initialize=initialize)


def start_instances(eng, count: int, progress: bool) -> int:
    """``count`` service requests started 60 days ago; the number whose timer waits."""
    import random

    import time_machine

    from bench.populate import fill_form
    from engine.model import instance

    rng = random.Random(15)
    definition = eng.get_definition(PROCESS)
    loaded = eng.spec(definition.id)
    starters = [u.username for u in eng.list_users() if u.username.endswith("-clerk")
                and any(d.key == PROCESS for d in eng.startable_definitions(u.actor()))]
    actors = {name: eng.get_user(name).actor() for name in starters}
    admin = eng.get_user("admin").actor()

    def actor(username):
        if username not in actors:
            actors[username] = eng.get_user(username).actor()
        return actors[username]

    back = datetime.now(UTC) - timedelta(days=60)
    back = back.replace(hour=2, minute=0)  # 10:00 in China: office hours
    while back.weekday() >= 5:
        back -= timedelta(days=1)
    t0 = perf()
    with time_machine.travel(back, tick=False):
        for n in range(count):
            start_key = getattr(loaded.parsed, "start_form_key", None)
            data = fill_form(loaded.forms.get(start_key) if start_key else None, rng, 0.8)
            info = eng.start(PROCESS, actors[starters[n % len(starters)]],
                             business_key=f"TB-{n:06d}", title=f"定时器压测 {n}", data=data)
            # the registration (登记企业诉求) done, the answering department's task waits
            # with its deadline timer
            for t in eng.get_instance(info.id, admin).tasks:
                if t.element_id == REGISTER:
                    user = actor(f"{t.department_code}-clerk")
                    eng.claim(t.id, user)
                    eng.complete(t.id, user, fill_form(loaded.forms.get(t.form_key), rng, 0.8))
            if progress and (n + 1) % max(1, count // 10) == 0:
                print(f"  started {n + 1:,} / {count:,} ({perf() - t0:.0f} s)", flush=True)
    with eng.db.connect() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).select_from(instance).where(
            instance.c.next_due_at.is_not(None),
            instance.c.next_due_at <= datetime.now(UTC).replace(tzinfo=None))).scalar()
    print(f"  {count:,} instances started in {perf() - t0:.1f} s (clock at {back:%Y-%m-%d}); "
          f"{waiting:,} with a timer due now", flush=True)
    return waiting


def sweeper(url: str, workdir: str, ready, go, rounds) -> None:
    logging.disable(logging.WARNING)
    app = app_for(url, Path(workdir))
    eng = app.extensions["kunflow"]
    # connect and parse the diagram before the start signal, as a running scheduler has
    eng.spec(eng.get_definition(PROCESS).id)
    ready.wait(timeout=300)
    go.wait()
    while True:
        fired = eng.fire_due_timers(limit=LIMIT)
        with rounds.get_lock():
            rounds[0] += 1
            rounds[1] += fired
        if not fired:
            break
    eng.db.dispose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a schema is made and dropped)")
    ap.add_argument("--timers", type=int, default=10_000, help="timers due at once (default 10000)")
    ap.add_argument("--sweepers", type=int, default=1,
                    help="processes sweeping at the same time (default 1, as one scheduler)")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args(argv)

    muted = logging.root.manager.disable
    logging.disable(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="kunflow-timers-"))
    db = Database(workdir, args.pg)
    print(f"kunflow bench/timers_burst.py: {machine()}; {load_average()}", flush=True)
    app = None
    try:
        app = app_for(db.url, workdir, initialize=True)
        eng = app.extensions["kunflow"]
        due = start_instances(eng, args.timers, progress=not args.keep)
        if due < args.timers:
            print(f"  note: {args.timers - due} instances have no due timer", flush=True)

        from engine.model import event, instance

        ctx = multiprocessing.get_context("spawn")
        go = ctx.Event()
        ready = ctx.Barrier(args.sweepers + 1)  # the sweepers imported and connected
        rounds = ctx.Array("q", 2)
        procs = [ctx.Process(target=sweeper, args=(db.url, str(workdir), ready, go, rounds))
                 for _ in range(args.sweepers)]
        for proc in procs:
            proc.start()
        ready.wait(timeout=300)
        start_wall = datetime.now(UTC).replace(tzinfo=None)
        t0 = perf()
        go.set()
        for proc in procs:
            proc.join()
        wall = perf() - t0
        if any(p.exitcode for p in procs):
            raise SystemExit("a sweeper failed")
        with eng.db.connect() as conn:
            first, last = conn.execute(sa.select(
                sa.func.min(instance.c.updated_at), sa.func.max(instance.c.updated_at)).where(
                instance.c.business_key.like("TB-%"),
                instance.c.updated_at >= start_wall)).one()
            left = conn.execute(sa.select(sa.func.count()).select_from(instance).where(
                instance.c.next_due_at <= start_wall)).scalar()
            advanced = conn.execute(sa.select(sa.func.count()).select_from(instance).where(
                instance.c.business_key.like("TB-%"),
                instance.c.updated_at >= start_wall)).scalar()
            timer_events = conn.execute(
                sa.select(event.c.instance_id, sa.func.count()).where(
                    event.c.at >= start_wall).group_by(event.c.instance_id)).all()
        if first is None:
            raise SystemExit("no timer fired")
        first_s = (first - start_wall).total_seconds()
        last_s = (last - start_wall).total_seconds()
        print(f"  sweep: {rounds[0]} rounds of fire_due_timers(limit={LIMIT}) by "
              f"{args.sweepers} process(es), {rounds[1]:,} instances advanced in {wall:.1f} s "
              f"({rounds[1] / wall:.0f}/s); {advanced:,} instances show it, {left} still due")
        print(f"  events written during the sweep: {sum(n for _i, n in timer_events):,} over "
              f"{len(timer_events):,} instances")
        print(f"  kunflow worker (its job every 30 s runs these rounds until one is not full): "
              f"the last fires at most {30 + wall:.0f} s after falling due")
        print(f"  {load_average()}")
        print(f"timers burst {args.timers} on {db.kind}: last fired after {last_s:.1f} s, "
              f"first after {first_s * 1000:.1f} ms (target <= {TARGET_S:.0f} s)")
        return 0
    finally:
        logging.disable(muted)
        if app is not None:
            app.extensions["kunflow"].db.dispose()
        if args.keep:
            print(f"kept: {db.url}")
        else:
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
