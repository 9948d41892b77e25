"""Who may come in: browser sessions that the server can end, the login throttle's counts, and
the audit events of both (``event`` rows without an instance).

Sessions. The cookie carries a random id; the ``user_session`` row stored under the id's SHA-256
must exist, be unrevoked and have been used within the idle limit. Logging out revokes that
row; a password change or a deactivation (``Engine.sync_org``) and an administrator's "end all
access" revoke every row of the user and delete the user's bearer tokens, in one transaction.

Login throttle. Failures are rows of ``login_attempt``, so every worker and node counts the same
ones and a restart forgets nothing. An address that the account signed in from recently is
*known*: there only that account's failures from that address count, so a guesser elsewhere
never slows the real user down at their usual place. From any other address two counts hold
an attempt back and the longer wait wins: the account's failures from everywhere (a guesser
moving between addresses) and the address's failures over all accounts (one password tried on
many accounts). Each count is free up to its allowance; past it every attempt waits
``first_delay * 2**(failures - allowance)`` seconds after the count's latest failure, up to
``max_delay``: a growing delay, never a lock that someone else can set for good. Failures older
than the window no longer count. A successful login clears the account's failures from that
address only: not the account's elsewhere (the real user signing in must not hand a guesser
fresh free tries), nor the address's over other accounts (an attacker's own valid account
must not reset the count of what it sprays).
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine

from .clock import utcnow
from .dto import ROLE_SYSTEM_ADMIN, Actor, EventInfo, Page, UserInfo
from .errors import Forbidden, InvalidInput, NotFound
from .model import app_user, auth_token, event, login_attempt, user_session
from .rows import event_row, write_events
from .unit_of_work import UnitOfWork

# Kinds of the audit events written here; ``Access.list_events`` reads only these.
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
PASSWORD_CHANGED = "password_changed"
USER_DISABLED = "user_disabled"
ACCESS_REVOKED = "access_revoked"
EVENT_KINDS = (LOGIN_FAILED, LOGIN_THROTTLED, PASSWORD_CHANGED, USER_DISABLED, ACCESS_REVOKED)

# A session's last use is written at most this often: not one write per request.
TOUCH_EVERY = timedelta(minutes=1)
_MAX_PAGE = 500


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures are free and how the wait grows past them (see the module's text)."""

    free_failures: int = 5  # per account (per account and address, at a known address)
    address_free_failures: int = 20  # per address over all accounts
    first_delay_seconds: int = 2
    max_delay_seconds: int = 900
    window: timedelta = timedelta(hours=1)
    known_address_for: timedelta = timedelta(days=30)

    def delay(self, failures: int, free: int) -> int:
        """Seconds to wait after the latest of ``failures`` failures; 0 within the allowance."""
        if failures < free:
            return 0
        growth = min(failures - free, 30)  # 2**30 s is past any cap already
        return min(self.max_delay_seconds, self.first_delay_seconds * 2**growth)


@dataclass(frozen=True)
class LoginWait:
    seconds: int  # 0: the attempt may go ahead
    scope: str | None = None  # "account" or "address": the count that holds it back


@dataclass(frozen=True)
class RevokedAccess:
    username: str
    sessions: int
    tokens: int


def user_info(row) -> UserInfo:
    """A user row (``app_user`` columns) as the DTO."""
    return UserInfo(
        username=row.username,
        display_name=row.display_name,
        department_code=row.department_code,
        roles=tuple(row.roles.split()),
        active=row.active,
        password_hash=row.password_hash,
    )


def end_user_access(conn: Connection, username: str, kind: str, now: datetime,
                    by: str = "system") -> tuple[int, int]:
    """Revoke every session and delete every bearer token of ``username`` inside the caller's
    transaction, and log ``kind`` (password_changed, user_disabled, access_revoked).
    Returns (sessions, tokens) ended."""
    sessions = conn.execute(
        user_session.update()
        .where(user_session.c.username == username, user_session.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=kind[:32])
    ).rowcount
    tokens = conn.execute(auth_token.delete().where(auth_token.c.username == username)).rowcount
    _log(conn, by, kind, now, {"username": username, "sessions": sessions, "tokens": tokens})
    return sessions, tokens


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _log(conn: Connection, actor: str, kind: str, at: datetime, data: dict) -> None:
    write_events(conn, [event_row(None, None, actor[:64], kind, at, data)])


