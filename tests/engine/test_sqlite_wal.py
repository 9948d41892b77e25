"""Two nodes opening one new SQLite file at the same moment both switch it to WAL: SQLite tells
one of them "database is locked" at once (no busy wait, it would deadlock), so the switch waits
a moment and tries again instead of failing the node's start."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from engine.db import make_engine, switch_to_wal


class _FlakyCursor:
    def __init__(self, failures: int, message: str = "database is locked"):
        self.failures, self.message, self.calls = failures, message, 0

    def execute(self, sql: str):
        self.calls += 1
        assert sql == "PRAGMA journal_mode=WAL"
        if self.calls <= self.failures:
            raise sqlite3.OperationalError(self.message)


def test_a_locked_database_is_tried_again_until_the_switch_succeeds():
    cursor = _FlakyCursor(failures=3)
    switch_to_wal(cursor)
    assert cursor.calls == 4


def test_other_errors_and_a_lock_that_never_ends_are_raised():
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        switch_to_wal(_FlakyCursor(failures=1, message="disk I/O error"))
    cursor = _FlakyCursor(failures=99)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        switch_to_wal(cursor, attempts=3)
    assert cursor.calls == 3


def test_a_new_file_is_in_wal_mode(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    db.dispose()
