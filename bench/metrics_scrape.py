#!/usr/bin/env python
"""What a Prometheus scrape of ``/metrics`` and a load balancer's ``/readyz`` cost at a city's
scale (issue 15): 100,000 cases and 1,000,000 task rows.

    .venv/bin/python bench/metrics_scrape.py              # SQLite (var/bench/metrics.db, rebuilt)
    .venv/bin/python bench/metrics_scrape.py --pg postgresql://postgres@127.0.0.1:5432/kunflow_bench_m

1. Data, written straight into the tables (the scrape reads only counts over indexes):
   ``--instances`` cases (default 100,000), 2 % of them running, a fifth of those with a timer
   due over the last hour; ``--tasks`` task rows (default 1,000,000): 90 % completed, 8 % ready,
   2 % claimed; 500 incidents (100 open), 2,000 messages (300 waiting), 5,000 notice deliveries
   (200 pending); fresh heartbeats of three nodes' schedulers. PostgreSQL: ``VACUUM ANALYZE`` after.
2. ``web.create_app`` on that database and the Flask test client from 127.0.0.1: ``GET
   /metrics`` (every collector: the process metrics and the database figures), ``GET /readyz``
   (``SELECT 1`` in its probe thread, the heartbeats) and ``GET /healthz`` (the request hooks
   alone), ``--requests`` each after 3 untimed; p50 / p95 / max in ms of the whole request.

Last line: ``metrics scrape at N tasks: p50 X ms, p95 Y ms``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.pgdb import fresh_database  # noqa: E402
from bench.runinfo import load_average, machine, timed  # noqa: E402
from engine import Engine, utcnow  # noqa: E402
from engine.model import (  # noqa: E402
    definition,
    incident,
    instance,
    message,
    notice_delivery,
    task,
)

perf = time.perf_counter
CHUNK = 10_000


def load(eng: Engine, instances: int, tasks: int) -> None:
    started = perf()
    now = utcnow().replace(microsecond=0)
    running_every = 50  # 2 % running
    with eng.db.begin() as conn:
        conn.execute(definition.insert().values(
            id=1, key="bench", version=1, name="bench", bpmn_xml="<x/>", checksum="0" * 64,
            deployed_at=now, deployed_by="bench", filename="bench.bpmn", meta_json="{}"))
        rows = []
        for i in range(instances):
            running = i % running_every == 0
            due = now - timedelta(seconds=i % 3600) if running and i % 250 == 0 else None
            rows.append({"id": i + 1, "definition_id": 1, "process_key": "bench",
                         "status": "running" if running else "completed", "state_json": "{}",
                         "version": 1, "serializer_version": "1", "started_at": now,
                         "updated_at": now, "completed_tasks": 0, "next_due_at": due})
            if len(rows) == CHUNK:
                conn.execute(instance.insert(), rows)
                rows = []
        if rows:
            conn.execute(instance.insert(), rows)
        rows = []
        for i in range(tasks):
            k = i % 100
            state = "completed" if k < 90 else "ready" if k < 98 else "claimed"
            rows.append({"id": str(uuid.UUID(int=i + 1)), "instance_id": i % instances + 1,
                         "process_key": "bench", "element_id": "step", "name": "办理",
                         "department_code": f"d{i % 40:02d}", "state": state,
                         "created_at": now - timedelta(minutes=i % 100_000),
                         "due_at": now + timedelta(hours=(i % 1440) - 720),
                         "due_provisional": False})
            if len(rows) == CHUNK:
                conn.execute(task.insert(), rows)
                rows = []
        if rows:
            conn.execute(task.insert(), rows)
        conn.execute(incident.insert(), [
            {"instance_id": (i * 7) % instances + 1, "message": "脚本出错", "created_at": now,
             "resolved_at": None if i < 100 else now} for i in range(500)])
        conn.execute(message.insert(), [
            {"name": "report_back", "correlation_key": f"XM-{i}", "created_at": now,
             "delivered_at": None if i < 300 else now} for i in range(2000)])
        conn.execute(notice_delivery.insert(), [
            {"notice_id": i + 1, "channel": "webhook", "created_at": now, "attempts": 0,
             "status": "pending" if i < 200 else "sent"} for i in range(5000)])
    if eng.db.dialect.name == "postgresql":
        with eng.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"data: {instances:,} cases, {tasks:,} task rows — loaded in {perf() - started:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--pg", help="PostgreSQL URL (the database is dropped and created)")
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    url = fresh_database(args.pg, "metrics")
    eng = Engine(url)
    eng.migrate()
    print(f"{machine()}; {load_average()}; {eng.db.dialect.name}")
    load(eng, args.instances, args.tasks)
    eng.close()

    from web import create_app

    app = create_app({"DATABASE_URL": url, "SCHEDULER": False, "SECRET_KEY": "bench",
                      "ATTACHMENT_DIR": str(ROOT / "var" / "bench" / "attachments")})
    client = app.test_client()

    def get(path: str, status: int) -> None:
        r = client.get(path)
        assert r.status_code == status, (path, r.status_code, r.text[:500])

    engine = app.extensions["kunflow"]
    for n in range(3):  # three nodes' schedulers, fresh (this app runs none: any node counts)
        engine.beat(f"scheduler@node-{n}", "scheduler", f"node-{n}", 100 + n, utcnow())
    results = {}
    for path in ("/metrics", "/readyz", "/healthz"):
        results[path] = timed(lambda p=path: get(p, 200), args.requests)
        p50, p95, worst = results[path]
        print(f"{path:10s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {worst:7.2f} ms")
    app.extensions["kunflow"].close()
    p50, p95, _ = results["/metrics"]
    print(f"metrics scrape at {args.tasks:,} tasks: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
