"""What an operator watches (``/readyz``, the Prometheus metrics): is the database reachable,
and how much work waits — open incidents, due timers and how late the oldest is, open tasks,
notices not yet delivered, messages no catcher took. Each figure is one COUNT or MIN over an
index, so a scrape every few seconds costs the database next to nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..clock import utcnow
from ..context import Context
from ..dto import OPEN_STATES
from ..model import incident, instance, message, notice_delivery, task

# A check or a scrape must not queue behind a long statement: PostgreSQL gives up after this.
STATEMENT_TIMEOUT_MS = 2000


class Operations:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def ping(self) -> None:
        """``SELECT 1`` on a pooled connection; raises the driver's error when the database
        cannot be reached (on PostgreSQL a statement stops after ``STATEMENT_TIMEOUT_MS``)."""
        with self.ctx.uow(readonly=True) as uow:
            self._limit_time(uow.conn)
            uow.conn.execute(sa.text("SELECT 1")).scalar_one()

    def operational_figures(self, now: datetime | None = None) -> dict:
        """Counts of waiting work at ``now`` (naive UTC, default: now):

        - ``incidents_open``: incidents not resolved;
        - ``timers_due``: running instances whose next timer is due;
        - ``oldest_due_at``: the due time of the oldest of them (None when none is due);
        - ``tasks_open``: {state: count} of the open human tasks (ready, claimed);
        - ``notice_deliveries_pending``: notices waiting for (another) delivery attempt;
        - ``messages_pending``: messages no catcher has taken yet and not expired.
        """
        now = now or utcnow()
        due = sa.and_(instance.c.next_due_at <= now, instance.c.status == "running")
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            self._limit_time(conn)
            incidents = conn.execute(sa.select(sa.func.count()).select_from(incident)
                                     .where(incident.c.resolved_at.is_(None))).scalar_one()
            timers, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(instance.c.next_due_at)).where(due)
            ).one()
            tasks = {state: 0 for state in sorted(OPEN_STATES)}
            for state, count in conn.execute(
                sa.select(task.c.state, sa.func.count()).where(task.c.state.in_(OPEN_STATES))
                .group_by(task.c.state)
            ):
                tasks[state] = count
            deliveries = conn.execute(
                sa.select(sa.func.count()).select_from(notice_delivery)
                .where(notice_delivery.c.status == "pending")).scalar_one()
            messages = conn.execute(
                sa.select(sa.func.count()).select_from(message).where(
                    message.c.delivered_at.is_(None),
                    sa.or_(message.c.expires_at.is_(None), message.c.expires_at > now),
                )).scalar_one()
        return {
            "incidents_open": int(incidents),
            "timers_due": int(timers),
            "oldest_due_at": oldest,
            "tasks_open": tasks,
            "notice_deliveries_pending": int(deliveries),
            "messages_pending": int(messages),
        }

    def _limit_time(self, conn) -> None:
        if self.ctx.dialect == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
