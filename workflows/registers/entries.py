"""Operations on the registers: create and update with Chinese validation, lists with filters,
who may read and edit what, licences close to expiry. Every change leaves a
``register_event`` row in the same transaction.

Who may do what (docs/registers.md):
- mines, 选矿厂, 尾矿库: 区应急局 and 区自然资源分局 edit;
- enterprises: 区招商部门 and 区政数局 edit;
- a 街镇 (department kind street / subdistrict / town) reads only the entries of its own 属地
  (an enterprise: its own 属地, or one of its facilities there);
- every other department, supervisors, leaders and administrators read everything;
  administrators also edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine import Actor, Forbidden, InvalidInput, NotFound, local_today, utcnow

from .fields import FIELDS, KIND_NAMES, KINDS, LICENCES, Field, add_months, credit_code_problem
from .tables import TABLES, register_event
from .tables import enterprise as enterprise_table

EDITORS = {
    "enterprise": frozenset({"invest", "gov-data"}),
    "mine": frozenset({"emergency", "natres"}),
    "plant": frozenset({"emergency", "natres"}),
    "tailings": frozenset({"emergency", "natres"}),
}
STREET_KINDS = frozenset({"street", "subdistrict", "town"})
FACILITIES = ("mine", "plant", "tailings")
EXPIRY_MONTHS = 3
"""Licences expiring within this many months are flagged (local: the 安全生产许可证 must be
renewed 3 months before it expires, 《安全生产许可证条例》第九条)."""


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"没有这种名录：{kind}")
    return kind


def problems_error(problems: list[dict]) -> InvalidInput:
    """One InvalidInput for every problem found (``details.problems``: field, message)."""
    return InvalidInput("；".join(p["message"] for p in problems), {"problems": problems})


class Registers:
    """The registers over an Engine's database (``engine.unit_of_work``); ``today`` is read
    from the clock (China) unless given."""

    def __init__(self, engine, expiry_months: int = EXPIRY_MONTHS):
        self.engine = engine
        self.expiry_months = expiry_months

    # ------------------------------------------------------------ directory and rights

    def towns(self) -> dict[str, str]:
        """街镇 codes -> names, in the org chart's order."""
        codes = {
            c for k, cs in self.engine.department_kinds().items() if k in STREET_KINDS for c in cs
        }
        return {d.code: d.name for d in self.engine.list_departments() if d.code in codes}

    def own_town(self, actor: Actor) -> str | None:
        """The 街镇 whose entries alone ``actor`` reads, or None (reads all)."""
        if actor.reads_all or actor.department_code is None:
            return None
        return actor.department_code if actor.department_code in self.towns() else None

    def can_edit(self, actor: Actor, kind: str) -> bool:
        return actor.is_admin or actor.department_code in EDITORS[check_kind(kind)]

    def check_edit(self, actor: Actor, kind: str) -> None:
        if not self.can_edit(actor, kind):
            raise Forbidden(f"本部门不能登记或修改{KIND_NAMES[kind]}名录")

    def editable_kinds(self, actor: Actor) -> list[str]:
        return [k for k in KINDS if self.can_edit(actor, k)]

    # ------------------------------------------------------------ validation

    def resolve_town(self, value) -> str | None:
        """A 街镇 code from its code or its name; None when it is neither."""
        towns = self.towns()
        if value in towns:
            return value
        return next((code for code, name in towns.items() if name == value), None)

    def clean(
        self, conn: Connection, kind: str, values: Mapping, entry_id: int | None = None
    ) -> dict:
        """The checked values of an entry (``values``: every field; missing ones are empty),
        or InvalidInput listing every problem in Chinese."""
        clean, problems = {}, []

        def problem(f: Field, message: str) -> None:
            problems.append({"field": f.name, "message": message})

        for f in FIELDS[kind]:
            raw = values.get(f.name)
            if isinstance(raw, str):
                raw = raw.strip() or None
            if raw is None:
                if f.required:
                    problem(f, f"「{f.label}」必须填写")
                clean[f.name] = None
                continue
            value, message = self._convert(conn, f, raw)
            if message:
                problem(f, message)
            clean[f.name] = value
        if not problems:
            problems = self._cross_checks(conn, kind, clean, entry_id)
        if problems:
            raise problems_error(problems)
        return clean

    def _convert(self, conn: Connection, f: Field, raw) -> tuple[object, str | None]:
        if f.type == "date":
            if isinstance(raw, datetime):
                return raw.date(), None
            if isinstance(raw, date):
                return raw, None
            try:
                return date.fromisoformat(str(raw)), None
            except ValueError:
                return None, f"「{f.label}」不是有效日期：{raw}（格式如 2026-03-01）"
        if f.type == "enterprise":
            try:
                ident = int(raw)
            except (TypeError, ValueError):
                return None, f"「{f.label}」无效：{raw}"
            found = conn.execute(
                sa.select(enterprise_table.c.id).where(enterprise_table.c.id == ident)
            ).first()
            return ident, None if found else f"「{f.label}」不存在（企业 id {ident}）"
        text = str(raw)
        if len(text) > f.max_length:
            return None, f"「{f.label}」不能超过 {f.max_length} 个字"
        if f.type == "choice" and text not in f.choices:
            return None, f"「{f.label}」只能是{'、'.join(f.choices)}，不能是「{text}」"
        if f.type == "town":
            code = self.resolve_town(text)
            return code, None if code else f"「{f.label}」不是本区的街镇：{text}"
        if f.type == "credit_code":
            text = text.upper()
            return text, credit_code_problem(text)
        return text, None

    def _cross_checks(
        self, conn: Connection, kind: str, clean: dict, entry_id: int | None
    ) -> list[dict]:
        problems = []
        labels = {f.name: f.label for f in FIELDS[kind]}
        for expiry, issued in LICENCES[kind]:
            if issued and clean.get(issued) and clean.get(expiry) and clean[expiry] < clean[issued]:
                problems.append(
                    {"field": expiry, "message": f"「{labels[expiry]}」早于「{labels[issued]}」"}
                )
        if kind == "enterprise":
            other = conn.execute(
                sa.select(enterprise_table.c.id, enterprise_table.c.name).where(
                    enterprise_table.c.credit_code == clean["credit_code"]
                )
            ).first()
            if other is not None and other.id != entry_id:
                problems.append(
                    {
                        "field": "credit_code",
                        "message": f"统一社会信用代码 {clean['credit_code']} 已登记（{other.name}）",
                    }
                )
        if kind == "tailings":
            if clean["status"] == "闭库" and not clean["closed_on"]:
                problems.append({"field": "closed_on", "message": "闭库的尾矿库须填写闭库日期"})
            if clean["status"] != "闭库" and clean["closed_on"]:
                problems.append({"field": "closed_on", "message": "只有闭库的尾矿库才填写闭库日期"})
        return problems

    # ------------------------------------------------------------ writes

    def create(self, kind: str, values: Mapping, actor: Actor, *, demo: bool = False) -> dict:
        self.check_edit(actor, kind)
        with self.engine.unit_of_work() as uow:
            entry_id = self.insert(
                uow.conn, kind, self.clean(uow.conn, kind, values), actor, demo=demo
            )
            uow.commit()
        return self.get(kind, entry_id, actor)

    def update(self, kind: str, entry_id: int, values: Mapping, actor: Actor) -> dict:
        """Change the fields given in ``values`` (the others keep their values)."""
        self.check_edit(actor, kind)
        table = TABLES[kind]
        with self.engine.unit_of_work() as uow:
            row = (
                uow.conn.execute(sa.select(table).where(table.c.id == entry_id)).mappings().first()
            )
            if row is None:
                raise NotFound(f"{KIND_NAMES[kind]}不存在：{entry_id}")
            merged = {f.name: row[f.name] for f in FIELDS[kind]}
            merged.update({k: v for k, v in values.items() if k in merged})
            clean = self.clean(uow.conn, kind, merged, entry_id)
            self.write(
                uow.conn,
                kind,
                entry_id,
                clean,
                actor,
                "update",
                {k: _jsonable(v) for k, v in clean.items() if v != row[k]},
            )
            uow.commit()
        return self.get(kind, entry_id, actor)

    def insert(
        self,
        conn: Connection,
        kind: str,
        clean: dict,
        actor: Actor,
        *,
        demo: bool = False,
        action: str = "create",
    ) -> int:
        now = utcnow()
        entry_id = conn.execute(
            TABLES[kind].insert().values(**clean, demo=demo, created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        self._event(
            conn,
            kind,
            entry_id,
            action,
            actor,
            now,
            {k: _jsonable(v) for k, v in clean.items() if v is not None},
        )
        return entry_id

    def write(
        self,
        conn: Connection,
        kind: str,
        entry_id: int,
        clean: dict,
        actor: Actor,
        action: str,
        changes: dict,
    ) -> None:
        now = utcnow()
        table = TABLES[kind]
        conn.execute(table.update().where(table.c.id == entry_id).values(**clean, updated_at=now))
        self._event(conn, kind, entry_id, action, actor, now, changes)

    @staticmethod
    def _event(
        conn: Connection,
        kind: str,
        entry_id: int | None,
        action: str,
        actor: Actor,
        at: datetime,
        data: dict,
    ) -> None:
        conn.execute(
            register_event.insert().values(
                kind=kind, entry_id=entry_id, action=action, actor=actor.username, at=at, data=data
            )
        )

    # ------------------------------------------------------------ reads

    def get(self, kind: str, entry_id: int, actor: Actor) -> dict:
        check_kind(kind)
        with self.engine.unit_of_work(readonly=True) as uow:
            rows = self._select(uow.conn, kind, actor, ids=[entry_id])
            if not rows:
                exists = uow.conn.execute(
                    sa.select(TABLES[kind].c.id).where(TABLES[kind].c.id == entry_id)
                ).first()
                if exists:
                    raise Forbidden(f"该{KIND_NAMES[kind]}不在本街镇属地，无权查看")
                raise NotFound(f"{KIND_NAMES[kind]}不存在：{entry_id}")
        return rows[0]

    def list(
        self,
        kind: str,
        actor: Actor,
        *,
        status: str | None = None,
        town: str | None = None,
        q: str | None = None,
        expiring: bool = False,
        enterprise_id: int | None = None,
    ) -> list[dict]:
        """Entries ``actor`` may read, by name; ``expiring``: only those with a licence that
        has expired or expires within ``expiry_months``."""
        check_kind(kind)
        with self.engine.unit_of_work(readonly=True) as uow:
            rows = self._select(
                uow.conn, kind, actor, status=status, town=town, q=q, enterprise_id=enterprise_id
            )
        if expiring:
            rows = [r for r in rows if r["licence_flags"]]
        return rows

    def events(self, kind: str, entry_id: int) -> list[dict]:
        with self.engine.unit_of_work(readonly=True) as uow:
            rows = (
                uow.conn.execute(
                    sa.select(register_event)
                    .where(register_event.c.kind == kind, register_event.c.entry_id == entry_id)
                    .order_by(register_event.c.id.desc())
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def _select(
        self,
        conn: Connection,
        kind: str,
        actor: Actor,
        *,
        ids: Iterable[int] = (),
        status=None,
        town=None,
        q=None,
        enterprise_id=None,
    ) -> list[dict]:
        table = TABLES[kind]
        stmt = sa.select(table).order_by(table.c.name, table.c.id)
        if ids:
            stmt = stmt.where(table.c.id.in_(list(ids)))
        if status:
            stmt = stmt.where(table.c.status == status)
        if town:
            stmt = stmt.where(table.c.town == town)
        if q:
            stmt = stmt.where(table.c.name.contains(q, autoescape=True))
        if enterprise_id is not None and kind != "enterprise":
            stmt = stmt.where(table.c.enterprise_id == enterprise_id)
        own = self.own_town(actor)
        if own is not None:
            if kind == "enterprise":
                facility_towns = sa.union(
                    *(
                        sa.select(TABLES[k].c.enterprise_id).where(TABLES[k].c.town == own)
                        for k in FACILITIES
                    )
                )
                stmt = stmt.where(sa.or_(table.c.town == own, table.c.id.in_(facility_towns)))
            else:
                stmt = stmt.where(table.c.town == own)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        names = {}
        if kind != "enterprise" and rows:
            ids_ = {r["enterprise_id"] for r in rows}
            names = dict(
                conn.execute(
                    sa.select(enterprise_table.c.id, enterprise_table.c.name).where(
                        enterprise_table.c.id.in_(ids_)
                    )
                ).all()
            )
        towns, today = self.towns(), local_today()
        for r in rows:
            r["kind"] = kind
            r["town_name"] = towns.get(r["town"], r["town"] or "")
            if kind != "enterprise":
                r["enterprise_name"] = names.get(r["enterprise_id"], "")
            r["licence_flags"] = self.licence_flags(kind, r, today)
        return rows

    def licence_flags(self, kind: str, row: Mapping, today: date) -> list[dict]:
        """Watched licences of ``row`` that have expired or expire within the window."""
        horizon = add_months(today, self.expiry_months)
        labels = {f.name: f.label for f in FIELDS[kind]}
        if row.get("status") in ("已关闭", "闭库"):
            return []  # nothing to renew for a closed facility
        flags = []
        for expiry, _issued in LICENCES[kind]:
            day = row.get(expiry)
            if day is None or day > horizon:
                continue
            flags.append(
                {
                    "field": expiry,
                    "label": labels[expiry].removesuffix("有效期至"),
                    "expiry": day,
                    "state": "expired" if day < today else "expiring",
                }
            )
        return flags


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value
