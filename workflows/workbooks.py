"""Opening an uploaded Excel workbook safely: an .xlsx is a zip archive, and a few megabytes
can unpack to gigabytes (a zip bomb) that openpyxl would read into memory. The archive's
declared sizes are checked before anything is unpacked."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 2000
MAX_RATIO = 200  # an honest sheet compresses about 10:1; a bomb a thousandfold


class WorkbookRefused(ValueError):
    """The upload is not a workbook this service will open (Chinese message)."""


def open_workbook(content: bytes, *, read_only: bool = False):
    """The workbook of ``content`` (data values, not formulas); WorkbookRefused when it is no
    zip archive, holds too many parts or unpacks to more than ``MAX_UNPACKED_BYTES``, or
    openpyxl cannot read it."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as err:
        raise WorkbookRefused("文件不是有效的 Excel 工作簿（.xlsx）") from err
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED_BYTES or (
            unpacked > 10 * 1024 * 1024 and unpacked / packed > MAX_RATIO):
        raise WorkbookRefused("工作簿解压后过大（可能是异常文件），不予导入；请删除多余内容后重试")
    try:
        return load_workbook(io.BytesIO(content), read_only=read_only, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a damaged or encrypted file
        raise WorkbookRefused("无法读取该 Excel 文件，请另存为 .xlsx 后重试") from err
