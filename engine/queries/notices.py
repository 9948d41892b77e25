"""The notice inbox's reads and its read marks: a user sees the notices addressed to them and
to their department, newest first; whether a notice is read is kept per user (``notice_read``),
so one member reading a department's notice leaves it unread for the others.

Each read goes through one of two indexes: ``(username, id)`` and ``(department_code, id)``.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..checks import MAX_ID, page
from ..clock import utcnow
from ..context import Context
from ..dto import Actor, NoticeInfo, Page
from ..errors import InvalidInput, NotFound
from ..model import instance, notice, notice_read
from ..notices import KINDS

MAX_MARK = 500  # ids marked read in one call


def visible(actor: Actor):
    """The condition "``actor`` may see this notice": to them, or to their department."""
    mine = notice.c.username == actor.username
    if not actor.department_code:
        return mine
    return sa.or_(mine, sa.and_(notice.c.username.is_(None),
                                notice.c.department_code == actor.department_code))


def _unread(actor: Actor):
    return ~sa.exists().where(notice_read.c.notice_id == notice.c.id,
                              notice_read.c.username == actor.username)


def _check_kind(kind) -> str | None:
    if kind in (None, ""):
        return None
    if kind not in KINDS:
        raise InvalidInput("kind 只能是 " + "、".join(KINDS))
    return kind


def _check_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput("通知 id 必须是正整数")
    return value


class Notices:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def list_notices(self, actor: Actor, *, unread: bool = False, kind: str | None = None,
                     limit: int = 50, offset: int = 0) -> Page:
        """The actor's notices (to them and to their department), newest first; ``unread``:
        those the actor has not read; ``kind``: of one kind (``NOTICE_KINDS``)."""
        limit, offset = page(limit, offset)
        kind = _check_kind(kind)
        where = [visible(actor)]
        if unread:
            where.append(_unread(actor))
        if kind is not None:
            where.append(notice.c.kind == kind)
        read_at = (sa.select(notice_read.c.read_at)
                   .where(notice_read.c.notice_id == notice.c.id,
                          notice_read.c.username == actor.username)
                   .scalar_subquery())
        stmt = (sa.select(notice, read_at.label("read_at"), instance.c.business_key,
                          instance.c.title)
                .outerjoin(instance, instance.c.id == notice.c.instance_id)
                .where(*where).order_by(notice.c.id.desc()).limit(limit).offset(offset))
        with self.ctx.uow(readonly=True) as uow:
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(notice).where(*where)).scalar_one()
            rows = uow.conn.execute(stmt).all() if total > offset else []
        return Page(tuple(_info(r) for r in rows), total, limit, offset)

    def unread_notice_count(self, actor: Actor) -> int:
        """How many of the actor's notices the actor has not read (the header's count)."""
        with self.ctx.uow(readonly=True) as uow:
            return uow.conn.execute(
                sa.select(sa.func.count()).select_from(notice)
                .where(visible(actor), _unread(actor))).scalar_one()

    def get_notice(self, actor: Actor, notice_id: int) -> NoticeInfo:
        """One of the actor's notices; NotFound for any other (another department's notice
        is not there for this actor)."""
        notice_id = _check_id(notice_id)
        with self.ctx.uow(readonly=True) as uow:
            row = self._row(uow.conn, actor, notice_id)
        return _info(row)

    def mark_notice_read(self, actor: Actor, notice_id: int) -> NoticeInfo:
        """Mark one of the actor's notices read (again: no change); NotFound for any other."""
        notice_id = _check_id(notice_id)
        with self.ctx.uow() as uow:
            self._row(uow.conn, actor, notice_id)
            _mark(uow.conn, actor, notice.c.id == notice_id)
            row = self._row(uow.conn, actor, notice_id)
            uow.commit()
        return _info(row)

    def mark_notices_read(self, actor: Actor, ids) -> int:
        """Mark those of ``ids`` read that the actor may see and has not read (others are
        ignored); how many were marked."""
        if isinstance(ids, str | bytes) or not hasattr(ids, "__iter__"):
            raise InvalidInput("ids 必须是通知 id 的列表")
        ids = sorted({_check_id(i) for i in ids})
        if len(ids) > MAX_MARK:
            raise InvalidInput(f"一次最多标记 {MAX_MARK} 条通知")
        if not ids:
            return 0
        with self.ctx.uow() as uow:
            marked = _mark(uow.conn, actor, notice.c.id.in_(ids))
            uow.commit()
        return marked

    def mark_all_notices_read(self, actor: Actor) -> int:
        """Mark every unread notice of the actor read; how many were marked."""
        with self.ctx.uow() as uow:
            marked = _mark(uow.conn, actor)
            uow.commit()
        return marked

    @staticmethod
    def _row(conn, actor: Actor, notice_id: int):
        read_at = (sa.select(notice_read.c.read_at)
                   .where(notice_read.c.notice_id == notice.c.id,
                          notice_read.c.username == actor.username)
                   .scalar_subquery())
        row = conn.execute(
            sa.select(notice, read_at.label("read_at"), instance.c.business_key,
                      instance.c.title)
            .outerjoin(instance, instance.c.id == notice.c.instance_id)
            .where(notice.c.id == notice_id, visible(actor))).first()
        if row is None:
            raise NotFound(f"通知 {notice_id} 不存在")
        return row


def _mark(conn, actor: Actor, *where) -> int:
    """Mark the actor's unread notices matching ``where`` read, in one statement; how many."""
    where = (visible(actor), _unread(actor), *where)
    # counted first: not every driver reports the rows an INSERT … SELECT wrote
    count = conn.execute(sa.select(sa.func.count()).select_from(notice).where(*where)).scalar_one()
    if count:
        chosen = sa.select(notice.c.id, sa.literal(actor.username, sa.String),
                           sa.literal(utcnow(), sa.DateTime)).where(*where)
        conn.execute(notice_read.insert().from_select(["notice_id", "username", "read_at"],
                                                      chosen))
    return count


def _info(row) -> NoticeInfo:
    return NoticeInfo(
        id=row.id, kind=row.kind, subject=row.subject, body=row.body,
        department_code=row.department_code, username=row.username,
        instance_id=row.instance_id, task_id=row.task_id, link=row.link, sender=row.sender,
        created_at=row.created_at, read_at=row.read_at,
        business_key=row.business_key if row.instance_id is not None else None,
        title=row.title if row.instance_id is not None else None,
    )
