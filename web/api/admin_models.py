"""Process admins: check a diagram as a deploy would, import a diagram of another modeler."""

from __future__ import annotations

from flask import g, request

from ..auth.identity import current_engine
from ..inputs import bad_request, invalid, json_body
from . import bp
from .blueprint import admin_only, field_value
from .definitions import _filename
from .schemas import ImportJson, ImportReport, ImportUpload, ModelReport, ValidateModel

TAGS = ["admin"]
_FILE_SUFFIXES = (".dmn", ".form", ".json")


@bp.post(
    "/admin/validate",
    tags=TAGS,
    summary="校验流程图（与部署时的检查相同，不部署）",
    description="errors 阻止部署，warnings 不阻止；XML 格式错误时返回 422"
    "（details 为问题列表）。只有流程管理员可用。",
)
@admin_only("只有流程管理员可以校验流程")
@bp.arguments(ValidateModel)
@bp.response(200, ModelReport)
@bp.errors(403, 422)
def validate_model(body):
    files = {}
    for name, content in (body["files"] or {}).items():
        if not name.endswith(_FILE_SUFFIXES) or not isinstance(content, str):
            raise invalid(f"附带文件须为 .dmn / .form / .json 的文本内容：{name}", "files")
        files[name] = content.encode("utf-8")
    return current_engine().validate_model(
        body["filename"], body["bpmn_xml"].encode("utf-8"), files, actor=g.actor)


@bp.post(
    "/admin/import",
    tags=TAGS,
    summary="导入其他建模工具的流程图（Camunda 7/8、Signavio、bpmn.io、SpiffArena）",
    description="multipart/form-data 字段 file，或 JSON {filename, bpmn_xml}。返回转换后的 XML、"
    "逐项转换和无法运行之处；不部署、不保存。可选字段 key 把流程标识改为新值（与现有流程重复时）。文件为空、不是 XML 或不是 BPMN 时返回 422。",
)
@admin_only("只有流程管理员可以导入流程")
@bp.multipart(ImportUpload)
@bp.response(200, ImportReport)
@bp.errors(403, 413, 422)
def import_model():
    if request.is_json:
        body = json_body()
        unknown = sorted(set(body) - set(ImportJson().fields))
        if unknown:
            raise invalid(f"未知字段：{'、'.join(unknown)}", unknown[0])
        filename = field_value(ImportJson, "filename", body.get("filename"))
        content = field_value(ImportJson, "bpmn_xml", body.get("bpmn_xml")).encode("utf-8")
        key = field_value(ImportJson, "key", body.get("key"))
    elif request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise invalid("缺少字段 file（.bpmn 文件）", "file")
        key = field_value(ImportUpload, "key", request.form.get("key") or None)
        try:
            filename = _filename(upload.filename) or "diagram.bpmn"
            content = upload.read()
        finally:
            upload.close()  # a large upload is spooled to a temporary file
    else:
        raise bad_request("请以 multipart/form-data（字段 file）或 JSON {filename, bpmn_xml} 上传")
    return current_engine().import_model(filename, content, actor=g.actor, key=key or None)
