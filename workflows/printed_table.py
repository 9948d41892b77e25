"""A table as an office prints it, in openpyxl: a title row, one or two header rows (columns of
a group under a merged group cell, single columns merged over both rows), thin borders, column
widths and each row's height for its wrapped text, lights as coloured cells with their word,
the header frozen, print area and print titles, landscape A4 fitted to one page wide, an auto
filter. The ledger's export and the 驾驶舱's supervision and project exports share it."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

LIGHT_FILLS = {"red": "FFE53935", "yellow": "FFFFD54F", "green": "FF43A047"}
LINE_HEIGHT = 15  # points per line of 11-point text
HEAD_FILL = "FFD9E1F2"


def chinese_date(value) -> str:
    """2026年3月6日 (empty for no date)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return ""


def text_width(text: str) -> int:
    """Width in Excel's column units: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def row_height(values, widths, bold: bool = False) -> float:
    """The height a row needs for its wrapped cells. Excel and LibreOffice keep a row's stored
    height, so wrapped text would overflow into the next row unless the height is set."""
    lines = 1
    for value, width in zip(values, widths, strict=False):
        text = "" if value is None else str(value)
        usable = max(1, width - (2 if bold else 1))
        lines = max(lines, -(-text_width(text) // usable) if text else 1)
    return lines * LINE_HEIGHT + 4


def _named_styles(wb, border, center, left) -> None:
    """The body cells' styles, registered once per workbook and set by name: assigning border,
    alignment and fill objects to each cell hashes them every time (10,000 rows of 17 columns
    took minutes instead of seconds)."""
    if "表格" in wb.named_styles:
        return
    wb.add_named_style(NamedStyle("表格", border=border, alignment=center))
    wb.add_named_style(NamedStyle("表格换行", border=border, alignment=left))
    for light, colour in LIGHT_FILLS.items():
        wb.add_named_style(NamedStyle(
            f"灯色{light}", border=border, alignment=center,
            fill=PatternFill("solid", fgColor=colour),
            font=Font(bold=True, color="FF000000" if light == "yellow" else "FFFFFFFF")))


def write_table(
    ws,
    *,
    title: str,
    columns: list[tuple[str | None, str, int]],
    rows: list[list],
    wrap: set[int] = frozenset(),
    lights: dict[int, str] | None = None,
    subtitle: str | None = None,
    formats: dict[int, str] | None = None,
) -> None:
    """``columns``: (group or None, header, width); ``rows``: the values, 1-based column
    numbers in ``wrap`` left-aligned and wrapped (the rest centred); ``lights``: for a row's
    index in ``rows``, the light (red/yellow/green) filling the cell of the column headed 灯色;
    ``subtitle``: a second line of the title in smaller type (the filter, the date);
    ``formats``: number formats by 1-based column (``#,##0`` for amounts)."""
    last = get_column_letter(len(columns))
    thin = Side(style="thin", color="FF808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(vertical="center", wrap_text=True)
    head_fill = PatternFill("solid", fgColor=HEAD_FILL)
    widths = [w for _g, _h, w in columns]
    _named_styles(ws.parent, border, center, left)

    ws["A1"].font = Font(bold=True, size=16)
    if subtitle:
        ws["A1"] = CellRichText(TextBlock(InlineFont(b=True, sz=16), title),
                                TextBlock(InlineFont(sz=11), f"\n{subtitle}"))
    else:
        ws["A1"] = title
    ws["A1"].alignment = center
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 46 if subtitle else 32
    col = 1
    while col <= len(columns):
        group = columns[col - 1][0]
        if group is None:
            ws.cell(2, col, columns[col - 1][1])
            ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
            col += 1
            continue
        span = 1
        while col + span <= len(columns) and columns[col + span - 1][0] == group:
            span += 1
        ws.cell(2, col, group)
        ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + span - 1)
        for k in range(span):
            ws.cell(3, col + k, columns[col + k - 1][1])
        col += span
    for r in (2, 3):
        for c in range(1, len(columns) + 1):
            cell = ws.cell(r, c)
            cell.font, cell.alignment, cell.fill, cell.border = (
                Font(bold=True),
                center,
                head_fill,
                border,
            )
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.row_dimensions[3].height = row_height([h for _g, h, _w in columns], widths, bold=True)

    light_col = next((n for n, (_g, h, _w) in enumerate(columns, start=1) if h == "灯色"), None)
    styles = ["表格换行" if c in wrap else "表格" for c in range(1, len(columns) + 1)]
    for n, values in enumerate(rows):
        r = n + 4
        for c, (value, style) in enumerate(zip(values, styles, strict=False), start=1):
            ws.cell(r, c, value).style = style
        for c, number_format in (formats or {}).items():
            ws.cell(r, c).number_format = number_format
        ws.row_dimensions[r].height = row_height(values, widths)
        light = (lights or {}).get(n)
        if light in LIGHT_FILLS and light_col:
            ws.cell(r, light_col).style = f"灯色{light}"
    end = max(3, len(rows) + 3)
    ws.freeze_panes = "A4"
    ws.print_area = f"A1:{last}{end}"
    ws.print_title_rows = "2:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.auto_filter.ref = f"A3:{last}{end}"


def printed_workbook(sheet_title: str, **table) -> bytes:
    """A one-sheet .xlsx workbook holding ``write_table(**table)`` (the exports' common shape)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title
    write_table(ws, **table)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
