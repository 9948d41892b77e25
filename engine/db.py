"""Database engine and session factory; SQLite gets WAL and writer-first transactions."""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
import threading
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

    gate = None if memory else WriterGate(sa.engine.make_url(url).database)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Queries that only read (lists, dashboards) run concurrently with the writer in WAL.
        if conn.get_execution_options().get("kunflow_readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        if gate is not None:
            gate.enter(conn.connection.dbapi_connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gate is not None:
                gate.leave(conn.connection.dbapi_connection)
            raise

    if gate is not None:
        @event.listens_for(engine, "commit")
        def _on_commit(conn):
            gate.end(conn, "COMMIT")

        @event.listens_for(engine, "rollback")
        def _on_rollback(conn):
            gate.end(conn, "ROLLBACK")

        # A connection closed, invalidated or given back in a write transaction (a rollback
        # that could not run) opens the gate all the same.
        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_connection, _record):
            gate.leave(dbapi_connection)

        @event.listens_for(engine, "invalidate")
        def _on_invalidate(dbapi_connection, _record, _exception):
            gate.leave(dbapi_connection)

        @event.listens_for(engine, "close")
        def _on_close(dbapi_connection, _record):
            gate.leave(dbapi_connection)

    return engine


class WriterGate:
    """The queue of a SQLite file's writers, in front of ``BEGIN IMMEDIATE``.

    SQLite lets one writer in at a time and makes the others poll (its busy handler sleeps
    1, 2, 5 … up to 100 ms between tries), so under a burst a writer can wait whole seconds
    while others slip in between its tries. Here a write transaction first takes, in this
    process, a lock its threads queue on without polling, then an exclusive ``flock`` on
    ``<database>.writer-lock`` that the processes on the file (gunicorn workers, the
    scheduler) share, tried every millisecond or two; it is let go right after COMMIT or
    ROLLBACK. Then ``BEGIN IMMEDIATE`` finds the file free, and SQLite's busy handler only
    waits for a writer from outside kunflow (the ``sqlite3`` shell, a backup). Either wait
    gives up after ``timeout`` seconds with SQLite's own "database is locked" error. A
    process that dies holding the file lock loses it with its descriptors.
    """

    POLL = (0.0002, 0.0005, 0.001, 0.002)  # seconds between tries of the file lock

    def __init__(self, database: str, timeout: float = 30.0):
        self.path = os.path.abspath(database) + ".writer-lock"
        self.timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._holder = None  # the DB-API connection in its write transaction

    def enter(self, dbapi_connection) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            tries = 0
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError("database is locked") from None
                    time.sleep(self.POLL[min(tries, len(self.POLL) - 1)])
                    tries += 1
        except BaseException:
            self._threads.release()
            raise
        self._holder = dbapi_connection

    def leave(self, dbapi_connection) -> None:
        """Let the next writer in, if ``dbapi_connection`` is the one holding the gate."""
        if self._holder is None or self._holder is not dbapi_connection:
            return
        self._holder = None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def end(self, conn, statement: str) -> None:
        """End the write transaction of ``conn`` (a SQLAlchemy connection; COMMIT or ROLLBACK)
        here, before SQLAlchemy's own call (then a no-op), so that the gate opens only once
        the file is free. A connection already invalidated is left to the pool's events."""
        holder = self._holder
        if holder is None:
            return
        try:
            dbapi_connection = conn.connection.dbapi_connection
        except Exception:  # noqa: BLE001  (closed or invalidated: "checkin"/"invalidate")
            return
        if dbapi_connection is not holder:
            return
        try:
            if dbapi_connection.in_transaction:
                dbapi_connection.execute(statement)
        finally:
            self.leave(dbapi_connection)


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
