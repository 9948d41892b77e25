#!/usr/bin/env python
"""Listing open incidents (故障处理): how often a parked case's saved state is loaded.

    .venv/bin/python bench/incidents.py                  # 50 incidents, 10 and 50 cases
    .venv/bin/python bench/incidents.py --incidents 50 --cases 5

Fresh SQLite file (migrated, org chart seeded), tests/fixtures/bpmn/failing_script.bpmn
deployed; ``--cases`` cases parked on its failing script, and further open incident rows on
them until there are ``--incidents`` (a case may carry several open incidents: a parked case
whose timer or message delivery failed as well). The engine runs with its live cache off, as
after a restart or with more parked cases than the cache holds, so every load reads and
deserializes the stored state. Prints, per layout, the state loads of one
``Engine.list_incidents`` call and its mean time over ``--rounds`` calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import engine.persistence.store as store_module  # noqa: E402
from engine import Engine  # noqa: E402
from engine.model import incident  # noqa: E402
from workflows.org import load_org  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "bpmn" / "failing_script.bpmn"


def measure(n_incidents: int, n_cases: int, rounds: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(f"sqlite:///{tmp}/bench.db", live_cache_size=0)
        try:
            engine.migrate()
            departments, users = load_org(ROOT / "config" / "org.yaml")
            engine.sync_org(departments, users)
            admin = engine.get_user("admin").actor()
            clerk = engine.get_user("drc-clerk").actor()
            engine.deploy("failing_script.bpmn", FIXTURE.read_bytes(), actor=admin)
            for _ in range(n_cases):
                inst = engine.start("failing_script", clerk, data={"total": 0})
                (t,) = engine.get_instance(inst.id, admin).tasks
                engine.complete(t.id, clerk, {"amount": 5})
            rows = engine.list_incidents(admin)
            assert len(rows) == n_cases, rows
            with engine.db.begin() as conn:
                for i in range(n_incidents - n_cases):
                    first = rows[i % n_cases]
                    conn.execute(incident.insert().values(
                        instance_id=first.instance_id, task_id=first.task_id,
                        element_id=first.element_id, message=first.message,
                        created_at=first.created_at))
            loads = 0
            original = store_module.load_state

            def counting(*args, **kwargs):
                nonlocal loads
                loads += 1
                return original(*args, **kwargs)

            store_module.load_state = counting
            try:
                listed = engine.list_incidents(admin)
                assert len(listed) == n_incidents and all(i.data for i in listed)
                per_call = loads
                times = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    engine.list_incidents(admin)
                    times.append((time.perf_counter() - started) * 1000)
            finally:
                store_module.load_state = original
            return per_call, statistics.mean(times)
        finally:
            engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--cases", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    for cases in args.cases or [10, 50]:
        loads, mean_ms = measure(args.incidents, cases, args.rounds)
        print(f"{args.incidents} incidents on {cases} cases: {loads} state loads per list, "
              f"mean={mean_ms:.1f} ms")


if __name__ == "__main__":
    main()
