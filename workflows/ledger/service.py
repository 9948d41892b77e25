"""The ledger for the pages and the API: who may do what, each operation in one unit of work.

- The supervision office (区政府督查室, ``LEDGER_OFFICE``; users with the ``supervisor`` role;
  administrators) keeps the ledger: import, 现场交办, export.
- Users who read everything (leaders, supervisors, administrators) read every row; any other
  user reads the rows of their own department only (as 牵头单位 or 责任单位), read-only.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine import Actor, Forbidden, InvalidInput, NotFound

from . import operations as ops
from .excel import ImportRefused, export_ledger
from .operations import UnitDirectory

LEDGER_OFFICE = "supervision"  # the department that keeps the ledger (区政府督查室)
SUPERVISOR_ROLE = "supervisor"
FILTERS = ("source_table", "unit", "light", "status", "origin")


OFFICE_ONLY = "只有区政府督查室可以维护督查台账"


def can_manage(actor: Actor) -> bool:
    return (
        actor.is_admin or SUPERVISOR_ROLE in actor.roles or actor.department_code == LEDGER_OFFICE
    )


def unit_scope(actor: Actor) -> str | None:
    """None: every row; else the one department whose rows the actor may read."""
    if actor.reads_all or can_manage(actor):
        return None
    return actor.department_code or "-"


class LedgerService:
    def __init__(self, engine):
        self.engine = engine

    @property
    def directory(self) -> UnitDirectory:
        return UnitDirectory(self.engine.list_departments())

    def _manage(self, actor: Actor) -> None:
        if not can_manage(actor):
            raise Forbidden(OFFICE_ONLY)

    def list_rows(
        self, actor: Actor, filters: dict, limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict], int]:
        chosen = {k: filters.get(k) or None for k in FILTERS}
        scope = unit_scope(actor)
        if scope is not None:
            chosen["unit"] = scope
        with self.engine.unit_of_work(readonly=True) as uow:
            rows = ops.list_rows(uow.conn, **chosen)
        return rows[offset : offset + limit if limit is not None else None], len(rows)

    def source_tables(self) -> list[str]:
        with self.engine.unit_of_work(readonly=True) as uow:
            return ops.source_tables(uow.conn)

    def get_row(self, actor: Actor, row_id: int) -> dict:
        with self.engine.unit_of_work(readonly=True) as uow:
            row = ops.get_row(uow.conn, row_id)
        scope = unit_scope(actor)
        if row is None or (scope is not None and scope not in row["units"]):
            raise NotFound(f"台账事项 {row_id} 不存在")
        return row

    def preview(self, actor: Actor, filename: str | None, content: bytes) -> dict:
        from . import preview_import

        self._manage(actor)
        with self.engine.unit_of_work(readonly=True) as uow:
            try:
                return preview_import(uow.conn, self.directory, filename, content)
            except ImportRefused as exc:
                raise InvalidInput(
                    str(exc),
                    [{"line": None, "field": "file", "message": str(exc), "text": str(exc)}],
                ) from None

    def commit(self, actor: Actor, filename: str | None, content: bytes) -> dict:
        """Import the 分解表 whole, or nothing (InvalidInput with the row-level errors)."""
        from . import commit_import

        self._manage(actor)
        with self.engine.unit_of_work() as uow:
            try:
                result = commit_import(uow.conn, self.directory, filename, content, actor.username)
            except ImportRefused as exc:
                raise InvalidInput(
                    str(exc),
                    [{"line": None, "field": "file", "message": str(exc), "text": str(exc)}],
                ) from None
            if not result["ok"]:
                raise InvalidInput(
                    f"分解表有 {len(result['errors'])} 处错误，未导入任何事项", result["errors"]
                )
            uow.commit()
        return result

    def add_onsite(self, actor: Actor, fields: dict) -> dict:
        self._manage(actor)
        with self.engine.unit_of_work() as uow:
            row_id, errors = ops.add_onsite_row(
                uow.conn,
                self.directory,
                task=fields.get("task") or "",
                leader=fields.get("leader") or "",
                assigned_on=fields.get("assigned_on") or "",
                units=fields.get("units") or [],
                lead_unit=fields.get("lead_unit") or None,
                deadline=fields.get("deadline") or None,
                occasion=fields.get("occasion") or None,
                actor=actor.username,
            )
            if errors:
                raise InvalidInput("现场交办事项有误，未记入台账", errors)
            uow.commit()
        return self.get_row(actor, row_id)

    def export(self, actor: Actor, filters: dict) -> tuple[str, bytes]:
        rows, _total = self.list_rows(actor, filters)
        today = china_today()
        content = export_ledger(rows, self.directory.name, today)
        return f"督查台账-{today.isoformat()}.xlsx", content


def china_today() -> date:
    return (ops.now() + timedelta(hours=8)).date()
