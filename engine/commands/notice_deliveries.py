"""Delivering notices to outbound channels (``engine/outbound.py``): the scheduler's run that
sends the pending ``notice_delivery`` rows, and the admin's list and retry.

A run claims a few due rows in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
by pushing their ``next_attempt_at`` past a lease, commits, sends each row with no transaction
open (an HTTP call never holds a database lock), and records each outcome in a transaction of
its own: sent, or one more attempt with backoff, or failed after ``MAX_ATTEMPTS``. Another
runner skips a claimed row until its lease runs out, so a row is never sent by two runners at
once; a runner that dies mid-send leaves its rows to be picked again after the lease
(at-least-once: the receiver may see a notice twice and can tell by its ``notice_id``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..clock import to_local, utcnow
from ..context import Context
from ..dto import Actor, Page
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..model import instance, notice, notice_delivery
from ..notices import KINDS
from ..outbound import DeliveryError, NoticeDeliveryInfo

MAX_ATTEMPTS = 8
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
# A claimed row is left alone this long: longer than a batch of sends at their timeout.
LEASE = timedelta(minutes=10)
BATCH = 10
STATUSES = ("pending", "sent", "failed")


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min … at most 1 h."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def notice_link(row) -> str | None:
    """The notice's page: its task, else its case, else its own link (engine/notices.py)."""
    if row.task_id:
        return f"/tasks/{row.task_id}"
    if row.instance_id:
        return f"/cases/{row.instance_id}"
    return row.link


def notice_payload(row) -> dict:
    """The JSON body of one notice (docs/notices-webhook.md)."""
    return {
        "notice_id": row.notice_id,
        "kind": row.kind,
        "kind_label": KINDS.get(row.kind, row.kind),
        "subject": row.subject,
        "body": row.body,
        "department_code": row.department_code,
        "username": row.username,
        "instance_id": row.instance_id,
        "business_key": row.business_key,
        "title": row.title,
        "task_id": row.task_id,
        "link": notice_link(row),
        "sender": row.sender,
        "created_at": to_local(row.created_at).isoformat(),
    }


_CLAIM_COLUMNS = (
    notice_delivery.c.id, notice_delivery.c.channel, notice_delivery.c.notice_id,
    notice_delivery.c.attempts, notice.c.kind, notice.c.subject, notice.c.body,
    notice.c.department_code, notice.c.username, notice.c.instance_id, notice.c.task_id,
    notice.c.link, notice.c.sender, notice.c.created_at, instance.c.business_key,
    instance.c.title,
)

_LIST_COLUMNS = (
    notice_delivery.c.id, notice_delivery.c.notice_id, notice_delivery.c.channel,
    notice_delivery.c.status, notice_delivery.c.attempts, notice_delivery.c.next_attempt_at,
    notice_delivery.c.last_error, notice_delivery.c.created_at, notice_delivery.c.delivered_at,
    notice.c.kind, notice.c.subject, notice.c.department_code, notice.c.username,
)


def _info(row) -> NoticeDeliveryInfo:
    return NoticeDeliveryInfo(
        id=row.id, notice_id=row.notice_id, channel=row.channel, status=row.status,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
        created_at=row.created_at, delivered_at=row.delivered_at, kind=row.kind,
        kind_label=KINDS.get(row.kind, row.kind) if row.kind else None, subject=row.subject,
        department_code=row.department_code, username=row.username,
    )


