"""Which database errors mean "the database is unavailable right now" rather than a bug.

The web layer answers those with 503 and a clear message instead of a 500 and a stack trace;
the scheduler logs them in one line and tries again on its next run. Recovery needs nothing
here: PostgreSQL pools ping a connection before lending it (``pool_pre_ping``) and SQLAlchemy
invalidates the pool on a disconnect, and a SQLite file that has room again simply works.
"""

from __future__ import annotations

import re
import sqlite3

import sqlalchemy as sa

# SQLite primary result codes (extended codes carry them in the low byte): the disk is full,
# the disk or file system failed, the file cannot be opened (missing directory, no permission,
# file system gone). The same codes come from a real disk and from ``PRAGMA max_page_count``.
_SQLITE_UNAVAILABLE = {
    10: "disk I/O error",  # SQLITE_IOERR
    13: "database or disk is full",  # SQLITE_FULL
    14: "unable to open database file",  # SQLITE_CANTOPEN
}

# PostgreSQL SQLSTATEs: class 08 (connection exception), class 53 (insufficient resources:
# disk full, out of memory, too many connections) and the server shutting down or starting up.
_PG_UNAVAILABLE_CLASSES = ("08", "53")
_PG_UNAVAILABLE_STATES = {
    "57P01",  # admin_shutdown: "terminating connection due to administrator command"
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: "the database system is starting up / shutting down"
}


def database_unavailable(exc: BaseException) -> str | None:
    """A one-line cause when ``exc`` (or what it wraps) says the database cannot be reached or
    cannot store anything now, else None: a lost or refused connection, a server shutting
    down, an exhausted connection pool, a full or failing disk. Constraint violations,
    deadlocks, serialization failures and programming errors are not outages."""
    for err in _chain(exc):
        if isinstance(err, sa.exc.TimeoutError):
            return f"connection pool exhausted: {_one_line(err)}"
        if isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated:
            return f"connection lost: {_one_line(err.orig or err)}"
        if isinstance(err, sqlite3.Error):
            code = getattr(err, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _SQLITE_UNAVAILABLE:
                return f"SQLite: {_one_line(err)}"
            text = str(err)
            if any(phrase in text for phrase in _SQLITE_UNAVAILABLE.values()):
                return f"SQLite: {_one_line(err)}"
            continue
        if _is_psycopg_error(err):
            state = getattr(err, "sqlstate", None)
            if state is None:
                # Raised by the client library itself: the connection failed, was closed by
                # the server, or timed out; with a server answer there would be a SQLSTATE.
                if _is_named(err, "OperationalError"):
                    return f"PostgreSQL: {_one_line(err)}"
                continue
            if state.startswith(_PG_UNAVAILABLE_CLASSES) or state in _PG_UNAVAILABLE_STATES:
                return f"PostgreSQL {state}: {_one_line(err)}"
    return None


def _chain(exc: BaseException, depth: int = 6):
    """``exc``, the DBAPI error it wraps and its causes, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < depth:
        err = todo.pop(0)
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo.extend([getattr(err, "orig", None), err.__cause__, err.__context__])


def _is_psycopg_error(err: BaseException) -> bool:
    # By module name: the engine runs without psycopg installed (SQLite only).
    return type(err).__module__.split(".")[0] in ("psycopg", "psycopg2")


def _is_named(err: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(err).__mro__)


_BACKGROUND = re.compile(r"\s*\(Background on this error at: \S+\)$")


def _one_line(err: BaseException) -> str:
    """Log lines stay one line: libpq's messages span several."""
    text = " ".join(str(err).split()) or type(err).__name__
    return _BACKGROUND.sub("", text)[:300]
