"""名录 API (issue 12): the registers of enterprises, mines, 选矿厂 and 尾矿库 — list, read an
entry with its cases, create, update, start a process from an entry, import a workbook. Thin
over ``workflows.registers``; the shapes are declared here, beside the routes."""

from __future__ import annotations

from flask import g, request
from marshmallow import Schema, fields

from engine import InvalidInput, NotFound
from workflows.registers.entries import Registers
from workflows.registers.excel import RegisterImport, ensure_editor
from workflows.registers.fields import FIELDS, KINDS
from workflows.registers.starts import RegisterCases

from ..auth.identity import current_engine
from ..inputs import MAX_ID, bad_request, invalid
from . import bp
from .fields import Integer, QueryChoice, QueryText, Text, Timestamp

TAGS = ["registers"]
KIND_RULE = "/registers/<kind>"
# entry_id read by the view (not an int converter): an id out of range is a 404 for every
# method, where werkzeug would answer a PUT to it with 405
ENTRY_RULE = "/registers/<kind>/<entry_id>"


def _m(doc=None, **extra) -> dict:
    return {"metadata": {**extra, "description": doc} if doc else extra}


def _req_str(doc=None, **extra):
    return fields.String(required=True, **_m(doc, **extra))


def _opt_str(doc=None):
    return fields.String(required=True, allow_none=True, **_m(doc))


# ------------------------------------------------------------------ shapes


def _field_names() -> dict[str, str]:
    """Every field of every register, with its label (for the documents)."""
    names = {}
    for kind in KINDS:
        for f in FIELDS[kind]:
            names.setdefault(f.name, f.label)
    return names


class RegisterLicenceFlag(Schema):
    field = _req_str("证照有效期字段")
    label = _req_str("证照名称")
    expiry = fields.Date(required=True, **_m("有效期至"))
    state = _req_str("expired（已过期）/ expiring（即将到期）", enum=["expired", "expiring"])


def _entry_schema():
    """An entry of any register: the common fields always, the fields of its kind beside
    (those of other kinds are left out)."""
    attrs = {
        "id": fields.Integer(required=True),
        "kind": _req_str("名录类别", enum=list(KINDS)),
        "name": _req_str("名称"),
        "town": _opt_str("属地街镇代码"),
        "town_name": _req_str("属地街镇名称（无则为空）"),
        "status": _req_str("状态"),
        "demo": fields.Boolean(required=True, **_m("是否演示数据")),
        "created_at": Timestamp(required=True),
        "updated_at": Timestamp(required=True),
        "licence_flags": fields.List(
            fields.Nested(RegisterLicenceFlag), required=True, **_m("已过期或即将到期的证照")
        ),
        "enterprise_id": fields.Integer(allow_none=True, **_m("所属企业 id（设施）")),
        "enterprise_name": fields.String(**_m("所属企业名称（设施）")),
    }
    for name, label in _field_names().items():
        if name not in attrs:
            kind = next(f.type for k in KINDS for f in FIELDS[k] if f.name == name)
            attrs[name] = (
                fields.Date(allow_none=True, **_m(label))
                if kind == "date"
                else fields.String(allow_none=True, **_m(label))
            )
    return type("RegisterEntry", (Schema,), attrs)


RegisterEntry = _entry_schema()


class RegisterList(Schema):
    items = fields.List(fields.Nested(RegisterEntry), required=True)
    total = fields.Integer(required=True)


class RegisterListQuery(Schema):
    status = QueryText(max_length=16, doc="状态（如 生产、停产停建）")
    town = QueryText(max_length=64, doc="属地街镇代码")
    q = QueryText(max_length=100, doc="名称关键字")
    expiring = QueryChoice(
        ("true", "false"), default="false", doc="true：只列证照已过期或即将到期的条目"
    )


def _body_schema():
    attrs = {}
    for name, label in _field_names().items():
        spec = next(f for k in KINDS for f in FIELDS[k] if f.name == name)
        if spec.type == "enterprise":
            attrs[name] = Integer(minimum=1, maximum=MAX_ID, doc=label, nullable=True)
        elif spec.type == "date":
            attrs[name] = Text(max_length=10, doc=f"{label}（YYYY-MM-DD）", nullable=True)
        else:
            attrs[name] = Text(max_length=spec.max_length, doc=label, nullable=True)
    attrs["Meta"] = type("Meta", (), {"ordered": True})
    return type("RegisterEntryInput", (Schema,), attrs)


