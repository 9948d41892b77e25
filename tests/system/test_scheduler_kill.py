"""SIGKILL the scheduler (``kunflow worker``) in the middle of a sweep of many due timers: after a
restart every timer has fired exactly once and every instance loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from engine import SYSTEM
from engine.db import normalize_url
from tests.conftest import FIXTURES, ROOT, district_engine, seed_org

KUNFLOW = Path(sys.executable).parent / "kunflow"
# One timer run works off every due timer (rounds of 200); enough of them that the sweep is
# still going when the test, polling, sees the first KILL_AFTER fired and kills it.
INSTANCES = 400
KILL_AFTER = 15

pytestmark = pytest.mark.slow


def real_now() -> datetime:
    """The wall clock the child process sees, also when the suite travels in time
    (``KUNFLOW_TEST_TODAY``)."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.datetime.datetime.now(UTC)
    return datetime.now(UTC)


class Worker:
    """``kunflow worker`` in its own process group, its output in a log file."""

    def __init__(self, db_url: str, log_path: Path):
        self.env = {**os.environ, "KUNFLOW_DATABASE_URL": db_url,
                    "KUNFLOW_SECRET_KEY": "scheduler-kill-test"}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([str(KUNFLOW), "worker"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _fired_per_instance(db: sa.Engine) -> dict[int, int]:
    with db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT instance_id, count(*) FROM event WHERE kind = 'timer_fired' "
            "GROUP BY instance_id")).all()
    return {iid: n for iid, n in rows}


def _reminded(db: sa.Engine) -> set[int]:
    with db.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT instance_id FROM task WHERE element_id = 'record_reminder'")).scalars())


def _wait_for(condition, seconds: float, worker: Worker, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert worker.alive(), f"kunflow worker exited: {worker.log_path.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.05)


def test_killed_scheduler_fires_every_timer_exactly_once_after_restart(db_url, tmp_path):
    eng = district_engine(db_url, live_cache_size=0)
    db = None
    try:
        eng.migrate()
        seed_org(eng)
        admin = eng.get_user("admin").actor()
        eng.deploy("deadline_timers.bpmn",
                   (FIXTURES / "bpmn" / "deadline_timers.bpmn").read_bytes(), actor=admin)
        # Started six days ago by the worker's clock: each review's five-day reminder (a
        # non-interrupting boundary timer) is due, its twenty-day escalation is not. A reminder
        # fired twice would leave two 督查室催办 tasks.
        with time_machine.travel(real_now() - timedelta(days=6), tick=False):
            ids = [eng.start("deadline_timers", SYSTEM, business_key=f"TIMER-{i}").id
                   for i in range(INSTANCES)]
        # Polled through a plain engine: the engine's own SQLite connections begin every
        # transaction with BEGIN IMMEDIATE, and such a read would queue behind the sweep's
        # back-to-back writes until the sweep is over (a WAL reader never waits).
        db = sa.create_engine(normalize_url(db_url))

        worker = Worker(db_url, tmp_path / "worker.log")
        worker.start()
        try:
            # Kill it when part of the sweep is done: SIGKILL, no chance to finish a step.
            _wait_for(lambda: len(_fired_per_instance(db)) >= KILL_AFTER, 60, worker,
                      "the sweep did not start")
            worker.signal(signal.SIGKILL)
            fired_at_kill = len(_fired_per_instance(db))
            assert fired_at_kill < INSTANCES, "the sweep ended before the kill: raise INSTANCES"
            # Whatever step the kill interrupted left nothing behind: a reminder task exists
            # exactly where its timer's event does.
            assert _reminded(db) == set(_fired_per_instance(db))

            worker.start()  # its timer job runs at once and fires what the dead one left
            _wait_for(lambda: len(_fired_per_instance(db)) == INSTANCES, 180, worker,
                      "not every timer fired after the restart")
        finally:
            worker.signal(signal.SIGTERM)

        fired = _fired_per_instance(db)
        assert set(fired) == set(ids)
        assert all(n == 1 for n in fired.values()), {i: n for i, n in fired.items() if n != 1}
        with db.connect() as conn:
            tasks = conn.execute(sa.text(
                "SELECT instance_id, element_id, state FROM task ORDER BY instance_id")).all()
            states = dict(conn.execute(sa.text(
                "SELECT id, status FROM instance WHERE process_key = 'deadline_timers'")).all())
        by_instance: dict[int, list[tuple[str, str]]] = {}
        for iid, element, state in tasks:
            by_instance.setdefault(iid, []).append((element, state))
        for iid in ids:
            assert states[iid] == "running", iid
            assert sorted(by_instance[iid]) == [("record_reminder", "ready"),
                                                ("review_design", "ready")], iid
        # Every instance loads from its stored state (this engine caches nothing).
        for iid in ids:
            info = eng.get_instance(iid, SYSTEM, with_data=True)
            assert info.status == "running"
        assert "Traceback" not in (tmp_path / "worker.log").read_text()
    finally:
        if db is not None:
            db.dispose()
        eng.close()
