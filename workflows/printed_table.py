"""The layout the district's Excel exports share, as an office prints them (openpyxl): a title
row, two header rows with merged groups (units in the headers), bordered rows that wrap and
grow to their text, lights as coloured cells with the word, Chinese dates (2026年3月6日), the
header frozen, print titles and print area set, landscape A4 one page wide, a filter on the
header. Used by the supervision ledger's export (``workflows.ledger.excel``) and the
dashboard's project ledger (``workflows.dashboard.project_export``)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

LIGHT_FILLS = {"red": "FFE53935", "yellow": "FFFFD54F", "green": "FF43A047"}
LINE_HEIGHT = 15  # points per line of 11-point text
HEADER_ROWS = 3  # the title row and the two header rows


@dataclass(frozen=True)
class Column:
    group: str | None  # the merged upper header; None: the header spans both rows
    header: str
    width: int  # Excel's column units (a Chinese character takes two)
    wrap: bool = False  # long text, left-aligned; else centred


def chinese_date(value) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return ""


def text_width(text: str) -> int:
    """Width in Excel's column units: a Chinese character takes two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def row_height(values, columns, bold: bool = False) -> float:
    """The height a row needs for its wrapped cells. Excel and LibreOffice keep a row's stored
    height, so wrapped text would overflow into the next row unless the height is set."""
    lines = 1
    for value, column in zip(values, columns, strict=False):
        text = "" if value is None else str(value)
        usable = max(1, column.width - (2 if bold else 1))
        lines = max(lines, -(-text_width(text) // usable) if text else 1)
    return lines * LINE_HEIGHT + 4


class PrintedTable:
    """One sheet of a printed table: ``title`` (and ``subtitle``, e.g. the filter, in smaller
    type under it), the headers, then ``add_row`` per row, then ``save``."""

    def __init__(self, sheet_title: str, columns: list[Column], title: str,
                 subtitle: str | None = None):
        self.columns = columns
        self.wb = Workbook()
        ws = self.ws = self.wb.active
        ws.title = sheet_title
        self.last = get_column_letter(len(columns))
        thin = Side(style="thin", color="FF808080")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.wrap = Alignment(vertical="center", wrap_text=True)
        self.rows = 0
        self.light_fonts = {light: Font(bold=True, color="FF000000" if light == "yellow"
                                        else "FFFFFFFF") for light in LIGHT_FILLS}
        self.light_fills = {light: PatternFill("solid", fgColor=colour)
                            for light, colour in LIGHT_FILLS.items()}

        # the subtitle as a second line of the title cell, the row made taller for it
        ws["A1"] = f"{title}\n{subtitle}" if subtitle else title
        ws["A1"].font = Font(bold=True, size=16)
        ws["A1"].alignment = self.center
        ws.merge_cells(f"A1:{self.last}1")
        ws.row_dimensions[1].height = 52 if subtitle else 32
        self._headers()

    def _headers(self) -> None:
        ws, columns = self.ws, self.columns
        col = 1
        while col <= len(columns):
            group = columns[col - 1].group
            if group is None:
                ws.cell(2, col, columns[col - 1].header)
                ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
                col += 1
                continue
            span = 1
            while col + span <= len(columns) and columns[col + span - 1].group == group:
                span += 1
            ws.cell(2, col, group)
            ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + span - 1)
            for k in range(span):
                ws.cell(3, col + k, columns[col + k - 1].header)
            col += span
        head_fill = PatternFill("solid", fgColor="FFD9E1F2")
        bold = Font(bold=True)
        for r in (2, 3):
            for c in range(1, len(columns) + 1):
                cell = ws.cell(r, c)
                cell.font, cell.alignment, cell.fill, cell.border = (
                    bold, self.center, head_fill, self.border)
        for c, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(c)].width = column.width
        ws.row_dimensions[3].height = row_height([c.header for c in columns], columns, bold=True)

    def add_row(self, values: list, light_column: int | None = None,
                light: str | None = None) -> None:
        """A row; ``light_column`` (1-based) is filled in the colour of ``light``."""
        self.rows += 1
        r = self.rows + HEADER_ROWS
        ws = self.ws
        for c, (value, column) in enumerate(zip(values, self.columns, strict=True), start=1):
            cell = ws.cell(r, c, value)
            cell.border = self.border
            cell.alignment = self.wrap if column.wrap else self.center
        ws.row_dimensions[r].height = row_height(values, self.columns)
        if light_column and light in LIGHT_FILLS:
            cell = ws.cell(r, light_column)
            cell.fill = self.light_fills[light]
            cell.font = self.light_fonts[light]

    def save(self) -> bytes:
        ws = self.ws
        end = max(HEADER_ROWS, self.rows + HEADER_ROWS)
        ws.freeze_panes = f"A{HEADER_ROWS + 1}"
        ws.print_area = f"A1:{self.last}{end}"
        ws.print_title_rows = f"2:{HEADER_ROWS}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.auto_filter.ref = f"A{HEADER_ROWS}:{self.last}{end}"
        out = io.BytesIO()
        self.wb.save(out)
        return out.getvalue()