class Access:
    """Sessions, login throttle and their audit events. Thread-safe; one per process, built by
    whoever holds the settings (the web app, the ``kunflow`` command)."""

    def __init__(
        self,
        sa_engine: SaEngine,
        *,
        policy: LoginPolicy | None = None,
        session_idle: timedelta = timedelta(hours=8),
    ):
        self.db = sa_engine
        self.policy = policy or LoginPolicy()
        self.session_idle = session_idle
        self._stmt_session_user = (
            sa.select(
                app_user,
                user_session.c.last_seen_at.label("s_last_seen_at"),
                user_session.c.revoked_at.label("s_revoked_at"),
            )
            .join(app_user, app_user.c.username == user_session.c.username)
            .where(user_session.c.id_hash == sa.bindparam("h"))
        )

    def _uow(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, readonly=readonly)

    # ------------------------------------------------------------------ sessions

    def open_session(self, username: str, address: str | None = None,
                     user_agent: str | None = None) -> str:
        """A new session of ``username``; returns its id (for the cookie, stored only hashed)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        with self._uow() as uow:
            uow.conn.execute(
                user_session.insert().values(
                    id_hash=_digest(session_id),
                    username=username,
                    created_at=now,
                    last_seen_at=now,
                    address=(address or None) and address[:64],
                    user_agent=(user_agent or None) and user_agent[:400],
                )
            )
            uow.commit()
        return session_id

    def session_user(self, session_id: str) -> UserInfo | None:
        """The active user of a live session; None when the session is unknown, revoked or idle
        for ``session_idle``. Records the use (at most once a minute)."""
        if not session_id:
            return None
        now = utcnow()
        h = _digest(session_id)
        with self._uow(readonly=True) as uow:
            row = uow.conn.execute(self._stmt_session_user, {"h": h}).first()
        if row is None or row.s_revoked_at is not None or not row.active:
            return None
        if now - row.s_last_seen_at >= self.session_idle:
            return None
        if now - row.s_last_seen_at >= TOUCH_EVERY:
            with self._uow() as uow:
                uow.conn.execute(
                    user_session.update()
                    .where(user_session.c.id_hash == h, user_session.c.revoked_at.is_(None))
                    .values(last_seen_at=now)
                )
                uow.commit()
        return user_info(row)

    def end_session(self, session_id: str) -> bool:
        """Logout: the session's cookie opens nothing any more. False when it had ended."""
        with self._uow() as uow:
            n = uow.conn.execute(
                user_session.update()
                .where(user_session.c.id_hash == _digest(session_id),
                       user_session.c.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_reason="logout")
            ).rowcount
            uow.commit()
        return n > 0

    def end_user_access(self, username: str, actor: Actor) -> RevokedAccess:
        """End every session and bearer token of ``username`` (system administrators)."""
        _require_system_admin(actor, "无权注销其他用户的登录")
        with self._uow() as uow:
            found = uow.conn.execute(
                sa.select(app_user.c.username).where(app_user.c.username == username)
            ).first()
            if found is None:
                raise NotFound(f"用户 {username} 不存在")
            sessions, tokens = end_user_access(
                uow.conn, username, ACCESS_REVOKED, utcnow(), by=actor.username
            )
            uow.commit()
        return RevokedAccess(username, sessions, tokens)

    # ------------------------------------------------------------------ login throttle

    def login_wait(self, username: str, address: str) -> LoginWait:
        """How long a login attempt of ``username`` from ``address`` must still wait."""
        p, a = self.policy, login_attempt
        username, address = username[:64], address[:64]
        now = utcnow()
        failed = (a.c.succeeded == sa.false(), a.c.at > now - p.window)
        count = sa.select(sa.func.count(), sa.func.max(a.c.at))
        with self._uow(readonly=True) as uow:
            known = uow.conn.execute(
                sa.select(a.c.id).where(
                    a.c.username == username,
                    a.c.address == address,
                    a.c.succeeded == sa.true(),
                    a.c.at > now - p.known_address_for,
                ).limit(1)
            ).first() is not None
            if known:
                checks = [("account", count.where(a.c.username == username,
                                                  a.c.address == address, *failed),
                           p.free_failures)]
            else:
                checks = [
                    ("account", count.where(a.c.username == username, *failed), p.free_failures),
                    ("address", count.where(a.c.address == address, *failed),
                     p.address_free_failures),
                ]
            waits = []
            for scope, stmt, free in checks:
                failures, latest = uow.conn.execute(stmt).one()
                delay = p.delay(failures, free)
                if delay and latest is not None:
                    left = math.ceil((latest + timedelta(seconds=delay) - now).total_seconds())
                    if left > 0:
                        waits.append(LoginWait(left, scope))
        return max(waits, key=lambda w: w.seconds) if waits else LoginWait(0)

    def login_failed(self, username: str, address: str, reason: str) -> None:
        """Count a failed login and log it (``reason``: invalid_credentials, …)."""
        username, address = username[:64], address[:64]
        now = utcnow()
        with self._uow() as uow:
            uow.conn.execute(login_attempt.insert().values(
                username=username, address=address, at=now, succeeded=False))
            _log(uow.conn, username, LOGIN_FAILED, now, {"address": address, "reason": reason})
            uow.commit()

    def login_throttled(self, username: str, address: str, wait: LoginWait) -> None:
        """Log an attempt refused for its wait (the password was not checked)."""
        with self._uow() as uow:
            _log(uow.conn, username, LOGIN_THROTTLED, utcnow(),
                 {"address": address, "retry_after": wait.seconds, "scope": wait.scope})
            uow.commit()

    def login_succeeded(self, username: str, address: str) -> None:
        """Clear the account's failures from ``address`` and remember it as known for it."""
        a = login_attempt
        address = address[:64]
        now = utcnow()
        with self._uow() as uow:
            uow.conn.execute(a.delete().where(a.c.username == username, a.c.address == address,
                                              a.c.succeeded == sa.false()))
            updated = uow.conn.execute(
                a.update()
                .where(a.c.username == username, a.c.address == address,
                       a.c.succeeded == sa.true())
                .values(at=now)
            ).rowcount
            if not updated:
                uow.conn.execute(a.insert().values(
                    username=username, address=address, at=now, succeeded=True))
            uow.commit()

    # ------------------------------------------------------------------ audit, housekeeping

    def list_events(self, actor: Actor, *, kind: str | None = None, username: str | None = None,
                    limit: int = 50, offset: int = 0) -> Page:
        """Security events, newest first (system administrators): failed and throttled logins
        (``actor`` is the username tried), password changes, deactivations and revocations
        (``actor`` is who did it, ``data.username`` whose access ended)."""
        _require_system_admin(actor, "无权查看安全审计日志")
        if kind is not None and kind not in EVENT_KINDS:
            raise InvalidInput(f"kind 应为 {'、'.join(EVENT_KINDS)} 之一")
        if not (1 <= limit <= _MAX_PAGE) or offset < 0:
            raise InvalidInput(f"limit 取值 1–{_MAX_PAGE}，offset 不能为负")
        where = [event.c.instance_id.is_(None),
                 event.c.kind == kind if kind else event.c.kind.in_(EVENT_KINDS)]
        if username:
            where.append(event.c.actor == username)
        with self._uow(readonly=True) as uow:
            total = uow.conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one()
            rows = uow.conn.execute(
                sa.select(event).where(*where).order_by(event.c.id.desc())
                .limit(limit).offset(offset)
            )
            items = tuple(
                EventInfo(r.id, r.instance_id, r.task_id, r.actor, r.kind, r.at,
                          json.loads(r.data_json) if r.data_json else None)
                for r in rows
            )
        return Page(items, total, limit, offset)

    def purge(self) -> dict:
        """Forget ended and idle sessions, failures past the window and old known addresses."""
        p, a, s = self.policy, login_attempt, user_session
        now = utcnow()
        with self._uow() as uow:
            sessions = uow.conn.execute(s.delete().where(
                sa.or_(s.c.revoked_at.is_not(None), s.c.last_seen_at <= now - self.session_idle)
            )).rowcount
            attempts = uow.conn.execute(a.delete().where(sa.or_(
                sa.and_(a.c.succeeded == sa.false(), a.c.at <= now - p.window),
                sa.and_(a.c.succeeded == sa.true(), a.c.at <= now - p.known_address_for),
            ))).rowcount
            uow.commit()
        return {"sessions": sessions, "login_attempts": attempts}


def _require_system_admin(actor: Actor, message: str) -> None:
    if ROLE_SYSTEM_ADMIN not in actor.roles:
        raise Forbidden(message)
