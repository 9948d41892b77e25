"""The ledger and Excel (openpyxl): import of a 分解表, export of the 台账.

Import — the layout of the gazette's 任务分解表: a title row (the table's name, e.g.
《……重点任务分解表》) above a header row holding 序号, 工作任务 (or 任务/重点任务), 牵头领导, 牵头单位,
责任单位 (several, separated by 、，, or new lines) and 完成时限; a column 来源/分解表 may name the
source table per row instead. Every sheet is read; a sheet without a title row takes the sheet's
name. Cells merged over several rows (a leader or unit for a group of tasks) count for each row.
Units by name or code (org chart); deadlines as ``operations.parse_deadline`` reads them.

Export — one sheet, a 来源分解表 column (filterable, prints as one table): a title row, two header
rows with merged groups (责任分工, 推进情况, 销账), Chinese dates (2026年6月30日), the header
frozen, print area and titles set, landscape fit to one page wide, lights as coloured cells
(the layout: ``workflows/printed_table.py``).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from ..printed_table import chinese_date, printed_workbook
from ..workbooks import WorkbookRefused, open_workbook
from .operations import LIGHT_LABELS, ORIGIN_LABELS, STATUS_LABELS, deadline_label

MAX_IMPORT_BYTES = 5 * 1024 * 1024
HEADERS = {
    "number": ("序号", "编号"),
    "task": ("工作任务", "重点任务", "任务", "任务内容", "具体任务", "工作内容"),
    "lead_leader": ("牵头领导", "牵头区领导", "分管领导"),
    "lead_unit": ("牵头单位", "牵头部门"),
    "units": ("责任单位", "配合单位", "责任部门"),
    "deadline": ("完成时限", "完成时间", "时限"),
    "source_table": ("来源", "来源分解表", "分解表"),
}


class ImportRefused(ValueError):
    """The file itself cannot be read as a 分解表 (Chinese message)."""


def check_upload(filename: str | None, content: bytes, max_bytes: int = MAX_IMPORT_BYTES) -> None:
    if not filename or not filename.lower().endswith(".xlsx"):
        raise ImportRefused("只能导入 Excel 工作簿（.xlsx）文件")
    if len(content) > max_bytes:
        limit = (
            f"{max_bytes // (1024 * 1024)} MB"
            if max_bytes % (1024 * 1024) == 0
            else f"{max_bytes // 1024} KB"
        )
        raise ImportRefused(f"文件超过 {limit}，不予导入")
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise ImportRefused("文件不是有效的 Excel 工作簿（.xlsx）")


def _norm(value) -> str:
    return "".join(str(value or "").split())


def _header_map(cells) -> dict[str, int]:
    found = {}
    for idx, value in enumerate(cells):
        text = _norm(value)
        for field, names in HEADERS.items():
            if field not in found and text in names:
                found[field] = idx
    return found


def read_breakdown(content: bytes) -> list[dict]:
    """Raw rows of every sheet (``line`` = the Excel row number, ``sheet``)."""
    try:
        wb = open_workbook(content)
    except WorkbookRefused as err:  # a damaged, encrypted or bomb-like file
        raise ImportRefused(str(err)) from err
    rows: list[dict] = []
    for ws in wb.worksheets:
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:  # a merged cell counts for each row it covers
            value = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
                        grid[r - 1][c - 1] = value
        header_at, columns = None, {}
        for i, cells in enumerate(grid[:15]):
            found = _header_map(cells)
            if "number" in found and "task" in found:
                header_at, columns = i, found
                break
        if header_at is None:
            continue
        title = next((str(c).strip() for r in grid[:header_at] for c in r if c), None)
        title = title or ws.title
        for i in range(header_at + 1, len(grid)):
            cells = grid[i]

            def cell(field, cells=cells, columns=columns):
                idx = columns.get(field)
                return cells[idx] if idx is not None and idx < len(cells) else None

            if not any(_norm(cell(f)) for f in ("number", "task", "units", "lead_unit")):
                continue
            if _norm(cell("number")) in HEADERS["number"]:  # a repeated header row
                continue
            rows.append(
                {
                    "line": i + 1,
                    "sheet": ws.title,
                    "source_table": _norm(cell("source_table")) or title,
                    "number": cell("number"),
                    "task": cell("task"),
                    "lead_leader": cell("lead_leader"),
                    "lead_unit": cell("lead_unit"),
                    "units": cell("units"),
                    "deadline": cell("deadline"),
                }
            )
    if not rows:
        raise ImportRefused("未找到分解表：表头须含“序号”和“工作任务”两列")
    return rows


# ------------------------------------------------------------------ export

COLUMNS = [  # (group, header, width)
    (None, "序号", 6),
    (None, "来源分解表", 24),
    (None, "编号", 7),
    (None, "工作任务", 46),
    ("责任分工", "牵头领导", 12),
    ("责任分工", "牵头单位", 16),
    ("责任分工", "责任单位", 26),
    (None, "完成时限", 16),
    ("推进情况", "实际进度（%）", 10),
    ("推进情况", "灯色", 8),
    ("推进情况", "亮灯原因", 20),
    (None, "状态", 8),
    ("销账", "销账日期", 16),
    ("销账", "佐证材料", 12),
    (None, "来源说明", 20),
]


def export_ledger(rows: list[dict], unit_name, as_of: date, title: str | None = None) -> bytes:
    """The 台账 as an .xlsx workbook (``unit_name``: department code -> name)."""
    values, lights = [], {}
    for n, row in enumerate(rows, start=1):
        values.append(
            [
                n,
                row["source_table"],
                row["number"],
                row["task"],
                row.get("lead_leader") or "",
                unit_name(row["lead_unit"]) if row.get("lead_unit") else "",
                "、".join(unit_name(u) for u in row.get("responsible_units") or []),
                deadline_label(row.get("deadline"), row.get("deadline_text")),
                row.get("actual_pct") if row.get("actual_pct") is not None else "",
                LIGHT_LABELS.get(row.get("light") or "", "未亮灯"),
                row.get("light_reason") or "",
                STATUS_LABELS.get(row["status"], row["status"]),
                chinese_date(row.get("closed_on")),
                f"{len(row.get('closure_evidence') or [])} 份"
                if row.get("closure_evidence")
                else "",
                row.get("origin_note") or ORIGIN_LABELS.get(row.get("origin") or "", ""),
            ]
        )
        lights[n - 1] = row.get("light")
    return printed_workbook(
        "督查台账",
        title=title or f"昆都仑区重点工作督查台账（截至{chinese_date(as_of)}）",
        columns=COLUMNS,
        rows=values,
        wrap={4, 7, 11, 15},
        lights=lights,
    )
