#!/usr/bin/env python
"""Server time of the 驾驶舱 (manager dashboard) with 10,000 projects and 100,000 cases (issue 13).

    .venv/bin/python bench/dashboard.py                  # SQLite (var/bench/dashboard-full.db)
    .venv/bin/python bench/dashboard.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_bench
    .venv/bin/python bench/dashboard.py --quick          # 1,000 projects / 10,000 cases
    .venv/bin/python bench/dashboard.py --rebuild        # build the data again
    .venv/bin/python bench/dashboard.py --on sqlite:///var/bench/populate.db   # as filled by
                                                         # bench/populate.py, nothing built

1. The data (``bench/dashboard_data.py``): 10,000 ``project_lifecycle`` cases standing in every
   stage and phase, and 90,000 other cases (whistles, hazards, service requests, the small
   processes), all created through the engine's own commands on a simulated clock over the last
   year and a half, by ``--workers`` processes. Built once into ``var/bench/dashboard-<size>.db``
   (SQLite) and reused while it is there; an interrupted build resumes where it stopped.
   ``--rebuild`` deletes it first. The time the build took is printed (and kept beside the file).
2. The dashboard's summary tables (dash_project, dash_stage_span, dash_task_stat,
   dash_case_link) are kept by the read model in every step's transaction; once after a build
   they are recomputed by its ``rebuild`` all the same (a build resumed across a change of the
   read model, or begun before it, would have them partial); the time it takes is printed.
3. PostgreSQL (``--pg URL``): the database named in the URL is dropped and created, set up like
   ``kunflow init`` (migrations), then every table's rows are copied from the SQLite file (the
   same cases, made once through the engine), sequences moved past the copied ids, and
   ``VACUUM ANALYZE`` run (what autovacuum does after a bulk load).
4. ``web.create_app`` with the Flask test client, logged in through the login form as
   ``leader`` (区领导, sees everything): ``GET`` the overview (/dashboard/), the departments
   (/dashboard/departments) and the supervision (/dashboard/supervision) pages, ``--warmup``
   times each untimed, then ``--requests`` times each, interleaved. Server time is the time
   around ``client.get`` (the test client adds little); p50 / p95 / max per page, and SQL
   statements per request. A page answering 404 is reported as "page missing" (not built yet).
   Then the project ledger export (/dashboard/export/projects.xlsx, every project): time and
   size of a few requests.

Prints figures; asserts nothing. Last line per database:
``dashboard <size> on <db>: worst p95 X ms (target <= 150 ms)``.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402

from bench.dashboard_data import Plan, app_for, build, build_summary, marker_dir  # noqa: E402
from bench.pgdb import make_database, psycopg_url  # noqa: E402
from bench.runinfo import load_average, machine  # noqa: E402
from bench.tasklist import login  # noqa: E402

perf = time.perf_counter
TARGET_MS = 150.0
PAGES = [("overview", "/dashboard/"), ("departments", "/dashboard/departments"),
         ("supervision", "/dashboard/supervision")]
EXPORT = "/dashboard/export/projects.xlsx"
SIZES = {"full": Plan(10_000, 100_000, 50), "quick": Plan(1_000, 10_000, 10)}


# ---------------------------------------------------------------------------------- data


def is_complete(db_path: Path) -> bool:
    markers = marker_dir(db_path)
    if not (db_path.exists() and (markers / "plan.json").exists()):
        return False
    chunks = json.loads((markers / "plan.json").read_text())["chunks"]
    return all((markers / f"{n}.done").exists() for n in range(chunks)) and (
        markers / "supervision.done").exists()


def ensure_data(size: str, workers: int, rebuild: bool) -> Path:
    db_path = ROOT / "var" / "bench" / f"dashboard-{size}.db"
    record = db_path.with_name(db_path.name + ".build.json")
    if rebuild:
        for path in (db_path, db_path.with_name(db_path.name + "-wal"),
                     db_path.with_name(db_path.name + "-shm"), record,
                     db_path.with_name(db_path.name + ".read-model")):
            path.unlink(missing_ok=True)
        shutil.rmtree(marker_dir(db_path), ignore_errors=True)
    done = json.loads(record.read_text()) if record.exists() else {"wall_seconds": 0.0}
    if not is_complete(db_path):
        print(f"building {db_path.relative_to(ROOT)} through the engine ({workers} processes)",
              flush=True)
        wall = build(db_path, SIZES[size], workers, db_path.with_suffix(".log"))
        cpu, stats = build_summary(db_path)
        done = {"wall_seconds": done["wall_seconds"] + wall, "chunk_seconds": cpu,
                "stats": dict(stats), "built_on": date.today().isoformat(),
                "machine": machine()}
        record.write_text(json.dumps(done, ensure_ascii=False, indent=1))
    print(f"data built in {done['wall_seconds'] / 60:.1f} min wall "
          f"({done['chunk_seconds'] / 60:.1f} min of chunk time over the workers) on "
          f"{done['built_on']}")
    stats = done["stats"]
    print(f"  engine commands: {stats.get('commands', 0):,}; cases: " + ", ".join(
        f"{k} {v:,}" for k, v in sorted(stats.items()) if k != "commands"))
    return db_path


def upgrade(db_path: Path) -> None:
    """Migrations added since the file was built (the data outlives code changes)."""
    app = app_for(f"sqlite:///{db_path}", db_path.parent)
    eng = app.extensions["kunflow"]
    eng.migrate()
    # The summary tables are derived data: when their columns changed without a migration of
    # their own (the dashboard's tables are still in their first migration), they are made
    # anew and filled by ``ensure_read_model``.
    from workflows.dashboard.tables import TABLES

    inspector = sa.inspect(eng.db)
    stale = [t.name for t in TABLES if {c["name"] for c in inspector.get_columns(t.name)}
             != {c.name for c in t.columns}]
    if stale:
        for table in reversed(TABLES):
            table.drop(eng.db, checkfirst=True)
        for table in TABLES:
            table.create(eng.db)
        db_path.with_name(db_path.name + ".read-model").unlink(missing_ok=True)
        print(f"  summary tables made anew (columns changed: {', '.join(stale)})")
    eng.close()


def ensure_read_model(db_path: Path) -> None:
    """Fill the summary tables once after a build: the read model's observer keeps them in
    every step's transaction, but a build started before it existed (or resumed across it)
    has them empty or partial; ``rebuild`` recomputes all four from the engine's rows."""
    marker = db_path.with_name(db_path.name + ".read-model")
    if marker.exists():
        return
    from workflows.dashboard.projection import rebuild

    app = app_for(f"sqlite:///{db_path}", db_path.parent)
    eng = app.extensions["kunflow"]
    t0 = perf()
    written = rebuild(eng)
    eng.close()
    marker.write_text(json.dumps({"seconds": perf() - t0, "rows": written}))
    print(f"  summary tables rebuilt by the read model in {perf() - t0:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in written.items()))


def describe(eng) -> None:
    from engine.model import instance, task
    from workflows.dashboard.tables import dash_project, dash_task_stat

    with eng.db.connect() as conn:
        by_process = conn.execute(sa.select(instance.c.process_key, sa.func.count())
                                  .group_by(instance.c.process_key)
                                  .order_by(sa.func.count().desc())).all()
        by_state = dict(conn.execute(sa.select(task.c.state, sa.func.count())
                                     .group_by(task.c.state)).all())
        phases = conn.execute(sa.select(dash_project.c.phase, sa.func.count())
                              .group_by(dash_project.c.phase)).all()
        stats = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(
            sa.func.sum(dash_task_stat.c.count), 0))).one()
    total = sum(n for _k, n in by_process)
    print(f"  {total:,} cases: " + ", ".join(f"{k} {n:,}" for k, n in by_process))
    print(f"  {sum(by_state.values()):,} tasks: " + ", ".join(
        f"{k} {n:,}" for k, n in sorted(by_state.items())))
    print("  dash_project by phase: " + (", ".join(f"{p or '-'} {n:,}" for p, n in phases)
                                         or "(empty)")
          + f"; dash_task_stat {stats[0]:,} rows over {stats[1]:,} completed tasks")


