"""Database engine and session factory; SQLite gets WAL and writer-first transactions."""

from __future__ import annotations

import random
import sqlite3
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine as SaEngine
from sqlalchemy.pool import StaticPool

CONNECT_TIMEOUT_SECONDS = 10  # PostgreSQL, unless the URL sets connect_timeout


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# Connections one process keeps open to PostgreSQL, and how many more it may open at a peak.
# A gunicorn worker serves 8 threads, a request mostly on one connection (a second one now
# and then, e.g. to reload the calendar), so 10 + 10 leaves no request waiting for one; a
# node opens at most (workers + 1 scheduler) x 20 (docs/operations.md).
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 10


def make_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE,
                max_overflow: int = DEFAULT_MAX_OVERFLOW,
                statement_timeout_ms: int = 0) -> SaEngine:
    """Create the SQLAlchemy engine for ``url`` with the settings kunflow relies on.

    PostgreSQL: a pool of ``pool_size`` connections plus ``max_overflow`` at a peak, checked
    before use (a restarted database costs one failed ping, not a failed request); with
    ``statement_timeout_ms`` > 0 every statement of these connections is cancelled by the
    server after that long (a runaway query cannot hold a connection and its locks for ever).
    SQLite ignores all three (one file, no server).
    """
    url = normalize_url(url)
    if not is_sqlite(url):
        # A connect timeout: a server that does not answer (host down, network cut) fails a
        # request in seconds with a 503 instead of holding it until the kernel gives up.
        connect_args = {}
        if "connect_timeout" not in sa.engine.make_url(url).query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                  pool_pre_ping=True, connect_args=connect_args)
        if statement_timeout_ms > 0:
            set_statement_timeout(engine, int(statement_timeout_ms))
        return engine

    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite (SQLAlchemy's documented recipe) so that
        # every transaction starts with BEGIN IMMEDIATE: a read-then-write unit of work then
        # waits for the writer lock up front instead of failing with "database is locked".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        if not memory:
            switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Queries that only read (lists, dashboards) run concurrently with the writer in WAL.
        if conn.get_execution_options().get("kunflow_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def switch_to_wal(cursor, attempts: int = 40) -> None:
    """Switch the file to WAL (a no-op once it is). When two processes open the same new file at
    once (two nodes starting together), each holds a read lock and wants the database to
    itself; SQLite then answers one of them "database is locked" at once, without calling its
    busy handler (it would deadlock). Wait a moment and try again instead of failing the start.
    """
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 + random.random() * 0.05)


def set_statement_timeout(engine: SaEngine, milliseconds: int) -> None:
    """``SET statement_timeout`` on every new connection of ``engine`` (PostgreSQL).

    Set on connect rather than through the URL's ``options``: a URL may carry options of its
    own (a ``search_path``), which connect arguments would replace. SQLAlchemy's recipe: run
    it in autocommit, so no transaction stays open on a connection going into the pool.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
        cursor.close()
        dbapi_connection.autocommit = autocommit
