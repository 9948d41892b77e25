"""Database locks: commands on one case queue instead of failing.

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
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .model import instance, task


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

    def try_lock_instance(self, conn: Connection, instance_id: int) -> bool:
        """Lock the instance and its callers without waiting; False when another transaction
        holds one of them (this transaction then holds some of them: roll it back)."""
        if not self.enabled:
            return True
        wanted = conn.execute(self._chain, {"id": instance_id}).scalars().all()
        got = conn.execute(self._try_by_instance, {"id": instance_id}).scalars().all()
        return len(got) == len(wanted)
