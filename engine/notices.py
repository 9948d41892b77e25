"""The notice inbox's writer: a notice is a row of ``notice`` addressed to a department (each
member sees it and reads it for themself) or to one user, written inside the transaction of the
command that causes it: it exists exactly when that command committed.

Kinds (``KINDS``): 相互通报 between departments, 催办, 转办 and 加签 requests, 加签 answers,
deadline reminders (one working day before, and overdue), 委托 set for someone. ``dedup_key``
makes a notice idempotent: a cause that may run twice (a reminder job's next round, a retried
command) writes it once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .model import (
    notice,
    notice_delivery,  # outbound
)
from .outbound import registered_channels  # outbound

_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}  # dedup: ON CONFLICT DO NOTHING

KINDS = {
    "notice": "相互通报",
    "urge": "催办",
    "transfer": "转办",
    "consult": "加签",
    "answer": "加签意见",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "delegation": "委托",
}
MAX_SUBJECT = 400
MAX_BODY = 4000


def post_notice(conn: Connection, *, kind: str, subject: str, now: datetime,
                department_code: str | None = None, username: str | None = None,
                body: str | None = None, instance_id: int | None = None,
                task_id: str | None = None, link: str | None = None,
                sender: str | None = None, dedup_key: str | None = None) -> int | None:
    """Write one notice in the caller's transaction; its id, or None when ``dedup_key`` was
    written before. Addressed to ``username`` when given, else to ``department_code``."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if department_code is None and username is None:
        raise ValueError("a notice needs a department or a user")
    if dedup_key is not None and conn.execute(
        sa.select(notice.c.id).where(notice.c.dedup_key == dedup_key)
    ).first() is not None:
        return None
    values = dict(
        department_code=department_code, username=username, kind=kind,
        subject=str(subject)[:MAX_SUBJECT], body=None if body is None else str(body)[:MAX_BODY],
        instance_id=instance_id, task_id=task_id, link=link, sender=sender,
        dedup_key=dedup_key, created_at=now,
    )
    if dedup_key is not None and conn.dialect.name in _INSERT:
        # Another transaction (the reminder job of another node) may be writing the same key
        # right now: wait for it and write nothing, rather than fail on the unique index.
        insert = _INSERT[conn.dialect.name](notice).values(**values)
        notice_id = conn.execute(insert.on_conflict_do_nothing(index_elements=["dedup_key"])
                                 .returning(notice.c.id)).scalar()
        if notice_id is None:
            return None
    else:
        notice_id = conn.execute(notice.insert().values(**values)).inserted_primary_key[0]
    # >>> outbound: notice delivery rows (issue 14, outbound helper)
    # one pending delivery per registered channel, in the notice's transaction (none: off)
    for channel in registered_channels(conn):
        conn.execute(notice_delivery.insert().values(
            notice_id=notice_id, channel=channel, status="pending", attempts=0,
            next_attempt_at=now, created_at=now,
        ))
    # <<< outbound
    return notice_id