# ---------------------------------------------------------------------------------- PostgreSQL


def copy_to_postgres(sqlite_path: Path, pg_url: str) -> str:
    """Drop and create the database of ``pg_url``, set it up, copy every row; its URL."""
    version = make_database(pg_url, drop=True)
    name = urlsplit(pg_url).path.lstrip("/")
    t0 = perf()
    app = app_for(pg_url, sqlite_path.parent, initialize=True)
    target = app.extensions["kunflow"].db
    source = sa.create_engine(f"sqlite:///{sqlite_path}")
    meta = sa.MetaData()
    meta.reflect(bind=target)
    tables = [t for t in meta.sorted_tables if t.name != "alembic_version"]
    rows_copied = 0
    with target.begin() as dst:
        # The audit log refuses TRUNCATE (engine/audit.py); this copy replaces the whole
        # database, so the bench switches the log's triggers off for that one statement.
        dst.execute(sa.text("ALTER TABLE event DISABLE TRIGGER USER"))
        dst.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)
                            + " RESTART IDENTITY CASCADE"))
        dst.execute(sa.text("ALTER TABLE event ENABLE TRIGGER USER"))
    with source.connect() as src:
        for table in tables:
            present = {c["name"] for c in sa.inspect(source).get_columns(table.name)}
            columns = [c for c in table.columns if c.name in present]
            if not columns:
                continue
            booleans = {c.name for c in columns if isinstance(c.type, sa.Boolean)}
            names = [c.name for c in columns]
            result = src.execute(sa.text(
                "SELECT " + ", ".join(f'"{n}"' for n in names) + f' FROM "{table.name}"'))
            while batch := result.fetchmany(5000):
                rows = [dict(zip(names, row, strict=True)) for row in batch]
                for row in rows:
                    for key in booleans:
                        if row[key] is not None:
                            row[key] = bool(row[key])
                with target.begin() as dst:
                    dst.execute(table.insert(), rows)
                rows_copied += len(rows)
    with target.begin() as dst:
        for table in tables:
            for column in table.primary_key.columns:
                if isinstance(column.type, sa.Integer) and len(table.primary_key.columns) == 1:
                    seq = dst.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                      {"t": table.name, "c": column.name}).scalar()
                    if seq:
                        dst.execute(sa.text(
                            f'SELECT setval(:seq, COALESCE((SELECT max("{column.name}") '
                            f'FROM "{table.name}"), 0) + 1, false)'), {"seq": seq})
    with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    target.dispose()
    source.dispose()
    print(f"PostgreSQL {version}: database {name} created, {rows_copied:,} rows of "
          f"{len(tables)} tables copied from the SQLite file, VACUUM ANALYZE: "
          f"{perf() - t0:.1f} s")
    return pg_url


