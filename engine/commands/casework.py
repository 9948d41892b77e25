"""Commands on what a case carries besides its workflow: attachment rows (the bytes are the
file store's, ``engine/casefiles.py``), the caller's draft of a task form, comments."""

from __future__ import annotations

import json
import uuid

from .. import routing
from ..checks import task_id as checked_task_id
from ..clock import utcnow
from ..context import Context
from ..delegations import principal_for_task
from ..dto import OPEN_STATES, Actor, AttachmentInfo, DraftInfo
from ..errors import Conflict, Forbidden, InvalidInput
from ..forms import json_size, size_problem
from ..model import attachment, task_draft
from ..queries import check_instance_access, instance_head, task_row
from ..rows import event_row, write_events

MAX_COMMENT = 5000


def check_may_fill(conn, actor: Actor, row, message: str) -> None:
    """Forbidden unless ``actor`` may fill in the task ``row``'s form: a member of its
    department (with its candidate role, if any) or a 委托 stand-in for one. Reading the task
    (督查室, 区领导, administrators read every case) is not enough."""
    if not routing.can_work_task(actor, row.department_code, row.candidate_role) and (
            principal_for_task(conn, actor, row) is None):
        raise Forbidden(message)


def attachment_target(conn, actor: Actor, instance_id: int | None, task_id: str | None
                      ) -> tuple[int, str | None]:
    """(instance id, task id) a file may be attached to: an open task the actor may work on,
    or a case the actor may see."""
    if task_id is not None:
        row = task_row(conn, task_id, actor)
        if row.state not in OPEN_STATES:
            raise Conflict("任务已办结，不能再上传附件")
        check_may_fill(conn, actor, row, "无权为该任务上传附件")
        return row.instance_id, row.id
    if instance_id is not None:
        check_instance_access(conn, instance_id, actor)
        return instance_id, None
    raise InvalidInput("须指定流程实例或任务")


class Casework:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # ------------------------------------------------------------------ attachments

    def check_can_attach(self, actor: Actor, *, instance_id: int | None = None,
                         task_id: str | None = None) -> None:
        """Whether the actor may attach a file there (read only): a caller checks this before
        it stores any bytes; ``record_attachment`` checks again when it writes."""
        with self.ctx.uow(readonly=True) as uow:
            attachment_target(uow.conn, actor, instance_id, task_id)

    def record_attachment(self, actor: Actor, *, filename: str, content_type: str, size: int,
                          sha256: str, instance_id: int | None = None,
                          task_id: str | None = None, field: str | None = None
                          ) -> AttachmentInfo:
        """Record a stored file as an attachment of an open task or a case, with its
        ``attachment_added`` event: one unit of work, which checks the task (the case's lock
        held, so a completion cannot slip in between) or the case as it writes."""
        now = utcnow()
        with self.ctx.uow() as uow:
            conn = uow.conn
            if task_id is not None:
                task_id = checked_task_id(task_id)
                self.ctx.locks.lock_task_instance(conn, task_id)
            instance_id, task_id = attachment_target(conn, actor, instance_id, task_id)
            if task_id is None:  # the event joins the case's audit chain: hold the case
                self.ctx.locks.lock_instance(conn, instance_id)
            att_id = uuid.uuid4().hex
            values = dict(id=att_id, instance_id=instance_id, task_id=task_id, field=field,
                          filename=filename, content_type=content_type, size=size,
                          sha256=sha256, uploaded_by=actor.username, uploaded_at=now)
            conn.execute(attachment.insert().values(**values))
            write_events(conn, [event_row(
                instance_id, task_id, actor, "attachment_added", now,
                {"attachment_id": att_id, "filename": filename, "size": size,
                 "sha256": sha256, "field": field})])
            uow.commit()
        return AttachmentInfo(**values)

    # ------------------------------------------------------------------ drafts

    def save_draft(self, task_id: str, actor: Actor, data: dict) -> DraftInfo:
        """Keep the actor's unsubmitted form data of an open task (one draft per task and
        user; it ends when the task is completed)."""
        if not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        payload = json.dumps(data, ensure_ascii=False)
        now = utcnow()
        with self.ctx.uow() as uow:
            row = task_row(uow.conn, task_id, actor)
            # a draft is of a form the caller is to submit, as an attachment is its evidence
            check_may_fill(uow.conn, actor, row, "无权为该任务保存草稿")
            if row.state not in OPEN_STATES:
                raise Conflict("任务已办结，不能保存草稿")
            self.check_draft_size(uow.conn, row, data)
            key = {"task_id": row.id, "username": actor.username}
            uow.conn.execute(task_draft.delete().where(
                task_draft.c.task_id == row.id, task_draft.c.username == actor.username))
            uow.conn.execute(task_draft.insert().values(**key, data_json=payload, saved_at=now))
            uow.commit()
        return DraftInfo(row.id, actor.username, data, now)

    def check_draft_size(self, conn, row, data: dict) -> None:
        """A draft is what the page will submit: the engine's limit on the data of one step
        applies to it too, naming the field by its form label."""
        limit = self.ctx.max_step_data_bytes
        if json_size(data) <= limit:
            return
        form = None
        if row.form_key:
            head = instance_head(conn, row.instance_id)
            form = self.ctx.spec(head.definition_id).forms.get(row.form_key)
        raise InvalidInput(*size_problem(data, limit, form))

    def discard_draft(self, task_id: str) -> None:
        """Forget every draft of the task."""
        with self.ctx.uow() as uow:
            uow.conn.execute(task_draft.delete().where(task_draft.c.task_id == task_id))
            uow.commit()

    # ------------------------------------------------------------------ comments

    def add_comment(self, instance_id: int, actor: Actor, text: str,
                    task_id: str | None = None) -> None:
        """A comment on a case (or on one of its tasks), kept as an event of kind
        ``comment``."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("意见内容不能为空", details={"text": "请填写内容"})
        if len(text) > MAX_COMMENT:
            raise InvalidInput("意见最长 5000 字", details={"text": "最长 5000 字"})
        with self.ctx.uow() as uow:
            # The comment joins the case's audit chain: hold the case like any command on it.
            if task_id is not None:
                task_id = checked_task_id(task_id)
                self.ctx.locks.lock_task_instance(uow.conn, task_id)
                row = task_row(uow.conn, task_id, actor)
                instance_id, task_id = row.instance_id, row.id
            else:
                check_instance_access(uow.conn, instance_id, actor)
                self.ctx.locks.lock_instance(uow.conn, instance_id)
            write_events(uow.conn, [event_row(instance_id, task_id, actor, "comment", utcnow(),
                                              {"text": text.strip()})])
            uow.commit()



