"""Deadline reminders: a notice when an open task comes within one working day of its due time
(the traffic light's yellow window, ``deadlines.light_bounds``, its end included: a task
due at the end of Monday is reminded on Friday; kind ``due_soon``) and when it
is past due (kind ``overdue``); to the assignee of a claimed task, else to its department.

Read from the task index only. Each reminder's ``dedup_key`` names the task and its due time
(``due_soon:<task id>:<due, YYYYmmddTHHMM>``): a job's next round writes nothing twice, and a
deadline that moves (a paused clock resumed, a 退回) reminds again. The reminders still missing
are found in SQL (the key computed by the database, looked up in ``notice``'s unique index), so
a round reads only tasks it will write for, oldest due first, at most ``limit`` of them: a big
backlog is worked off over several rounds, never in one huge transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .clock import to_local, utcnow
from .context import Context
from .model import notice, task
from .notices import post_notice

OPEN = ("ready", "claimed")
DEFAULT_LIMIT = 500


def dedup_key(kind: str, task_id: str, due_at: datetime) -> str:
    return f"{kind}:{task_id}:{due_at:%Y%m%dT%H%M}"


def _sql_key(dialect: str, kind: str):
    """``dedup_key(kind, task.id, task.due_at)`` computed by the database."""
    if dialect == "postgresql":
        stamp = sa.func.to_char(task.c.due_at, 'YYYYMMDD"T"HH24MI')
    else:  # SQLite keeps the moment as ISO text
        stamp = sa.func.strftime("%Y%m%dT%H%M", task.c.due_at)
    return sa.literal(f"{kind}:") + task.c.id + sa.literal(":") + stamp


class Reminders:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def send_deadline_reminders(self, now: datetime | None = None,
                                limit: int = DEFAULT_LIMIT) -> int:
        """Write the missing deadline reminders of open, unpaused tasks (at most ``limit``,
        oldest due first, in one transaction); how many were written."""
        now = now or utcnow()
        limit = max(1, int(limit))
        written = 0
        with self.ctx.uow() as uow:
            conn = uow.conn
            soon = self.ctx.calendar.current(conn).due_at(now, 1)
            for kind, window in (
                ("overdue", task.c.due_at < now),
                ("due_soon", sa.and_(task.c.due_at >= now, task.c.due_at <= soon)),
            ):
                if written >= limit:
                    break
                key = _sql_key(conn.dialect.name, kind)
                rows = conn.execute(
                    sa.select(task.c.id, task.c.instance_id, task.c.name, task.c.due_at,
                              task.c.assignee, task.c.state, task.c.department_code)
                    .where(task.c.state.in_(OPEN), task.c.paused_at.is_(None),
                           task.c.due_at.is_not(None), window,
                           ~sa.exists().where(notice.c.dedup_key == key))
                    .order_by(task.c.due_at, task.c.id)
                    .limit(limit - written)
                ).all()
                for row in rows:
                    written += self._remind(conn, kind, row, now)
            uow.commit()
        return written

    @staticmethod
    def _remind(conn, kind: str, row, now: datetime) -> int:
        username = row.assignee if row.state == "claimed" and row.assignee else None
        if username is None and not row.department_code:
            return 0  # nobody to tell
        due = to_local(row.due_at).strftime("%Y-%m-%d %H:%M")
        name = row.name or "任务"
        if kind == "overdue":
            subject, body = f"已逾期：{name}", f"办理期限 {due} 已过，请尽快办理。"
        else:
            subject, body = f"即将到期：{name}", f"办理期限 {due}，不足一个工作日，请及时办理。"
        made = post_notice(
            conn, kind=kind, subject=subject, body=body, now=now, username=username,
            department_code=None if username else row.department_code,
            instance_id=row.instance_id, task_id=row.id, sender="系统提醒",
            dedup_key=dedup_key(kind, row.id, row.due_at))
        return 1 if made is not None else 0
