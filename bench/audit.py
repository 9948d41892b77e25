#!/usr/bin/env python
"""What the audit chain costs, and how long verification and a backup take (issue 15).

    .venv/bin/python bench/audit.py                  # SQLite (var/bench/audit.db, rebuilt)
    .venv/bin/python bench/audit.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_bench_a

1. Completion cost with and without the chain: ``Engine.complete`` of a sample_review case's
   first task (it writes task_completed and three task_created events: one chain read), in
   interleaved chunks; "without" swaps ``engine.rows.chain_rows`` for one that leaves the
   hashes empty (those cases' chains are then reported broken by step 3, as they should be).
   p50 / p95 in ms per completion; and the chain's own share, isolated (``write_events`` of a
   completion's four events with and without the chain, rolled back).
2. ``--events`` more events (default 1,000,000) over ``--chains`` cases' chains (default
   100,000), written through the engine's ``write_events`` (the chain function), in batches.
3. ``Engine.verify_audit()`` over the whole log: seconds and events per second.
4. SQLite only: ``kunflow backup``'s function (``engine.backup.backup_sqlite``) of that
   database while a thread keeps completing tasks: seconds and MB; then the restore.

Prints figures; the last line is ``verify=<events/s> chain_cost_p50=<ms>``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import engine.rows as rows_module  # noqa: E402
from bench.pgdb import fresh_database  # noqa: E402
from bench.runinfo import load_average, machine  # noqa: E402
from config import settings as settings_module  # noqa: E402
from engine import audit  # noqa: E402
from engine.backup import backup_sqlite, restore_sqlite  # noqa: E402
from engine.rows import event_row, write_events  # noqa: E402
from web.wiring import build_engine  # noqa: E402
from workflows.org import load_org  # noqa: E402

perf = time.perf_counter
ORG = ROOT / "config" / "org.yaml"
SAMPLE = ROOT / "bpmn" / "sample_review.bpmn"


def unchained(conn, events):
    return [{**audit.stored_form(r), "prev_hash": None, "hash": None} for r in events]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def completions(eng, clerk, n):
    """Start ``n`` cases (not timed) and complete each one's first task (timed, ms)."""
    times = []
    for k in range(n):
        inst = eng.start("sample_review", clerk, title=f"审计基准 {k}")
        (register,) = inst.tasks
        t0 = perf()
        eng.complete(register.id, clerk, {"project_name": f"项目{k}"})
        times.append((perf() - t0) * 1000)
    return times


