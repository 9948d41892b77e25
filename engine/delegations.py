"""委托: a user's stand-in (deputy) for a period of China calendar days.

During the period the deputy sees and works, besides their own, the tasks assigned to the user
they stand in for (the principal) and the tasks the principal could claim; what the deputy does
is recorded with both names (``task.on_behalf_of``, ``on_behalf_of`` in the event data).

Who sets one: the user for themself, the head of the user's department or an administrator for
a member. The deputy is an active user of the same department; a period runs at most
``MAX_DAYS`` days and does not overlap another unrevoked 委托 of the same user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from . import routing
from .checks import MAX_ID, text
from .clock import local_day, utcnow
from .context import Context
from .dto import ROLE_HEAD, Actor
from .errors import Forbidden, InvalidInput, NotFound
from .model import app_user, delegation, task
from .notices import post_notice

MAX_DAYS = 366


@dataclass(frozen=True)
class DelegationInfo:
    id: int
    username: str  # the principal (委托人)
    deputy: str  # the stand-in (代办人)
    starts_on: date
    ends_on: date
    reason: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    def status(self, today: date) -> str:
        """revoked | upcoming | active | ended (on ``today``, a China date)."""
        if self.revoked_at is not None:
            return "revoked"
        if today < self.starts_on:
            return "upcoming"
        return "active" if today <= self.ends_on else "ended"


@dataclass(frozen=True)
class Principal:
    """A user the deputy stands in for today, with what routing needs of them."""

    username: str
    department_code: str
    roles: frozenset

    def actor(self) -> Actor:
        return Actor(self.username, self.department_code, self.roles)


def _info(row) -> DelegationInfo:
    return DelegationInfo(**{k: row._mapping[k] for k in (
        "id", "username", "deputy", "starts_on", "ends_on", "reason", "created_by",
        "created_at", "revoked_at", "revoked_by")})


def active_principals(conn, deputy: str, day: date | None = None) -> list[Principal]:
    """The active users ``deputy`` stands in for on ``day`` (default: today in China): an
    unrevoked 委托 whose period holds the day."""
    day = day or local_day(utcnow())
    rows = conn.execute(
        sa.select(app_user.c.username, app_user.c.department_code, app_user.c.roles)
        .join(delegation, delegation.c.username == app_user.c.username)
        .where(delegation.c.deputy == deputy, delegation.c.ends_on >= day,
               delegation.c.starts_on <= day, delegation.c.revoked_at.is_(None),
               app_user.c.active.is_(True))
        .order_by(delegation.c.starts_on, delegation.c.id)
    ).all()
    seen: dict[str, Principal] = {}
    for r in rows:
        seen.setdefault(r.username, Principal(r.username, r.department_code,
                                              frozenset((r.roles or "").split())))
    return list(seen.values())


def principal_for_task(conn, actor: Actor, row) -> str | None:
    """The principal in whose name ``actor`` may work the task ``row`` today: the task is
    assigned to the principal, or unassigned and the principal may work it. None if none."""
    for p in active_principals(conn, actor.username):
        if not routing.can_work_task(p.actor(), row.department_code, row.candidate_role):
            continue
        if row.assignee in (None, p.username) or (
                row.assignee == actor.username
                and row._mapping.get("on_behalf_of") == p.username):
            return p.username
    return None


def may_view_for_principal(conn, actor: Actor, department_code: str | None) -> bool:
    """A deputy sees the tasks of the departments of the users they stand in for today."""
    if department_code is None:
        return False
    return any(routing.can_view_task(p.actor(), department_code)
               for p in active_principals(conn, actor.username))


def _workable(department_code, roles):
    return sa.and_(task.c.department_code == department_code,
                   sa.or_(task.c.candidate_role.is_(None),
                          task.c.candidate_role.in_(sorted(roles))))


def delegated_clause(principals: list[Principal], deputy: Actor):
    """The task rows a deputy may work for ``principals``: assigned to one of them, or
    unassigned in a principal's department with the principal's role (when one is named) —
    except the unassigned ones the deputy may claim in their own right (their own queue)."""
    ors = []
    own = (_workable(deputy.department_code, deputy.roles) if deputy.department_code
           else sa.false())
    for p in principals:
        ors.append(task.c.assignee == p.username)
        ors.append(sa.and_(task.c.assignee.is_(None), _workable(p.department_code, p.roles),
                           sa.not_(own)))
    return sa.or_(*ors) if ors else sa.false()


def principal_of_row(principals: list[Principal], assignee, department_code, candidate_role):
    """Which of ``principals`` a listed delegated task is worked for."""
    for p in principals:
        if assignee == p.username:
            return p.username
    for p in principals:
        if assignee is None and routing.can_work_task(p.actor(), department_code,
                                                      candidate_role):
            return p.username
    return None


def _parse_day(value, name: str) -> date:
    if isinstance(value, datetime):
        raise InvalidInput(f"{name} 必须是日期（YYYY-MM-DD）")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{name} 必须是日期（YYYY-MM-DD）")


def _user(conn, username: str, what: str):
    text(username, what, 64, required=True)
    row = conn.execute(sa.select(app_user).where(app_user.c.username == username)).first()
    if row is None or not row.active:
        raise InvalidInput(f"用户 {username} 不存在或已停用")
    return row


def may_manage(actor: Actor, principal_row) -> bool:
    """The user themself, the head of their department, or an administrator."""
    return (actor.username == principal_row.username or actor.is_admin
            or (ROLE_HEAD in actor.roles
                and actor.department_code == principal_row.department_code))


class Delegations:
    """Commands and reads of 委托; each command is one transaction."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def set_delegation(self, actor: Actor, username: str, deputy: str, starts_on, ends_on,
                       reason: str | None = None) -> DelegationInfo:
        """``deputy`` stands in for ``username`` from ``starts_on`` to ``ends_on`` (inclusive,
        China dates). A notice of kind ``delegation`` goes to the deputy."""
        starts_on = _parse_day(starts_on, "开始日期")
        ends_on = _parse_day(ends_on, "结束日期")
        text(reason, "reason", 2000)
        reason = (reason or "").strip() or None
        if ends_on < starts_on:
            raise InvalidInput("结束日期不能早于开始日期")
        if (ends_on - starts_on).days + 1 > MAX_DAYS:
            raise InvalidInput(f"委托期限最长 {MAX_DAYS} 天")
        with self.ctx.uow() as uow:
            conn = uow.conn
            principal = _user(conn, username, "委托人")
            if not may_manage(actor, principal):
                raise Forbidden("只能为自己设置委托；部门负责人可为本部门人员设置")
            if deputy == username:
                raise InvalidInput("代办人不能是委托人本人")
            stand_in = _user(conn, deputy, "代办人")
            if stand_in.department_code != principal.department_code:
                raise InvalidInput("代办人须为同一部门的在岗人员")
            now = utcnow()
            if ends_on < local_day(now):
                raise InvalidInput("结束日期已过")
            clash = conn.execute(sa.select(delegation.c.id, delegation.c.starts_on,
                                           delegation.c.ends_on).where(
                delegation.c.username == username, delegation.c.revoked_at.is_(None),
                delegation.c.starts_on <= ends_on, delegation.c.ends_on >= starts_on,
            )).first()
            if clash is not None:
                raise InvalidInput(
                    f"与已有委托（{clash.starts_on}至{clash.ends_on}）时间重叠，请先撤销")
            new_id = conn.execute(delegation.insert().values(
                username=username, deputy=deputy, starts_on=starts_on, ends_on=ends_on,
                reason=reason, created_by=actor.username, created_at=now,
            )).inserted_primary_key[0]
            post_notice(
                conn, kind="delegation", username=deputy, now=now, sender=actor.username,
                subject=f"{principal.display_name} 委托您于 {starts_on} 至 {ends_on} 代为办理待办",
                body=reason, link="/delegations", dedup_key=f"delegation:{new_id}")
            row = conn.execute(sa.select(delegation).where(delegation.c.id == new_id)).one()
            uow.commit()
        return _info(row)

    def revoke_delegation(self, actor: Actor, delegation_id: int) -> DelegationInfo:
        """End a 委托 now (the principal, their head, an administrator; the deputy may decline)."""
        if isinstance(delegation_id, bool) or not isinstance(delegation_id, int) or not (
                1 <= delegation_id <= MAX_ID):
            raise NotFound("委托不存在")
        with self.ctx.uow() as uow:
            conn = uow.conn
            row = conn.execute(sa.select(delegation).where(
                delegation.c.id == delegation_id)).first()
            if row is None:
                raise NotFound("委托不存在")
            principal = conn.execute(sa.select(app_user).where(
                app_user.c.username == row.username)).first()
            if actor.username != row.deputy and (principal is None
                                                 or not may_manage(actor, principal)):
                raise Forbidden("无权撤销该委托")
            if row.revoked_at is not None:
                return _info(row)
            now = utcnow()
            conn.execute(delegation.update().where(delegation.c.id == delegation_id)
                         .values(revoked_at=now, revoked_by=actor.username))
            row = conn.execute(sa.select(delegation).where(
                delegation.c.id == delegation_id)).one()
            uow.commit()
        return _info(row)

    def list_delegations(self, actor: Actor, *, username: str | None = None,
                         include_past: bool = False) -> list[DelegationInfo]:
        """委托 where the actor is principal or deputy; with ``username``, that user's (the
        user, their head or an administrator); a head without ``username`` also sees those of
        the department's members. Ended and revoked ones only with ``include_past``."""
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            stmt = sa.select(delegation)
            if username is not None:
                principal = _user(conn, username, "username")
                if not may_manage(actor, principal):
                    raise Forbidden("无权查看该用户的委托")
                stmt = stmt.where(delegation.c.username == username)
            elif ROLE_HEAD in actor.roles and actor.department_code:
                members = sa.select(app_user.c.username).where(
                    app_user.c.department_code == actor.department_code)
                stmt = stmt.where(sa.or_(delegation.c.username.in_(members),
                                         delegation.c.deputy == actor.username))
            else:
                stmt = stmt.where(sa.or_(delegation.c.username == actor.username,
                                         delegation.c.deputy == actor.username))
            if not include_past:
                stmt = stmt.where(delegation.c.revoked_at.is_(None),
                                  delegation.c.ends_on >= local_day(utcnow()))
            rows = conn.execute(stmt.order_by(delegation.c.starts_on.desc(),
                                              delegation.c.id.desc()).limit(500)).all()
        return [_info(r) for r in rows]

    def principals(self, actor: Actor, day: date | None = None) -> list[Principal]:
        with self.ctx.uow(readonly=True) as uow:
            return active_principals(uow.conn, actor.username, day)


def today() -> date:
    return local_day(utcnow())
