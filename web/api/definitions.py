"""Process definitions: list, deploy (multipart upload), versions, XML."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from ..auth.identity import current_engine
from ..inputs import MAX_ID, bad_request, invalid, query_choice, query_int
from ..serialize import definition_json, deploy_json
from . import bp
from .casefiles import current_casefiles
from .incidents import BOOLEANS

_MAX_FILENAME = 200


@bp.get("/definitions")
def list_definitions():
    if query_choice("startable", BOOLEANS) == "true":
        # What the caller's department may start by hand (the "start a case" page).
        definitions = current_casefiles().startable(g.actor)
    else:
        definitions = current_engine().list_definitions()
    return jsonify({"items": [definition_json(d) for d in definitions]})


@bp.post("/definitions")
def deploy_definition():
    if request.mimetype != "multipart/form-data":
        raise bad_request(
            "请以 multipart/form-data 上传：字段 file 为 .bpmn 文件，字段 files 为附带的 .dmn/.form 文件"
        )
    # A part whose name the parser could not read has the name None.
    names = {n if isinstance(n, str) else "" for n in (*request.files, *request.form)}
    unknown = sorted(names - {"file", "files"})
    if unknown:
        raise invalid(f"未知字段：{', '.join(n or '（无名称）' for n in unknown)}", unknown[0])
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
    extra: dict[str, bytes] = {}
    for part in request.files.getlist("files"):
        name = _filename(part.filename)
        if not name:
            raise invalid("附带文件须有文件名（.dmn / .form）", "files")
        if name in extra or name == filename:
            raise invalid(f"文件名重复：{name}", "files")
        extra[name] = part.read()
    result = current_engine().deploy(filename, content, extra, actor=g.actor)
    return jsonify(deploy_json(result)), (201 if result.created else 200)


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


@bp.get("/definitions/<key>")
def get_definition(key: str):
    version = query_int("version", None, minimum=1, maximum=MAX_ID)
    return jsonify(definition_json(current_engine().get_definition(key, version)))


@bp.get("/definitions/<key>/versions")
def list_definition_versions(key: str):
    versions = current_engine().list_definition_versions(key)
    return jsonify({"items": [definition_json(d) for d in versions]})


@bp.get("/definitions/<key>/xml")
def get_definition_xml(key: str):
    version = query_int("version", None, minimum=1, maximum=MAX_ID)
    xml = current_engine().get_definition_xml(key, version)
    return Response(xml, mimetype="application/xml")
