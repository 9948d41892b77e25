"""Import the registers from an Excel workbook (openpyxl), and the template to fill in.

One workbook, one sheet per register — 企业, 矿山, 选矿厂, 尾矿库 — any of them may be left out;
the first row names the columns (the labels of ``fields.FIELDS``; a facility names its
enterprise by 统一社会信用代码, from the same workbook or already registered; 属地街镇 by name
or code). An enterprise is matched by its 统一社会信用代码, a facility by its enterprise and
name: a match is updated, anything else is added.

All or nothing: the whole workbook is written in one unit of work; a preview is the same run
rolled back. Any problem (named by sheet, row and column, in Chinese) leaves the registers as
they were.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from engine import Actor, Forbidden, InvalidInput

from ..workbooks import WorkbookRefused, open_workbook
from .entries import Registers, problems_error
from .fields import FIELDS, KIND_NAMES, KINDS, Field
from .tables import TABLES
from .tables import enterprise as enterprise_table

SHEETS = {KIND_NAMES[k]: k for k in KINDS}  # 企业 / 矿山 / 选矿厂 / 尾矿库
ENTERPRISE_CODE = "所属企业统一社会信用代码"
MAX_ROWS = 5000


def columns(kind: str) -> list[tuple[str, str, bool]]:
    """(field name, column header, required) of a register's sheet."""
    out = []
    for f in FIELDS[kind]:
        if f.type == "enterprise":
            out.append(("enterprise_code", ENTERPRISE_CODE, True))
        else:
            out.append((f.name, f.label, f.required))
    return out


