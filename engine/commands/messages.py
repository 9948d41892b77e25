"""Command: a message from outside (an external system, an API client) for the case waiting
for it, or for a process it starts."""

from __future__ import annotations

from ..checks import check_data, check_size, text
from ..clock import utcnow
from ..context import Context
from ..dto import Actor, MessageOutcome
from ..persistence import Persistence
from ..unit_of_work import retry_on_deadlock


class MessageCommands:
    def __init__(self, ctx: Context, persistence: Persistence):
        self.ctx = ctx
        self.persistence = persistence

    @retry_on_deadlock
    def correlate_message(self, name: str, correlation_key: str | None, payload=None,
                          actor: Actor | None = None, ttl_days: int | None = 30
                          ) -> MessageOutcome:
        """Deliver a message from outside (an external system, an API client).

        Delivered to the oldest instance waiting for ``name`` with that correlation key, or
        it starts a process with a matching message start event, or it waits (until
        ``ttl_days``) for a catcher to appear.
        """
        text(name, "name", 200, required=True)
        text(correlation_key, "correlation_key", 200)
        check_data(payload)
        check_size({"payload": payload}, self.ctx.max_step_data_bytes)
        with self.ctx.uow() as uow:
            now = utcnow()
            outcome = self.persistence.cascade.route_message(
                uow.conn, uow, name, correlation_key, payload, None, now, 1,
                ttl_days=ttl_days, actor=actor.username if actor else None)
            uow.commit()
        return outcome
