"""Database locks: commands on one case queue instead of failing; set-up runs once at a time.

Instance locks (PostgreSQL). A command locks the instance it acts on before it reads the
instance or its tasks, so commands on one case run one after another and each decides on what
the previous one committed: parallel departments never make each other retry. SQLite needs no
row locks: every write transaction starts with ``BEGIN IMMEDIATE`` (``engine/db.py``), which
queues writers for the whole database.

Lock order. A called process (call activity) is an instance of its own, and a command on it may
resume its caller in the same transaction, while a command on the caller may terminate it. So
a command locks the instance together with every instance that called it, callers first: the
whole chain in ascending id order (a caller's row is always inserted before its child's, so
ascending id is callers first). Two commands anywhere in one call tree therefore always queue
at its top instance and never lock its members in opposite orders. The one order no rule can
fix in advance is a message from one call tree to another, found only while the command runs:
two such messages crossing at the same moment can deadlock; PostgreSQL then rolls one command
back and ``unit_of_work.retry_on_deadlock`` runs it again.

Set-up lock. Migrations, the org chart sync, the calendar seed and the library deploy of
``kunflow init`` run under one database-wide lock (``SetupLock``), so two nodes started at the
same moment on an empty database do not both create the schema.
"""

from __future__ import annotations

import fcntl
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine

from .model import instance, task

# pg_advisory_lock(class, object): the class names kunflow's set-up, the object is the schema
# (hashtext(current_schema())), so deployments in different schemas of one database do not wait
# for each other. Any constant works; this one spells "kunf".
SETUP_LOCK_CLASS = 0x6B756E66
# Deployments of one process key ("kund"); the key's hash is the second half of the lock id.
DEPLOY_LOCK_CLASS = 0x6B756E64
# A message name and correlation key ("kunm"): its sender and a receiver starting to listen.
MESSAGE_LOCK_CLASS = 0x6B756E6D


def _chain(anchor):
    """The ids of the instance ``anchor`` and of every instance that called it.

    Read through ``parent_instance_id``, which never changes once written: reading the chain
    before locking it is safe.
    """
    chain = (
        sa.select(instance.c.id, instance.c.parent_instance_id)
        .where(instance.c.id == anchor)
        .cte("lock_chain", recursive=True)
    )
    caller = instance.alias("caller")
    chain = chain.union_all(
        sa.select(caller.c.id, caller.c.parent_instance_id)
        .join(chain, caller.c.id == chain.c.parent_instance_id)
    )
    return sa.select(instance.c.id).where(instance.c.id.in_(sa.select(chain.c.id)))


def _chain_lock(anchor, skip_locked: bool = False):
    """``SELECT id FROM instance WHERE id IN (chain) ORDER BY id FOR UPDATE``: PostgreSQL sorts
    first and then locks the rows in that order, callers first."""
    return _chain(anchor).order_by(instance.c.id).with_for_update(skip_locked=skip_locked)