def write_cost(eng) -> float:
    """p50 ms of ``write_events`` minus p50 of the bare insert, 4 events into an existing
    case's chain, each in its own (rolled back) unit of work."""
    at = datetime(2026, 12, 7, 2, 0)
    with eng.db.connect() as conn:
        iid = conn.execute(sa.text("SELECT max(instance_id) FROM event")).scalar()
    timed = {"chain": [], "none": []}
    for _ in range(3):
        for variant in ("chain", "none"):
            for i in range(500):
                events = [event_row(iid, None, "bench", "task_created", at, {"i": i})
                          for _ in range(4)]
                with eng.unit_of_work() as uow:
                    t0 = perf()
                    if variant == "chain":
                        write_events(uow.conn, events)
                    else:
                        uow.conn.execute(rows_module.INSERT_EVENT, unchained(uow.conn, events))
                    timed[variant].append((perf() - t0) * 1000)
    trips = []
    with eng.unit_of_work() as uow:  # what one more statement costs here, whatever it is
        for _ in range(500):
            t0 = perf()
            uow.conn.execute(sa.text("SELECT 1"))
            trips.append((perf() - t0) * 1000)
    print(f"one round trip (SELECT 1) for comparison: p50 {statistics.median(trips):.3f} ms")
    return statistics.median(timed["chain"]) - statistics.median(timed["none"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", help="a PostgreSQL database URL (dropped and created)")
    ap.add_argument("--completions", type=int, default=300, help="per variant (default 300)")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--chains", type=int, default=100_000)
    args = ap.parse_args()

    url = fresh_database(args.pg, "audit")
    print(f"# {machine()}; {load_average()}; {'PostgreSQL' if args.pg else 'SQLite'}")
    work = Path(tempfile.mkdtemp(prefix="kunflow-audit-bench-"))
    settings = {**settings_module.DEFAULTS, "DATABASE_URL": url, "ORG_FILE": str(ORG),
                "ATTACHMENT_DIR": str(work / "attachments")}
    eng = build_engine(settings)
    try:
        eng.migrate()
        departments, users = load_org(ORG)
        eng.sync_org(departments, users)
        admin = eng.get_user("admin").actor()
        eng.deploy(SAMPLE.name, SAMPLE.read_bytes(), actor=admin)
        clerk = eng.get_user("invest-clerk").actor()

        # 1. completion cost, interleaved chunks of 25
        completions(eng, clerk, 20)  # warm-up
        timed = {"chain": [], "none": []}
        chunk = 25
        for _ in range(max(1, args.completions // chunk)):
            for variant in ("chain", "none"):
                if variant == "none":
                    rows_module.chain_rows = unchained
                try:
                    timed[variant] += completions(eng, clerk, chunk)
                finally:
                    rows_module.chain_rows = audit.chain_rows
        for variant, label in (("chain", "with the chain"), ("none", "without (hashes empty)")):
            xs = timed[variant]
            print(f"complete {label}: p50 {statistics.median(xs):.2f} ms, "
                  f"p95 {pct(xs, 95):.2f} ms ({len(xs)} completions)")
        unhashed_cases = len(timed["none"])
        # the chain's own cost, isolated from the rest of a completion's noise: the insert of
        # a completion's four events into a case's chain, with and without the chain
        cost = write_cost(eng)
        print(f"write_events of 4 events, the chain's share (read of the last hash + hashing): "
              f"{cost:.3f} ms (p50 of 3 x 500, interleaved)")

        # 2. events through write_events
        t0 = perf()
        base_iid = 10_000_000  # chains of their own, clear of the real cases' ids
        per_chain = max(1, args.events // args.chains)
        at = datetime(2026, 12, 7, 2, 0)
        written = 0
        batch_chains = 500
        for first in range(0, args.chains, batch_chains):
            with eng.unit_of_work() as uow:
                for c in range(first, min(args.chains, first + batch_chains)):
                    iid = base_iid + c
                    write_events(uow.conn, [
                        event_row(iid, None, "bench", "comment", at + timedelta(seconds=j),
                                  {"text": f"第 {j} 条意见", "n": j}) for j in range(per_chain)])
                    written += per_chain
                uow.commit()
        print(f"wrote {written:,} events over {args.chains:,} chains through write_events "
              f"in {perf() - t0:.1f} s")

        # 3. verify
        t0 = perf()
        report = eng.verify_audit()
        took = perf() - t0
        print(f"verify_audit: {report.events:,} events, {report.chains:,} chains in {took:.1f} s "
              f"({report.events / took:,.0f} events/s); broken chains {len(report.breaks)} "
              f"(expected {unhashed_cases}: the cases completed without hashes in step 1)")

        # 4. backup under load (SQLite)
        if not args.pg:
            stop = threading.Event()
            done = []

            def load():
                while not stop.is_set():
                    done.extend(completions(eng, clerk, 1))

            th = threading.Thread(target=load, daemon=True)
            th.start()
            time.sleep(1)
            t0 = perf()
            result = backup_sqlite(url, settings["ATTACHMENT_DIR"], work / "copy")
            took_backup = perf() - t0
            n_during = len(done)
            stop.set()
            th.join()
            print(f"backup_sqlite under load: {result.database_bytes / 1e6:.0f} MB, "
                  f"{result.events:,} events in {took_backup:.1f} s "
                  f"({n_during} completions by the load thread meanwhile, from 1 s before)")
            t0 = perf()
            restore_sqlite(work / "copy", f"sqlite:///{work / 'restored.db'}",
                           work / "restored-attachments")
            print(f"restore_sqlite: {perf() - t0:.1f} s (manifest checked, database written)")
        print(f"verify={report.events / took:,.0f} events/s chain_cost_p50={cost:.2f} ms")
    finally:
        eng.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
