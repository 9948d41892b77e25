"""Shared set-up of the 转办 and 委托 tests: a second clerk in some departments, the cross-
department fixture deployed, notices read straight from the table."""

from __future__ import annotations

import sqlalchemy as sa

from engine import Engine, UserInfo
from engine.model import notice

COLLEAGUES = [
    UserInfo("drc-clerk2", "钱晓明", "drc", ("caseworker",)),
    UserInfo("drc-retired", "孙退休", "drc", ("caseworker",), active=False),
    UserInfo("emergency-clerk2", "吕晓光", "emergency", ("caseworker",)),
]


def add_colleagues(engine: Engine) -> None:
    engine.sync_org([], COLLEAGUES)


def notices_to(engine: Engine, *, username=None, department_code=None):
    with engine.db.connect() as conn:
        stmt = sa.select(notice).order_by(notice.c.id)
        if username:
            stmt = stmt.where(notice.c.username == username)
        if department_code:
            stmt = stmt.where(notice.c.department_code == department_code)
        return conn.execute(stmt).all()
