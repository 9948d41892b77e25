"""The supervision ledger (督查台账, 昆府发〔2026〕10号) as the office's own data: tables
(``tables``), operations (``operations``: 建账/对账/查账/销账, 现场交办, reads), Excel import and
export (``excel``) and the service handlers of ``supervision_monthly`` (``handlers``).

``preview_import`` / ``commit_import`` are what the ledger page and API call: a 分解表 is read,
every row checked against the org chart (row-level Chinese errors: unknown unit, missing or
unreadable deadline, empty task, duplicate number), and entered only when no row has an error —
in the caller's one transaction, so nothing is ever half-imported.
"""

from __future__ import annotations

from . import operations
from .excel import MAX_IMPORT_BYTES, ImportRefused, check_upload, export_ledger, read_breakdown
from .handlers import LedgerHandlers
from .operations import UnitDirectory, check_rows, enter_rows
from .tables import TABLES, ledger_event, ledger_progress, ledger_row, ledger_row_unit

__all__ = [
    "MAX_IMPORT_BYTES",
    "TABLES",
    "ImportRefused",
    "LedgerHandlers",
    "UnitDirectory",
    "commit_import",
    "export_ledger",
    "ledger_event",
    "ledger_progress",
    "ledger_row",
    "ledger_row_unit",
    "operations",
    "preview_import",
]


def preview_import(
    conn,
    directory: UnitDirectory,
    filename: str | None,
    content: bytes,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> dict:
    """The 分解表 as parsed: ``rows`` (each with ``ok``), ``errors`` (row-level, Chinese),
    ``source_tables``, ``ok``. Raises ImportRefused for a file that is not a readable .xlsx
    within the size limit."""
    check_upload(filename, content, max_bytes)
    parsed, errors = check_rows(conn, directory, read_breakdown(content))
    return {
        "rows": parsed,
        "errors": errors,
        "ok": not errors,
        "source_tables": sorted({p["source_table"] for p in parsed}),
    }


def commit_import(
    conn,
    directory: UnitDirectory,
    filename: str | None,
    content: bytes,
    actor: str | None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> dict:
    """``preview_import``, then — only when no row has an error — every row entered (建账 event
    each, one 导入 event); ``row_ids`` lists them. With errors nothing is written."""
    result = preview_import(conn, directory, filename, content, max_bytes)
    if not result["ok"]:
        return {**result, "row_ids": []}
    ids = enter_rows(
        conn,
        result["rows"],
        actor,
        origin="breakdown",
        detail={"file": filename, "source_tables": result["source_tables"]},
    )
    return {**result, "row_ids": ids}
