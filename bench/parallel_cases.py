#!/usr/bin/env python
"""409 rates when departments work on the same cases at the same time (并联审批, issue 9).

    .venv/bin/python bench/parallel_cases.py                    # SQLite file in a temporary directory
    .venv/bin/python bench/parallel_cases.py --pg postgresql://postgres@127.0.0.1:5432/test

1. A fresh database (on PostgreSQL a schema of its own, dropped at the end): migrated, the org
   chart of config/org.yaml, and tests/fixtures/bpmn/parallel_six.bpmn deployed: after
   registration a parallel split opens one opinion for each of six departments, then a join.
2. ``--cases`` cases are started and registered, so ``6 x cases`` opinions are open.
3. ``--clients`` clients (threads), spread over the six departments (clerk and head in turn) and
   over ``--nodes`` Engine objects on the same database (nodes: own pools and caches), are
   released together. Each takes a random ready task of its department's queue, claims it and
   completes it, until the queues are empty (three clients per department share its two users,
   like a user with two browser tabs). Like a caseworker, a client whose claim is refused
   moves on to another task; a completion refused with a retry message is retried once the
   page is "refreshed" (up to 20 times).

Printed per operation: attempts, successes and the refusals by message. A refusal "任务已被 X
认领" (claimed by someone else) is what a user must see when two colleagues pick the same task;
"实例已被其他操作修改，请刷新后重试" is the one a department gets only because another
department's step on the same case saved first. Last line: ``first completions refused: x %
with the retry message`` (completions of a task its client had just claimed), the figure of
the issue.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.runinfo import load_average, machine  # noqa: E402
from engine import Conflict, Engine  # noqa: E402
from workflows.org import load_org  # noqa: E402

DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "parallel_six.bpmn"
DEPARTMENTS = ("drc", "natres", "eco", "agri", "emergency", "housing")
RETRY = "实例已被其他操作修改，请刷新后重试"


class Database:
    """A SQLite file in the work directory, or a new schema on the PostgreSQL server."""

    def __init__(self, pg_url: str | None, workdir: Path):
        self.admin = self.schema = None
        if pg_url is None:
            self.url, self.kind = f"sqlite:///{workdir / 'kunflow.db'}", "SQLite (WAL)"
            return
        self.schema = f"bench_parallel_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with self.admin.begin() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in pg_url else "?"
        self.url = f"{pg_url}{sep}options=-csearch_path%3D{self.schema}"
        self.kind = f"PostgreSQL {version}"

    def drop(self) -> None:
        if self.admin is None:
            return
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def prepare(url: str, cases: int) -> None:
    eng = Engine(url)
    try:
        eng.migrate()
        departments, users = load_org(ROOT / "config" / "org.yaml")
        eng.sync_org(departments, users)
        eng.deploy(DIAGRAM.name, DIAGRAM.read_bytes(), actor=eng.get_user("admin").actor())
        invest = eng.get_user("invest-clerk").actor()
        for i in range(cases):
            inst = eng.start("parallel_six", invest, business_key=f"BL-{i:04d}")
            (register,) = inst.tasks
            eng.complete(register.id, invest, {"project": f"并联审批 {i}"})
    finally:
        eng.db.dispose()


def client(node: Engine, username: str, seed: int, barrier, tally: Counter, lock) -> None:
    rng = random.Random(seed)
    user = node.get_user(username).actor()
    mine = Counter()
    barrier.wait()
    while True:
        page = node.list_tasks(user, scope="department", state="ready", limit=50)
        if not page.items:
            break
        t = rng.choice(page.items)
        mine["claim"] += 1
        try:
            node.claim(t.id, user)
        except Conflict as exc:
            mine["claim: " + _reason(exc)] += 1
            continue
        for attempt in range(20):
            mine["complete" if attempt == 0 else "complete (retry)"] += 1
            try:
                node.complete(t.id, user, {f"{t.element_id}": f"{username} 同意"})
                mine["completed"] += 1
                break
            except Conflict as exc:
                reason = _reason(exc)
                mine[("first complete: " if attempt == 0 else "retried complete: ") + reason] += 1
                if exc.message != RETRY:
                    break
    with lock:
        tally.update(mine)


def _reason(exc: Conflict) -> str:
    return "任务已被他人认领" if exc.message.startswith("任务已被") else exc.message


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (a schema is made and dropped)")
    ap.add_argument("--clients", type=int, default=18)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="kunflow-parallel-"))
    db = Database(args.pg, workdir)
    nodes: list[Engine] = []
    try:
        prepare(db.url, args.cases)
        nodes = [Engine(db.url) for _ in range(args.nodes)]
        tally: Counter = Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(args.clients)
        threads = []
        for i in range(args.clients):
            dept = DEPARTMENTS[i % len(DEPARTMENTS)]
            username = f"{dept}-{'clerk' if (i // len(DEPARTMENTS)) % 2 == 0 else 'head'}"
            threads.append(threading.Thread(
                target=client,
                args=(nodes[i % args.nodes], username, args.seed * 1000 + i, barrier, tally, lock),
            ))
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        with nodes[0].db.connect() as conn:
            joined = conn.execute(sa.text(
                "SELECT count(*) FROM task WHERE element_id = 'consolidate_opinions'")).scalar_one()
    finally:
        for node in nodes:
            node.db.dispose()
        db.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"# {machine()}; {load_average()}")
    print(f"# {db.kind}; {args.nodes} nodes, {args.clients} clients, {args.cases} cases x 6 "
          f"departments; {elapsed:.1f} s, {tally['completed'] / elapsed:.1f} completions/s")
    for key in sorted(tally):
        print(f"{key:<40} {tally[key]:>6}")
    print(f"joins fired: {joined} of {args.cases} cases")
    first = tally["complete"]
    for label, total, prefix in (("claims", tally["claim"], "claim: "),
                                 ("first completions", first, "first complete: ")):
        retry = tally[prefix + RETRY]
        other = sum(v for k, v in tally.items() if k.startswith(prefix)) - retry
        print(f"{label} refused: {100 * retry / max(total, 1):.1f} % with the retry message, "
              f"{100 * other / max(total, 1):.1f} % with the task's own reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
