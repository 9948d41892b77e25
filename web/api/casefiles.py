"""What a case carries besides its workflow state, as the task and case pages use it: attachments
(upload to an open task, list a case's, read one's metadata, download its bytes), the caller's
draft of a task form, comments (kept as events of kind ``comment``), the diagram with its
completed, current and overdue elements, a task's form and send-back targets, every step of a
case and its related (calling and called) cases.

Every call goes through the engine's visibility rules (``engine/casefiles.py``): another
department's task or case is a 403, an unknown one a 404.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for

from engine.casefiles import AttachmentInfo, CaseFiles

from ..attachments import attachment_response, check_upload
from ..auth.identity import current_engine
from ..errors import ApiError
from ..inputs import MAX_ID, bad_request, invalid, json_body, object_field, only_fields, text_field
from ..serialize import (
    attachment_json,
    diagram_json,
    draft_json,
    event_json,
    related_json,
    task_context_json,
    task_json,
)
from . import bp

UPLOAD_FIELDS = frozenset({"file", "field"})
MAX_FIELD = 200  # a form field key
MAX_COMMENT = 5000


def current_casefiles() -> CaseFiles:
    return current_app.extensions["kunflow.casefiles"]


def _attachment(a: AttachmentInfo) -> dict:
    return {
        **attachment_json(a),
        "content_url": url_for("api.get_attachment_content", attachment_id=a.id),
    }


# ---------------------------------------------------------------- attachments


@bp.post("/tasks/<task_id>/attachments")
def upload_attachment(task_id: str):
    if request.mimetype != "multipart/form-data":
        raise bad_request(
            "请以 multipart/form-data 上传：字段 file 为文件，字段 field 为表单字段名（可选）"
        )
    # 404/403 before anything about the upload: a caller learns nothing of a task it cannot see.
    current_engine().get_task(task_id, g.actor, with_data=False)
    # A part whose name the parser could not read has the name None.
    names = {n if isinstance(n, str) else "" for n in (*request.files, *request.form)}
    unknown = sorted(names - UPLOAD_FIELDS)
    if unknown:
        raise invalid(f"未知字段：{', '.join(n or '（无名称）' for n in unknown)}", unknown[0])
    if "file" in request.form:  # a part without a file name arrives as a form field
        raise invalid("字段 file 须以文件形式上传（带文件名）", "file")
    if "field" in request.files:
        raise invalid("字段 field 须为文本（表单字段名）", "field")
    parts = request.files.getlist("file")
    if not parts:
        raise invalid("缺少字段 file（要上传的文件）", "file")
    if len(parts) > 1:
        raise invalid("一次只能上传一个文件", "file")
    fields = request.form.getlist("field")
    if len(fields) > 1:
        raise invalid("字段 field 只能有一个", "field")
    field = text_field({"field": fields[0]} if fields else {}, "field", max_length=MAX_FIELD)
    upload = parts[0]
    try:
        if not upload.filename or not upload.filename.strip():
            raise invalid("上传的文件须有文件名", "file")
        content_type = check_upload(upload.filename, upload.stream)
        att = current_casefiles().add_attachment(
            g.actor,
            task_id=task_id,
            filename=upload.filename,
            content_type=content_type,
            stream=upload.stream,
            field=field.strip() if field else None,
        )
    finally:
        upload.close()
    return jsonify({"attachment": _attachment(att)}), 201


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/attachments")
def list_instance_attachments(instance_id: int):
    items = current_casefiles().list_attachments(instance_id, g.actor)
    return jsonify({"items": [_attachment(a) for a in items]})


@bp.get("/attachments/<attachment_id>")
def get_attachment(attachment_id: str):
    info, _path = current_casefiles().get_attachment(attachment_id, g.actor)
    return jsonify(_attachment(info))


@bp.get("/attachments/<attachment_id>/content")
def get_attachment_content(attachment_id: str):
    return attachment_response(*current_casefiles().get_attachment(attachment_id, g.actor))


# ---------------------------------------------------------------- drafts


@bp.get("/tasks/<task_id>/draft")
def get_draft(task_id: str):
    draft = current_casefiles().get_draft(task_id, g.actor)
    if draft is None:
        raise ApiError(404, "该任务没有您保存的草稿", "not_found")
    return jsonify(draft_json(draft))


@bp.put("/tasks/<task_id>/draft")
def save_draft(task_id: str):
    body = json_body()
    only_fields(body, {"data"})
    data = object_field(body, "data")
    if data is None:
        raise invalid("缺少字段 data（表单数据，JSON 对象）", "data")
    draft = current_casefiles().save_draft(task_id, g.actor, data)
    return jsonify(draft_json(draft, with_data=False))


# ---------------------------------------------------------------- comments


@bp.post(f"/instances/<int(max={MAX_ID}):instance_id>/comments")
def add_comment(instance_id: int):
    body = json_body()
    only_fields(body, {"text", "task_id"})
    text = text_field(body, "text", required=True, max_length=MAX_COMMENT)
    task_id = text_field(body, "task_id", max_length=64)
    eng, actor = current_engine(), g.actor
    if task_id is not None:
        t = eng.get_task(task_id, actor, with_data=False)
        if t.instance_id != instance_id:
            raise invalid("task_id 不是该流程实例的任务", "task_id")
        task_id = t.id
    current_casefiles().add_comment(instance_id, actor, text, task_id=task_id)
    # The engine does not return the event it wrote: it is this actor's newest such comment.
    written = {"text": text.strip()}
    mine = [
        e
        for e in eng.list_events(instance_id, actor)
        if e.kind == "comment"
        and e.actor == actor.username
        and e.task_id == task_id
        and e.data == written
    ]
    return jsonify(event_json(mine[-1])), 201


# ---------------------------------------------------------------- diagram


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/diagram")
def get_instance_diagram(instance_id: int):
    return jsonify(diagram_json(current_casefiles().diagram_marks(instance_id, g.actor)))


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/diagram.xml")
def get_instance_diagram_xml(instance_id: int):
    eng = current_engine()
    inst = eng.get_instance(instance_id, g.actor, with_data=False)
    xml = eng.get_definition_xml(inst.process_key, inst.definition_version)
    response = current_app.response_class(xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# ---------------------------------------------------------------- task page and case view


@bp.get("/tasks/<task_id>/context")
def get_task_context(task_id: str):
    return jsonify(task_context_json(current_casefiles().task_context(task_id, g.actor)))


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/tasks")
def list_instance_tasks(instance_id: int):
    tasks = current_casefiles().case_tasks(instance_id, g.actor)
    return jsonify({"items": [task_json(t) for t in tasks]})


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/related")
def get_related_instances(instance_id: int):
    # related_cases filters the cases it names, not the one asked about: 404/403 first.
    current_engine().get_instance(instance_id, g.actor, with_data=False)
    return jsonify(related_json(current_casefiles().related_cases(instance_id, g.actor)))
