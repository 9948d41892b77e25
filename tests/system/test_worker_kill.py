"""SIGKILL one gunicorn worker of ``kunflow run`` during a burst of completions: gunicorn starts
another, and every completion a client was told succeeded is in the database, once, with its
event; every instance still loads."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from engine import SYSTEM
from tests.conftest import district_engine
from tests.system.support import Server, loop_cases, token

pytestmark = pytest.mark.slow

CLIENTS = 6
ACKS_BEFORE_KILL = 40
ACKS_AFTER_KILL = 40


def _workers(master_pid: int) -> list[int]:
    """The gunicorn master's child processes: its workers."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigkill_of_a_worker_loses_no_acknowledged_completion(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'kunflow.db'}"
    server = Server(db_url, tmp_path)
    server.start()
    acknowledged: list[str] = []
    unexpected: list[str] = []
    refused = Counter()
    try:
        base = server.url
        invest, drc = token(base, "invest-clerk"), token(base, "drc-clerk")
        instances = loop_cases(base, invest, CLIENTS, "KILL", "进程被杀")

        stop = threading.Event()

        def burst(iid: int) -> None:
            session = requests.Session()
            round_no = 0
            while not stop.is_set():
                try:
                    r = session.get(f"{base}/api/v1/tasks", headers=drc, timeout=10,
                                    params={"scope": "department", "instance_id": iid})
                    items = r.json()["items"] if r.status_code == 200 else []
                    if not items:
                        continue
                    round_no += 1
                    tid = items[0]["id"]
                    r = session.post(f"{base}/api/v1/tasks/{tid}/complete", headers=drc,
                                     json={"data": {"review_round": round_no}}, timeout=10)
                    if r.status_code == 200:
                        acknowledged.append(tid)
                    elif r.status_code != 409:
                        unexpected.append(f"{r.status_code} {r.text[:200]}")
                except requests.RequestException as exc:
                    # The worker died under this request, or the new one is not up yet:
                    # not acknowledged; try again on a new connection.
                    refused[type(exc).__name__] += 1
                    session = requests.Session()
                    time.sleep(0.05)

        threads = [threading.Thread(target=burst, args=(iid,)) for iid in instances]
        for t in threads:
            t.start()
        try:
            _wait(lambda: len(acknowledged) >= ACKS_BEFORE_KILL, 60,
                  "the burst did not get going")
            victims = _workers(server.proc.pid)
            assert victims, "no gunicorn worker found"
            os.kill(victims[0], signal.SIGKILL)
            acks_at_kill = len(acknowledged)
            # gunicorn's master starts a new worker, and the burst goes on through it.
            _wait(lambda: len(acknowledged) >= acks_at_kill + ACKS_AFTER_KILL, 90,
                  "completions did not resume after the worker was killed")
            assert victims[0] not in _workers(server.proc.pid)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
    finally:
        server.stop()
    assert not unexpected, unexpected[:5]
    assert server.proc.returncode is not None

    eng = district_engine(db_url, live_cache_size=0)
    try:
        with eng.db.connect() as conn:
            task_state = dict(conn.execute(sa.text("SELECT id, state FROM task")).all())
            completions = Counter(conn.execute(sa.text(
                "SELECT task_id FROM event WHERE kind = 'task_completed'")).scalars())
            open_tasks = Counter(conn.execute(sa.text(
                "SELECT instance_id FROM task WHERE state IN ('ready', 'claimed')")).scalars())
        # Every acknowledged completion is stored, with its event.
        for tid in acknowledged:
            assert task_state.get(tid) == "completed", tid
            assert completions[tid] == 1, tid
        # No completion doubled: one event per completed task, no task completed twice, and
        # each loop has exactly one open review.
        assert len(acknowledged) == len(set(acknowledged))
        assert all(n == 1 for n in completions.values())
        assert set(completions) == {t for t, s in task_state.items() if s == "completed"}
        assert all(open_tasks[iid] == 1 for iid in instances), open_tasks
        # Every instance loads from its stored state (this engine caches nothing).
        for iid in instances:
            assert eng.get_instance(iid, SYSTEM, with_data=True).status == "running"
    finally:
        eng.close()