def template() -> bytes:
    """An empty workbook to fill in: a sheet per register (required columns marked *, lists
    for the statuses) and a sheet of notes."""
    wb = Workbook()
    wb.remove(wb.active)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F5")
    for kind in KINDS:
        ws = wb.create_sheet(KIND_NAMES[kind])
        for i, (name, header, required) in enumerate(columns(kind), start=1):
            cell = ws.cell(row=1, column=i, value=header + (" *" if required else ""))
            cell.font, cell.fill = head_font, head_fill
            cell.alignment = Alignment(horizontal="center")
            ws.column_dimensions[get_column_letter(i)].width = max(14, len(header) * 2 + 4)
            spec = next((f for f in FIELDS[kind] if f.name == name), None)
            if spec is not None and spec.type == "choice":
                rule = DataValidation(
                    type="list",
                    formula1='"' + ",".join(spec.choices) + '"',
                    allow_blank=not required,
                )
                rule.error = f"「{spec.label}」只能是{'、'.join(spec.choices)}"
                ws.add_data_validation(rule)
                rule.add(f"{get_column_letter(i)}2:{get_column_letter(i)}{MAX_ROWS}")
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    for line in (
        "每个工作表一个名录（企业、矿山、选矿厂、尾矿库），不用的工作表可以删去；第一行是列名，不要改动。",
        "带 * 的列必须填写。日期写成 2026-03-01 或设为日期格式。",
        "属地街镇填写街镇名称（如 卜尔汉图镇、昆北街道办事处）或其代码。",
        "矿山、选矿厂、尾矿库以「所属企业统一社会信用代码」关联企业：企业须已登记或在本文件的企业表中。",
        "企业按统一社会信用代码、设施按所属企业和名称识别：已登记的更新，其余新增。",
        "导入全部成功或全部不导入：有任何一行出错，整个文件都不导入，并逐行列出错误。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export(registers: Registers, actor: Actor) -> bytes:
    """The registers ``actor`` may read, as a workbook in the import layout (a sheet per
    register; a facility names its enterprise by 统一社会信用代码): exported, edited and
    imported again, it updates the same entries."""
    wb = Workbook()
    wb.remove(wb.active)
    # a 街镇 reads the enterprise of every facility in its 属地 (entries.py): codes are known
    codes = {e["id"]: e["credit_code"] for e in registers.list("enterprise", actor)}
    towns = registers.towns()
    for kind in KINDS:
        ws = wb.create_sheet(KIND_NAMES[kind])
        cols = columns(kind)
        ws.append([h + (" *" if req else "") for _n, h, req in cols])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in registers.list(kind, actor):
            ws.append(
                [
                    codes.get(row["enterprise_id"])
                    if name == "enterprise_code"
                    else towns.get(row[name], row[name])
                    if name == "town"
                    else row[name]
                    for name, _h, _r in cols
                ]
            )
        for i, (_n, header, _r) in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(14, len(header) * 2 + 4)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell_text(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        return value
    if value is None:
        return None
    return str(value).strip() or None


class RegisterImport:
    """``preview`` / ``commit`` of a workbook by ``actor`` (who must be allowed to edit every
    register the workbook fills)."""

    def __init__(self, registers: Registers):
        self.registers = registers

    def preview(self, content: bytes, actor: Actor) -> dict:
        return self._run(content, actor, commit=False)

    def commit(self, content: bytes, actor: Actor) -> dict:
        """Import the workbook, or InvalidInput (``details.problems``: sheet, row, field,
        message) and nothing imported."""
        result = self._run(content, actor, commit=True)
        if result["errors"]:
            raise InvalidInput(
                f"导入文件有 {len(result['errors'])} 处错误，未导入任何数据",
                {"problems": result["errors"]},
            )
        return result

    def _run(self, content: bytes, actor: Actor, *, commit: bool) -> dict:
        sheets = self._read(content)
        for kind, _rows in sheets:
            self.registers.check_edit(actor, kind)
        errors, summary = [], []
        with self.registers.engine.unit_of_work() as uow:
            codes: dict[str, int] = {}  # credit codes of this workbook -> enterprise id
            for kind, rows in sheets:
                counts = {
                    "kind": kind,
                    "sheet": KIND_NAMES[kind],
                    "rows": len(rows),
                    "created": 0,
                    "updated": 0,
                }
                seen: set = set()
                for row_no, values in rows:
                    try:
                        outcome = self._row(uow.conn, kind, values, actor, codes, seen)
                    except InvalidInput as exc:
                        for p in (exc.details or {}).get("problems") or [
                            {"field": None, "message": exc.message}
                        ]:
                            errors.append(
                                {
                                    "sheet": KIND_NAMES[kind],
                                    "row": row_no,
                                    "field": p.get("field"),
                                    "message": p["message"],
                                }
                            )
                        continue
                    counts[outcome] += 1
                summary.append(counts)
            if commit and not errors:
                uow.commit()
        return {
            "ok": not errors,
            "committed": commit and not errors,
            "sheets": summary,
            "errors": errors,
        }

    def _read(self, content: bytes) -> list[tuple[str, list[tuple[int, dict]]]]:
        try:
            wb = open_workbook(content, read_only=True)
        except WorkbookRefused as err:  # not a workbook, damaged, or unpacking far too big
            raise InvalidInput(f"无法读取该文件：{err}") from None
        problems, sheets = [], []
        try:
            for ws in wb.worksheets:
                kind = SHEETS.get(ws.title.strip())
                if kind is None:
                    if ws.title.strip() != "填写说明":
                        problems.append(
                            {
                                "field": None,
                                "message": f"未知的工作表「{ws.title}」：只能是企业、矿山、选矿厂、尾矿库",
                            }
                        )
                    continue
                sheets.append((kind, self._sheet_rows(ws, kind, problems)))
        finally:
            wb.close()
        if not problems and not any(rows for _k, rows in sheets):
            problems.append({"field": None, "message": "文件中没有要导入的数据行"})
        if problems:
            raise problems_error(problems)
        order = {k: i for i, k in enumerate(KINDS)}  # enterprises before their facilities
        return sorted(sheets, key=lambda s: order[s[0]])

    @staticmethod
    def _sheet_rows(ws, kind: str, problems: list) -> list[tuple[int, dict]]:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None) or ()
        by_header = {h: n for n, h, _r in columns(kind)}
        index = {}
        for i, cell in enumerate(header):
            text = str(cell or "").replace("*", "").strip()
            if not text:
                continue
            if text not in by_header:
                problems.append(
                    {"field": None, "message": f"工作表「{ws.title}」第 1 行：未知的列「{text}」"}
                )
                continue
            index[by_header[text]] = i
        for name, head, required in columns(kind):
            if required and name not in index:
                problems.append(
                    {"field": name, "message": f"工作表「{ws.title}」缺少必填列「{head}」"}
                )
        out = []
        for row_no, cells in enumerate(rows, start=2):
            values = {n: _cell_text(cells[i]) if i < len(cells) else None for n, i in index.items()}
            if any(v is not None for v in values.values()):
                out.append((row_no, values))
            if len(out) > MAX_ROWS:
                problems.append(
                    {
                        "field": None,
                        "message": f"工作表「{ws.title}」超过 {MAX_ROWS} 行，请分批导入",
                    }
                )
                break
        return out

    def _row(self, conn, kind: str, values: dict, actor: Actor, codes: dict, seen: set) -> str:
        regs = self.registers
        values = dict(values)
        if kind == "enterprise":
            code = str(values.get("credit_code") or "").upper()
            key = code
            existing = (
                conn.execute(
                    sa.select(enterprise_table.c.id).where(enterprise_table.c.credit_code == code)
                ).scalar()
                if code
                else None
            )
        else:
            code = str(values.pop("enterprise_code", None) or "").upper()
            if not code:
                raise problems_error(
                    [{"field": "enterprise_code", "message": f"「{ENTERPRISE_CODE}」必须填写"}]
                )
            ent = (
                codes.get(code)
                or conn.execute(
                    sa.select(enterprise_table.c.id).where(enterprise_table.c.credit_code == code)
                ).scalar()
            )
            if ent is None:
                raise problems_error(
                    [
                        {
                            "field": "enterprise_code",
                            "message": f"统一社会信用代码 {code} 的企业未登记，也不在本文件的企业表中",
                        }
                    ]
                )
            values["enterprise_id"] = ent
            key = (ent, values.get("name"))
            table = TABLES[kind]
            existing = conn.execute(
                sa.select(table.c.id).where(
                    table.c.enterprise_id == ent, table.c.name == values.get("name")
                )
            ).scalar()
        if key in seen:
            raise problems_error(
                [
                    {
                        "field": "name" if kind != "enterprise" else "credit_code",
                        "message": "与本表前面的一行重复",
                    }
                ]
            )
        seen.add(key)
        if existing is None:
            entry_id = regs.insert(
                conn, kind, regs.clean(conn, kind, values), actor, action="import"
            )
            outcome = "created"
        else:
            entry_id = existing
            row = (
                conn.execute(sa.select(TABLES[kind]).where(TABLES[kind].c.id == existing))
                .mappings()
                .first()
            )
            merged = {f.name: row[f.name] for f in FIELDS[kind]}
            merged.update({k: v for k, v in values.items() if k in merged})
            clean = regs.clean(conn, kind, merged, existing)
            regs.write(
                conn,
                kind,
                existing,
                clean,
                actor,
                "import",
                {
                    k: v.isoformat() if isinstance(v, date) else v
                    for k, v in clean.items()
                    if v != row[k]
                },
            )
            outcome = "updated"
        if kind == "enterprise":
            codes[key] = entry_id
        return outcome


def header_of(field: Field) -> str:
    return ENTERPRISE_CODE if field.type == "enterprise" else field.label


def ensure_editor(registers: Registers, actor: Actor) -> None:
    """Forbidden unless ``actor`` may edit at least one register (the import page)."""
    if not registers.editable_kinds(actor):
        raise Forbidden("本部门不能导入名录")
