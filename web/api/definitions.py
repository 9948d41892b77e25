"""Process definitions: list, deploy (multipart upload), versions, XML."""

from __future__ import annotations

from flask import Response, g, request

from ..auth.identity import current_engine
from ..inputs import bad_request, invalid, unknown_fields_message
from . import bp
from .blueprint import admin_only
from .casefiles import current_casefiles
from .schemas import Definition, DefinitionList, DefinitionQuery, Deploy, DeployResult, VersionQuery

TAGS = ["definitions"]
_MAX_FILENAME = 200
_XML = {"type": "string"}


@bp.get("/definitions", tags=TAGS, summary="流程定义（每个流程的最新版本）")
@bp.arguments(DefinitionQuery, location="query")
@bp.response(200, DefinitionList)
@bp.errors(422)
def list_definitions(query):
    if query["startable"] == "true":
        # What the caller's department may start by hand (the "start a case" page).
        return {"items": current_casefiles().startable(g.actor)}
    return {"items": current_engine().list_definitions()}


@bp.post(
    "/definitions",
    tags=TAGS,
    summary="部署流程（上传 .bpmn 及附带的 .dmn / .form）",
    description="新建版本时返回 201；文件与最新版本相同时返回 200（同样的响应体）；"
    "模型无效时返回 422，details 为 ValidationProblem 列表。只有流程管理员可以部署。",
)
@bp.multipart(Deploy)
@bp.response(201, DeployResult, description="已部署新版本")
@bp.alt_response(200, schema=DeployResult, description="内容未变化：返回现有最新版本", success=True)
@bp.errors(403, 413, 422)
@admin_only("只有流程管理员可以部署流程")
def deploy_definition():
    if request.mimetype != "multipart/form-data":
        raise bad_request(
            "请以 multipart/form-data 上传：字段 file 为 .bpmn 文件，字段 files 为附带的 .dmn/.form 文件"
        )
    # A part whose name the parser could not read has the name None.
    names = {n if isinstance(n, str) else "" for n in (*request.files, *request.form)}
    unknown = sorted(names - set(Deploy().fields))
    if unknown:
        raise invalid(unknown_fields_message(n or "（无名称）" for n in unknown), unknown[0])
    upload = request.files.get("file")
    if upload is not None:
        filename = _filename(upload.filename) or "diagram.bpmn"
        content = upload.read()
    elif "file" in request.form:  # a part without a filename arrives as a form field
        filename, content = "diagram.bpmn", request.form["file"].encode("utf-8", "replace")
    else:
        raise invalid("缺少字段 file（.bpmn 文件）", "file")
    if not filename.lower().endswith((".bpmn", ".xml")):
        raise invalid(f"file 须为 .bpmn 文件：{filename}", "file")
    if "files" in request.form:
        raise invalid("字段 files 须以文件形式上传（.dmn / .form）", "files")
    if "comment" in request.files:
        raise invalid("字段 comment 须为文本", "comment")
    comment = request.form.get("comment") or None
    if comment is not None and (len(comment) > 2000 or "\x00" in comment):
        raise invalid("版本说明最多 2000 字，且不能含有无效字符", "comment")
    extra: dict[str, bytes] = {}
    for part in request.files.getlist("files"):
        name = _filename(part.filename)
        if not name:
            raise invalid("附带文件须有文件名（.dmn / .form）", "files")
        if name in extra or name == filename:
            raise invalid(f"文件名重复：{name}", "files")
        extra[name] = part.read()
    result = current_engine().deploy(filename, content, extra, actor=g.actor, comment=comment)
    return result, (201 if result.created else 200)


def _filename(raw: str | None) -> str | None:
    """The base name of an uploaded file, as the client named it."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("文件名含有无效字符", "file") from None
    if "\x00" in name or len(name) > _MAX_FILENAME:
        raise invalid(f"文件名无效或超过 {_MAX_FILENAME} 个字符", "file")
    return name


@bp.get("/definitions/<key>", tags=TAGS, summary="流程定义（缺省最新版本）")
@bp.arguments(VersionQuery, location="query")
@bp.response(200, Definition)
@bp.errors(404, 422)
def get_definition(query, key: str):
    return current_engine().get_definition(key, query["version"])


@bp.get("/definitions/<key>/versions", tags=TAGS, summary="流程的全部版本")
@bp.response(200, DefinitionList)
@bp.errors(404, 422)  # 422: a blank key
def list_definition_versions(key: str):
    return {"items": current_engine().list_definition_versions(key)}


@bp.get("/definitions/<key>/xml", tags=TAGS, summary="流程的 BPMN XML")
@bp.arguments(VersionQuery, location="query")
@bp.response(200, _XML, content_type="application/xml", description="BPMN 2.0 XML")
@bp.errors(404, 422)
def get_definition_xml(query, key: str):
    xml = current_engine().get_definition_xml(key, query["version"])
    return Response(xml, mimetype="application/xml")
