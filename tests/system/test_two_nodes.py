"""Two nodes on one PostgreSQL database, driven at once: each a ``kunflow run`` with two gunicorn
workers and its own scheduler (so two schedulers race for every due timer). Through the HTTP API
of both nodes: cases started, tasks completed, the same task completed on both nodes at the
same moment, messages posted; meanwhile a timer of three seconds falls due in every case.

Afterwards the database shows no completion lost or doubled (task rows, the event log and the
answers agree), every timer fired once, every message delivered once, and both schedulers'
heartbeats.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from engine.model import event, instance, message, task
from tests.conftest import FIXTURES, PG_AVAILABLE, PG_URL, district_engine

ROOT = Path(__file__).resolve().parents[2]
KUNFLOW = Path(sys.executable).parent / "kunflow"
CASES = 24
REPLY = "two_nodes_reply"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_AVAILABLE, reason=f"PostgreSQL not reachable at {PG_URL}"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """``kunflow run`` on a free port: two workers, a scheduler looking for timers every
    second."""

    def __init__(self, env: dict, tmp: Path, name: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = name
        self.log_path = tmp / f"{name}.log"
        self.env = {**env, "KUNFLOW_PORT": str(self.port), "KUNFLOW_WORKERS": "2",
                    "KUNFLOW_THREADS": "4", "KUNFLOW_TIMER_SECONDS": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(KUNFLOW), "run"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not start:\n" + self.log())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """The whole node at once: master, workers and scheduler (one process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A database of its own (a schema), set up by ``kunflow init``, the test diagram
    deployed, two nodes serving it: (nodes, the test's engine)."""
    tmp = tmp_path_factory.mktemp("two_nodes")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_db = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin_db.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    env = {**os.environ, "KUNFLOW_DATABASE_URL": url, "KUNFLOW_SECRET_KEY": "two-nodes",
           "KUNFLOW_DEMO": "1", "KUNFLOW_HOST": "127.0.0.1",
           "KUNFLOW_ATTACHMENT_DIR": str(tmp / "attachments")}  # shared, as on a file server
    nodes = [Node(env, tmp, "node-a"), Node(env, tmp, "node-b")]
    engine = None
    try:
        # Both start at once on the empty database: each runs `kunflow init` first (the
        # set-up lock makes the second wait, then find everything in place).
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_ready()
        engine = district_engine(url, live_cache_size=0)
        admin = engine.get_user("admin").actor()
        engine.deploy("two_nodes.bpmn", (FIXTURES / "bpmn" / "two_nodes.bpmn").read_bytes(),
                      actor=admin)
        yield nodes, engine
    finally:
        for node in nodes:  # the database goes with them: no need to wait for a clean stop
            node.kill()
        if engine is not None:
            engine.close()
        with admin_db.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_db.dispose()


def _token(node: Node, username: str) -> dict:
    r = requests.post(f"{node.url}/api/v1/auth/token",
                      json={"username": username, "password": "demo"}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


class Driver:
    """Requests to the nodes; every completion's answer is recorded."""

    def __init__(self, nodes: list[Node]):
        self.nodes = nodes
        self.clerk = [_token(n, "invest-clerk") for n in nodes]
        self.admin = [_token(n, "admin") for n in nodes]
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int]] = []  # (task id, status) of every completion
        self.unexpected: list[str] = []

    def start_case(self, i: int) -> dict:
        n = i % 2
        r = requests.post(f"{self.nodes[n].url}/api/v1/instances", headers=self.clerk[n],
                          json={"process_key": "two_nodes", "business_key": f"TN-{i:03d}",
                                "title": f"两节点 {i}"}, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()

    def complete(self, n: int, task_id: str) -> int:
        r = requests.post(f"{self.nodes[n].url}/api/v1/tasks/{task_id}/complete",
                          headers=self.clerk[n], json={"data": {"node": n}}, timeout=60)
        with self.lock:
            self.answers.append((task_id, r.status_code))
            if r.status_code not in (200, 409):
                self.unexpected.append(f"complete {r.status_code} {r.text[:300]}")
        return r.status_code

    def race(self, task_id: str) -> list[int]:
        """The same task completed on both nodes at the same moment."""
        gate = threading.Barrier(2)
        codes: list[int] = []

        def one(n: int) -> None:
            gate.wait()
            codes.append(self.complete(n, task_id))

        threads = [threading.Thread(target=one, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(codes)

    def reply(self, n: int, business_key: str) -> str:
        r = requests.post(f"{self.nodes[n].url}/api/v1/messages", headers=self.admin[n],
                          json={"name": REPLY, "correlation_key": business_key,
                                "payload": {"from": n}}, timeout=60)
        if r.status_code != 200:
            with self.lock:
                self.unexpected.append(f"message {r.status_code} {r.text[:300]}")
            return "error"
        return r.json()["status"]


def _open_task(engine, instance_id: int, element_id: str) -> str | None:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(task.c.id).where(
            task.c.instance_id == instance_id, task.c.element_id == element_id,
            task.c.state.in_(("ready", "claimed")))).scalar()


def _wait_for_tasks(engine, instance_ids: list[int], element_id: str, seconds: float
                    ) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    found: dict[int, str] = {}
    while time.monotonic() < deadline:
        for iid in instance_ids:
            if iid not in found and (tid := _open_task(engine, iid, element_id)):
                found[iid] = tid
        if len(found) == len(instance_ids):
            return found
        time.sleep(0.3)
    missing = sorted(set(instance_ids) - set(found))
    raise AssertionError(f"{element_id} never opened for instances {missing}")


def _wait_until_listening(engine, instance_ids: list[int], nodes: list[Node], seconds: float
                          ) -> None:
    """Until every case's timer has fired (no timer left: it waits for the reply)."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.db.connect() as conn:
            waiting = conn.execute(sa.select(instance.c.id, instance.c.next_due_at).where(
                instance.c.id.in_(instance_ids), instance.c.next_due_at.is_not(None))).all()
            now = conn.execute(sa.text("SELECT now() AT TIME ZONE 'utc'")).scalar()
        if not waiting:
            return
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n.name}\n{n.log()}" for n in nodes)
            raise AssertionError(f"timers not fired by {now}: {waiting}\n{logs}")
        time.sleep(0.3)


def test_two_nodes_lose_and_double_nothing(cluster):
    nodes, engine = cluster
    driver = Driver(nodes)
    cases = [driver.start_case(i) for i in range(CASES)]
    ids = [c["id"] for c in cases]
    keys = {c["id"]: c["business_key"] for c in cases}
    first = {c["id"]: c["tasks"][0]["id"] for c in cases}
    raced = set(ids[::3])

    # Phase 1, all at once: first reviews completed on either node (every third raced on
    # both); the reply to every other case posted at once from the other node: it waits
    # until the case's timer has fired and the case listens (delivered by whichever
    # scheduler fires the timer). Timers fall due three seconds after each completion.
    race_codes: dict[int, list[int]] = {}
    early = {iid: None for iid in ids[1::2]}

    def phase_one(iid: int) -> None:
        if iid in raced:
            race_codes[iid] = driver.race(first[iid])
        else:
            driver.complete(iid % 2, first[iid])
        if iid in early:
            early[iid] = driver.reply(1 - iid % 2, keys[iid])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(phase_one, ids))
    assert all(status in ("waiting", "delivered") for status in early.values()), early

    # Phase 2: the reply to the other cases once they listen (after their timer), from
    # either node, while the early replies are being delivered.
    late = [iid for iid in ids if iid not in early]
    _wait_until_listening(engine, late, nodes, 30)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda iid: driver.reply(iid % 2, keys[iid]), late))
    assert set(outcomes) == {"delivered"}, outcomes

    # Phase 3: every case reaches its final review; complete them on either node, racing
    # every third again.
    final = _wait_for_tasks(engine, ids, "final_review", 30)

    def phase_three(iid: int) -> None:
        if iid in raced:
            race_codes[-iid] = driver.race(final[iid])
        else:
            driver.complete(1 - iid % 2, final[iid])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(phase_three, ids))

    assert driver.unexpected == [], driver.unexpected[:5]
    # A race has exactly one winner; the loser is told its view is stale.
    assert race_codes and all(codes == [200, 409] for codes in race_codes.values()), race_codes

    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(task.c.id, task.c.instance_id, task.c.element_id,
                                      task.c.state).where(task.c.instance_id.in_(ids))).all()
        completed_events = Counter(conn.execute(sa.select(event.c.task_id).where(
            event.c.instance_id.in_(ids), event.c.kind == "task_completed")).scalars())
        timer_events = Counter(conn.execute(sa.select(event.c.instance_id).where(
            event.c.instance_id.in_(ids), event.c.kind == "timer_fired")).scalars())
        received = Counter(conn.execute(sa.select(event.c.instance_id).where(
            event.c.instance_id.in_(ids), event.c.kind == "message_received")).scalars())
        messages = conn.execute(sa.select(message.c.correlation_key, message.c.delivered_to)
                                .where(message.c.name == REPLY)).all()
        statuses = set(conn.execute(sa.select(instance.c.status).where(
            instance.c.id.in_(ids))).scalars())

    # Task rows: per case one first and one final review, both completed, nothing else.
    assert Counter((r.instance_id, r.element_id) for r in rows) == Counter(
        {(iid, e): 1 for iid in ids for e in ("first_review", "final_review")})
    assert {r.state for r in rows} == {"completed"}
    assert statuses == {"completed"}
    # Completions: each task completed once in the event log, and acknowledged (200) once.
    task_ids = {r.id for r in rows}
    assert completed_events == Counter({tid: 1 for tid in task_ids})
    acknowledged = Counter(tid for tid, code in driver.answers if code == 200)
    assert acknowledged == Counter({tid: 1 for tid in task_ids})
    # Timers fired once per case (by one of the two schedulers); each reply delivered once,
    # to the case it was meant for.
    assert timer_events == Counter({iid: 1 for iid in ids})
    assert received == Counter({iid: 1 for iid in ids})
    assert len(messages) == CASES
    assert sorted((m.correlation_key, m.delivered_to) for m in messages) == sorted(
        (keys[iid], iid) for iid in ids)

    # One scheduler per node says it is alive (each beats as soon as it has started).
    deadline = time.monotonic() + 30
    while len(beats := engine.heartbeats("scheduler")) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(beats) == 2 and len({b["pid"] for b in beats}) == 2
