"""Evidence files over HTTP, for the pages and the API alike: what may be uploaded (a list of
document and image types, checked by the file name's extension and by the first bytes of the
content, so a renamed executable is refused) and how a stored file is sent back."""

from __future__ import annotations

import io
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

from flask import request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from engine import AttachmentInfo, InvalidInput

# extension -> (content type stored and served, accepted leading bytes; None: any)
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "ofd": ("application/ofd", (b"PK\x03\x04",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "zip": ("application/zip", (b"PK\x03\x04",)),
    "txt": ("text/plain", None),
}
ALLOWED_TEXT = "PDF、OFD、图片（PNG/JPG）、Word、Excel、ZIP、TXT"


def check_upload(filename: str, stream: BinaryIO) -> str:
    """The content type to store for ``filename``; InvalidInput when the type is not allowed
    or the content does not match its extension. The stream is left at its start."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in ALLOWED:
        raise InvalidInput(
            f"不支持该文件类型，只能上传 {ALLOWED_TEXT}", details={"file": "文件类型不允许"}
        )
    content_type, magics = ALLOWED[ext]
    head = stream.read(16)
    stream.seek(0)
    if magics is not None and not any(head.startswith(m) for m in magics):
        raise InvalidInput(f"文件内容与扩展名 .{ext} 不符", details={"file": "文件内容与类型不符"})
    if ext == "txt" and b"\x00" in head:
        raise InvalidInput("文本文件含有二进制内容", details={"file": "文件内容与类型不符"})
    return content_type


# Shown in the browser rather than downloaded; everything else is a download.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


class _ClosingReader(io.BufferedReader):
    """A file that closes itself once read to its end. A WSGI server closes the response in any
    case; this keeps a client that never does (a test harness) from leaking the handle."""

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            self.close()
        return chunk


def attachment_response(info: AttachmentInfo, path: Path):
    """The file as a response that a browser never runs: the stored type without sniffing,
    a sandbox CSP (an uploaded PDF or image cannot script this origin) and no caching. The
    content hash is the ETag; Range and If-None-Match requests are answered."""
    size = path.stat().st_size
    file = _ClosingReader(io.FileIO(path, "rb"))
    response = send_file(
        file,
        mimetype=info.content_type,
        as_attachment=info.content_type not in INLINE_TYPES,
        download_name=info.filename,
        conditional=False,
        etag=info.sha256,
        last_modified=info.uploaded_at.replace(tzinfo=UTC),
        max_age=0,
    )
    response.content_length = size
    try:
        response = response.make_conditional(request, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:
        file.close()
        raise
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
