"""Room: heartbeats of background processes (the scheduler of each node).

A process that does work nobody asks for (timers, reminders, outbound notices) says every
half minute that it is alive: one ``heartbeat`` row per process, written over (upsert) by each
beat. ``/readyz`` and the operator read them to tell whether a node's scheduler runs; a row whose
``beat_at`` is old belongs to a process that died without saying goodbye.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .clock import naive_utc, utcnow
from .context import Context
from .model import heartbeat

_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class Heartbeats:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def beat(self, name: str, kind: str, node: str, pid: int, started_at: datetime,
             now: datetime | None = None) -> datetime:
        """Record that the process ``name`` is alive now (one row per name, upserted); the
        time written."""
        now = now or utcnow()
        values = {"name": name, "kind": kind, "node": node, "pid": int(pid),
                  "started_at": naive_utc(started_at), "beat_at": now}
        insert = _INSERT.get(self.ctx.dialect)
        with self.ctx.uow() as uow:
            if insert is not None:
                stmt = insert(heartbeat).values(**values)
                uow.conn.execute(stmt.on_conflict_do_update(
                    index_elements=[heartbeat.c.name],
                    set_={k: stmt.excluded[k] for k in values if k != "name"}))
            else:  # another database: update, else insert (one beat per process, no race)
                done = uow.conn.execute(heartbeat.update().where(heartbeat.c.name == name)
                                        .values(**values)).rowcount
                if not done:
                    uow.conn.execute(heartbeat.insert().values(**values))
            uow.commit()
        return now

    def heartbeats(self, kind: str | None = None) -> list[dict]:
        """Every recorded process (of ``kind``), the most recent beat first: dicts with name,
        kind, node, pid, started_at, beat_at (naive UTC)."""
        query = sa.select(heartbeat).order_by(heartbeat.c.beat_at.desc(), heartbeat.c.name)
        if kind is not None:
            query = query.where(heartbeat.c.kind == kind)
        with self.ctx.uow(readonly=True) as uow:
            return [dict(row._mapping) for row in uow.conn.execute(query)]

    def end(self, name: str) -> bool:
        """The process ``name`` stops on purpose: its row goes (True when there was one)."""
        with self.ctx.uow() as uow:
            gone = uow.conn.execute(heartbeat.delete().where(heartbeat.c.name == name)).rowcount
            uow.commit()
        return bool(gone)

    def purge(self, before: datetime) -> int:
        """Forget processes that last beat before ``before`` (they died long ago: each start
        writes a row of its own, named by its process id)."""
        with self.ctx.uow() as uow:
            gone = uow.conn.execute(
                heartbeat.delete().where(heartbeat.c.beat_at < naive_utc(before))).rowcount
            uow.commit()
        return gone
