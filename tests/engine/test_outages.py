"""``database_unavailable``: outages (503, retry later) told apart from bugs and lost races."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors as pg

from engine import database_unavailable


def _wrapped(orig: Exception, cls=sa.exc.OperationalError, **kw) -> Exception:
    """As SQLAlchemy raises a DBAPI error."""
    return cls("SELECT 1", {}, orig, **kw)


def test_a_full_sqlite_disk_is_an_outage(tmp_path):
    db = sa.create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with db.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
    with db.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(sa.exc.OperationalError) as full:
            conn.execute(sa.text("INSERT INTO t VALUES (:x)"), {"x": "x" * 100_000})
    db.dispose()
    cause = database_unavailable(full.value)
    assert cause == "SQLite: database or disk is full"


def test_a_sqlite_file_that_cannot_be_opened_is_an_outage(tmp_path):
    db = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'kunflow.db'}")
    with pytest.raises(sa.exc.OperationalError) as gone:
        db.connect()
    assert "unable to open database file" in database_unavailable(gone.value)


def test_an_exhausted_pool_is_an_outage(tmp_path):
    db = sa.create_engine(f"sqlite:///{tmp_path / 'pool.db'}", poolclass=sa.pool.QueuePool,
                          pool_size=1, max_overflow=0, pool_timeout=0.01)
    with db.connect(), pytest.raises(sa.exc.TimeoutError) as exhausted:
        db.connect()
    db.dispose()
    cause = database_unavailable(exhausted.value)
    assert cause.startswith("connection pool exhausted: QueuePool limit")
    assert "sqlalche.me" not in cause


@pytest.mark.parametrize("orig", [
    psycopg.OperationalError("connection failed: connection to server at \"127.0.0.1\", "
                             "port 5432 failed: Connection refused\n\tIs the server running?"),
    psycopg.OperationalError("consuming input failed: server closed the connection "
                             "unexpectedly"),
    pg.AdminShutdown("terminating connection due to administrator command"),
    pg.CannotConnectNow("the database system is starting up"),
    pg.ConnectionFailure("connection failure"),
    pg.DiskFull("could not extend file: No space left on device"),
    pg.TooManyConnections("sorry, too many clients already"),
], ids=lambda e: type(e).__name__)
def test_postgresql_connection_and_resource_failures_are_outages(orig):
    cause = database_unavailable(_wrapped(orig))
    assert cause is not None and cause.startswith("PostgreSQL")
    assert "\n" not in cause and "\t" not in cause


def test_a_disconnect_sqlalchemy_noticed_is_an_outage():
    lost = _wrapped(Exception("gone"), sa.exc.DBAPIError, connection_invalidated=True)
    assert database_unavailable(lost) == "connection lost: gone"


@pytest.mark.parametrize("error", [
    _wrapped(pg.DeadlockDetected("deadlock detected")),
    _wrapped(pg.SerializationFailure("could not serialize access")),
    _wrapped(pg.QueryCanceled("canceling statement due to statement timeout")),
    _wrapped(pg.UniqueViolation("duplicate key"), sa.exc.IntegrityError),
    _wrapped(pg.UndefinedTable("relation \"task\" does not exist"), sa.exc.ProgrammingError),
    _wrapped(sqlite3.IntegrityError("UNIQUE constraint failed: task.id"), sa.exc.IntegrityError),
    _wrapped(sqlite3.OperationalError("no such table: task")),
    ValueError("not a database error"),
], ids=lambda e: type(getattr(e, "orig", e)).__name__)
def test_bugs_races_and_timeouts_are_not_outages(error):
    assert database_unavailable(error) is None
