"""The process admin's processes (issue 11, area versions): the catalogue, a new process from a
template, the draft of a process (get, save, discard, deploy with a comment), the diff of two
versions, a version's XML and files. Process admins only: everyone else gets 403 before the
body is read."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g

from ..auth.identity import current_engine
from ..errors import ApiError
from ..inputs import invalid
from . import bp
from .blueprint import VERSION, admin_only
from .schemas import (
    DeployDraft,
    DeployResult,
    DiffQuery,
    DraftDiscarded,
    NewProcess,
    ProcessCatalogue,
    ProcessDraft,
    SaveProcessDraft,
    VersionDiff,
)

TAGS = ["admin-processes"]
PREFIX = "/admin/processes"
_FORBIDDEN = "只有流程管理员可以管理流程"
_XML = {"type": "string"}
_TEXT_TYPES = {".dmn": "application/xml", ".form": "application/json",
               ".json": "application/json"}


@bp.get(PREFIX, tags=TAGS, summary="流程目录（流程管理员）",
        description="每个流程（已部署的，及只有草稿的新流程）：各版本（部署人、时间、说明、"
        "该版本上运行中与已结束的案件数、随版本部署的文件），及草稿（不含内容）。按流程标识排序，"
        "版本最新的在前。")
@admin_only(_FORBIDDEN)
@bp.response(200, ProcessCatalogue)
@bp.errors(403)
def list_processes():
    return {"items": current_engine().process_catalogue(g.actor)}


@bp.post(PREFIX, tags=TAGS, summary="从模板新建流程（生成草稿）",
         description="template 为 blank（空白流程：开始 → 调用者部门泳道中的一个用户任务"
         "（带表单和 5 个工作日的时限）→ 结束），或现有流程的标识（复制其最新版本及其 DMN、表单文件，"
         "流程标识与名称改为新的）。生成的是草稿，部署后才成为版本 1。标识已存在时返回 409，"
         "模板流程不存在时返回 404。")
@admin_only(_FORBIDDEN)
@bp.arguments(NewProcess, example={"key": "hazard_followup", "name": "隐患跟踪回访",
                                   "template": "blank"})
@bp.response(201, ProcessDraft, description="已生成草稿")
@bp.errors(403, 404, 409, 422)
def new_process(body):
    return current_engine().new_process_draft(body["key"], body["name"], g.actor,
                                               body["template"])


@bp.get(f"{PREFIX}/<key>/draft", tags=TAGS, summary="流程的草稿",
        description="已保存的草稿；尚无草稿时返回最新版本（含其 DMN、表单文件）作为草稿的起点："
        "revision 为 0、saved 为 false，不保存任何内容（首次 PUT 时带 revision 0）。"
        "流程既无版本也无草稿时返回 404。")
@admin_only(_FORBIDDEN)
@bp.response(200, ProcessDraft)
@bp.errors(403, 404, 422)
def get_process_draft(key: str):
    draft = current_engine().get_process_draft(key, g.actor)
    if draft is None:
        raise ApiError(404, f"流程 {key} 不存在（没有版本，也没有草稿）", "not_found")
    return draft


@bp.put(f"{PREFIX}/<key>/draft", tags=TAGS, summary="保存草稿（自动保存）",
        description="每个流程一份草稿，保存后 revision 加 1。revision 与已存草稿不一致（另一位"
        "管理员已保存）时返回 409，message 说明谁在何时保存，details 含 revision、updated_by、"
        "updated_at；不带 revision 时直接覆盖。保存只检查大小、编码、是 BPMN XML 且含标识为 key "
        "的流程：草稿可以暂不可部署。")
@admin_only(_FORBIDDEN)
@bp.arguments(SaveProcessDraft, example={"bpmn_xml": "<bpmn:definitions …/>",
                                         "files": {"limits.dmn": "<definitions …/>"},
                                         "base_version": 3, "revision": 5})
@bp.response(200, ProcessDraft, description="已保存")
@bp.errors(403, 409, 422)
def save_process_draft(body, key: str):
    return current_engine().save_process_draft(key, g.actor, body["bpmn_xml"], body["files"],
                                               body["base_version"], body["revision"])


@bp.delete(f"{PREFIX}/<key>/draft", tags=TAGS, summary="放弃草稿",
           description="删除草稿（没有草稿时 discarded 为 false）；已部署的版本不受影响。")
@admin_only(_FORBIDDEN)
@bp.response(200, DraftDiscarded, description="已放弃")
@bp.errors(403, 422)
def discard_process_draft(key: str):
    return {"discarded": current_engine().discard_process_draft(key, g.actor)}


@bp.post(f"{PREFIX}/<key>/draft/deploy", tags=TAGS, summary="部署草稿为新版本（附说明）",
         description="按完整的部署校验部署草稿：新建版本时返回 201，草稿随之删除；内容与最新版本"
         "相同时不新建版本，返回 200（草稿同样删除）；模型无效时返回 422，details 为问题列表，"
         "草稿保留。草稿基于的版本之后又有新版本部署时返回 409（先比较差异，再以最新版本为"
         "基础保存草稿）。没有草稿时返回 404。")
@admin_only(_FORBIDDEN)
@bp.arguments(DeployDraft, required=False, example={"comment": "区应急局加入会商"})
@bp.response(201, DeployResult, description="已部署新版本")
@bp.alt_response(200, schema=DeployResult, description="内容未变化：返回现有最新版本",
                 success=True)
@bp.errors(403, 404, 409, 422)
def deploy_process_draft(body, key: str):
    result = current_engine().deploy_process_draft(key, g.actor, body["comment"])
    return result, (201 if result.created else 200)


@bp.get(f"{PREFIX}/<key>/diff", tags=TAGS, summary="比较两个版本（或版本与草稿）",
        description="a、b 为版本号或 draft。列出流程图中新增、删除、修改的元素（修改的属性："
        "名称、泳道（部门）、表单、时限、阶段、候选角色、办理人、条件、定时器等，含旧值新值），"
        "决策表的规则变化（按规则 id，含各列条件与结果），表单字段的变化（按字段 key）。")
@admin_only(_FORBIDDEN)
@bp.arguments(DiffQuery, location="query")
@bp.response(200, VersionDiff)
@bp.errors(403, 404, 422)
def diff_versions(query, key: str):
    for name in ("a", "b"):
        if query[name] is None:
            raise invalid(f"缺少参数 {name}（版本号或 draft）", name)
    return current_engine().diff_versions(key, query["a"], query["b"], g.actor)


@bp.get(f"{PREFIX}/<key>/versions/{VERSION}/xml", tags=TAGS, summary="下载某个版本的 BPMN XML")
@admin_only(_FORBIDDEN)
@bp.response(200, _XML, content_type="application/xml", description="BPMN 2.0 XML（附件）")
@bp.errors(403, 404, 422)
def get_version_xml(key: str, version: int):
    xml = current_engine().get_definition_xml(key, version)
    return _download(xml, "application/xml", f"{key}_v{version}.bpmn")


@bp.get(f"{PREFIX}/<key>/versions/{VERSION}/files/<filename>", tags=TAGS,
        summary="下载某个版本的 DMN / 表单文件")
@admin_only(_FORBIDDEN)
@bp.response(200, _XML, content_type="application/octet-stream",
             description="文件内容：.dmn 为 application/xml，.form / .json 为 application/json")
@bp.errors(403, 404, 422)
def get_version_file(key: str, version: int, filename: str):
    content = current_engine().get_definition_file(key, version, filename, g.actor)
    mimetype = next((t for ext, t in _TEXT_TYPES.items() if filename.endswith(ext)),
                    "text/plain")
    return _download(content, mimetype, filename)


def _download(content: str, mimetype: str, filename: str) -> Response:
    """``content`` as a file called ``filename`` (RFC 6266, UTF-8 names included)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": disposition})
