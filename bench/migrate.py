#!/usr/bin/env python
"""Migrating running cases to another version in one call (issue 11: 100 cases < 30 s).

    .venv/bin/python bench/migrate.py                    # SQLite file in a temporary directory
    .venv/bin/python bench/migrate.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/migrate.py --cases 300

1. A fresh database (schema by ``Engine.migrate``), the org chart of config/org.yaml, and the
   shipped ``mine_approval`` (version 1, with its DMN tables and forms).
2. ``--cases`` cases started by 区自然资源分局 and advanced one step (the registration, with form
   data the server accepts): each then stands in the parallel consultation, a multi-instance
   user task with four departments' opinions open, and a message listener waiting beside it.
3. Version 2: the same diagram with the deadline of 记录市发改委核准决定 changed (20 -> 15
   working days), deployed with ``Engine.deploy``.
4. ``Engine.migrate_instances`` over all cases, first as a dry run, then for real (one unit of
   work per case, as the admin page calls it); wall time of each call and per case mean.
   The engine's live cache is cleared before each call, so every case is loaded from the
   database as after a restart (the slower path). Checked afterwards: every case is on the new
   version and every open task kept its id, element and department.

Last line: ``migrate N cases: X s (per case Y ms), dry run Z s (target < 30 s)``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402
from bench.tasklist import form_data  # noqa: E402
from engine import SYSTEM, Engine  # noqa: E402
from web.provision import library_files  # noqa: E402
from workflows.org import load_org  # noqa: E402

TARGET_S = 30.0
PROCESS = "mine_approval"
CHANGED = ('<spiffworkflow:property name="due_working_days" value="20" />',
           '<spiffworkflow:property name="due_working_days" value="15" />')


def database(pg_url: str | None, workdir: Path):
    """(url, description, cleanup)."""
    if pg_url is None:
        return f"sqlite:///{workdir / 'kunflow.db'}", "SQLite (WAL)", lambda: None
    schema = f"bench_migrate_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options=-csearch_path%3D{schema}", f"PostgreSQL {version}", drop


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="kunflow-bench-migrate-"))
    url, kind, cleanup = database(args.pg, workdir)
    eng = Engine(url)
    try:
        eng.migrate()
        departments, users = load_org(ROOT / "config" / "org.yaml")
        eng.sync_org(departments, users)
        admin = eng.get_user("admin").actor()
        ((path, files),) = [(p, f) for p, f in library_files(ROOT / "bpmn")
                            if p.stem == PROCESS]
        bpmn = path.read_bytes()
        eng.deploy(path.name, bpmn, files, actor=SYSTEM)
        clerk = eng.get_user("natres-clerk").actor()
        rng = random.Random(7)
        ids = []
        started = time.perf_counter()
        for i in range(args.cases):
            inst = eng.start(PROCESS, clerk, business_key=f"KS-{i:04d}")
            (register,) = inst.tasks
            schema = eng.task_context(register.id, clerk).form
            eng.complete(register.id, clerk, form_data(schema, rng))
            ids.append(inst.id)
        setup_s = time.perf_counter() - started
        text = bpmn.decode("utf-8")
        assert text.count(CHANGED[0]) >= 1, "the deadline to change is not in the diagram"
        v2 = eng.deploy(path.name, text.replace(CHANGED[0], CHANGED[1], 1).encode(), files,
                        actor=admin)
        target = v2.version if hasattr(v2, "version") else 2
        def queues():
            return {t.id: (t.element_id, t.department_code)
                    for i in ids for t in eng.get_instance(i, admin).tasks}

        before = queues()
        open_tasks = len(before)

        eng.live.clear()
        t0 = time.perf_counter()
        dry = eng.migrate_instances(admin, ids, target, dry_run=True)
        dry_s = time.perf_counter() - t0
        eng.live.clear()
        t0 = time.perf_counter()
        report = eng.migrate_instances(admin, ids, target)
        real_s = time.perf_counter() - t0
        refused = [r for r in report.results if not r.ok]
        on_target = sum(1 for i in ids if eng.get_instance(i, admin).definition_version == target)
        kept = sum(1 for tid, where in queues().items() if before.get(tid) == where)

        print(f"machine: {machine()}; {load_average()}")
        print(f"database: {kind}")
        print(f"cases: {args.cases} of {PROCESS} (set up in {setup_s:.1f} s), "
              f"{open_tasks} open tasks, target version {target}")
        print(f"dry run: {dry.ok_count} can move, {dry.refused_count} refused, {dry_s:.2f} s")
        print(f"migration: {report.ok_count} moved, {report.refused_count} refused, "
              f"{on_target} now on version {target}; {kept} of {open_tasks} open tasks kept "
              "(same id, element and department)")
        for r in refused[:5]:
            print(f"  refused #{r.instance_id}: {r.reason}")
        print(f"migrate {args.cases} cases: {real_s:.2f} s "
              f"(per case {1000 * real_s / args.cases:.1f} ms), dry run {dry_s:.2f} s "
              f"(target < {TARGET_S:.0f} s)")
        ok = report.ok_count == args.cases and kept == open_tasks and real_s < TARGET_S
        return 0 if ok else 1
    finally:
        eng.db.dispose()
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
