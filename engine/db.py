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


def make_engine(url: str) -> SaEngine:
    """Create the SQLAlchemy engine for ``url`` with the settings kunflow relies on."""
    url = normalize_url(url)
    if not is_sqlite(url):
        # pool_pre_ping: a connection that died with a restarted server is replaced before a
        # request gets it, so the pool recovers by itself. A connect timeout: a server that
        # does not answer (host down, network cut) fails a request in seconds with a 503
        # instead of holding it until the kernel gives up.
        connect_args = {}
        if "connect_timeout" not in sa.engine.make_url(url).query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                connect_args=connect_args)

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