RegisterEntryInput = _body_schema()


class RegisterCaseTask(Schema):
    name = _opt_str("环节")
    department_code = _opt_str("办理部门")
    due_at = Timestamp(required=True, allow_none=True)


class RegisterCase(Schema):
    instance_id = fields.Integer(required=True)
    process_key = _req_str()
    title = _opt_str()
    business_key = _opt_str()
    status = _req_str()
    status_name = _req_str()
    stage = _opt_str()
    started_at = Timestamp(required=True)
    started_by = _req_str()
    entry_kind = _req_str()
    entry_id = fields.Integer(required=True)
    entry_name = _req_str()
    open_tasks = fields.List(fields.Nested(RegisterCaseTask), required=True)


class RegisterHazard(Schema):
    instance_id = fields.Integer(required=True)
    entry_name = _req_str()
    level = _opt_str("隐患等级")
    description = _opt_str("隐患描述")
    state = _opt_str("整改情况")
    found_on = _opt_str("发现日期")


class RegisterInspection(Schema):
    instance_id = fields.Integer(required=True)
    entry_name = _req_str()
    what = _req_str("检查 / 复查")
    date = _opt_str()
    by = _opt_str("检查人员")
    result = _opt_str()


class RegisterOffered(Schema):
    key = _req_str("流程标识")
    name = _req_str("流程名称")


class RegisterFacilities(Schema):
    mine = fields.List(fields.Nested(RegisterEntry), required=True)
    plant = fields.List(fields.Nested(RegisterEntry), required=True)
    tailings = fields.List(fields.Nested(RegisterEntry), required=True)


class RegisterEntryPage(Schema):
    kind = _req_str(enum=list(KINDS))
    entry = fields.Nested(RegisterEntry, required=True)
    enterprise = fields.Nested(RegisterEntry, required=True, allow_none=True)
    facilities = fields.Nested(RegisterFacilities, required=True)
    cases = fields.List(fields.Nested(RegisterCase), required=True)
    hazards = fields.List(fields.Nested(RegisterHazard), required=True)
    inspections = fields.List(fields.Nested(RegisterInspection), required=True)
    offered = fields.List(
        fields.Nested(RegisterOffered), required=True, **_m("本用户可从本条目发起的流程")
    )
    can_edit = fields.Boolean(required=True)


class RegisterStartFromEntry(Schema):
    process_key = Text(required=True, max_length=200, doc="流程标识（见 offered）")


class RegisterStartedCase(Schema):
    instance_id = fields.Integer(required=True)
    process_key = _req_str()
    business_key = _opt_str()
    title = _opt_str()
    status = _req_str()


class RegisterImportProblem(Schema):
    sheet = _req_str("工作表")
    row = fields.Integer(required=True, allow_none=True)
    field = _opt_str()
    message = _req_str()


class RegisterImportSheet(Schema):
    kind = _req_str(enum=list(KINDS))
    sheet = _req_str()
    rows = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)


class RegisterImportResult(Schema):
    ok = fields.Boolean(required=True, **_m("没有错误"))
    committed = fields.Boolean(required=True, **_m("已写入（预览时为 false）"))
    sheets = fields.List(fields.Nested(RegisterImportSheet), required=True)
    errors = fields.List(fields.Nested(RegisterImportProblem), required=True)


class RegisterImportUpload(Schema):
    file = fields.Raw(required=True, **_m(".xlsx 工作簿", type="string", format="binary"))
    commit = fields.String(**_m("true：导入；否则只预览", enum=["true", "false"]))


# ------------------------------------------------------------------ routes


def _registers() -> Registers:
    return Registers(current_engine())


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"没有这种名录：{kind}")
    return kind


def _entry_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise NotFound(f"名录条目不存在：{raw}")
    return int(raw)


def _body(kind: str, body: dict) -> dict:
    allowed = {f.name for f in FIELDS[kind]}
    extra = sorted(k for k, v in body.items() if k not in allowed and v is not None)
    if extra:
        raise invalid(f"该名录没有字段：{'、'.join(extra)}", extra[0])
    return {k: v for k, v in body.items() if k in allowed}


