#!/usr/bin/env python
"""The notice inbox and the deadline reminders at a district's scale (issue 14).

    .venv/bin/python bench/notices.py                    # SQLite (var/bench/notices.db, rebuilt)
    .venv/bin/python bench/notices.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_bench_n

1. Data, written straight into the tables (the inbox reads only ``notice`` and ``notice_read``):
   ``--notices`` notices (default 200,000) over 40 departments, one in ten addressed to one of
   the department's 25 users; the measured user has read 90 % of what they can see.
   ``--tasks`` open task rows (default 50,000) on as many cases, due over the past and the
   next two months, for the reminders.
2. The header's unread count, the inbox's first page and its unread tab for the measured user:
   ``--requests`` calls each (after 3 untimed), p50 / p95 / max in ms.
3. Deadline reminders: rounds of ``send_deadline_reminders`` (500 a round) until a round
   writes nothing: time per round, and of the last (empty) round — the job's steady cost
   every ten minutes.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.pgdb import fresh_database  # noqa: E402
from bench.runinfo import load_average, machine  # noqa: E402
from bench.runinfo import timed as measure  # noqa: E402
from engine import Actor, Engine  # noqa: E402
from engine.model import definition, department, instance, notice, notice_read, task  # noqa: E402

perf = time.perf_counter
DEPARTMENTS = 40
USERS = 25
NOW = datetime(2026, 12, 7, 2, 0)  # 10:00 China time, a Monday


def load(eng: Engine, notices: int, tasks: int) -> None:
    started = perf()
    with eng.db.begin() as conn:
        conn.execute(department.insert(), [
            {"code": f"d{i:02d}", "name": f"部门{i:02d}", "kind": "bureau"}
            for i in range(DEPARTMENTS)])
        conn.execute(definition.insert().values(
            id=1, key="bench", version=1, name="bench", bpmn_xml="<x/>", checksum="0" * 64,
            deployed_at=NOW, deployed_by="bench", filename="bench.bpmn", meta_json="{}"))
        rows = []
        for i in range(notices):
            dept = f"d{i % DEPARTMENTS:02d}"
            turn = i // DEPARTMENTS  # the department's n-th notice
            user = f"u{i % DEPARTMENTS:02d}-{(turn // 10) % USERS:02d}" if turn % 10 == 0 \
                else None
            rows.append({"department_code": dept, "username": user, "kind": "notice",
                         "subject": f"通报 {i}", "body": "审批结果：准予", "instance_id": None,
                         "created_at": NOW - timedelta(minutes=notices - i)})
            if len(rows) == 5000:
                conn.execute(notice.insert(), rows)
                rows = []
        if rows:
            conn.execute(notice.insert(), rows)
        me = Actor("u00-00", "d00", frozenset({"caseworker"}))
        ids = [r.id for r in conn.execute(
            sa.select(notice.c.id).where(
                notice.c.department_code == "d00",
                sa.or_(notice.c.username.is_(None), notice.c.username == me.username)))]
        read = [{"notice_id": i, "username": me.username, "read_at": NOW}
                for n, i in enumerate(ids) if n % 10]
        for k in range(0, len(read), 5000):
            conn.execute(notice_read.insert(), read[k:k + 5000])
        insts, trows = [], []
        for i in range(tasks):
            insts.append({"id": i + 1, "definition_id": 1, "process_key": "bench",
                          "status": "running", "state_json": "{}", "version": 1, "serializer_version": "1",
                          "started_at": NOW, "updated_at": NOW, "completed_tasks": 0,
                          "started_by": "bench"})
            due = NOW + timedelta(hours=(i % 1440) - 720)  # 30 days back to 30 ahead
            trows.append({"id": str(uuid.UUID(int=i + 1)), "instance_id": i + 1,
                          "process_key": "bench", "element_id": "step", "name": "办理",
                          "department_code": f"d{i % DEPARTMENTS:02d}", "state": "ready",
                          "created_at": NOW - timedelta(days=40), "due_at": due,
                          "due_provisional": False})
            if len(trows) == 5000:
                conn.execute(instance.insert(), insts)
                conn.execute(task.insert(), trows)
                insts, trows = [], []
        if trows:
            conn.execute(instance.insert(), insts)
            conn.execute(task.insert(), trows)
    if eng.db.dialect.name == "postgresql":
        with eng.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"data: {notices:,} notices, {len(read):,} read by the measured user, {tasks:,} open "
          f"tasks — loaded in {perf() - started:.1f} s")


def timed(fn, n: int) -> str:
    p50, p95, top = measure(fn, n)
    return f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  max {top:6.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--pg", help="PostgreSQL URL (the database is dropped and created)")
    ap.add_argument("--notices", type=int, default=200_000)
    ap.add_argument("--tasks", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    url = fresh_database(args.pg, "notices")
    eng = Engine(url)
    eng.migrate()
    print(f"{machine()}; {load_average()}; {eng.db.dialect.name}")
    load(eng, args.notices, args.tasks)
    me = Actor("u00-00", "d00", frozenset({"caseworker"}))
    print(f"unread count     {timed(lambda: eng.unread_notice_count(me), args.requests)}"
          f"  ({eng.unread_notice_count(me):,} unread)")
    print(f"inbox page 1     {timed(lambda: eng.list_notices(me), args.requests)}")
    print(f"unread tab       {timed(lambda: eng.list_notices(me, unread=True), args.requests)}")
    rounds, written, times = 0, 0, []
    while True:
        t = perf()
        n = eng.send_deadline_reminders(now=NOW)
        times.append((perf() - t) * 1000)
        rounds += 1
        written += n
        if n == 0 or rounds > 500:
            break
    busy = times[:-1] or [0.0]
    print(f"reminders: {written:,} written in {rounds - 1} rounds, "
          f"median round {statistics.median(busy):.0f} ms, max {max(busy):.0f} ms; "
          f"a round with nothing to write {times[-1]:.1f} ms")
    eng.close()


if __name__ == "__main__":
    main()
