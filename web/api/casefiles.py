"""What a case carries besides its workflow state, as the task and case pages use it: attachments
(upload to an open task, list a case's, read one's metadata, download its bytes), the caller's
draft of a task form, comments (kept as events of kind ``comment``), the diagram with its
completed, current and overdue elements, a task's form and send-back targets, every step of a
case and its related (calling and called) cases.

Every call goes through the engine's visibility rules (``engine/casefiles.py``): another
department's task or case is a 403, an unknown one a 404.
"""

from __future__ import annotations

from flask import current_app, g, request

from engine import CaseFiles

from ..attachments import ALLOWED as UPLOAD_TYPES
from ..attachments import ALLOWED_TEXT as UPLOAD_TYPES_TEXT
from ..attachments import attachment_response, check_upload
from ..auth.identity import current_engine
from ..errors import ApiError
from ..inputs import bad_request, invalid, unknown_fields_message
from . import bp
from .blueprint import INSTANCE_ID, field_value
from .schemas import (
    Attachment,
    AttachmentCreated,
    AttachmentList,
    AttachmentUpload,
    Comment,
    Diagram,
    Draft,
    DraftSaved,
    Event,
    Related,
    SaveDraft,
    TaskContext,
    TaskList,
)

TAGS = ["casefiles"]
_READ_ERRORS = (403, 404)


def current_casefiles() -> CaseFiles:
    return current_app.extensions["kunflow.casefiles"]


# ---------------------------------------------------------------- attachments


@bp.post(
    "/tasks/<task_id>/attachments",
    tags=TAGS,
    summary="为任务上传附件（证明材料）",
    description="multipart/form-data：file 为文件（"
    + UPLOAD_TYPES_TEXT
    + "；按扩展名和文件开头的内容检查类型，大小上限见 ATTACHMENT_MAX_MB），field 为对应的表单"
    "字段（可选）。任务须未办结（已办结时返回 409），调用者须能办理该任务（本部门、所需角色）。"
    "内容按 SHA-256 存储，相同内容只存一份。类型、内容、大小不符时返回 422，"
    'details 为 {"file": 说明}。',
)
@bp.multipart(AttachmentUpload)
@bp.response(201, AttachmentCreated, description="已上传")
@bp.errors(403, 404, 409, 413, 422)
def upload_attachment(task_id: str):
    if request.mimetype != "multipart/form-data":
        raise bad_request(
            "请以 multipart/form-data 上传：字段 file 为文件，字段 field 为表单字段名（可选）"
        )
    # 404/403 before anything about the upload: a caller learns nothing of a task it cannot see.
    current_engine().get_task(task_id, g.actor, with_data=False)
    # A part whose name the parser could not read has the name None.
    names = {n if isinstance(n, str) else "" for n in (*request.files, *request.form)}
    unknown = sorted(names - set(AttachmentUpload().fields))
    if unknown:
        raise invalid(unknown_fields_message(n or "（无名称）" for n in unknown), unknown[0])
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
    field = field_value(AttachmentUpload, "field", fields[0] if fields else None)
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
    return {"attachment": att}


@bp.get(f"/instances/{INSTANCE_ID}/attachments", tags=TAGS, summary="案件的附件（最早上传的在前）")
@bp.response(200, AttachmentList)
@bp.errors(*_READ_ERRORS)
def list_instance_attachments(instance_id: int):
    return {"items": current_casefiles().list_attachments(instance_id, g.actor)}


@bp.get(
    "/attachments/<attachment_id>",
    tags=TAGS,
    summary="附件信息",
    description="能查看该案件的用户可以读取；文件内容见 content_url。",
)
@bp.response(200, Attachment)
@bp.errors(*_READ_ERRORS)
def get_attachment(attachment_id: str):
    info, _path = current_casefiles().get_attachment(attachment_id, g.actor)
    return info


# Types a stored attachment is served with (the upload check's list; octet-stream otherwise).
_CONTENT_TYPES = sorted({t for t, _ in UPLOAD_TYPES.values()} | {"application/octet-stream"})


def _fixed_header(value: str, description: str) -> dict:
    return {
        "required": True,
        "schema": {"type": "string", "enum": [value]},
        "description": description,
    }


def _file_response(description: str) -> dict:
    return {
        "description": description,
        "headers": {
            "X-Content-Type-Options": _fixed_header("nosniff", "浏览器不得猜测类型"),
            "Cache-Control": _fixed_header("private, no-store", "不缓存"),
            "Content-Security-Policy": _fixed_header(
                "default-src 'none'; sandbox", "文件在沙箱中打开，不能运行脚本"
            ),
            "Content-Disposition": {
                "required": True,
                "schema": {"type": "string", "pattern": "^(inline|attachment);"},
                "description": "inline 或 attachment，带原文件名",
            },
        },
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _CONTENT_TYPES},
    }


