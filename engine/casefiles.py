"""What a case carries besides its workflow state: attachments, drafts, comments, and the marks
that show on its diagram (completed, current and overdue elements).

Attachment bytes live in a content-addressed file store (``<root>/ab/abcdef…``, named by their
SHA-256, written once); the ``attachment`` row says who attached which file to which case, task
and form field. Every access goes through the same visibility rules as the case itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from . import routing
from .dto import Actor
from .errors import Forbidden, InvalidInput, NotFound
from .forms import FieldLabel, field_labels, json_size, size_problem
from .forms import field_values as form_values
from .model import attachment, event, instance, task, task_draft
from .runtime import _TASK_COLUMNS, _task, utcnow

OPEN_STATES = ("ready", "claimed")
_CHUNK = 64 * 1024
_ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class AttachmentInfo:
    id: str
    instance_id: int
    task_id: str | None
    field: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


@dataclass(frozen=True)
class DraftInfo:
    task_id: str
    username: str
    data: dict
    saved_at: datetime


@dataclass(frozen=True)
class DiagramMarks:
    definition_key: str
    definition_version: int
    completed: tuple
    current: tuple
    overdue: tuple
    # element id -> open task id, for links from the diagram to the task page
    task_links: dict


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
    """Attachments, drafts, comments and diagram marks of the engine's cases."""

    def __init__(self, engine, store: FileStore, *, max_bytes: int = 20 * 1024 * 1024):
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
        """Attach a file to an open task (its department's users) or to a case it may see."""
        filename = clean_filename(filename)
        content_type = (content_type or "application/octet-stream")[:120]
        if field is not None and (not isinstance(field, str) or len(field) > 200):
            raise InvalidInput("field 无效")
        with self.engine._uow(readonly=True) as uow:
            if task_id is not None:
                row = self.engine._task_row(uow.conn, task_id, actor)
                if row.state not in OPEN_STATES:
                    raise InvalidInput("任务已办结，不能再上传附件")
                if not routing.can_work_task(actor, row.department_code, row.candidate_role):
                    raise Forbidden("无权为该任务上传附件")
                instance_id, task_id = row.instance_id, row.id
            elif instance_id is not None:
                self.engine._check_instance_access(uow.conn, instance_id, actor)
            else:
                raise InvalidInput("须指定流程实例或任务")
        # The bytes first (outside the transaction); a failed insert leaves only an unreferenced
        # file, which is harmless and is reused by the next upload of the same content.
        sha, size = self.store.put(stream, self.max_bytes)
        if size == 0:
            raise InvalidInput("文件为空", details={"file": "文件为空"})
        now = utcnow()
        att_id = uuid.uuid4().hex
        values = dict(id=att_id, instance_id=instance_id, task_id=task_id, field=field,
                      filename=filename, content_type=content_type, size=size, sha256=sha,
                      uploaded_by=actor.username, uploaded_at=now)
        with self.engine._uow() as uow:
            uow.conn.execute(attachment.insert().values(**values))
            uow.conn.execute(event.insert().values(
                instance_id=instance_id, task_id=task_id, actor=actor.username,
                kind="attachment_added", at=now,
                data_json=json.dumps({"attachment_id": att_id, "filename": filename,
                                      "size": size, "sha256": sha, "field": field},
                                     ensure_ascii=False)))
            uow.commit()
        return AttachmentInfo(**values)

    def list_attachments(self, instance_id: int, actor: Actor) -> list[AttachmentInfo]:
        with self.engine._uow(readonly=True) as uow:
            self.engine._check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(attachment).where(attachment.c.instance_id == instance_id)
                .order_by(attachment.c.uploaded_at, attachment.c.id)
            ).all()
        return [AttachmentInfo(**r._mapping) for r in rows]

    def get_attachment(self, attachment_id: str, actor: Actor) -> tuple[AttachmentInfo, Path]:
        """The attachment and its file, when the actor may see its case."""
        if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.match(attachment_id):
            raise NotFound("附件不存在")
        with self.engine._uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(attachment).where(attachment.c.id == attachment_id)
            ).first()
            if row is None:
                raise NotFound("附件不存在")
            try:
                self.engine._check_instance_access(uow.conn, row.instance_id, actor)
            except Forbidden:
                raise Forbidden("无权下载该附件") from None
        info = AttachmentInfo(**row._mapping)
        path = self.store.path(info.sha256)
        if not path.is_file():
            raise NotFound("附件文件缺失，请联系管理员")
        return info, path

    def complete(self, task_id: str, actor: Actor, data: dict | None):
        """Complete a task, its file fields checked in the same transaction: each must hold
        ids of attachments of this case (a form cannot cite another case's evidence)."""
        return self.engine.complete(task_id, actor, data, check=_check_file_fields)

    # ------------------------------------------------------------------ drafts

    def save_draft(self, task_id: str, actor: Actor, data: dict) -> DraftInfo:
        if not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        payload = json.dumps(data, ensure_ascii=False)
        now = utcnow()
        with self.engine._uow() as uow:
            row = self.engine._task_row(uow.conn, task_id, actor)
            if row.state not in OPEN_STATES:
                raise InvalidInput("任务已办结，不能保存草稿")
            self._check_draft_size(uow.conn, row, data)
            key = {"task_id": row.id, "username": actor.username}
            uow.conn.execute(task_draft.delete().where(
                task_draft.c.task_id == row.id, task_draft.c.username == actor.username))
            uow.conn.execute(task_draft.insert().values(**key, data_json=payload, saved_at=now))
            uow.commit()
        return DraftInfo(row.id, actor.username, data, now)

    def _check_draft_size(self, conn, row, data: dict) -> None:
        """A draft is what the page will submit: the engine's limit on the data of one step
        applies to it too, naming the field by its form label."""
        limit = self.engine.max_step_data_bytes
        if json_size(data) <= limit:
            return
        form = None
        if row.form_key:
            head = self.engine._instance_head(conn, row.instance_id)
            form = self.engine._spec(head.definition_id).forms.get(row.form_key)
        raise InvalidInput(*size_problem(data, limit, form))

    def get_draft(self, task_id: str, actor: Actor) -> DraftInfo | None:
        with self.engine._uow(readonly=True) as uow:
            row = self.engine._task_row(uow.conn, task_id, actor)
            d = uow.conn.execute(sa.select(task_draft).where(
                task_draft.c.task_id == row.id, task_draft.c.username == actor.username)).first()
        if d is None or row.state not in OPEN_STATES:
            return None
        return DraftInfo(d.task_id, d.username, json.loads(d.data_json), d.saved_at)

    def discard_draft(self, task_id: str) -> None:
        with self.engine._uow() as uow:
            uow.conn.execute(task_draft.delete().where(task_draft.c.task_id == task_id))
            uow.commit()

    # ------------------------------------------------------------------ comments

    def add_comment(self, instance_id: int, actor: Actor, text: str,
                    task_id: str | None = None) -> None:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("意见内容不能为空", details={"text": "请填写内容"})
        if len(text) > 5000:
            raise InvalidInput("意见最长 5000 字", details={"text": "最长 5000 字"})
        with self.engine._uow() as uow:
            if task_id is not None:
                row = self.engine._task_row(uow.conn, task_id, actor)
                instance_id, task_id = row.instance_id, row.id
            else:
                self.engine._check_instance_access(uow.conn, instance_id, actor)
            uow.conn.execute(event.insert().values(
                instance_id=instance_id, task_id=task_id, actor=actor.username,
                kind="comment", at=utcnow(),
                data_json=json.dumps({"text": text.strip()}, ensure_ascii=False)))
            uow.commit()

    # ------------------------------------------------------------------ task context

    def task_context(self, task_id: str, actor: Actor) -> dict:
        """What a task page needs besides the task row: the form schema, the process name,
        the allowed send-back targets (id, name) and whether the clock may be paused."""
        eng = self.engine
        with eng._uow(readonly=True) as uow:
            row = eng._task_row(uow.conn, task_id, actor)
            head = eng._instance_head(uow.conn, row.instance_id)
        loaded = eng._spec(head.definition_id)
        spec = loaded.parsed.tasks.get(row.element_id)
        props = dict(spec.properties) if spec is not None else {}
        raw = str(props.get("send_back_targets") or "")
        targets = []
        for target in (t.strip() for t in raw.replace("，", ",").split(",")):
            if target:
                other = loaded.parsed.tasks.get(target)
                targets.append((target, (other.name if other else None) or target))
        return {
            "process_name": loaded.parsed.name,
            "form": loaded.forms.get(row.form_key) if row.form_key else None,
            "send_back_targets": targets,
            "pausable": str(props.get("pausable", "")).lower() in ("true", "1", "yes"),
            "can_work": routing.can_work_task(actor, row.department_code, row.candidate_role),
            "instance_status": head.status,
        }

    def case_tasks(self, instance_id: int, actor: Actor) -> list:
        """Every task row of a case the actor may see, oldest first."""
        with self.engine._uow(readonly=True) as uow:
            self.engine._check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(*_TASK_COLUMNS).where(task.c.instance_id == instance_id)
                .order_by(task.c.created_at, task.c.id)
            ).all()
        return [_task(r) for r in rows]

    def related_cases(self, instance_id: int, actor: Actor) -> dict:
        """The calling case (parent) and the called ones (children) the actor may see."""
        eng = self.engine
        cols = (instance.c.id, instance.c.process_key, instance.c.title, instance.c.status,
                instance.c.business_key)
        with eng._uow(readonly=True) as uow:
            me = uow.conn.execute(sa.select(instance.c.parent_instance_id)
                                  .where(instance.c.id == instance_id)).first()
            parent = None
            if me is not None and me.parent_instance_id is not None:
                parent = uow.conn.execute(sa.select(*cols).where(
                    instance.c.id == me.parent_instance_id)).first()
            children = uow.conn.execute(sa.select(*cols).where(
                instance.c.parent_instance_id == instance_id).order_by(instance.c.id)).all()

            def visible(row):
                try:
                    eng._check_instance_access(uow.conn, row.id, actor)
                    return True
                except (Forbidden, NotFound):
                    return False

            return {
                "parent": dict(parent._mapping) if parent is not None and visible(parent)
                else None,
                "children": [dict(c._mapping) for c in children if visible(c)],
            }

    def field_labels(self, instance_id: int) -> dict[str, dict[str, FieldLabel]]:
        """For the timeline: form key -> data key -> FieldLabel (label, option labels, the
        columns of a list of rows) of the forms of the case's definition version."""
        with self.engine._uow(readonly=True) as uow:
            head = self.engine._instance_head(uow.conn, instance_id)
        forms = self.engine._spec(head.definition_id).forms
        return {form_key: field_labels(schema or {}) for form_key, schema in forms.items()}

    def stage_options(self, definitions, process_key: str | None = None) -> list[str]:
        """The stages ``definitions`` (the newest versions) name, in diagram order."""
        out: list[str] = []
        for d in definitions:
            if process_key and d.key != process_key:
                continue
            for t in self.engine._spec(d.id).parsed.tasks.values():
                stage = t.properties.get("stage")
                if stage and stage not in out:
                    out.append(stage)
        return out

    def startable(self, actor: Actor) -> list:
        """Newest definitions the actor's department may start by hand."""
        return self.engine.startable_definitions(actor)

    def start_schema(self, definition) -> dict:
        """A form-js schema for starting a case: name and number, then the start form."""
        components = [
            {"type": "textfield", "key": "kf_title", "id": "kf_title", "label": "名称",
             "description": "项目或事项的名称，如“某某新材料项目”",
             "validate": {"required": True, "maxLength": 400}},
            {"type": "textfield", "key": "kf_business_key", "id": "kf_business_key",
             "label": "编号", "description": "项目代码或文号；不填则自动生成",
             "validate": {"maxLength": 200}},
        ]
        key = getattr(definition, "start_form_key", None)
        form = self.engine._spec(definition.id).forms.get(key) if key else None
        if form:
            components.extend(form.get("components") or [])
        return {"type": "default", "id": f"start_{definition.key}", "schemaVersion": 16,
                "components": components}

    # ------------------------------------------------------------------ diagram

    def diagram_marks(self, instance_id: int, actor: Actor) -> DiagramMarks:
        """Completed, current (open tasks, waiting events) and overdue element ids."""
        eng = self.engine
        now = utcnow()
        with eng._uow(readonly=True) as uow:
            eng._check_instance_access(uow.conn, instance_id, actor)
            head = eng._instance_head(uow.conn, instance_id)
            rows = uow.conn.execute(
                sa.select(task.c.id, task.c.element_id, task.c.state, task.c.due_at,
                          task.c.department_code)
                .where(task.c.instance_id == instance_id)
            ).all()
            version = uow.conn.execute(
                sa.text("SELECT version FROM definition WHERE id = :id"),
                {"id": head.definition_id},
            ).scalar_one()
            wf = eng._workflow(uow.conn, head)
        completed, current, overdue, links = set(), set(), set(), {}
        try:
            for t in wf.get_tasks():
                bpmn_id = getattr(t.task_spec, "bpmn_id", None)
                if not bpmn_id:
                    continue
                if t.state == TaskState.COMPLETED:
                    completed.add(bpmn_id)
                elif t.state in (TaskState.WAITING, TaskState.READY, TaskState.STARTED):
                    current.add(bpmn_id)
        finally:
            eng.live.checkin(instance_id, head.version, wf)
        for r in rows:
            if r.state == "completed":
                completed.add(r.element_id)
            elif r.state in OPEN_STATES:
                current.add(r.element_id)
                if routing.can_view_task(actor, r.department_code):
                    links[r.element_id] = r.id
                if r.due_at is not None and r.due_at < now:
                    overdue.add(r.element_id)
        if head.status in ("completed", "terminated"):
            current = set()
            overdue = set()
        completed -= current
        return DiagramMarks(head.process_key, version, tuple(sorted(completed)),
                            tuple(sorted(current)), tuple(sorted(overdue)), links)


def _check_file_fields(conn, row, form: dict | None, data: dict) -> dict:
    """Problems of ``data``'s filepicker fields (in groups and list rows too): not a list of
    ids of this case's attachments."""
    problems, wanted = {}, {}
    for path, comp, value, say in form_values(form or {}, data):
        if comp.get("type") != "filepicker" or value in (None, "", []):
            continue
        ids = value if isinstance(value, list) else [value]
        if not all(isinstance(i, str) for i in ids):
            problems[path] = say("须为已上传的附件")
        else:
            wanted[path] = (say, set(ids))
    every = set().union(*(ids for _say, ids in wanted.values())) if wanted else set()
    if every:
        found = set(conn.execute(
            sa.select(attachment.c.id).where(attachment.c.instance_id == row.instance_id,
                                             attachment.c.id.in_(every))
        ).scalars())
        for path, (say, ids) in wanted.items():
            if ids - found:
                problems[path] = say("含有不属于本案的附件")
    return problems
