"""SQLite's writers queue at kunflow's gate (``engine.db.WriterGate``) instead of polling the
file: threads of one process and several processes on one file all get their turn, every write
lands once, and the gate opens after a commit, a rollback, an error inside the transaction and
a connection thrown away in the middle of one."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest
import sqlalchemy as sa

from engine.db import WriterGate, make_engine

ROUNDS = 60


def _counter(url: str) -> sa.Engine:
    db = make_engine(url)
    with db.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter SELECT 0 WHERE NOT EXISTS "
                             "(SELECT 1 FROM counter)")
    return db


def _bump(db: sa.Engine, rounds: int) -> None:
    """Read, then write what was read plus one: a lost update shows in the total."""
    for _ in range(rounds):
        with db.begin() as conn:
            n = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
            conn.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})


def _process(url: str, rounds: int) -> None:
    db = make_engine(url)
    _bump(db, rounds)
    db.dispose()


def test_threads_and_processes_take_turns_and_lose_no_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    db = _counter(url)
    ctx = multiprocessing.get_context("spawn")
    others = [ctx.Process(target=_process, args=(url, ROUNDS)) for _ in range(2)]
    for p in others:
        p.start()
    threads = [threading.Thread(target=_bump, args=(db, ROUNDS)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in others:
        p.join(120)
        assert p.exitcode == 0
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 6 * ROUNDS
    db.dispose()


def test_the_gate_opens_after_an_error_a_rollback_and_a_discarded_connection(tmp_path):
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    db = _counter(url)
    with pytest.raises(sa.exc.OperationalError):
        with db.begin() as conn:
            conn.exec_driver_sql("UPDATE counter SET n = n + 1")
            conn.exec_driver_sql("UPDATE no_such_table SET n = 1")
    with db.connect() as conn:
        conn.begin()
        conn.exec_driver_sql("UPDATE counter SET n = n + 100")
        conn.rollback()
    conn = db.connect()
    conn.begin()
    conn.exec_driver_sql("UPDATE counter SET n = n + 1000")
    conn.invalidate()  # thrown away mid-transaction: SQLite drops the write with it
    conn.close()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (_bump(db, 1), done.set()))
    worker.start()
    worker.join(10)
    assert done.is_set(), "a writer still waits at the gate"
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 1
    db.dispose()


def test_a_writer_outside_kunflow_is_still_waited_for(tmp_path):
    """The gate queues kunflow's processes; a writer that does not take it (the sqlite3 shell)
    is waited for by SQLite's own busy handler, as before."""
    path = tmp_path / "gate.db"
    db = _counter(f"sqlite:///{path}")
    outsider = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    outsider.execute("BEGIN IMMEDIATE")
    outsider.execute("UPDATE counter SET n = 41")
    timer = threading.Timer(0.3, lambda: outsider.execute("COMMIT"))
    timer.start()
    _bump(db, 1)
    timer.join()
    outsider.close()
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar_one() == 42
    db.dispose()


def test_a_gate_held_too_long_answers_database_is_locked(tmp_path):
    first = WriterGate(str(tmp_path / "x.db"), timeout=0.2)
    second = WriterGate(str(tmp_path / "x.db"), timeout=0.2)  # another process's view
    holder = object()
    first.enter(holder)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.enter(object())
    first.leave(holder)
    other = object()
    second.enter(other)
    second.leave(other)