class NoticeDeliveries:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # ------------------------------------------------------------------ the scheduler's run

    def deliver_notices(self, now: datetime | None = None, limit: int = 100) -> dict:
        """Send the due deliveries to their channels, at most ``limit``; returns the counts
        ``{"sent", "retrying", "failed"}`` of this run (failed: given up after the last
        attempt). Rows of a channel no sender is registered for stay pending."""
        counts = {"sent": 0, "retrying": 0, "failed": 0}
        senders = dict(getattr(self.ctx, "notice_channels", None) or {})
        if not senders:
            return counts
        done = 0
        while done < limit:
            claimed = self._claim(now or utcnow(), min(BATCH, limit - done), tuple(senders))
            if not claimed:
                break
            for row, lease in claimed:
                outcome = self._send(senders[row.channel], row, lease, now)
                if outcome:
                    counts[outcome] += 1
            done += len(claimed)
        return counts

    def _claim(self, now: datetime, size: int, channels: tuple[str, ...]) -> list:
        """Up to ``size`` due rows, each with its lease end, claimed in one short transaction."""
        lease = now + LEASE
        with self.ctx.uow() as uow:
            conn = uow.conn
            stmt = (
                sa.select(notice_delivery.c.id, notice_delivery.c.next_attempt_at)
                .where(notice_delivery.c.status == "pending",
                       notice_delivery.c.next_attempt_at <= now,
                       notice_delivery.c.channel.in_(channels))
                .order_by(notice_delivery.c.next_attempt_at, notice_delivery.c.id)
                .limit(size)
            )
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            ids = []
            for due in conn.execute(stmt).all():
                # the due time as read is the claim's condition: a runner that read the same
                # row (SQLite, no row locks) finds it moved and leaves it
                taken = conn.execute(
                    notice_delivery.update()
                    .where(notice_delivery.c.id == due.id,
                           notice_delivery.c.status == "pending",
                           notice_delivery.c.next_attempt_at == due.next_attempt_at)
                    .values(next_attempt_at=lease)
                ).rowcount
                if taken:
                    ids.append(due.id)
            rows = conn.execute(
                sa.select(*_CLAIM_COLUMNS)
                .select_from(notice_delivery
                             .join(notice, notice.c.id == notice_delivery.c.notice_id)
                             .outerjoin(instance, instance.c.id == notice.c.instance_id))
                .where(notice_delivery.c.id.in_(ids))
                .order_by(notice_delivery.c.id)
            ).all() if ids else []
            # a delivery whose notice is gone has nothing to send
            found = {r.id for r in rows}
            for lost in set(ids) - found:
                conn.execute(notice_delivery.update().where(notice_delivery.c.id == lost)
                             .values(status="failed", next_attempt_at=None,
                                     last_error="通知已不存在"))
            uow.commit()
        return [(row, lease) for row in rows]

    def _send(self, sender, row, lease: datetime, now: datetime | None) -> str | None:
        """Send one claimed row outside any transaction and record the outcome."""
        try:
            sender.send(notice_payload(row))
            error = None
        except DeliveryError as exc:
            error = exc.reason
        except Exception as exc:  # a faulty sender must not stop the run: a failure like any
            error = f"{type(exc).__name__}: {exc}"[:300]
        at = now or utcnow()
        attempts = row.attempts + 1
        if error is None:
            values = {"status": "sent", "attempts": attempts, "delivered_at": at,
                      "next_attempt_at": None, "last_error": None}
            outcome = "sent"
        elif attempts >= MAX_ATTEMPTS:
            values = {"status": "failed", "attempts": attempts, "next_attempt_at": None,
                      "last_error": error}
            outcome = "failed"
        else:
            values = {"attempts": attempts, "last_error": error,
                      "next_attempt_at": at + backoff(attempts)}
            outcome = "retrying"
        with self.ctx.uow() as uow:
            # only while the claim is ours: an admin's retry or a runner after the lease
            # changed the row, and that one records instead
            recorded = uow.conn.execute(
                notice_delivery.update()
                .where(notice_delivery.c.id == row.id, notice_delivery.c.status == "pending",
                       notice_delivery.c.next_attempt_at == lease)
                .values(**values)
            ).rowcount
            uow.commit()
        return outcome if recorded else None

    # ------------------------------------------------------------------ the admin's view

    def list_notice_deliveries(self, actor: Actor, status: str | None = None, limit: int = 50,
                               offset: int = 0) -> Page:
        """Deliveries, newest first, with their notice's kind and subject; admins only."""
        self._check_admin(actor)
        if status is not None and status not in STATUSES:
            raise InvalidInput("状态只能是 pending（待发送）、sent（已发送）或 failed（失败）")
        limit = max(1, min(int(limit), 500))
        offset = max(0, int(offset))
        where = [] if status is None else [notice_delivery.c.status == status]
        with self.ctx.uow(readonly=True) as uow:
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(notice_delivery).where(*where)
            ).scalar_one()
            rows = uow.conn.execute(
                sa.select(*_LIST_COLUMNS)
                .select_from(notice_delivery.outerjoin(
                    notice, notice.c.id == notice_delivery.c.notice_id))
                .where(*where)
                .order_by(notice_delivery.c.id.desc())
                .limit(limit).offset(offset)
            ).all()
        return Page(tuple(_info(r) for r in rows), total, limit, offset)

    def retry_notice_delivery(self, actor: Actor, delivery_id: int) -> NoticeDeliveryInfo:
        """A failed delivery pending again at once, with a fresh round of attempts (its last
        error stays until the next attempt); admins only."""
        self._check_admin(actor)
        with self.ctx.uow() as uow:
            conn = uow.conn
            row = conn.execute(sa.select(notice_delivery.c.status)
                               .where(notice_delivery.c.id == delivery_id)).first()
            if row is None:
                raise NotFound("找不到该外发记录")
            if row.status != "failed":
                raise Conflict("只有发送失败的记录可以重试")
            conn.execute(notice_delivery.update()
                         .where(notice_delivery.c.id == delivery_id,
                                notice_delivery.c.status == "failed")
                         .values(status="pending", attempts=0, next_attempt_at=utcnow()))
            info = conn.execute(
                sa.select(*_LIST_COLUMNS)
                .select_from(notice_delivery.outerjoin(
                    notice, notice.c.id == notice_delivery.c.notice_id))
                .where(notice_delivery.c.id == delivery_id)
            ).one()
            uow.commit()
        return _info(info)

    @staticmethod
    def _check_admin(actor: Actor) -> None:
        if not actor.is_admin:
            raise Forbidden("只有管理员可以查看和重试通知外发")
