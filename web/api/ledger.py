"""督查台账 (supervision ledger): list, a row, 分解表 import (preview, commit), export, 现场交办.

Thin over ``workflows.ledger.service.LedgerService``: the supervision office keeps the ledger,
leaders read it all, any other user reads its own department's rows."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, request
from marshmallow import Schema, fields, validate

from workflows.ledger.service import OFFICE_ONLY, LedgerService, can_manage

from ..auth.identity import current_engine
from ..inputs import MAX_ID, invalid
from . import bp
from .blueprint import allowed_only
from .fields import QueryText, Text
from .schemas import (
    _m,
    boolean,
    integer,
    many,
    maybe_integer,
    maybe_moment,
    maybe_string,
    moment,
    string,
    strings,
)

TAGS = ["ledger"]
LIGHTS = ("red", "yellow", "green")
STATUSES = ("open", "closed")
ORIGINS = ("breakdown", "onsite", "round")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerQuery(Schema):
    source_table = QueryText(max_length=200, doc="来源分解表")
    unit = QueryText(max_length=64, doc="单位（部门编码）")
    light = fields.String(validate=validate.OneOf(LIGHTS), **_m("灯色"))
    status = fields.String(
        validate=validate.OneOf(STATUSES), **_m("状态：open 在办 / closed 已销账")
    )
    origin = fields.String(
        validate=validate.OneOf(ORIGINS), **_m("来源：分解表 / 现场交办 / 督查室建账")
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))


class LedgerRowOut(Schema):
    id = integer("台账行 id")
    source_table = string("来源分解表（现场交办为“现场交办”）")
    number = string("序号")
    task = string("工作任务")
    lead_leader = maybe_string("牵头领导")
    lead_unit = maybe_string("牵头单位（部门编码）")
    responsible_units = strings("责任单位（部门编码）")
    units = strings("牵头单位和责任单位（报送单位）")
    deadline = fields.Date(required=True, allow_none=True, **_m("完成时限（长期为 null）"))
    deadline_text = maybe_string("完成时限原文（如 2026年6月底、长期）")
    status = string("open 在办 / closed 已销账")
    light = maybe_string("灯色 red / yellow / green")
    light_reason = maybe_string("亮灯原因")
    months_behind = integer("连续滞后月数")
    red_rounds = integer("连续红灯轮数")
    actual_pct = maybe_integer("核实后的实际进度（%）")
    closed_on = fields.Date(required=True, allow_none=True, **_m("销账日期"))
    closure_evidence = fields.List(
        fields.String(), required=True, allow_none=True, **_m("销账佐证（附件 id）")
    )
    closure_note = maybe_string("销账说明")
    origin = string("breakdown 分解表 / onsite 现场交办 / round 督查室建账")
    origin_note = maybe_string("来源说明（现场交办：领导、日期、场合）")


class LedgerProgressOut(Schema):
    department_code = string("报送单位")
    month = string("所报月份 YYYY-MM")
    percent = maybe_integer("实际进度（%）")
    text = maybe_string("完成情况")
    light = maybe_string("本月灯色")
    reported_at = maybe_moment("报送时间（UTC）")
    late = boolean("逾期报送或未报送")
    signed = boolean("负责人已签字")
    status = string("submitted / missing")
    instance_key = maybe_string("督查实例的业务编号")


class LedgerEventOut(Schema):
    kind = string(
        "open 建账 / reconcile 对账 / audit 查账 / close 销账 / progress 进度 / "
        "light 亮灯 / import 导入 / onsite 现场交办 / consult 会商"
    )
    actor = maybe_string("操作人或单位")
    at = moment("时间（UTC）")
    detail = fields.Raw(required=True, allow_none=True, **_m("详情", type="object"))


class LedgerRowDetail(LedgerRowOut):
    progress = many(LedgerProgressOut, "月度进度")
    events = many(LedgerEventOut, "台账记录")


class LedgerPage(Schema):
    items = many(LedgerRowOut)
    total = integer()
    limit = integer()
    offset = integer()


class LedgerImportRow(Schema):
    line = maybe_integer("Excel 行号")
    source_table = string("来源分解表")
    number = string("序号")
    task = string("工作任务")
    lead_leader = maybe_string("牵头领导")
    lead_unit = maybe_string("牵头单位（部门编码）")
    units = strings("责任单位（部门编码）")
    deadline = maybe_string("完成时限（ISO 日期；长期为 null）")
    deadline_label = string("完成时限（中文）")
    ok = boolean("本行无误")


class LedgerImportError(Schema):
    line = maybe_integer("Excel 行号")
    field = string("列")
    message = string("错误")
    text = string("第 N 行 · 列：错误")


class LedgerImportPreview(Schema):
    ok = boolean("全部无误（可以导入）")
    rows = many(LedgerImportRow, "逐行解析结果")
    errors = many(LedgerImportError, "逐行错误（中文）")
    source_tables = strings("来源分解表")


class LedgerImportResult(LedgerImportPreview):
    row_ids = fields.List(fields.Integer(), required=True, **_m("新建的台账行 id"))


class LedgerUpload(Schema):
    file = fields.Raw(required=True, **_m("分解表（.xlsx）", type="string", format="binary"))


class LedgerOnsite(Schema):
    task = Text(required=True, max_length=2000, doc="交办事项")
    leader = Text(required=True, max_length=100, doc="交办领导")
    assigned_on = fields.Date(required=True, **_m("交办日期"))
    units = fields.List(
        Text(required=True, max_length=100),
        required=True,
        validate=validate.Length(1, 50, error="请指定 1 至 50 个责任单位"),
        error_messages={"invalid": "字段 units 必须是单位（部门编码或名称）的列表",
                        "required": "缺少字段 units", "null": "缺少字段 units"},
        **_m("责任单位（部门编码或名称）"),
    )
    lead_unit = Text(max_length=100, doc="牵头单位（部门编码或名称）", nullable=True)
    deadline = Text(
        required=True, max_length=100, doc="完成时限：日期、2026年6月底、2026年12月31日或长期"
    )
    occasion = Text(max_length=200, doc="交办场合（如现场调研）", nullable=True)


def _service() -> LedgerService:
    return LedgerService(current_engine())


def _upload() -> tuple[str | None, bytes]:
    if request.mimetype != "multipart/form-data":
        raise invalid("请以 multipart/form-data 上传分解表（字段 file）", "file")
    upload = request.files.get("file")
    if upload is None:
        raise invalid("缺少字段 file（分解表 .xlsx）", "file")
    try:
        return upload.filename, upload.read()
    finally:
        upload.close()


@bp.get(
    "/ledger/rows",
    tags=TAGS,
    summary="督查台账（可按来源分解表、单位、灯色、状态筛选）",
    description="区政府督查室、区领导看全部事项；其他单位只看本单位（牵头或责任）的事项。",
)
@bp.arguments(LedgerQuery, location="query")
@bp.response(200, LedgerPage)
@bp.errors(422)
def list_ledger_rows(query):
    rows, total = _service().list_rows(g.actor, query, query["limit"], query["offset"])
    return {"items": rows, "total": total, "limit": query["limit"], "offset": query["offset"]}


@bp.get(
    f"/ledger/rows/<int(max={MAX_ID}):row_id>",
    tags=TAGS,
    summary="台账事项：责任单位、月度进度、台账记录",
)
@bp.response(200, LedgerRowDetail)
@bp.errors(404)
def get_ledger_row(row_id: int):
    return _service().get_row(g.actor, row_id)


@bp.post(
    "/ledger/import/preview",
    tags=TAGS,
    summary="预览分解表（不导入）",
    description="multipart/form-data 字段 file（.xlsx，不超过 5 MB）。返回逐行解析结果和"
    "逐行中文错误（单位不在组织架构中、缺少完成时限、工作任务为空、序号重复）。"
    "不是 .xlsx 或超过大小的文件返回 422。只有区政府督查室可用。",
)
@bp.multipart(LedgerUpload)
@bp.response(200, LedgerImportPreview)
@bp.errors(403, 422)
@allowed_only(can_manage, OFFICE_ONLY)
def preview_ledger_import():
    filename, content = _upload()
    return _service().preview(g.actor, filename, content)


@bp.post(
    "/ledger/import",
    tags=TAGS,
    summary="导入分解表（建账）",
    description="全部无误才导入（一个事务，全部建账）；有一行有误即返回 422，"
    "details 为逐行错误，不写入任何事项。只有区政府督查室可用。",
)
@bp.multipart(LedgerUpload)
@bp.response(201, LedgerImportResult)
@bp.errors(403, 422)
@allowed_only(can_manage, OFFICE_ONLY)
def commit_ledger_import():
    filename, content = _upload()
    return _service().commit(g.actor, filename, content)


@bp.post(
    "/ledger/onsite",
    tags=TAGS,
    summary="领导现场交办事项记入台账",
    description="来源记为交办领导、日期和场合；单位须在组织架构中。只有区政府督查室可用。",
)
@allowed_only(can_manage, OFFICE_ONLY)
@bp.arguments(LedgerOnsite)
@bp.response(201, LedgerRowDetail)
@bp.errors(403, 422)
def add_onsite_assignment(body):
    return _service().add_onsite(g.actor, dict(body, assigned_on=body["assigned_on"].isoformat()))


@bp.get(
    "/ledger/export",
    tags=TAGS,
    summary="导出督查台账（Excel）",
    description="与列表相同的筛选；标题行、两级表头、中文日期、冻结表头、打印区域、灯色单元格。",
)
@bp.arguments(LedgerQuery, location="query")
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type=XLSX,
    description="督查台账 .xlsx（附件）",
)
@bp.errors(422)
def export_ledger_rows(query):
    filename, content = _service().export(g.actor, query)
    disposition = f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": disposition})
