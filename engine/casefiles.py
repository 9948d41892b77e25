"""What a case carries besides its workflow state: attachments, drafts, comments, and the marks
that show on its diagram (completed, current and overdue elements).

Attachment bytes live in a content-addressed file store (``<root>/ab/abcdef…``, named by their
SHA-256, written once); the ``attachment`` row says who attached which file to which case, task
and form field. ``CaseFiles`` puts the bytes in the store and does everything else through the
engine's public operations, under the same visibility rules as the case itself.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from .dto import Actor, AttachmentInfo, DefinitionInfo, DiagramMarks, DraftInfo
from .errors import InvalidInput, NotFound
from .facade import Engine

__all__ = ["AttachmentInfo", "CaseFiles", "DiagramMarks", "DraftInfo", "FileStore",
           "clean_filename"]

_CHUNK = 64 * 1024


class FileStore:
    """Files by SHA-256 under ``root``; a file is written to a temporary name and renamed."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, stream: BinaryIO, max_bytes: int) -> tuple[str, int]:
        """Store ``stream``; (sha256, size). InvalidInput past ``max_bytes`` (nothing kept)."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        limit = (f"{max_bytes // (1024 * 1024)} MB" if max_bytes >= 1024 * 1024
                                 else f"{max_bytes // 1024} KB")
                        raise InvalidInput(
                            f"文件超过大小上限（{limit}）",
                            details={"file": "文件过大"},
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            target = self.path(sha)
            if target.exists():
                os.unlink(tmp)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def clean_filename(name: str | None) -> str:
    """A display name without directories or control characters, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name)
                   if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        raise InvalidInput("文件名不能为空", details={"file": "文件名不能为空"})
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:255]
    return name


class CaseFiles:
    """Attachments, drafts, comments and diagram marks of the engine's cases: the file store
    for the bytes, the engine's public operations for the rest."""

    def __init__(self, engine: Engine, store: FileStore, *, max_bytes: int = 20 * 1024 * 1024):
        self.engine = engine
        self.store = store
        self.max_bytes = max_bytes

    # ------------------------------------------------------------------ attachments

    def add_attachment(
        self,
        actor: Actor,
        *,
        filename: str,
        content_type: str,
        stream: BinaryIO,
        instance_id: int | None = None,
        task_id: str | None = None,
        field: str | None = None,
    ) -> AttachmentInfo:
        """Attach a file to an open task (its department's users) or to a case it may see.

        Checked before the bytes are stored (a user who may not attach puts nothing on disk),
        and again by the unit of work that records the attachment."""
        filename = clean_filename(filename)
        content_type = (content_type or "application/octet-stream")[:120]
        if field is not None and (not isinstance(field, str) or len(field) > 200):
            raise InvalidInput("field 无效")
        self.engine.check_can_attach(actor, instance_id=instance_id, task_id=task_id)
        # The bytes first (outside the transaction); a failed insert leaves only an unreferenced
        # file, which is harmless and is reused by the next upload of the same content.
        sha, size = self.store.put(stream, self.max_bytes)
        if size == 0:
            raise InvalidInput("文件为空", details={"file": "文件为空"})
        return self.engine.record_attachment(
            actor, filename=filename, content_type=content_type, size=size, sha256=sha,
            instance_id=instance_id, task_id=task_id, field=field)

    def list_attachments(self, instance_id: int, actor: Actor) -> list[AttachmentInfo]:
        return self.engine.list_attachments(instance_id, actor)

    def get_attachment(self, attachment_id: str, actor: Actor) -> tuple[AttachmentInfo, Path]:
        """The attachment and its file, when the actor may see its case."""
        info = self.engine.find_attachment(attachment_id, actor)
        path = self.store.path(info.sha256)
        if not path.is_file():
            raise NotFound("附件文件缺失，请联系管理员")
        return info, path

    def complete(self, task_id: str, actor: Actor, data: dict | None):
        """Complete a task, its file fields checked in the same transaction: each must hold
        ids of attachments of this case (a form cannot cite another case's evidence)."""
        return self.engine.complete(task_id, actor, data, check_files=True)

    # ------------------------------------------------------------------ drafts

    def save_draft(self, task_id: str, actor: Actor, data: dict) -> DraftInfo:
        return self.engine.save_draft(task_id, actor, data)

    def get_draft(self, task_id: str, actor: Actor) -> DraftInfo | None:
        return self.engine.get_draft(task_id, actor)

    def discard_draft(self, task_id: str) -> None:
        self.engine.discard_draft(task_id)

    # ------------------------------------------------------------------ comments

    def add_comment(self, instance_id: int, actor: Actor, text: str,
                    task_id: str | None = None) -> None:
        self.engine.add_comment(instance_id, actor, text, task_id)

    # ------------------------------------------------------------------ task page, case view

    def task_context(self, task_id: str, actor: Actor):
        """What a task page needs besides the task row (``engine.TaskContext``)."""
        return self.engine.task_context(task_id, actor)

    def case_tasks(self, instance_id: int, actor: Actor) -> list:
        """Every task row of a case the actor may see, oldest first."""
        return self.engine.case_tasks(instance_id, actor)

    def related_cases(self, instance_id: int, actor: Actor):
        """The calling case (parent) and the called ones (children) the actor may see."""
        return self.engine.related_cases(instance_id, actor)

    def field_labels(self, instance_id: int) -> dict:
        return self.engine.field_labels(instance_id)

    def stage_options(self, definitions, process_key: str | None = None) -> list[str]:
        return self.engine.stage_options(definitions, process_key)

    def startable(self, actor: Actor) -> list[DefinitionInfo]:
        """Newest definitions the actor's department may start by hand."""
        return self.engine.startable_definitions(actor)

    def start_schema(self, definition: DefinitionInfo) -> dict:
        return self.engine.start_schema(definition)

    def diagram_marks(self, instance_id: int, actor: Actor) -> DiagramMarks:
        return self.engine.diagram_marks(instance_id, actor)
