"""One database transaction per engine command; rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine


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
            self.conn.close()
