"""Reads of what a case carries besides its workflow state, as the task and case pages use
them: a task's context (form, send-back targets, whether its clock may stop), every step of a
case, the related cases, form field labels, stage names, the start form, the marks on the
diagram, attachments and drafts. Also the check of a completion's file fields."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from .. import routing
from ..clock import utcnow
from ..context import Context
from ..delegations import principal_for_task
from ..dto import (
    OPEN_STATES,
    Actor,
    AttachmentInfo,
    CaseRef,
    DiagramMarks,
    DraftInfo,
    RelatedCases,
    TaskContext,
    TaskInfo,
)
from ..errors import Forbidden, NotFound
from ..forms import FieldLabel, field_labels
from ..forms import field_values as form_values
from ..model import attachment, definition, instance, task, task_draft
from ..persistence import Store
from ..rows import TASK_COLUMNS, task_info
from .instances import check_instance_access, instance_head
from .tasks import task_row

ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}$")
_CASE_COLUMNS = (instance.c.id, instance.c.process_key, instance.c.title, instance.c.status,
                 instance.c.business_key)


def file_field_problems(conn, instance_id: int, form: dict | None, data: dict) -> dict:
    """Problems of ``data``'s filepicker fields (in groups and list rows too): not a list of
    ids of attachments of case ``instance_id`` (a form cannot cite another case's evidence)."""
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
            sa.select(attachment.c.id).where(attachment.c.instance_id == instance_id,
                                             attachment.c.id.in_(every))
        ).scalars())
        for path, (say, ids) in wanted.items():
            if ids - found:
                problems[path] = say("含有不属于本案的附件")
    return problems


