"""Reads of messages: those thrown by diagrams or posted from outside, delivered or waiting."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ..checks import text
from ..context import Context
from ..dto import MessageInfo
from ..errors import InvalidInput
from ..model import message

MAX_MESSAGES = 10_000


class Messages:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def list_messages(self, names: list[str] | tuple[str, ...], *,
                      correlation_key: str | None = None, limit: int = 500) -> list[MessageInfo]:
        """Messages called one of ``names``, newest first, at most ``limit``;
        ``correlation_key`` keeps those of that key. Not filtered by actor: the caller decides
        who sees them."""
        names = list(names)
        for name in names:
            text(name, "name", 200, required=True)
        text(correlation_key, "correlation_key", 200)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_MESSAGES:
            raise InvalidInput(f"limit 必须是 1 到 {MAX_MESSAGES} 之间的整数")
        if not names:
            return []
        stmt = (sa.select(message).where(message.c.name.in_(names))
                .order_by(message.c.id.desc()).limit(limit))
        if correlation_key is not None:
            stmt = stmt.where(message.c.correlation_key == correlation_key)
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(stmt).all()
        return [MessageInfo(r.id, r.name, r.correlation_key, _payload(r.payload_json),
                            r.source_instance_id, r.created_at, r.delivered_at, r.delivered_to)
                for r in rows]


def _payload(raw: str | None):
    try:
        return json.loads(raw) if raw else None
    except ValueError:  # never written by the engine; read as no payload
        return None
