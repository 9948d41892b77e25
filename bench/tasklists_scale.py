#!/usr/bin/env python
"""Task lists against a database filled by bench/populate.py (issue 15, benchmark 3a).

    .venv/bin/python bench/tasklists_scale.py                    # var/bench/populate.db
    .venv/bin/python bench/tasklists_scale.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_scale
    .venv/bin/python bench/tasklists_scale.py --requests 10      # quicker

The measuring part of bench/tasklist.py (``measure``), pointed at the populated database
instead of rows bulk-inserted around the engine: ``web.create_app`` with the Flask test client,
logged in through the login form as the clerk of the busiest department (``--user``), then
``GET /tasks`` for each view (mine, department, done, started), plain and with each filter
(stage, light=red, q, process, sort=due, page 5). Server time per request (the WSGI app, body
included), median and p95 over ``--requests`` requests per case after ``--warmup``, cases
interleaved; SQL time and statements per request on the side. Reads only: the database is left
as it was (migrations added since it was filled are applied first).

Last line: ``tasklists <tasks> on <db>: worst median X ms, worst p95 Y ms (target <= 50 ms)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.runinfo import load_average, machine  # noqa: E402
from bench.tasklist import busiest_clerk, describe, measure_and_report  # noqa: E402

TARGET_MS = 50.0


def open_app(args):
    from bench.dashboard_data import app_for

    if args.pg:
        url, kind = args.pg, f"PostgreSQL {args.pg.rsplit('/', 1)[-1]}"
        workdir = ROOT / "var" / "bench"
    else:
        path = Path(args.db).resolve()
        if not path.exists():
            raise SystemExit(f"{path} does not exist: fill it with bench/populate.py first")
        url, kind, workdir = f"sqlite:///{path}", f"SQLite {path.name}", path.parent
    app = app_for(url, workdir)
    app.extensions["kunflow"].migrate()
    return app, kind


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(ROOT / "var" / "bench" / "populate.db"),
                    help="SQLite file filled by bench/populate.py")
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL database filled by bench/populate.py")
    ap.add_argument("--requests", type=int, default=20, help="timed requests per case")
    ap.add_argument("--warmup", type=int, default=2, help="untimed requests per case first")
    ap.add_argument("--user", help="whose lists to time (default: clerk of the busiest department)")
    args = ap.parse_args(argv)

    print(f"kunflow bench/tasklists_scale.py: {machine()}; {load_average()}", flush=True)
    app, kind = open_app(args)
    eng = app.extensions["kunflow"]
    try:
        username = args.user or busiest_clerk(eng)
        describe(eng, username)
        import sqlalchemy as sa

        from engine.model import task

        with eng.db.connect() as conn:
            n_tasks = conn.execute(sa.select(sa.func.count()).select_from(task)).scalar()
        worst_med, worst_p95 = measure_and_report(app, username, args.requests, args.warmup,
                                                  TARGET_MS)
        print(f"  {load_average()}")
        print(f"tasklists {n_tasks:,} tasks on {kind}: worst median {worst_med:.1f} ms, "
              f"worst p95 {worst_p95:.1f} ms (target <= {TARGET_MS:.0f} ms)")
        return 0
    finally:
        eng.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