# ---------------------------------------------------------------------------------- scaling


def replicate(url: str, factor: int) -> dict:
    """Multiply the cases ``factor`` times in place, by copying rows (not through the engine):
    every instance with its task, task_pause, event and dashboard rows again under new ids
    (instance ids offset, task ids suffixed, business keys suffixed), the task histogram's
    counts multiplied. The copies have the shape the engine gave the originals: the same
    indexes, stages, states, due times and summary rows, which is what the pages read. The
    supervision ledger (one district's) is not multiplied. Returns rows per table."""
    from engine.model import event, instance, task, task_pause
    from workflows.dashboard.tables import (
        dash_case_link,
        dash_project,
        dash_stage_span,
        dash_task_stat,
    )

    eng = sa.create_engine(psycopg_url(url) if url.startswith("postgresql") else url)
    written: dict[str, int] = {}
    with eng.begin() as conn:
        top = conn.execute(sa.select(sa.func.max(instance.c.id))).scalar() or 0
        step = 10 ** len(str(top))  # copy k's ids: k * step + the original id
        for k in range(1, factor):
            off = k * step
            suffix = f"~{k:02d}"

            def copy(table, where, **changed):
                # serial ids of the log-like tables are given anew
                skip_id = table.name in ("event", "task_pause", "dash_stage_span")
                cols = [c for c in table.columns if not (skip_id and c.name == "id")]
                exprs = [changed[c.name].label(c.name) if c.name in changed else c for c in cols]
                res = conn.execute(table.insert().from_select(
                    [c.name for c in cols], sa.select(*exprs).where(*where)))
                if res.rowcount >= 0:  # psycopg gives -1 for INSERT ... SELECT
                    written[table.name] = written.get(table.name, 0) + res.rowcount

            def task_id(column, suffix=suffix):  # 36 characters like the engine's, unique
                return sa.case((column.is_(None), None),
                               else_=sa.func.substr(column, 1, 33) + suffix)

            i = instance.c
            copy(instance, [i.id <= top], id=i.id + off,
                 business_key=sa.case((i.business_key.is_(None), None),
                                      else_=i.business_key + suffix),
                 parent_instance_id=i.parent_instance_id + off)
            t = task.c
            copy(task, [t.instance_id <= top], id=task_id(t.id),
                 instance_id=t.instance_id + off)
            tp = task_pause.c
            copy(task_pause, [tp.task_id.not_like("%~%")], task_id=task_id(tp.task_id))
            e = event.c
            copy(event, [e.instance_id <= top], instance_id=e.instance_id + off,
                 task_id=task_id(e.task_id))
            dp = dash_project.c
            copy(dash_project, [dp.instance_id <= top], instance_id=dp.instance_id + off,
                 business_key=dp.business_key + suffix)
            ds = dash_stage_span.c
            copy(dash_stage_span, [ds.instance_id <= top], instance_id=ds.instance_id + off)
            dl = dash_case_link.c
            copy(dash_case_link, [dl.case_instance_id <= top],
                 case_instance_id=dl.case_instance_id + off,
                 project_instance_id=dl.project_instance_id + off)
        st = dash_task_stat.c
        res = conn.execute(dash_task_stat.update().values(
            count=st.count * factor, on_time=st.on_time * factor, with_due=st.with_due * factor))
        written[f"dash_task_stat (counts x{factor})"] = max(res.rowcount, 0)
        for table in (instance, task, event, dash_project, dash_stage_span):
            written[f"{table.name} now"] = conn.execute(
                sa.select(sa.func.count()).select_from(table)).scalar()
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE" if eng.dialect.name == "postgresql" else "ANALYZE"))
    eng.dispose()
    return written