@bp.get(
    "/attachments/<attachment_id>/content",
    tags=TAGS,
    summary="下载附件",
    description="以上传时确定的类型返回，带 nosniff、no-store 和沙箱 CSP（与页面的下载相同）。"
    "ETag 为内容的 SHA-256；支持 If-None-Match（304）和 Range（206）请求。",
)
@bp.doc(
    responses={
        200: _file_response(
            "文件内容：PDF 与图片在浏览器中显示（inline），其他类型下载（attachment）"
        ),
        206: _file_response("Range 请求的部分内容（Content-Range 标明位置）"),
        304: {"description": "If-None-Match 与 ETag 相同：内容未变"},
    }
)
@bp.errors(403, 404, 416)
def get_attachment_content(attachment_id: str):
    return attachment_response(*current_casefiles().get_attachment(attachment_id, g.actor))


# ---------------------------------------------------------------- drafts


@bp.get(
    "/tasks/<task_id>/draft",
    tags=TAGS,
    summary="调用者保存的表单草稿",
    description="草稿按用户保存，别人看不到；没有草稿或任务已办结时返回 404。",
)
@bp.response(200, Draft)
@bp.errors(*_READ_ERRORS)
def get_draft(task_id: str):
    draft = current_casefiles().get_draft(task_id, g.actor)
    if draft is None:
        raise ApiError(404, "该任务没有您保存的草稿", "not_found")
    return draft


@bp.put(
    "/tasks/<task_id>/draft",
    tags=TAGS,
    summary="保存表单草稿（替换调用者此前的草稿）",
    description="任务须未办结（否则 409）；办结任务时草稿被删除。",
)
@bp.arguments(SaveDraft, example={"data": {"safety_design_opinion": "初步同意"}})
@bp.response(200, DraftSaved, description="已保存")
@bp.errors(403, 404, 409, 422)
def save_draft(body, task_id: str):
    return current_casefiles().save_draft(task_id, g.actor, body["data"])


# ---------------------------------------------------------------- comments


@bp.post(
    f"/instances/{INSTANCE_ID}/comments",
    tags=TAGS,
    summary="发表意见",
    description="意见记入实例的操作日志（GET /api/v1/instances/{instance_id}/events，"
    "kind 为 comment，data 为 {text}）；带 task_id 时针对该任务（须为该实例的任务，"
    "否则 422）。",
)
@bp.arguments(Comment, example={"text": "请补充专家意见"})
@bp.response(201, Event, description="已记录：返回 kind 为 comment 的操作日志")
@bp.errors(403, 404, 422)
def add_comment(body, instance_id: int):
    text, task_id = body["text"], body["task_id"]
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
    return mine[-1]


# ---------------------------------------------------------------- diagram


@bp.get(
    f"/instances/{INSTANCE_ID}/diagram",
    tags=TAGS,
    summary="案件在流程图上的位置：已完成、当前、超期的元素",
    description="流程图本身见 GET /api/v1/instances/{instance_id}/diagram.xml"
    "（即 GET /api/v1/definitions/{definition_key}/xml?version={definition_version}）。",
)
@bp.response(200, Diagram)
@bp.errors(*_READ_ERRORS)
def get_instance_diagram(instance_id: int):
    return current_casefiles().diagram_marks(instance_id, g.actor)


@bp.get(f"/instances/{INSTANCE_ID}/diagram.xml", tags=TAGS, summary="案件所用版本的 BPMN XML")
@bp.response(200, {"type": "string"}, content_type="application/xml", description="BPMN 2.0 XML")
@bp.errors(*_READ_ERRORS)
def get_instance_diagram_xml(instance_id: int):
    eng = current_engine()
    inst = eng.get_instance(instance_id, g.actor, with_data=False)
    xml = eng.get_definition_xml(inst.process_key, inst.definition_version)
    response = current_app.response_class(xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# ---------------------------------------------------------------- task page and case view


@bp.get(
    "/tasks/<task_id>/context",
    tags=TAGS,
    summary="任务页所需：表单、可退回的环节、能否暂停计时、能否办理",
)
@bp.response(200, TaskContext)
@bp.errors(*_READ_ERRORS)
def get_task_context(task_id: str):
    return current_casefiles().task_context(task_id, g.actor)


@bp.get(
    f"/instances/{INSTANCE_ID}/tasks",
    tags=TAGS,
    summary="案件的全部环节（含已办结、已取消的，最早到达的在前）",
    description="能查看该案件的用户都能看到各部门的环节（办理仍只限本部门）。"
    "列表中 business_key、title、data 为 null（见实例）。",
)
@bp.response(200, TaskList)
@bp.errors(*_READ_ERRORS)
def list_instance_tasks(instance_id: int):
    return {"items": current_casefiles().case_tasks(instance_id, g.actor)}


@bp.get(
    f"/instances/{INSTANCE_ID}/related",
    tags=TAGS,
    summary="关联案件：上级（调用本案件的）与下级（本案件调用的）",
)
@bp.response(200, Related)
@bp.errors(*_READ_ERRORS)
def get_related_instances(instance_id: int):
    # related_cases filters the cases it names, not the one asked about: 404/403 first.
    current_engine().get_instance(instance_id, g.actor, with_data=False)
    return current_casefiles().related_cases(instance_id, g.actor)