class CaseFileQueries:
    def __init__(self, ctx: Context, store: Store):
        self.ctx = ctx
        self.store = store

    # ------------------------------------------------------------------ task page

    def task_context(self, task_id: str, actor: Actor) -> TaskContext:
        """What a task page needs besides the task row: the form schema, the process name,
        the allowed send-back targets (id, name) and whether the clock may be paused."""
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            head = instance_head(uow.conn, row.instance_id)
            can_work = routing.can_work_task(actor, row.department_code, row.candidate_role) or (
                principal_for_task(uow.conn, actor, row) is not None)  # 委托: a stand-in
        loaded = self.ctx.spec(head.definition_id)
        spec = loaded.parsed.tasks.get(row.element_id)
        targets = []
        for target in (spec.send_back_targets if spec is not None else ()):
            other = loaded.parsed.tasks.get(target)
            targets.append((target, (other.name if other else None) or target))
        return TaskContext(
            process_name=loaded.parsed.name,
            form=loaded.forms.get(row.form_key) if row.form_key else None,
            send_back_targets=tuple(targets),
            pausable=spec is not None and spec.pausable,
            can_work=can_work,
            instance_status=head.status,
        )

    def get_draft(self, task_id: str, actor: Actor) -> DraftInfo | None:
        """The actor's saved draft of an open task, or None."""
        with self.ctx.uow(readonly=True) as uow:
            row = task_row(uow.conn, task_id, actor)
            d = uow.conn.execute(sa.select(task_draft).where(
                task_draft.c.task_id == row.id, task_draft.c.username == actor.username)).first()
        if d is None or row.state not in OPEN_STATES:
            return None
        return DraftInfo(d.task_id, d.username, json.loads(d.data_json), d.saved_at)

    # ------------------------------------------------------------------ case view

    def case_tasks(self, instance_id: int, actor: Actor) -> list[TaskInfo]:
        """Every task row of a case the actor may see, oldest first."""
        with self.ctx.uow(readonly=True) as uow:
            check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(*TASK_COLUMNS).where(task.c.instance_id == instance_id)
                .order_by(task.c.created_at, task.c.id)
            ).all()
        return [task_info(r) for r in rows]

    def related_cases(self, instance_id: int, actor: Actor) -> RelatedCases:
        """The calling case (parent) and the called ones (children) the actor may see."""
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            me = conn.execute(sa.select(instance.c.parent_instance_id)
                              .where(instance.c.id == instance_id)).first()
            parent = None
            if me is not None and me.parent_instance_id is not None:
                parent = conn.execute(sa.select(*_CASE_COLUMNS).where(
                    instance.c.id == me.parent_instance_id)).first()
            children = conn.execute(sa.select(*_CASE_COLUMNS).where(
                instance.c.parent_instance_id == instance_id).order_by(instance.c.id)).all()

            def visible(row):
                try:
                    check_instance_access(conn, row.id, actor)
                    return True
                except (Forbidden, NotFound):
                    return False

            return RelatedCases(
                parent=CaseRef(**parent._mapping) if parent is not None and visible(parent)
                else None,
                children=tuple(CaseRef(**c._mapping) for c in children if visible(c)),
            )

    def field_labels(self, instance_id: int) -> dict[str, dict[str, FieldLabel]]:
        """For the timeline: form key -> data key -> FieldLabel (label, option labels, the
        columns of a list of rows) of the forms of the case's definition version."""
        with self.ctx.uow(readonly=True) as uow:
            head = instance_head(uow.conn, instance_id)
        forms = self.ctx.spec(head.definition_id).forms
        return {form_key: field_labels(schema or {}) for form_key, schema in forms.items()}

    def stage_options(self, definitions, process_key: str | None = None) -> list[str]:
        """The stages ``definitions`` (the newest versions) name, in diagram order."""
        out: list[str] = []
        for d in definitions:
            if process_key and d.key != process_key:
                continue
            for t in self.ctx.spec(d.id).parsed.tasks.values():
                if t.stage and t.stage not in out:
                    out.append(t.stage)
        return out

    def start_schema(self, definition_info) -> dict:
        """A form-js schema for starting a case: name and number, then the start form."""
        components = [
            {"type": "textfield", "key": "kf_title", "id": "kf_title", "label": "名称",
             "description": "项目或事项的名称，如“某某新材料项目”",
             "validate": {"required": True, "maxLength": 400}},
            {"type": "textfield", "key": "kf_business_key", "id": "kf_business_key",
             "label": "编号", "description": "项目代码或文号；不填则自动生成",
             "validate": {"maxLength": 200}},
        ]
        key = getattr(definition_info, "start_form_key", None)
        form = self.ctx.spec(definition_info.id).forms.get(key) if key else None
        if form:
            components.extend(form.get("components") or [])
        return {"type": "default", "id": f"start_{definition_info.key}", "schemaVersion": 16,
                "components": components}

    def diagram_marks(self, instance_id: int, actor: Actor) -> DiagramMarks:
        """Completed, current (open tasks, waiting events) and overdue element ids."""
        now = utcnow()
        with self.ctx.uow(readonly=True) as uow:
            check_instance_access(uow.conn, instance_id, actor)
            head = instance_head(uow.conn, instance_id)
            rows = uow.conn.execute(
                sa.select(task.c.id, task.c.element_id, task.c.state, task.c.due_at,
                          task.c.department_code)
                .where(task.c.instance_id == instance_id)
            ).all()
            version = uow.conn.execute(
                sa.select(definition.c.version).where(definition.c.id == head.definition_id)
            ).scalar_one()
            wf = self.store.load_workflow(uow.conn, head)
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
            self.ctx.live.checkin(instance_id, head.version, wf)
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

    # ------------------------------------------------------------------ attachments

    def list_attachments(self, instance_id: int, actor: Actor) -> list[AttachmentInfo]:
        with self.ctx.uow(readonly=True) as uow:
            check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(attachment).where(attachment.c.instance_id == instance_id)
                .order_by(attachment.c.uploaded_at, attachment.c.id)
            ).all()
        return [AttachmentInfo(**r._mapping) for r in rows]

    def find_attachment(self, attachment_id: str, actor: Actor) -> AttachmentInfo:
        """An attachment's row, when the actor may see its case (NotFound, Forbidden)."""
        if not isinstance(attachment_id, str) or not ATTACHMENT_ID.match(attachment_id):
            raise NotFound("附件不存在")
        with self.ctx.uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(attachment).where(attachment.c.id == attachment_id)
            ).first()
            if row is None:
                raise NotFound("附件不存在")
            try:
                check_instance_access(uow.conn, row.instance_id, actor)
            except Forbidden:
                raise Forbidden("无权下载该附件") from None
        return AttachmentInfo(**row._mapping)