def scaled_copy(db_path: Path, factor: int) -> Path:
    """A copy of the SQLite file with its cases multiplied (made again when the base changed)."""
    scaled = db_path.with_name(f"{db_path.stem}-x{factor}.db")
    if scaled.exists() and scaled.stat().st_mtime >= db_path.stat().st_mtime:
        return scaled
    source = sa.create_engine(f"sqlite:///{db_path}")
    with source.connect() as conn:  # the WAL into the main file before copying it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    source.dispose()
    shutil.copyfile(db_path, scaled)
    t0 = perf()
    written = replicate(f"sqlite:///{scaled}", factor)
    print(f"  {scaled.name}: multiplied x{factor} by copying rows in {perf() - t0:.1f} s: "
          + ", ".join(f"{k} +{v:,}" for k, v in written.items()))
    return scaled


# ---------------------------------------------------------------------------------- measuring


class SqlCounter:
    def __init__(self, db):
        self.count = 0
        sa_event.listen(db, "before_cursor_execute", self._before)

    def _before(self, *args):
        self.count += 1


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def measure(url: str, label: str, size: str, requests: int, warmup: int, workdir: Path
            ) -> float | None:
    app = app_for(url, workdir)
    eng = app.extensions["kunflow"]
    describe(eng)
    sql = SqlCounter(eng.db)
    client = login(app, "leader")
    live = []
    for name, path in PAGES:
        status = client.get(path).status_code
        if status == 404:
            print(f"  {name:<12} {path:<26} page missing (404)")
        elif status != 200:
            print(f"  {name:<12} {path:<26} answered {status}")
        else:
            live.append((name, path))
    for _ in range(warmup):
        for _name, path in live:
            client.get(path)
    samples = {path: [] for _n, path in live}
    statements = {}
    t0 = perf()
    for _ in range(requests):
        gc.collect()
        for _name, path in live:
            sql.count = 0
            t = perf()
            client.get(path)
            samples[path].append(perf() - t)
            statements[path] = sql.count
    worst = None
    if live:
        print(f"  GET as leader, ms server time over {requests} requests each after {warmup} "
              f"warm-up, interleaved ({perf() - t0:.0f} s):")
        print(f"  {'page':<12} {'path':<26} {'p50':>7} {'p95':>7} {'max':>7} {'SQL':>5}")
        for name, path in live:
            xs = samples[path]
            p50, p95, top = (percentile(xs, 0.5) * 1000, percentile(xs, 0.95) * 1000,
                             max(xs) * 1000)
            worst = max(worst or 0.0, p95)
            flag = "  OVER" if p95 > TARGET_MS else ""
            print(f"  {name:<12} {path:<26} {p50:7.1f} {p95:7.1f} {top:7.1f} "
                  f"{statements[path]:>5}{flag}")
    export_times = []
    size_bytes = 0
    for _ in range(3):
        t = perf()
        response = client.get(EXPORT)
        export_times.append(perf() - t)
        size_bytes = len(response.data)
        if response.status_code != 200:
            print(f"  export {EXPORT}: {response.status_code}")
            break
    else:
        print(f"  export {EXPORT} (all projects): {min(export_times):.2f} s best of 3, "
              f"{size_bytes / 1e6:.1f} MB")
    eng.close()
    if worst is not None:
        print(f"dashboard {size} on {label}: worst p95 {worst:.1f} ms (target <= "
              f"{TARGET_MS:.0f} ms)")
    return worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL URL of a database to drop, create "
                    "and fill from the SQLite file (e.g. .../kunflow_bench)")
    ap.add_argument("--quick", action="store_true", help="1,000 projects / 10,000 cases")
    ap.add_argument("--rebuild", action="store_true", help="build the data again")
    ap.add_argument("--workers", type=int, default=2, help="processes building the data")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per page")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    ap.add_argument("--build-only", action="store_true", help="build the data, measure nothing")
    ap.add_argument("--no-sqlite", action="store_true", help="with --pg: skip the SQLite run")
    ap.add_argument("--scale", type=int, default=1, metavar="N",
                    help="measure on the built data multiplied N times by copying rows "
                         "(see replicate(); 2..20)")
    ap.add_argument("--on", metavar="URL", help="measure on this database as it is (one filled "
                    "by bench/populate.py: sqlite:///var/bench/populate.db or a postgresql:// "
                    "URL); builds and copies nothing")
    args = ap.parse_args(argv)
    if not 1 <= args.scale <= 20:
        raise SystemExit("--scale takes 1..20")
    if args.on:
        print(f"kunflow bench/dashboard.py on {date.today()}: {machine()}; {load_average()}")
        kind = "PostgreSQL" if args.on.startswith("postgresql") else "SQLite"
        app = app_for(args.on, ROOT / "var" / "bench")
        app.extensions["kunflow"].migrate()  # migrations added since it was filled
        app.extensions["kunflow"].close()
        measure(args.on, kind, "populated", args.requests, args.warmup, ROOT / "var" / "bench")
        print(f"{load_average()}")
        return 0

    size = "quick" if args.quick else "full"
    print(f"kunflow bench/dashboard.py ({size}) on {date.today()}: {machine()}; {load_average()}")
    db_path = ensure_data(size, args.workers, args.rebuild)
    upgrade(db_path)
    ensure_read_model(db_path)
    if args.build_only:
        return 0
    workdir = db_path.parent
    label = size if args.scale == 1 else f"{size} x{args.scale}"
    if not args.no_sqlite:
        measured = db_path
        if args.scale > 1:
            measured = scaled_copy(db_path, args.scale)
        print(f"SQLite: {measured.relative_to(ROOT)} ({measured.stat().st_size / 1e6:.0f} MB)")
        measure(f"sqlite:///{measured}", "SQLite", label, args.requests, args.warmup, workdir)
    if args.pg:
        url = copy_to_postgres(db_path, args.pg)
        if args.scale > 1:
            t0 = perf()
            written = replicate(url, args.scale)
            print(f"  multiplied x{args.scale} by copying rows in {perf() - t0:.1f} s: "
                  + ", ".join(f"{k} +{v:,}" for k, v in written.items()))
        measure(url, "PostgreSQL", label, args.requests, args.warmup, workdir)
    print(f"{load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
