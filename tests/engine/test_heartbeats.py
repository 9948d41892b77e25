"""Heartbeats of background processes (the scheduler of each node): one row per process, written
over by every beat; read by kind, the latest first; removed when the process stops on purpose
or has been silent long enough. Two engines stand for two processes (workers, nodes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Engine
from engine.db import make_engine

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture
def engines(db_url):
    a = Engine(db_url, live_cache_size=0)
    a.migrate()
    b = Engine(db_url, live_cache_size=0)
    yield a, b
    a.close()
    b.close()


def test_a_beat_is_upserted_and_every_process_reads_it(engines):
    a, b = engines
    started = T0.replace(tzinfo=None)
    with time_machine.travel(T0, tick=False):
        a.beat("scheduler@node-1:41", "scheduler", "node-1", 41, started)
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        a.beat("scheduler@node-1:41", "scheduler", "node-1", 41, started)
        b.beat("scheduler@node-2:7", "scheduler", "node-2", 7, T0)  # aware: stored as UTC
        b.beat("mailer@node-2:8", "mailer", "node-2", 8, started)
    rows = b.heartbeats("scheduler")
    assert [r["name"] for r in rows] == ["scheduler@node-1:41", "scheduler@node-2:7"]
    first = rows[0]
    assert first == {"name": "scheduler@node-1:41", "kind": "scheduler", "node": "node-1",
                     "pid": 41, "started_at": started,
                     "beat_at": (T0 + timedelta(seconds=30)).replace(tzinfo=None)}
    assert rows[1]["started_at"] == started
    assert {r["name"] for r in a.heartbeats()} == {
        "scheduler@node-1:41", "scheduler@node-2:7", "mailer@node-2:8"}


def test_a_stopped_process_and_long_silent_ones_are_forgotten(engines):
    a, b = engines
    with time_machine.travel(T0, tick=False):
        a.beat("scheduler@old:1", "scheduler", "old", 1, T0)
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        a.beat("scheduler@node-1:2", "scheduler", "node-1", 2, T0)
        b.beat("scheduler@node-2:3", "scheduler", "node-2", 3, T0)
        assert b.purge_heartbeats(T0 + timedelta(days=1)) == 1
    assert b.end_beat("scheduler@node-1:2") is True
    assert b.end_beat("scheduler@node-1:2") is False
    assert [r["name"] for r in a.heartbeats("scheduler")] == ["scheduler@node-2:3"]


def test_pool_and_statement_timeout_come_from_the_arguments(db_url):
    db = make_engine(db_url, pool_size=3, max_overflow=2, statement_timeout_ms=1500)
    try:
        with db.connect() as conn:
            if db.dialect.name == "postgresql":
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
                assert (db.pool.size(), db.pool._max_overflow) == (3, 2)
                with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
                    conn.exec_driver_sql("SELECT pg_sleep(3)")
            else:
                assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()


def test_set_up_and_migrations_are_not_cut_short_by_the_statement_timeout(db_url):
    """A node's ``kunflow init`` may wait for another node's longer than a statement may run;
    the migration may rewrite big tables. Both lift the timeout for themselves only."""
    engine = Engine(db_url, live_cache_size=0, statement_timeout_ms=1000)
    try:
        engine.migrate()
        with engine.setup_lock:
            pass
        if engine.db.dialect.name == "postgresql":
            with engine.db.connect() as conn:  # the pooled connection keeps its timeout
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
    finally:
        engine.close()
