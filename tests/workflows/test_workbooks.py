"""Uploaded workbooks (分解表, registers) are opened only when they are honest .xlsx files: a
zip bomb, a file that is no archive or a damaged workbook is refused in Chinese, never read."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from workflows.workbooks import MAX_UNPACKED_BYTES, WorkbookRefused, open_workbook


def _xlsx() -> bytes:
    wb = Workbook()
    wb.active["A1"] = "序号"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_honest_workbook_opens():
    assert open_workbook(_xlsx()).active["A1"].value == "序号"


def test_a_workbook_that_unpacks_far_too_big_is_refused_before_it_is_read():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (MAX_UNPACKED_BYTES + 1))
    bomb = out.getvalue()
    assert len(bomb) < 1024 * 1024  # a small upload
    with pytest.raises(WorkbookRefused, match="解压后过大"):
        open_workbook(bomb)


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken"])
def test_what_is_no_workbook_is_refused_in_chinese(content):
    with pytest.raises(WorkbookRefused, match="Excel"):
        open_workbook(content)


def test_an_archive_that_is_no_workbook_is_refused_in_chinese():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "你好")
    with pytest.raises(WorkbookRefused, match="无法读取"):
        open_workbook(out.getvalue())
