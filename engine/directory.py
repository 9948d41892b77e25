"""Room: the organisation (departments and users, synced from the org chart) and bearer
tokens. The department directory cache itself lives on the shared context."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .access import end_user_access, user_info
from .clock import utcnow
from .context import Context
from .dto import DepartmentInfo, UserInfo
from .model import app_user, auth_token, department
from .rows import USER_FOR_TOKEN


class Directory:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def sync_org(self, departments: list[DepartmentInfo], users: list[UserInfo],
                 initial_password_hash: str | None = None) -> int:
        """Insert or update departments and users (a user's password hash only when given).

        ``initial_password_hash`` goes to each listed user who has no password yet (demo mode),
        decided inside the write transaction, so two nodes seeding at once agree. Returns how
        many users got it.

        A user whose password changes or who is deactivated loses every browser session and
        bearer token in the same transaction: whoever held them must prove themselves again.
        """
        seeded = 0
        with self.ctx.uow() as uow:
            conn = uow.conn
            now = utcnow()
            existing = {r.code for r in conn.execute(sa.select(department.c.code))}
            for d in departments:
                values = {"name": d.name, "kind": d.kind, "parent_code": d.parent_code}
                if d.code in existing:
                    conn.execute(department.update().where(department.c.code == d.code).values(**values))
                else:
                    conn.execute(department.insert().values(code=d.code, **values))
            users_now = {
                r.username: r
                for r in conn.execute(
                    sa.select(app_user.c.username, app_user.c.password_hash, app_user.c.active)
                )
            }
            for u in users:
                values = {
                    "display_name": u.display_name,
                    "department_code": u.department_code,
                    "roles": " ".join(u.roles),
                    "active": u.active,
                }
                if u.password_hash:
                    values["password_hash"] = u.password_hash
                elif initial_password_hash and not (
                    u.username in users_now and users_now[u.username].password_hash
                ):
                    values["password_hash"] = initial_password_hash
                    seeded += 1
                if u.username in users_now:
                    conn.execute(
                        app_user.update().where(app_user.c.username == u.username).values(**values)
                    )
                    before = users_now[u.username]
                    if before.active and not u.active:
                        end_user_access(conn, u.username, "user_disabled", now)
                    elif before.password_hash and u.password_hash not in (
                        None, "", before.password_hash
                    ):
                        end_user_access(conn, u.username, "password_changed", now)
                else:
                    conn.execute(app_user.insert().values(username=u.username, **values))
            uow.commit()
        self.ctx.forget_directory()
        return seeded

    def list_departments(self) -> list[DepartmentInfo]:
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(sa.select(department).order_by(department.c.code))
            return [DepartmentInfo(r.code, r.name, r.kind, r.parent_code) for r in rows]

    def get_user(self, username: str) -> UserInfo | None:
        with self.ctx.uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(app_user).where(app_user.c.username == username)
            ).first()
        return user_info(row) if row else None

    def list_users(self, department_code: str | None = None) -> list[UserInfo]:
        stmt = sa.select(app_user).order_by(app_user.c.username)
        if department_code:
            stmt = stmt.where(app_user.c.department_code == department_code)
        with self.ctx.uow(readonly=True) as uow:
            return [user_info(r) for r in uow.conn.execute(stmt)]

    # ------------------------------------------------------------------ bearer tokens

    def store_token(self, token_hash: str, username: str, ttl: timedelta) -> datetime:
        now = utcnow()
        with self.ctx.uow() as uow:
            uow.conn.execute(
                auth_token.insert().values(
                    token_hash=token_hash, username=username, created_at=now, expires_at=now + ttl
                )
            )
            uow.commit()
        return now + ttl

    def revoke_token(self, token_hash: str) -> bool:
        with self.ctx.uow() as uow:
            n = uow.conn.execute(
                auth_token.delete().where(auth_token.c.token_hash == token_hash)
            ).rowcount
            uow.commit()
        return n > 0

    def purge_expired_tokens(self) -> int:
        with self.ctx.uow() as uow:
            n = uow.conn.execute(
                auth_token.delete().where(auth_token.c.expires_at <= utcnow())
            ).rowcount
            uow.commit()
        return n

    def user_for_token(self, token_hash: str) -> UserInfo | None:
        with self.ctx.db.connect().execution_options(kunflow_readonly=True) as conn:
            row = conn.execute(USER_FOR_TOKEN, {"h": token_hash, "now": utcnow()}).first()
        return user_info(row) if row is not None and row.active else None
