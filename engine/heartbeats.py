"""Heartbeats of background processes (each node's scheduler): one row per process name,
written again every few seconds, so that ``/readyz`` and the metrics can tell a scheduler that
runs from one that died or hangs, on any node, from the shared database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .checks import text
from .clock import utcnow
from .context import Context
from .model import heartbeat


class Heartbeats:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def beat(self, name: str, kind: str, node: str, pid: int, started_at: datetime) -> None:
        """Say that process ``name`` is alive now: insert its row, or update it (upsert on the
        name, so a restarted process with the same name takes over its row)."""
        text(name, "name", 200, required=True)
        text(kind, "kind", 32, required=True)
        text(node, "node", 200, required=True)
        values = {"name": name, "kind": kind, "node": node, "pid": int(pid),
                  "started_at": started_at, "beat_at": utcnow()}
        dialect = postgresql if self.ctx.dialect == "postgresql" else sqlite
        stmt = dialect.insert(heartbeat).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[heartbeat.c.name],
            set_={k: stmt.excluded[k] for k in ("kind", "node", "pid", "started_at", "beat_at")},
        )
        with self.ctx.uow() as uow:
            uow.conn.execute(stmt)
            uow.commit()

    def heartbeats(self, kind: str | None = None) -> list[dict]:
        """Every heartbeat row (of ``kind`` when given), the freshest first: dicts with name,
        kind, node, pid, started_at, beat_at (naive UTC)."""
        stmt = sa.select(heartbeat.c.name, heartbeat.c.kind, heartbeat.c.node, heartbeat.c.pid,
                         heartbeat.c.started_at, heartbeat.c.beat_at)
        if kind is not None:
            stmt = stmt.where(heartbeat.c.kind == kind)
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(stmt.order_by(heartbeat.c.beat_at.desc(),
                                                  heartbeat.c.name)).all()
        return [dict(r._mapping) for r in rows]
