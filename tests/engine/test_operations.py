"""What an operator watches, read from the engine: heartbeats of background processes (one row
per name, written again in place), the database ping, the counts of waiting work, and the
completion listener. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Engine, utcnow
from engine.model import instance


def test_a_beat_inserts_then_updates_the_row_of_its_name(engine):
    started = utcnow().replace(microsecond=0)
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(minutes=5), tick=False):
        engine.beat("scheduler@node-a", "scheduler", "node-a", 101, started)
    engine.beat("scheduler@node-b", "scheduler", "node-b", 202, started)
    engine.beat("scheduler@node-a", "scheduler", "node-a", 103, started)  # restarted, new pid
    engine.beat("backup@node-a", "backup", "node-a", 104, started)
    beats = engine.heartbeats(kind="scheduler")
    assert sorted(b["name"] for b in beats) == ["scheduler@node-a", "scheduler@node-b"]
    a = next(b for b in beats if b["name"] == "scheduler@node-a")
    assert a["pid"] == 103 and a["node"] == "node-a" and a["started_at"] == started
    assert utcnow() - a["beat_at"] < timedelta(minutes=1)  # the second beat's time
    assert {b["name"] for b in engine.heartbeats()} == {
        "scheduler@node-a", "scheduler@node-b", "backup@node-a"}
    # freshest first
    freshest = engine.heartbeats()
    assert [b["beat_at"] for b in freshest] == sorted((b["beat_at"] for b in freshest),
                                                      reverse=True)


def test_ping_answers_and_fails_on_a_database_that_is_not_there(engine):
    engine.ping()
    gone = Engine("postgresql://kunflow@127.0.0.1:9/kunflow")
    try:
        with pytest.raises(sa.exc.OperationalError):
            gone.ping()
    finally:
        gone.close()


def test_figures_count_waiting_work(engine, people, open_tasks):
    empty = engine.operational_figures()
    assert empty == {"incidents_open": 0, "timers_due": 0, "oldest_due_at": None,
                     "tasks_open": {"claimed": 0, "ready": 0},
                     "notice_deliveries_pending": 0, "messages_pending": 0}
    inst = engine.start("sample_review", people["invest-clerk"])
    engine.start("sample_review", people["invest-clerk"])
    task = open_tasks(engine, inst.id)["register_project"]
    engine.claim(task.id, people["invest-clerk"])
    engine.correlate_message("nobody_waits", "K-1")
    figures = engine.operational_figures()
    assert figures["tasks_open"] == {"claimed": 1, "ready": 1}
    assert figures["messages_pending"] == 1
    # a timer fell due an hour ago on one running instance
    due = utcnow().replace(microsecond=0) - timedelta(hours=1)
    with engine.db.begin() as conn:
        conn.execute(instance.update().where(instance.c.id == inst.id).values(next_due_at=due))
    figures = engine.operational_figures()
    assert figures["timers_due"] == 1 and figures["oldest_due_at"] == due
    # ... which is not due yet at a time before it
    assert engine.operational_figures(now=due - timedelta(seconds=1))["timers_due"] == 0


def test_completion_listeners_hear_each_committed_completion(engine, people, open_tasks):
    heard = []
    engine.on_task_completed(heard.append)
    engine.on_task_completed(heard.append)  # once only
    inst = engine.start("sample_review", people["invest-clerk"])
    task = open_tasks(engine, inst.id)["register_project"]
    engine.complete(task.id, people["invest-clerk"], {})
    assert [(t.id, t.process_key, t.state) for t in heard] == [
        (task.id, "sample_review", "completed")]


def test_a_failing_listener_does_not_undo_the_completion(engine, people, open_tasks):
    def broken(_task):
        raise RuntimeError("metrics backend away")

    engine.on_task_completed(broken)
    inst = engine.start("sample_review", people["invest-clerk"])
    task = open_tasks(engine, inst.id)["register_project"]
    assert engine.complete(task.id, people["invest-clerk"], {}).state == "completed"
    assert "register_project" not in open_tasks(engine, inst.id)
