"""One database transaction per engine command; rolled back unless committed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine
from sqlalchemy.exc import DBAPIError

_ACTIVE: ContextVar[UnitOfWork | None] = ContextVar("kunflow_unit_of_work", default=None)


def active_connection() -> Connection:
    """The connection of the unit of work this thread is running (the innermost one): a
    service-task handler reads and writes an application's own tables through it, in the
    same transaction as the step that called it. Outside a unit of work: RuntimeError."""
    uow = _ACTIVE.get()
    if uow is None or uow.conn is None:
        raise RuntimeError("no unit of work is running in this thread")
    return uow.conn


class UnitOfWork:
    """``with UnitOfWork(engine) as uow: ...; uow.commit()``.

    Leaving the block without ``commit()`` rolls back. Callbacks registered with
    ``after_commit`` run only once the transaction is durable (cache updates, outbox delivery).
    """

    def __init__(self, sa_engine: SaEngine, readonly: bool = False):
        self._sa_engine = sa_engine
        self._readonly = readonly
        self._after_commit: list[Callable[[], None]] = []
        self.conn: Connection | None = None
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        conn = self._sa_engine.connect()
        if self._readonly:
            conn = conn.execution_options(kunflow_readonly=True)
        self.conn = conn
        self._tx = conn.begin()
        self._token = _ACTIVE.set(self)
        return self

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def commit(self) -> None:
        self._tx.commit()
        self.committed = True
        for callback in self._after_commit:
            callback()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self.committed and self._tx.is_active:
                self._tx.rollback()
        finally:
            _ACTIVE.reset(self._token)
            self.conn.close()


DEADLOCK_ATTEMPTS = 3
_DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for a transaction it rolled back


def retry_on_deadlock(command):
    """Run a command again when the database broke a deadlock by rolling its unit of work back.

    Commands lock the instances of one call tree in a fixed order (``engine/locks.py``); only a
    message crossing from one call tree to another meets locks in an order nobody could fix in
    advance. The rolled-back unit of work left nothing behind (after-commit callbacks never
    ran), so running the whole command again is safe; the other command has committed by then.
    """

    @functools.wraps(command)
    def run(*args, **kwargs):
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                return command(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == DEADLOCK_ATTEMPTS or not is_deadlock(exc):
                    raise

    return run


def is_deadlock(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == _DEADLOCK_DETECTED