@bp.get(
    KIND_RULE,
    tags=TAGS,
    summary="名录条目列表",
    description="本用户可见的条目（街镇只见本属地）。expiring=true 只列证照已过期或三个月内到期的。",
)
@bp.arguments(RegisterListQuery, location="query")
@bp.response(200, RegisterList)
@bp.errors(404, 422)
def registers_list(query, kind):
    items = _registers().list(
        _kind(kind),
        g.actor,
        status=query.get("status"),
        town=query.get("town"),
        q=query.get("q"),
        expiring=query.get("expiring") == "true",
    )
    return {"items": items, "total": len(items)}


@bp.post(
    KIND_RULE,
    tags=TAGS,
    summary="登记名录条目",
    description="矿山、选矿厂、尾矿库由区应急局、区自然资源分局登记；企业由区招商部门、区政数局登记。"
    "校验不通过时返回 422，details.problems 逐项列出（field、message）。",
)
@bp.arguments(RegisterEntryInput)
@bp.response(201, RegisterEntry)
@bp.errors(403, 404, 422)
def registers_create(body, kind):
    kind = _kind(kind)
    regs = _registers()
    regs.check_edit(g.actor, kind)
    return regs.create(kind, _body(kind, body), g.actor)


@bp.get(
    ENTRY_RULE,
    tags=TAGS,
    summary="名录条目（一企一档）",
    description="条目、所属企业、企业名下设施、从条目发起的事项及其状态、隐患、检查记录、可发起的流程。",
)
@bp.response(200, RegisterEntryPage)
@bp.errors(403, 404)
def registers_entry(kind, entry_id):
    return RegisterCases(_registers()).entry_page(_kind(kind), _entry_id(entry_id), g.actor)


@bp.put(ENTRY_RULE, tags=TAGS, summary="修改名录条目", description="只改所给字段；其余不变。")
@bp.arguments(RegisterEntryInput)
@bp.response(200, RegisterEntry)
@bp.errors(403, 404, 422)
def registers_update(body, kind, entry_id):
    kind = _kind(kind)
    regs = _registers()
    regs.check_edit(g.actor, kind)
    given = set(request.get_json(silent=True) or {})  # absent fields keep their values
    return regs.update(
        kind,
        _entry_id(entry_id),
        {k: v for k, v in _body(kind, body).items() if k in given},
        g.actor,
    )


@bp.post(
    f"{ENTRY_RULE}/cases",
    tags=TAGS,
    summary="从名录条目发起流程",
    description="流程须是本类条目可发起、且本部门可发起的（见条目的 offered）。",
)
@bp.arguments(RegisterStartFromEntry)
@bp.response(201, RegisterStartedCase)
@bp.errors(403, 404, 422)
def registers_start(body, kind, entry_id):
    info = RegisterCases(_registers()).start(
        _kind(kind), _entry_id(entry_id), body["process_key"], g.actor
    )
    return {
        "instance_id": info.id,
        "process_key": info.process_key,
        "business_key": info.business_key,
        "title": info.title,
        "status": info.status,
    }


@bp.post(
    "/registers/import",
    tags=TAGS,
    summary="从 Excel 导入名录",
    description="multipart/form-data：file（.xlsx，每个名录一个工作表：企业、矿山、选矿厂、尾矿库），"
    "commit=true 时导入，否则只预览。有任何一行出错时整个文件不导入，422 的 details.problems "
    "逐行列出（sheet、row、field、message）。",
)
@bp.multipart(RegisterImportUpload)
@bp.response(200, RegisterImportResult)
@bp.errors(403, 413, 422)
def registers_import():
    ensure_editor(_registers(), g.actor)  # before the upload: a caller who may not import learns nothing
    if request.mimetype != "multipart/form-data":
        raise bad_request("请以 multipart/form-data 上传（字段 file）")
    upload = request.files.get("file")
    if upload is None:
        raise invalid("缺少字段 file（.xlsx 文件）", "file")
    try:
        content = upload.read()
    finally:
        upload.close()
    importer = RegisterImport(_registers())
    if request.form.get("commit") == "true":
        return importer.commit(content, g.actor)
    result = importer.preview(content, g.actor)
    if not result["ok"]:
        raise InvalidInput(
            f"导入文件有 {len(result['errors'])} 处错误", {"problems": result["errors"]}
        )
    return result