class InstanceLocks:
    """Row locks on instances, taken inside the caller's transaction; no-ops on SQLite."""

    def __init__(self, dialect_name: str):
        self.enabled = dialect_name == "postgresql"
        self._by_instance = _chain_lock(sa.bindparam("id"))
        self._by_task = _chain_lock(
            sa.select(task.c.instance_id).where(task.c.id == sa.bindparam("id")).scalar_subquery()
        )
        self._try_by_instance = _chain_lock(sa.bindparam("id"), skip_locked=True)
        self._chain = _chain(sa.bindparam("id"))

    def lock_instance(self, conn: Connection, instance_id: int) -> None:
        """Wait until no other transaction holds the instance or its callers, then hold them
        until this transaction ends."""
        if self.enabled:
            conn.execute(self._by_instance, {"id": instance_id})

    def lock_task_instance(self, conn: Connection, task_id: str) -> None:
        """``lock_instance`` for the instance of a task (nothing when the task does not exist)."""
        if self.enabled:
            conn.execute(self._by_task, {"id": task_id})

    def lock_definition_key(self, conn: Connection, key: str) -> None:
        """Hold a process key until this transaction ends: two admins deploying the same
        process take turns (the second sees the first's version and stores the next one)."""
        if self.enabled:
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
                {"cls": DEPLOY_LOCK_CLASS, "key": key},
            )

    def lock_message(self, conn: Connection, name: str, key: str | None) -> bool:
        """Hold a message name and correlation key until this transaction ends; False where no
        lock is needed (SQLite queues writers).

        A sender that finds nobody listening and an instance that starts listening look for
        each other in transactions of their own: each could miss the other's uncommitted row,
        and the message would wait while its receiver waits too. Both take this lock before
        they look (the sender's second look, the receiver's look for waiting messages), so the
        one that comes second sees what the first committed."""
        if self.enabled:
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:cls, hashtext(:name || chr(31) || :key))"),
                {"cls": MESSAGE_LOCK_CLASS, "name": name, "key": key or ""},
            )
        return self.enabled

    def try_lock_instance(self, conn: Connection, instance_id: int) -> bool:
        """Lock the instance and its callers without waiting; False when another transaction
        holds one of them (this transaction then holds some of them: roll it back)."""
        if not self.enabled:
            return True
        wanted = conn.execute(self._chain, {"id": instance_id}).scalars().all()
        got = conn.execute(self._try_by_instance, {"id": instance_id}).scalars().all()
        return len(got) == len(wanted)


class SetupLock:
    """A database-wide lock for set-up work (``with engine.setup_lock: ...``).

    PostgreSQL: a session-level advisory lock held on a connection of its own for the duration,
    released in ``finally`` (and by the server if the process dies). SQLite file: an exclusive
    ``flock`` on ``<database>.setup-lock`` beside the file (released by the kernel if the
    process dies). ``BEGIN IMMEDIATE`` alone is not enough: Alembic runs each SQLite migration
    in a transaction of its own after reading the current revision, so two processes could both
    read "empty" and both create the first table. In-memory SQLite belongs to one process and
    needs nothing. Re-entrant within a process: set-up steps that take the lock themselves
    (``Engine.migrate``) may run inside a held lock.
    """

    def __init__(self, sa_engine: SaEngine):
        self._db = sa_engine
        self._mutex = threading.RLock()
        self._depth = 0
        self._conn: Connection | None = None
        self._file = None

    def __enter__(self) -> SetupLock:
        self._mutex.acquire()
        try:
            if self._depth == 0 and self._db.dialect.name == "postgresql":
                self._conn = self._acquire()
            elif self._depth == 0 and self._db.dialect.name == "sqlite":
                self._file = self._lock_file()
            self._depth += 1
        except BaseException:
            self._mutex.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._conn is not None:
                conn, self._conn = self._conn, None
                self._release(conn)
            if self._depth == 0 and self._file is not None:
                handle, self._file = self._file, None
                handle.close()  # closing the descriptor releases the flock
        finally:
            self._mutex.release()

    def _lock_file(self):
        database = self._db.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        handle = open(f"{database}.setup-lock", "a+b")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except BaseException:
            handle.close()
            raise
        return handle

    def _acquire(self) -> Connection:
        conn = self._db.connect()
        try:
            # Another node's set-up may take longer than a statement may (the settings'
            # DB_STATEMENT_TIMEOUT_MS): wait for it however long it takes, in this transaction.
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            conn.execute(sa.text(
                "SELECT pg_advisory_lock(:cls, hashtext(coalesce(current_schema(), '')))"
            ), {"cls": SETUP_LOCK_CLASS})
            conn.commit()  # the lock belongs to the session; no transaction stays open
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _release(conn: Connection) -> None:
        try:
            conn.execute(sa.text(
                "SELECT pg_advisory_unlock(:cls, hashtext(coalesce(current_schema(), '')))"
            ), {"cls": SETUP_LOCK_CLASS})
            conn.commit()
        except BaseException:
            conn.invalidate()  # a connection that may still hold the lock never goes back
            raise
        finally:
            conn.close()
