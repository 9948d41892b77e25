"""督办单: the 督查室's written notice to a unit on a ledger row, numbered 督办〔2026〕N号 per year in
issue order. The number is kept (``ledger_notice``): the first issue assigns it, a reprint reads
it back, so a notice printed twice carries the same number. The sheet prints on A4 from the page
(``web/templates/dashboard/notice_sheet.html``) and downloads as a Word document (``docx``).
"""

from __future__ import annotations

import io
from datetime import date, datetime

import sqlalchemy as sa
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from engine import local_day

from ..ledger.operations import LIGHT_LABELS, add_event, deadline_label
from ..ledger.tables import ledger_notice, ledger_row, ledger_row_unit
from ..printed_table import chinese_date

ISSUING_OFFICE = "昆都仑区人民政府督查室"
TITLE = "督 办 单"
REPLY_WORKING_DAYS = 3
MAX_REQUIREMENT = 1000


def notice_number(year: int, number: int) -> str:
    return f"督办〔{year}〕{number}号"


def row_for_unit(conn, row_id: int, unit: str) -> dict | None:
    """The ledger row when ``unit`` is one of its units (牵头 or 责任), else None."""
    row = conn.execute(sa.select(ledger_row).where(ledger_row.c.id == row_id)).first()
    if row is None:
        return None
    units = {
        code
        for (code,) in conn.execute(
            sa.select(ledger_row_unit.c.department_code).where(ledger_row_unit.c.row_id == row_id)
        )
    }
    return dict(row._mapping) if unit in units else None


def find_notice(conn, row_id: int, unit: str, year: int) -> dict | None:
    found = conn.execute(
        sa.select(ledger_notice).where(
            ledger_notice.c.row_id == row_id,
            ledger_notice.c.department_code == unit,
            ledger_notice.c.year == year,
        )
    ).first()
    return dict(found._mapping) if found else None


def default_requirement(row: dict) -> str:
    state = LIGHT_LABELS.get(row.get("light") or "", "")
    reason = f"（{row['light_reason']}）" if row.get("light_reason") else ""
    lead = f"该事项目前为{state}{reason}，推进滞后。" if state and state != "绿灯" else ""
    return (
        f"{lead}请你单位高度重视，对照任务目标和完成时限，于收到本督办单后"
        f"{REPLY_WORKING_DAYS}个工作日内将办理进展、存在问题及下步措施书面报送区政府督查室"
        "（须经单位主要负责人审核签字）。逾期未报或推进不力的，将按规定约谈、通报。"
    )


def issue_notice(
    conn, *, row_id: int, unit: str, actor: str, issued_at: datetime, year: int,
    requirement: str | None = None,
) -> dict:
    """The notice of (row, unit) for ``year``: the one already issued, else a new one with the
    year's next number (and a 督办单 event on the row). A race for the same number ends in the
    unique constraint (year, number): the caller's unit of work rolls back and may try again."""
    existing = find_notice(conn, row_id, unit, year)
    if existing is not None:
        return existing
    last = conn.execute(
        sa.select(sa.func.max(ledger_notice.c.number)).where(ledger_notice.c.year == year)
    ).scalar()
    values = {
        "year": year,
        "number": int(last or 0) + 1,
        "row_id": row_id,
        "department_code": unit,
        "requirement": (requirement or "").strip()[:MAX_REQUIREMENT] or None,
        "issued_by": actor,
        "issued_at": issued_at,
    }
    notice_id = conn.execute(sa.insert(ledger_notice).values(**values)).inserted_primary_key[0]
    add_event(
        conn,
        row_id,
        "notice",
        actor,
        {"unit": unit, "number": notice_number(year, values["number"])},
    )
    return {"id": notice_id, **values}


def sheet(row: dict, unit_name: str, notice: dict | None, today: date) -> dict:
    """What the sheet says (page and Word alike); unnumbered (a draft) before it is issued."""
    issued_day = notice["issued_at"] if notice else today
    if isinstance(issued_day, datetime):  # stored in UTC: the day in China
        issued_day = local_day(issued_day)
    return {
        "number": notice_number(notice["year"], notice["number"]) if notice else None,
        "unit": unit_name,
        "task": row["task"],
        "source": f"{row['source_table']} 第{row['number']}项",
        "deadline": deadline_label(row.get("deadline"), row.get("deadline_text")),
        "progress": f"{row['actual_pct']}%" if row.get("actual_pct") is not None else "未报",
        "light": LIGHT_LABELS.get(row.get("light") or "", "未亮灯"),
        "requirement": (notice or {}).get("requirement") or default_requirement(row),
        "office": ISSUING_OFFICE,
        "date": chinese_date(issued_day),
    }


def _font(run, size: float, bold: bool = False, face: str = "仿宋") -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = face
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), face)


def docx(fields: dict) -> bytes:
    """The sheet as a Word document on A4."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(3.0)
    section.left_margin = section.right_margin = Cm(2.6)

    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(head.add_run(ISSUING_OFFICE), 16, True, "黑体")
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(TITLE), 26, True, "宋体")
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(number.add_run(fields["number"] or "（未签发）"), 14)

    items = [
        ("被督办单位", fields["unit"]),
        ("督办事项", fields["task"]),
        ("事项来源", fields["source"]),
        ("完成时限", fields["deadline"]),
        ("当前进度", f"{fields['progress']}（{fields['light']}）"),
        ("督办要求", fields["requirement"]),
    ]
    table = doc.add_table(rows=len(items), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = (Cm(3.4), Cm(12.4))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid's widths: LibreOffice and WPS read these
    for i, (label, value) in enumerate(items):
        left, right = table.rows[i].cells
        left.width, right.width = widths
        _font(left.paragraphs[0].add_run(label), 14, True)
        left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(right.paragraphs[0].add_run(value), 14)
    table.rows[-1].height = Cm(6)

    doc.add_paragraph()
    for text in (fields["office"], fields["date"]):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(p.add_run(text), 14)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
