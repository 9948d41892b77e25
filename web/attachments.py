"""What may be uploaded as evidence: a list of document and image types, checked by the file
name's extension and by the first bytes of the content (a renamed executable is refused)."""

from __future__ import annotations

from typing import BinaryIO

from engine import InvalidInput

# extension -> (content type stored and served, accepted leading bytes; None: any)
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "ofd": ("application/ofd", (b"PK\x03\x04",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             (b"PK\x03\x04",)),
    "zip": ("application/zip", (b"PK\x03\x04",)),
    "txt": ("text/plain", None),
}
ALLOWED_TEXT = "PDF、OFD、图片（PNG/JPG）、Word、Excel、ZIP、TXT"


def check_upload(filename: str, stream: BinaryIO) -> str:
    """The content type to store for ``filename``; InvalidInput when the type is not allowed
    or the content does not match its extension. The stream is left at its start."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise InvalidInput(f"不支持该文件类型，只能上传 {ALLOWED_TEXT}",
                           details={"file": "文件类型不允许"})
    content_type, magics = ALLOWED[ext]
    head = stream.read(16)
    stream.seek(0)
    if magics is not None and not any(head.startswith(m) for m in magics):
        raise InvalidInput(f"文件内容与扩展名 .{ext} 不符", details={"file": "文件内容与类型不符"})
    if ext == "txt" and b"\x00" in head:
        raise InvalidInput("文本文件含有二进制内容", details={"file": "文件内容与类型不符"})
    return content_type
