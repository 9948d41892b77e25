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
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
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
    number_format: str | None = None  # e.g. "#,##0" for amounts


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
        self.rows = 0
        # Named styles, set by name per cell: assigning border, alignment and fill objects to
        # each cell hashes them every time (10,000 rows took minutes instead of seconds).
        self.wb.add_named_style(NamedStyle("表格", border=self.border, alignment=self.center))
        self.wb.add_named_style(NamedStyle("表格换行", border=self.border, alignment=Alignment(
            vertical="center", wrap_text=True)))
        for light, colour in LIGHT_FILLS.items():
            self.wb.add_named_style(NamedStyle(
                f"灯色{light}", border=self.border, alignment=self.center,
                fill=PatternFill("solid", fgColor=colour),
                font=Font(bold=True, color="FF000000" if light == "yellow" else "FFFFFFFF")))
        self.styles = ["表格换行" if column.wrap else "表格" for column in columns]
        self.formats = [(c, column.number_format) for c, column in enumerate(columns, start=1)
                        if column.number_format]

        ws["A1"].font = Font(bold=True, size=16)
        if subtitle:  # a second line of the title cell in smaller type, the row made taller
            ws["A1"] = CellRichText(TextBlock(InlineFont(b=True, sz=16), title),
                                    TextBlock(InlineFont(sz=11), f"\n{subtitle}"))
        else:
            ws["A1"] = title
        ws["A1"].alignment = self.center
        ws.merge_cells(f"A1:{self.last}1")
        ws.row_dimensions[1].height = 46 if subtitle else 32
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
        for c, (value, style) in enumerate(zip(values, self.styles, strict=True), start=1):
            ws.cell(r, c, value).style = style
        for c, number_format in self.formats:
            ws.cell(r, c).number_format = number_format
        ws.row_dimensions[r].height = row_height(values, self.columns)
        if light_column and light in LIGHT_FILLS:
            ws.cell(r, light_column).style = f"灯色{light}"

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
