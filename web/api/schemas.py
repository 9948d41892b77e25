"""Every shape of the API, declared once: request bodies, query strings and responses.

Why flask-smorest with marshmallow: it is a maintained Flask extension (Flask 3.1, Python 3.11)
built on webargs and apispec, so one marshmallow schema validates a request
(``@bp.arguments``), dumps a response (``@bp.response``) and becomes its part of the OpenAPI
3.0.3 document (``/api/v1/openapi.json``, the dialect schemathesis checks best). Marshmallow
dumps frozen dataclasses and dicts alike, and its fields let kunflow keep its own checks and
Chinese messages (``fields.py``). The pydantic-based choices (spectree, flask-openapi3) emit
OpenAPI 3.1 and would need a second model layer over the engine's dataclasses.

Request schemas raise on unknown fields; the first problem found (unknown fields first, then
the fields in the order declared here) becomes the 422 ``invalid_input`` answer. Response
schemas describe exactly what is sent: every field present, ``null`` only where marked.
"""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, post_dump, pre_dump, validate
from marshmallow.utils import get_value

from engine import EVENT_KINDS, local_today

from ..attachments import ALLOWED_TEXT as UPLOAD_TYPES_TEXT
from ..inputs import MAX_ID
from .fields import (
    Day,
    Integer,
    JsonObject,
    QueryChoice,
    QueryDate,
    QueryInt,
    QueryText,
    Text,
    Timestamp,
)

STATUSES = ("running", "suspended", "incident", "completed", "terminated")
TASK_STATES = ("ready", "claimed", "completed", "cancelled")
BOOLEANS = ("true", "false")
MAX_PAGE = 500
MAX_REASON = 2000
DEFAULT_TTL_DAYS = 30
MAX_TTL_DAYS = 3650
MAX_CALENDAR_DAYS = 3650  # about fourteen years of working days: more than any statutory limit
MAX_FIELD = 200  # a form field key
MAX_COMMENT = 5000


# ------------------------------------------------------------------ response field helpers
# Every response field is always present (required); maybe_*() ones may be null.


def _m(doc: str | None, **extra) -> dict:
    return {"metadata": {**extra, "description": doc} if doc else extra}


def string(doc=None, **kw):
    return fields.String(required=True, **_m(doc), **kw)


def maybe_string(doc=None, **kw):
    return fields.String(required=True, allow_none=True, **_m(doc), **kw)


def integer(doc=None):
    return fields.Integer(required=True, **_m(doc))


def maybe_integer(doc=None):
    return fields.Integer(required=True, allow_none=True, **_m(doc))


def boolean(doc=None):
    return fields.Boolean(required=True, **_m(doc))


def moment(doc=None):
    return Timestamp(required=True, **_m(doc))


def maybe_moment(doc=None):
    return Timestamp(required=True, allow_none=True, **_m(doc))


def strings(doc=None, **kw):
    return fields.List(fields.String(), required=True, **_m(doc), **kw)


def one_of(choices, doc=None, **kw):
    return fields.String(required=True, **_m(doc, enum=list(choices)), **kw)


def many(schema, doc=None):
    return fields.List(fields.Nested(schema), required=True, **_m(doc))


def process_data(doc="流程数据（任意 JSON 对象）；列表接口中为 null"):
    return fields.Raw(
        required=True, allow_none=True, **_m(doc, type="object", additionalProperties=True)
    )


def items_of(schema, name: str) -> type[Schema]:
    """``{"items": [...]}``."""
    return Schema.from_dict({"items": many(schema)}, name=name)


def page_of(schema, name: str) -> type[Schema]:
    """``{"items": [...], "total", "limit", "offset"}`` from the engine's ``Page``."""
    return Schema.from_dict(
        {"items": many(schema), "total": integer(), "limit": integer(), "offset": integer()},
        name=name,
    )


# ------------------------------------------------------------------ errors


class ErrorBody(Schema):
    code = string("机器可读的错误码，如 not_found、forbidden、invalid_model")
    message = string("给人看的中文说明")
    details = fields.Raw(
        required=True,
        allow_none=True,
        **_m(
            "补充信息：部署校验失败时为 ValidationProblem 列表；请求字段错误时为 {field}"
            "（出错的字段名）；表单数据或上传文件校验失败时为 {字段名: 说明}"
            '（如 {"file": "文件类型不允许"}）；否则为 null'
        ),
    )


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class ValidationProblem(Schema):
    file = maybe_string("出错的文件名")
    element_id = maybe_string("出错的 BPMN 元素 id（如有）")
    message = string()
    line = maybe_integer("行号（如有）")
    # area "checks" (issue 11): the model check's fields
    element_type = maybe_string("元素类型，如 bpmn:UserTask")
    rule = string("规则编码，如 kunflow/user-task-department、kunflow/parse、import/foreign")
    hint = string("应如何修改")


# ------------------------------------------------------------------ who is who


class User(Schema):
    username = string()
    display_name = string()
    department_code = string()
    roles = strings()
    active = boolean()


class Department(Schema):
    code = string()
    name = string()
    kind = string("bureau、office、street.subdistrict（街道）、street.town（镇）或 leadership；"
                  "带点的类别属于其各段：kind:street 为所有街镇")
    parent_code = maybe_string()


class UserQuery(Schema):
    department = QueryText(max_length=64, doc="部门代码")


class RevokedAccess(Schema):
    username = string()
    sessions = integer("注销的浏览器会话数")
    tokens = integer("作废的令牌数")


# The auth routes (web/auth) are documented with these shapes.


class Credentials(Schema):
    username = Text(required=True, max_length=64, example="invest-clerk")
    password = Text(required=True, max_length=1024, allow_empty=True, example="demo")


class Token(Schema):
    token = string("放入 Authorization: Bearer <token>")
    token_type = one_of(["Bearer"])
    expires_at = moment()
    user = fields.Nested(User, required=True)


class Login(Schema):
    user = fields.Nested(User, required=True)
    csrf_token = string()


class Csrf(Schema):
    csrf_token = string("会话 Cookie 的写请求放入 X-CSRF-Token 头")


class Logout(Schema):
    logged_out = boolean()


# ------------------------------------------------------------------ definitions


class DefinitionWarning(Schema):
    """A warning of the deploy (it did not block it): the model check's problems and the
    lanes / start departments that name no department."""

    element_id = maybe_string("元素 id（整个流程的问题为流程标识）")
    element_type = maybe_string("元素类型，如 bpmn:UserTask（旧版本的警告为 null）")
    rule = maybe_string("规则编码，如 kunflow/user-task-department、kunflow/start-departments"
                        "（旧版本的警告为 null）")
    message = string("问题（中文）")
    hint = string("应如何修改（可为空）")


class Definition(Schema):
    id = integer()
    key = string("流程标识（BPMN process id）")
    version = integer()
    name = string()
    filename = string()
    checksum = string()
    deployed_by = maybe_string()
    deployed_at = moment()
    lanes = fields.Dict(
        keys=fields.String(),
        values=fields.String(allow_none=True),
        required=True,
        **_m("泳道名 → 泳道的 department 属性（null 表示泳道名即部门名）"),
    )
    files = strings("随流程部署的 DMN / 表单文件")
    warnings = many(DefinitionWarning)
    manual_start = boolean(
        "true：有空白开始事件，可在“发起案件”页手工发起；"
        "false：只由定时器或消息启动（流程管理员仍可发起）"
    )
    start_departments = fields.List(
        fields.String(),
        required=True,
        allow_none=True,
        **_m(
            "可发起该流程的部门编码（开始事件所在泳道及 start_departments 属性）；"
            "null 表示流程图未限定，各部门均可发起；流程管理员总可发起"
        ),
    )
    start_form_key = maybe_string(
        "发起表单（空白开始事件的 form_key）：发起数据按该表单校验；null 表示无发起表单"
    )
    comment = maybe_string("版本说明（流程管理员部署时填写）；null 表示没有")  # area: versions


def definition_json(info) -> dict:
    """A definition (``engine.DefinitionInfo``) as the API shows it."""
    return Definition().dump(info)


class DeployResult(Definition):
    created = boolean("true：新建了版本；false：内容未变化")

    @pre_dump
    def _flatten(self, result, **kwargs):
        """The engine's DeployResult holds the definition; the API shows it flat."""
        names = (name for name in self.fields if name != "created")
        return {**{n: getattr(result.definition, n) for n in names}, "created": result.created}


class Deploy(Schema):
    """multipart/form-data, read by the view (``definitions.py``)."""

    file = fields.Raw(required=True, **_m(".bpmn 文件", type="string", format="binary"))
    files = fields.List(
        fields.Raw(metadata={"type": "string", "format": "binary"}),
        **_m("附带的 .dmn / .form 文件（可多个）"),
    )
    comment = fields.String(**_m("版本说明（可选，最多 2000 字）", type="string", maxLength=2000))


class DefinitionQuery(Schema):
    startable = QueryChoice(
        BOOLEANS, default="false", doc="true：只列调用者所在部门可以手动发起的流程（“发起”页）"
    )


class VersionQuery(Schema):
    version = QueryInt(minimum=1, maximum=MAX_ID, doc="版本号（缺省为最新版本）")


# ------------------------------------------------------------------ instances and tasks


class Task(Schema):
    id = string()
    instance_id = integer()
    process_key = string()
    element_id = string()
    name = maybe_string()
    lane = maybe_string()
    department_code = maybe_string()
    candidate_role = maybe_string()
    assignee = maybe_string()
    state = one_of(TASK_STATES)
    created_at = moment()
    claimed_at = maybe_moment()
    due_at = maybe_moment("办理时限（按工作日计算）；暂停计时期间不变，恢复后顺延")
    due_provisional = boolean("true：时限跨越尚无官方放假安排的年份，按规则估算，为暂定")
    paused_at = maybe_moment("暂停计时的时间；null 表示正在计时")
    completed_at = maybe_moment()
    completed_by = maybe_string()
    form_key = maybe_string()
    stage = maybe_string()
    business_key = maybe_string()
    title = maybe_string()
    data = process_data()
    # >>> handover: 委托 and 转办 on a task (issue 14)
    on_behalf_of = maybe_string("代办：认领人或办结人代为办理的委托人（用户名）；scope=delegated 时为"
                                "代办所替的委托人")
    handed_by = maybe_string("最近一次转办的操作人")
    handed_at = maybe_moment("最近一次转办的时间")
    hand_reason = maybe_string("最近一次转办的理由")
    # <<< handover
    # >>> consult: 加签 (issue 14)
    parent_task_id = maybe_string("加签任务：向本任务征求意见的任务 id；null 表示流程环节本身")
    # <<< consult


class Instance(Schema):
    id = integer()
    process_key = string()
    definition_version = integer("实例所用的流程版本")
    business_key = maybe_string()
    title = maybe_string()
    status = one_of(STATUSES)
    version = integer("乐观锁版本号")
    started_by = maybe_string()
    started_at = moment()
    updated_at = moment()
    ended_at = maybe_moment()
    tasks = many(Task, "未办结的任务（列表接口中为空）")
    data = process_data()
    stage = maybe_string("当前阶段（最新待办任务的 stage 属性）")
    phase = maybe_string("当前阶段所属的环节，如 引得来/落得快/建得好/运营稳")
    parent_instance_id = maybe_integer("调用本流程的上级实例")


class Event(Schema):
    id = integer()
    instance_id = maybe_integer()
    task_id = maybe_string()
    actor = maybe_string()
    kind = string("instance_started、task_created、task_claimed、task_completed 等")
    at = moment()
    data = fields.Raw(required=True, allow_none=True, **_m("该操作提交的数据（任意 JSON 或 null）"))


class StartInstance(Schema):
    process_key = Text(required=True, max_length=200)
    business_key = Text(max_length=200)
    title = Text(max_length=400)
    data = JsonObject(doc="流程的初始数据")


class Reason(Schema):
    reason = Text(max_length=MAX_REASON)


class InstanceQuery(Schema):
    status = QueryChoice(STATUSES, doc="实例状态")
    process_key = QueryText(doc="流程标识")
    business_key = QueryText(doc="业务编号")
    started_by = QueryText(max_length=64, doc="发起人用户名")
    stage = QueryText(doc="当前阶段（流程图中任务的 stage 属性）")
    q = QueryText(doc="名称或业务编号中包含的文字")
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")
    offset = QueryInt(minimum=0, default=0, doc="跳过条数")


class TaskQuery(Schema):
    scope = QueryChoice(
        ("mine", "department", "done", "all", "delegated"),  # handover: delegated (issue 14)
        default="department",
        doc="mine：我认领的（转办给我的在前）；department：本部门的；done：我办结的（被退回后"
        "重办的环节，每次办结各一条）；all：全部（督查室、领导、管理员）；delegated：代办——"
        "今天委托我代为办理的人的待办（已分配给委托人的，或委托人可认领的）",
    )
    state = QueryChoice(
        (*TASK_STATES, "open"), doc="缺省：mine/department 只列未办结（open）的任务"
    )
    process_key = QueryText(doc="流程标识")
    instance_id = QueryInt(minimum=1, doc="流程实例 id")
    stage = QueryText(doc="阶段（流程图中任务的 stage 属性）")
    light = QueryChoice(
        ("red", "yellow", "green"),
        doc="时限灯：red 已超期；yellow 一个工作日内到期；green 按期或无时限",
    )
    q = QueryText(doc="案件名称或业务编号中包含的文字")
    sort = QueryChoice(
        ("created", "-created", "due", "-due", "completed", "-completed"),
        doc="排序：created 到达时间、due 时限、completed 办结时间，前加 - 为倒序"
        "（无时限的任务总在最后）；缺省为最新到达（done 为最新办结）在前",
    )
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")
    offset = QueryInt(minimum=0, default=0, doc="跳过条数")


class Empty(Schema):
    """No fields: any field is unknown."""


class Complete(Schema):
    data = JsonObject(
        doc="表单提交的数据，并入流程数据。按任务表单校验：必填项须随本次提交（流程中已有的值"
        "不算），动态列表逐行校验，错误键如 ledger[1].unit；每步合计不超过 STEP_DATA_MAX_KB"
    )


class Reassign(Schema):
    username = Text(required=True, max_length=64)


class SendBack(Schema):
    target = Text(
        required=True,
        max_length=200,
        doc="退回到的环节（BPMN 元素 id，须在该环节的 send_back_targets 中）",
    )
    reason = Text(required=True, max_length=MAX_REASON)


class TaskPause(Schema):
    id = integer()
    task_id = string()
    paused_at = moment()
    paused_by = maybe_string()
    reason = maybe_string()
    resumed_at = maybe_moment("null：仍在暂停")
    resumed_by = maybe_string()


# ------------------------------------------------------------------ incidents and messages


class Incident(Schema):
    id = integer()
    instance_id = integer()
    process_key = string()
    business_key = maybe_string()
    task_id = maybe_string("出错的任务（引擎内部 id）")
    element_id = maybe_string("出错的 BPMN 元素 id")
    message = string("错误信息")
    created_at = moment()
    resolved_at = maybe_moment("重试的时间；null 表示尚未处理")
    resolved_by = maybe_string()
    # -- area 5 (repair)
    element_name = maybe_string("出错环节的名称（无名称时为其 id）")
    element_type = maybe_string("出错环节的 BPMN 类型（同 bpmn-js，无 bpmn: 前缀），如 ScriptTask")
    definition_version = maybe_integer("实例所用的流程版本")
    title = maybe_string("案件名称")
    data = fields.Raw(
        required=True, allow_none=True,
        **_m("出错环节的数据（仅未处理的故障；过大的值截断为其 JSON 文本的开头）",
             type="object", additionalProperties=True),
    )
    data_truncated = boolean("true：data 中有值被截断或省略")


class IncidentQuery(Schema):
    instance_id = QueryInt(minimum=1, doc="流程实例 id")
    open = QueryChoice(
        BOOLEANS, default="true", doc="true：只列未处理的故障；false：全部（含已重试的）"
    )


class Retry(Schema):
    data = JsonObject(doc="修正的数据，并入出错环节的流程数据")


class Message(Schema):
    name = Text(required=True, max_length=200, doc="消息名（BPMN message 的 name）")
    correlation_key = Text(
        max_length=200,
        doc="关联键（通常为项目编号，即实例的 business_key）；缺省或为空时只匹配没有关联键的接收方",
    )
    payload = JsonObject(doc="消息内容（JSON 对象），存入接收方的消息变量")
    ttl_days = Integer(
        minimum=1,
        maximum=MAX_TTL_DAYS,
        default=DEFAULT_TTL_DAYS,
        doc="暂无接收方时消息保留的天数",
    )


class MessageOutcome(Schema):
    status = one_of(
        ["delivered", "started", "waiting"],
        "delivered：送达等待中的实例；started：启动了以该消息开始的流程；"
        "waiting：暂无接收方，消息保留至 ttl_days 天后过期",
    )
    instance_id = fields.Integer(**_m("送达或新启动的实例（delivered、started）"))
    message_id = fields.Integer(**_m("保留的消息（waiting）"))

    @post_dump
    def _leave_out_nulls(self, out, **kwargs):
        return {k: v for k, v in out.items() if v is not None}


# ------------------------------------------------------------------ calendar


_PROVISIONAL = "true：涉及尚无官方放假安排的年份，按规则估算，结果为暂定"


class CalendarAdd(Schema):
    start = Day(required=True)
    days = integer()
    date = Day(required=True, **_m("start 之后第 days 个工作日（start 当天不计）"))
    provisional = boolean(_PROVISIONAL)


class CalendarAddQuery(Schema):
    start = QueryDate(doc="起始日期（当天不计）")
    days = QueryInt(
        minimum=-MAX_CALENDAR_DAYS,
        maximum=MAX_CALENDAR_DAYS,
        required=True,
        missing_message="缺少参数 days（工作日数）",
        example=20,
        doc="工作日数；0 表示起始日（非工作日则顺延到下一个工作日）；负数往前数",
    )


class CalendarBetween(Schema):
    start = Day(required=True)
    end = Day(required=True)
    working_days = integer("start 之后至 end（含）的工作日数；end 早于 start 时为负数")
    provisional = boolean(_PROVISIONAL)


class CalendarBetweenQuery(Schema):
    start = QueryDate(doc="起始日期（不计）")
    end = QueryDate(example="2026-10-22", doc="结束日期（计入）")


class CalendarDay(Schema):
    date = Day(required=True)
    is_workday = boolean("true：调休上班；false：放假")
    name = maybe_string()
    source = one_of(["official", "estimated", "manual"])


_YEAR_SOURCES = ["official", "imported", "estimated"]


class CalendarYear(Schema):
    year = integer()
    source = one_of(
        _YEAR_SOURCES,
        "official：chinesecalendar 的官方数据；imported：导入的官方安排；"
        "estimated：按法定节假日规则估算（无调休上班日）",
    )
    official = boolean("false：该年的计算结果为暂定")
    stored = boolean("false：数据库中没有该年，按数据包即时计算")
    updated_at = maybe_moment()
    days = many(CalendarDay, "与“周一至周五上班”不同的日子：工作日放假、周末调休上班")


class CalendarYearQuery(Schema):
    year = QueryInt(
        minimum=1,
        maximum=9999,
        default=lambda: local_today().year,
        example=2026,
        doc="年份（缺省为今年）",
    )


class Holiday(Schema):
    date = Day(required=True)
    name = fields.String(allow_none=True, **_m(None, maxLength=200))


class CalendarImport(Schema):
    """Documents the body; ``engine.calendar.schedule_from_data`` checks it, naming every
    problem at once (as for a file given to ``kunflow calendar import``)."""

    year = fields.Integer(required=True, **_m(None, minimum=2000, maximum=2100, example=2027))
    holidays = fields.List(
        fields.Nested(Holiday),
        required=True,
        **_m("放假的日子（周末的可列可不列）", minItems=1, maxItems=366),
    )
    workdays = fields.List(Day(), **_m("周末调休上班的日子", maxItems=366))

    def load(self, data, **kwargs):
        return data


class CalendarImportResult(Schema):
    year = integer()
    source = fields.Constant(
        "imported", required=True, **_m(None, type="string", enum=["imported"])
    )
    official = fields.Constant(True, required=True, **_m(None, type="boolean"))
    holidays = integer("存入的工作日放假天数")
    weekend_holidays = integer("落在周末的放假天数（本就休息，不存）")
    workdays = integer("调休上班天数")
    replaced = integer("被替换的该年原有记录数")
    previous_source = fields.String(required=True, allow_none=True, **_m(None, enum=_YEAR_SOURCES))


# ------------------------------------------------------------------ case files


class Attachment(Schema):
    id = string("附件 id（32 位十六进制）")
    instance_id = integer()
    task_id = maybe_string("上传时所在的任务")
    field = maybe_string("对应的表单字段（filepicker 字段的 key）")
    filename = string()
    content_type = string("保存并下载时使用的类型，由扩展名决定")
    size = integer("字节数")
    sha256 = string("内容的 SHA-256（十六进制）")
    uploaded_by = maybe_string()
    uploaded_at = moment()
    content_url = fields.Function(
        lambda a: url_for("api.get_attachment_content", attachment_id=get_value(a, "id")),
        required=True,
        **_m("下载文件内容的地址", type="string"),
    )


class AttachmentCreated(Schema):
    attachment = fields.Nested(Attachment, required=True)


class AttachmentUpload(Schema):
    """multipart/form-data, read by the view (``casefiles.py``)."""

    file = fields.Raw(
        required=True,
        **_m(f"要上传的文件（带文件名）：{UPLOAD_TYPES_TEXT}", type="string", format="binary"),
    )
    field = Text(
        max_length=MAX_FIELD, nullable=False, doc="对应的表单字段（filepicker 字段的 key），可不填"
    )


class DraftSaved(Schema):
    task_id = string()
    saved_at = moment()


class Draft(DraftSaved):
    data = fields.Dict(required=True, **_m("保存的表单数据"))


class SaveDraft(Schema):
    data = JsonObject(
        required=True,
        missing_message="缺少字段 data（表单数据，JSON 对象）",
        doc="表单数据（JSON 对象，序列化后不超过 1 MB）",
    )


class Comment(Schema):
    text = Text(required=True, max_length=MAX_COMMENT)
    task_id = Text(max_length=64, doc="针对的任务（须为该实例的任务）；缺省为针对整个案件")


class Diagram(Schema):
    definition_key = string("流程标识")
    definition_version = integer("实例所用的流程版本")
    completed = strings("已完成的 BPMN 元素 id")
    current = strings("当前的元素 id（待办任务、等待中的事件）；已办结的实例为空")
    overdue = strings("已超期的待办任务的元素 id")
    task_links = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        **_m("元素 id → 调用者可查看的待办任务 id"),
    )


class SendBackTarget(Schema):
    id = string()
    name = string()

    @pre_dump
    def _from_pair(self, target, **kwargs):
        """The engine names a target as an ``(element id, name)`` pair."""
        if isinstance(target, tuple):
            return {"id": target[0], "name": target[1]}
        return target


class TaskContext(Schema):
    process_name = maybe_string("流程名称")
    form = fields.Raw(
        required=True,
        allow_none=True,
        **_m(
            "该环节的表单（form-js schema）；环节没有表单时为 null",
            type="object",
            additionalProperties=True,
        ),
    )
    send_back_targets = many(
        SendBackTarget, "可退回到的环节（POST /api/v1/tasks/{task_id}/send-back 的 target）"
    )
    pausable = boolean("该环节可以暂停计时")
    can_work = boolean("调用者可以办理（本部门，并有所需角色）")
    instance_status = one_of(STATUSES)


class CaseRef(Schema):
    id = integer()
    process_key = string()
    business_key = maybe_string()
    title = maybe_string()
    status = one_of(STATUSES)


class Related(Schema):
    parent = fields.Nested(
        CaseRef,
        required=True,
        allow_none=True,
        **_m("调用本案件的上级案件（没有或调用者看不到时为 null）"),
    )
    children = many(CaseRef, "本案件调用的下级案件中调用者能看到的")


# ------------------------------------------------------------------ security audit


class SecurityEventQuery(Schema):
    kind = QueryChoice(
        EVENT_KINDS,
        doc="login_failed 登录失败、login_throttled 因登录限速被拒、password_changed 修改密码、"
        "user_disabled 停用用户、access_revoked 管理员注销会话",
    )
    username = QueryText(max_length=64, doc="actor：登录事件为尝试登录的用户名，其他事件为操作人")
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")
    offset = QueryInt(minimum=0, default=0, doc="跳过条数")


# ------------------------------------------------------------------ lists and pages

UserList = items_of(User, "UserList")
DepartmentList = items_of(Department, "DepartmentList")
DefinitionList = items_of(Definition, "DefinitionList")
InstancePage = page_of(Instance, "InstancePage")
TaskPage = page_of(Task, "TaskPage")
TaskList = items_of(Task, "TaskList")
EventList = items_of(Event, "EventList")
EventPage = page_of(Event, "EventPage")
IncidentList = items_of(Incident, "IncidentList")
TaskPauseList = items_of(TaskPause, "TaskPauseList")
AttachmentList = items_of(Attachment, "AttachmentList")


# ------------------------------------------------------------------ issue 11 area 3: decisions
# (DMN change preview, trial run)

MAX_TRIAL_STEPS = 200
MAX_DRAFT_XML = 5_000_000


def _files_field():
    return JsonObject(
        doc="文件名 -> 文本内容（.dmn / .form）；缺省时用该流程的草稿（没有草稿时用最新版本）",
        additionalProperties={"type": "string"},
    )


def _raw_object(doc, allow_none=False):
    return fields.Raw(required=True, allow_none=allow_none,
                      **_m(doc, type="object", additionalProperties=True))


class DmnPreviewRequest(Schema):
    files = _files_field()
    limit = Integer(minimum=1, maximum=1000, default=200,
                    doc="每张决策表取最近多少次真实的决策记录")


class DecisionChange(Schema):
    instance_id = integer()
    business_key = maybe_string()
    title = maybe_string()
    element_id = maybe_string("业务规则任务的 BPMN 元素 id")
    inputs = _raw_object("当时的输入：输入表达式 -> 值")
    before = _raw_object("当时的决策结果")
    after = _raw_object("草稿决策表的结果；无法计算时为 null（见 error）", allow_none=True)
    at = maybe_moment("当时决策的时间")
    error = maybe_string("草稿决策表无法按这组输入计算的原因")


class DecisionPreview(Schema):
    file = string("决策表文件名")
    decision_id = string()
    name = maybe_string("决策名称")
    evaluated = integer("重新计算的决策记录数（该表没有记录时为 0）")
    changed = many(DecisionChange, "结果会改变的案件（最新的在前）")


DecisionPreviewList = items_of(DecisionPreview, "DecisionPreviewList")


class TrialStepInput(Schema):
    element_id = Text(required=True, max_length=200, doc="要办理的用户任务（BPMN 元素 id）")
    data = JsonObject(doc="并入流程数据的表单数据")


class TrialRequest(Schema):
    bpmn_xml = Text(max_length=MAX_DRAFT_XML,
                    doc="要试运行的流程图；缺省时用草稿，没有草稿时用最新版本")
    files = _files_field()
    start_data = JsonObject(doc="启动数据")
    steps = fields.List(
        fields.Nested(TrialStepInput), load_default=list,
        error_messages={"invalid": "字段 steps 必须是 {{element_id, data}} 对象的列表",
                        "null": "字段 steps 不能为 null（不办理任务时给空列表）"},
        validate=validate.Length(max=MAX_TRIAL_STEPS,
                                 error=f"一次试运行最多 {MAX_TRIAL_STEPS} 步"),
        **_m("依次办理的用户任务", maxItems=MAX_TRIAL_STEPS),
    )


class TrialStep(Schema):
    element_id = string()
    name = maybe_string()
    element_type = string("元素类型，如 UserTask、BusinessRuleTask、ExclusiveGateway")
    skipped = boolean("服务任务或调用活动：试运行中未调用")


class TrialTask(Schema):
    element_id = string()
    name = maybe_string()
    lane = maybe_string("泳道")
    department_code = maybe_string("按真实路由规则（泳道、部门属性、部门表达式）得到的部门")
    department_name = maybe_string()
    candidate_role = maybe_string()
    form_key = maybe_string()
    form = fields.Raw(required=True, allow_none=True,
                      **_m("表单（form-js schema）；没有表单时为 null", type="object",
                           additionalProperties=True))
    assignee = maybe_string("办理人表达式的结果")
    due_at = maybe_moment("办理时限")


class TrialDecision(Schema):
    element_id = string()
    decision_id = string()
    inputs = _raw_object("输入表达式 -> 值")
    outputs = _raw_object("决策结果（COLLECT：每个输出为列表）")


class TrialTimer(Schema):
    element_id = string()
    name = maybe_string()
    due = maybe_moment("到期时间（未触发）")


class TrialMessage(Schema):
    name = string("消息名（未发送）")
    payload = fields.Raw(required=True, allow_none=True, **_m("消息内容"))


class TrialError(Schema):
    element_id = maybe_string()
    message = string("出错原因")


class TrialResult(Schema):
    status = one_of(("running", "completed", "error"))
    ended = boolean("流程已结束")
    completed = many(TrialStep, "已经过的元素，按执行顺序")
    ready = many(TrialTask, "当前待办的用户任务")
    decisions = many(TrialDecision, "业务规则任务的决策结果")
    data = process_data("当前流程数据")
    error = fields.Nested(TrialError, required=True, allow_none=True,
                          **_m("出错的元素与原因；没有出错时为 null"))
    skipped = many(TrialStep, "未调用的服务任务和调用活动")
    timers = many(TrialTimer, "等待中的定时器")
    messages = many(TrialMessage, "抛出的消息（未发送）")

# ------------------------------------------------------------------ area 4: migration, batch

from marshmallow import ValidationError  # noqa: E402

MAX_SELECTION = 5000  # instances of one migration or batch request


class InstanceIds(JsonObject):
    """A JSON array of instance ids (whole numbers 1–MAX_ID), at most ``MAX_SELECTION``."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.metadata.update(type="array", maxItems=MAX_SELECTION,
                             items={"type": "integer", "minimum": 1, "maximum": MAX_ID})

    def check(self, value):
        if not isinstance(value, list):
            raise ValidationError(f"字段 {self.key} 必须是实例编号的数组")
        if len(value) > MAX_SELECTION:
            raise ValidationError(f"字段 {self.key} 最多 {MAX_SELECTION} 个实例")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
                raise ValidationError(f"字段 {self.key} 中的实例编号必须是 1–{MAX_ID} 的整数")
        return value


FILTER_FIELDS = {
    "process": ("流程标识", 200),
    "status": ("实例状态", 16),
    "stage": ("当前阶段", 200),
    "department": ("有未办结任务的部门（编码或名称）", 200),
    "business_key": ("业务编号中包含的文字", 200),
}


class InstanceFilter(JsonObject):
    """The filters of ``GET /admin/instances`` as an object: "all matching" instances."""

    def __init__(self, **kw):
        super().__init__(**kw)
        props = {name: {"type": "string", "maxLength": n, "description": doc}
                 for name, (doc, n) in FILTER_FIELDS.items()}
        props["version"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                            "description": "流程版本号"}
        self.metadata.update(properties=props, additionalProperties=False)

    def check(self, value):
        value = super().check(value)
        out = {}
        for name, item in value.items():
            if name == "version":
                if item is None:
                    continue
                if isinstance(item, bool) or not isinstance(item, int) \
                        or not 1 <= item <= MAX_ID:
                    raise ValidationError("filter.version 必须是正整数")
                out[name] = item
            elif name in FILTER_FIELDS:
                if item is None or item == "":
                    continue
                if not isinstance(item, str):
                    raise ValidationError(f"filter.{name} 必须是字符串")
                text = item.strip()
                if len(text) > FILTER_FIELDS[name][1]:
                    raise ValidationError(
                        f"filter.{name} 最长 {FILTER_FIELDS[name][1]} 个字符")
                if text:
                    out[name] = text
            else:
                raise ValidationError(f"filter 中的未知字段：{name}")
        if out.get("status") and out["status"] not in STATUSES:
            raise ValidationError(f"filter.status 只能是 {'、'.join(STATUSES)}")
        return out


class AdminInstanceQuery(Schema):
    process = QueryText(doc="流程标识")
    version = QueryInt(minimum=1, doc="流程版本号")
    status = QueryChoice(STATUSES, doc="实例状态")
    stage = QueryText(doc="当前阶段")
    department = QueryText(doc="有未办结任务的部门（编码或名称）")
    business_key = QueryText(doc="业务编号中包含的文字")
    page = QueryInt(minimum=1, default=1, doc="页码（从 1 开始）")
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")


class MigrateInstances(Schema):
    instance_ids = InstanceIds(doc="要迁移的实例；与 filter 二选一")
    filter = InstanceFilter(doc="迁移全部符合这些条件的实例（同列表接口的筛选条件；超过 5000 个时"
                            "以 422 拒绝，请缩小筛选范围）")
    target_version = Integer(required=True, minimum=1, maximum=MAX_ID, doc="目标版本号")
    mapping = JsonObject(doc="节点映射：旧节点标识 → 新节点标识；缺省按相同标识对应")
    dry_run = fields.Boolean(load_default=False, allow_none=True, truthy={True}, falsy={False},
                             error_messages={"invalid": "字段 dry_run 必须是 true 或 false"},
                             **_m("只检查、不迁移"))
    process_key = Text(max_length=200, doc="目标版本所属流程；缺省为所选实例的流程")


class BatchInstances(Schema):
    action = Text(required=True, max_length=16, doc="suspend 挂起、resume 恢复、terminate 终止",
                  enum=["suspend", "resume", "terminate"])
    reason = Text(required=True, max_length=MAX_REASON, doc="原因（写入每个实例的操作日志）")
    instance_ids = InstanceIds(doc="要处理的实例；与 filter 二选一")
    filter = InstanceFilter(doc="处理全部符合这些条件的实例（超过 5000 个时以 422 拒绝，请缩小筛选范围）")


class MigrationResult(Schema):
    instance_id = integer()
    business_key = maybe_string()
    ok = boolean("可以迁移（试运行）或已迁移")
    reason = maybe_string("不能迁移的原因")
    moves = fields.List(fields.List(fields.String()), required=True,
                        **_m("进行中节点的对应：[旧节点标识, 新节点标识]"))
    from_version = maybe_integer("迁移前的版本号")
    rollback = boolean("true：目标版本比实例当前的版本旧（回退到旧版本；允许，试迁移与操作日志都会注明）")
    note = maybe_string("提示，如“回退到旧版本（v3 → v2）”")


class MigrationReport(Schema):
    process_key = string()
    target_version = integer()
    dry_run = boolean()
    results = many(MigrationResult, "每个实例的结果，按请求顺序")
    ok_count = integer()
    refused_count = integer()


class BatchResult(Schema):
    instance_id = integer()
    ok = boolean()
    status = maybe_string("操作后的实例状态（失败时为原状态；实例不存在时为 null）")
    reason = maybe_string("失败原因")


class BatchReport(Schema):
    action = string()
    results = many(BatchResult)
    ok_count = integer()
    failed_count = integer()

# ------------------------------------------------------------------ area: versions (issue 11)
# The process admin's catalogue, drafts, deploy with a comment and version diff
# (web/api/admin_processes.py).

MAX_BPMN_CHARS = 5_000_000
CHANGES = ("added", "removed", "changed")


class NewProcess(Schema):
    key = Text(required=True, max_length=100,
               doc="新流程的标识（BPMN process id）：字母或下划线开头，只含字母、数字、下划线")
    name = Text(required=True, max_length=200, doc="流程名称")
    template = Text(max_length=200, default="blank",
                    doc="模板：blank（开始 → 一个用户任务（带表单，在本人部门的泳道）→ 结束），"
                    "或现有流程的标识（复制其最新版本及文件）")


class SaveProcessDraft(Schema):
    bpmn_xml = Text(required=True, max_length=MAX_BPMN_CHARS,
                    doc="BPMN 2.0 XML；须含标识与路径中 key 相同的流程。草稿可以暂不可部署")
    files = JsonObject(default=dict,
                       doc="附带文件 {文件名: 文本内容}，仅 .dmn / .form / .json，"
                       "单个不超过 200 万字符")
    base_version = Integer(minimum=1, maximum=MAX_ID,
                           doc="草稿基于的版本；缺省为已存草稿的值（新草稿为最新版本）")
    revision = Integer(minimum=0, maximum=MAX_ID,
                       doc="载入时草稿的 revision（0：载入的是版本，尚无草稿）；与已存的不一致时"
                       "返回 409（他人已保存）。缺省则不检查，直接覆盖")


class DeployDraft(Schema):
    comment = Text(max_length=2000, doc="版本说明，如“区应急局加入会商”")


class DiffQuery(Schema):
    a = QueryText(max_length=20, required=True, doc="旧版本号，或 draft（草稿）")
    b = QueryText(max_length=20, required=True, doc="新版本号，或 draft（草稿）")


class ProcessDraft(Schema):
    process_key = string()
    bpmn_xml = string("BPMN 2.0 XML")
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                        **_m("附带文件 {文件名: 文本内容}"))
    base_version = maybe_integer("草稿基于的版本；null 表示新流程")
    revision = integer("保存次数；0 表示尚未保存（内容取自最新版本），保存时原样带回")
    saved = boolean("false：尚无草稿，内容取自最新版本")
    created_by = maybe_string()
    created_at = maybe_moment()
    updated_by = maybe_string("最后保存的人")
    updated_at = maybe_moment()


class DraftDiscarded(Schema):
    discarded = boolean("true：删除了草稿；false：本来就没有草稿")


class ProcessDraftSummary(Schema):
    process_key = string()
    base_version = maybe_integer()
    revision = integer()
    files = fields.Function(lambda d: sorted(get_value(d, "files")), required=True,
                            **_m("附带文件名", type="array", items={"type": "string"}))
    created_by = maybe_string()
    created_at = maybe_moment()
    updated_by = maybe_string()
    updated_at = maybe_moment()


class VersionSummary(Schema):
    id = integer()
    version = integer()
    name = string()
    filename = string()
    deployed_by = maybe_string()
    deployed_at = moment()
    comment = maybe_string("版本说明")
    running = integer("该版本上运行中（含挂起、故障）的案件数")
    done = integer("该版本上已结束（办结或终止）的案件数")
    files = strings("随版本部署的 DMN / 表单文件")


class ProcessSummary(Schema):
    key = string()
    name = string()
    versions = many(VersionSummary, "已部署的版本，最新的在前；只有草稿的新流程为空")
    draft = fields.Nested(ProcessDraftSummary, required=True, allow_none=True,
                          **_m("草稿（不含内容）；没有草稿时为 null"))


class PropertyChange(Schema):
    property = string("属性名（机器可读）")
    label = string("属性的中文名称")
    before = maybe_string("旧值；null 表示没有")
    after = maybe_string("新值；null 表示没有")


class ElementChange(Schema):
    element_id = string()
    element_type = string("BPMN 元素类型，如 userTask、sequenceFlow、lane、process")
    name = maybe_string()
    change = one_of(CHANGES)
    properties = many(PropertyChange, "变化的属性（新增、删除的元素：它的全部属性）")


_RULE_ENTRIES = _m("规则内容 {inputs: {列名: 条件}, outputs: {列名: 结果}, description}；"
                   "新增的规则 before 为 null，删除的规则 after 为 null",
                   type="object", additionalProperties=True)


class DecisionRuleChange(Schema):
    rule_id = string()
    change = one_of(CHANGES)
    before = fields.Raw(required=True, allow_none=True, **_RULE_ENTRIES)
    after = fields.Raw(required=True, allow_none=True, **_RULE_ENTRIES)
    properties = many(PropertyChange, "变化的单元格")


class DecisionDiff(Schema):
    file = string()
    decision_id = string()
    name = maybe_string()
    change = one_of(CHANGES)
    properties = many(PropertyChange, "命中策略、输入列、输出列的变化")
    rules = many(DecisionRuleChange)


class FormFieldChange(Schema):
    key = string()
    label = maybe_string()
    field_type = maybe_string()
    change = one_of(CHANGES)
    properties = many(PropertyChange, "标签、类型、校验规则（validate.*）、选项等的变化")


class FormDiff(Schema):
    file = string()
    change = one_of(CHANGES)
    # Schema.fields is marshmallow's own: the attribute keeps another name
    field_changes = fields.List(fields.Nested(FormFieldChange), required=True, attribute="fields",
                                data_key="fields", **_m("字段（按 key）的变化"))


class VersionDiff(Schema):
    process_key = string()
    a = string("旧版本号或 draft")
    b = string("新版本号或 draft")
    elements = many(ElementChange, "流程图中新增、删除、修改的元素")
    decisions = many(DecisionDiff, "决策表（按决策 id）的变化")
    forms = many(FormDiff, "表单（按文件名）的变化")
    files_added = strings()
    files_removed = strings()


ProcessCatalogue = items_of(ProcessSummary, "ProcessCatalogue")

# ------------------------------------------------------------------ area 5: repair (skip, tokens)


class Skip(Schema):
    reason = Text(required=True, max_length=MAX_REASON, doc="跳过的原因（记入操作日志）")
    data = JsonObject(doc="作为该环节结果并入流程数据的数据（可选）")


class MoveToken(Schema):
    cancel = fields.List(
        Text(max_length=MAX_FIELD),
        load_default=list,
        error_messages={"invalid": "字段 cancel 必须是环节标识（字符串）的列表",
                        "null": "字段 cancel 不能为 null"},
        **_m("要取消其活动令牌的环节（BPMN 元素 id）", maxItems=50),
    )
    activate = Text(max_length=MAX_FIELD, doc="要放置令牌的环节（BPMN 元素 id）；只给它时为添加令牌")
    reason = Text(required=True, max_length=MAX_REASON, doc="移动的原因（记入操作日志）")


class ActiveToken(Schema):
    task_id = string("引擎内部任务 id")
    element_id = string()
    name = maybe_string()
    element_type = string("BPMN 类型，如 UserTask、IntermediateCatchEvent")
    state = one_of(("ready", "started", "waiting", "error"),
                   "ready 待办理、started 运行中（子流程等）、waiting 等待事件、error 出错")
    scope = string("所在（子）流程的 id")


class TokenTarget(Schema):
    element_id = string()
    name = maybe_string()
    element_type = string()
    scope = string("所在（子）流程的 id")


class TokenView(Schema):
    instance_id = integer()
    status = one_of(STATUSES)
    active = many(ActiveToken, "活动令牌（已办结或终止的实例为空）")
    targets = many(TokenTarget, "可放置令牌的环节（开始事件、边界事件等除外）")

# ------------------------------------------------------------------ area "checks" (issue 11):
# model check and import (web/api/admin_models.py)

MAX_DIAGRAM_CHARS = 5 * 1024 * 1024


class Problem(Schema):
    element_id = maybe_string("元素 id（整份文件的问题为 null）")
    element_type = maybe_string("元素类型，如 bpmn:UserTask")
    rule = string("规则编码，如 kunflow/user-task-department、kunflow/parse、import/expression")
    message = string("问题（中文）")
    hint = string("应如何修改")
    file = maybe_string("文件名")
    line = maybe_integer("行号（如有）")


class ModelReport(Schema):
    errors = many(Problem, "错误：阻止部署")
    warnings = many(Problem, "警告：不阻止部署")


class ValidateModel(Schema):
    filename = Text(max_length=400, default="diagram.bpmn", doc="BPMN 文件名")
    bpmn_xml = Text(required=True, max_length=MAX_DIAGRAM_CHARS, doc="BPMN 2.0 XML")
    files = JsonObject(default=dict, doc="附带文件 {文件名: 文本内容}（.dmn / .form / .json）")


IMPORT_KEY_DOC = ("可选：流程的新标识（主流程的 id 改为此值，引用随之修改），用于标识与现有流程"
                  "重复时；草稿的标识须与流程 id 相同")


class ImportJson(Schema):
    filename = Text(max_length=400, default="diagram.bpmn", doc="文件名")
    bpmn_xml = Text(required=True, max_length=MAX_DIAGRAM_CHARS, doc="其他建模工具导出的 BPMN XML")
    key = Text(max_length=100, doc=IMPORT_KEY_DOC)


class ImportUpload(Schema):
    """multipart/form-data, read by the view (``admin_models.py``); a JSON body
    ``{filename, bpmn_xml}`` is accepted too."""

    file = fields.Raw(required=True, **_m(".bpmn 文件", type="string", format="binary"))
    key = Text(max_length=100, doc=IMPORT_KEY_DOC)


class Translation(Schema):
    element_id = maybe_string("元素 id")
    kind = string("timer / condition / candidate_group / assignee / form_key / due / decision")
    original = string("原文")
    translated = string("转换结果")


class ImportReport(Schema):
    key = maybe_string("流程标识（第一个可执行流程的 id）")
    name = maybe_string("流程名称")
    bpmn_xml = string("转换为 kunflow 写法的 BPMN XML（可保存为草稿）")
    executable = boolean("是否标记为可执行")
    translations = many(Translation, "逐项转换，供管理员确认")
    problems = many(Problem, "无法运行之处（逐个元素，说明如何修改）")


# >>> outbound: notice deliveries to outbound channels (issue 14)
DELIVERY_STATUSES = ("pending", "sent", "failed")


class NoticeDelivery(Schema):
    id = integer()
    notice_id = integer("通知 id")
    channel = string("外发渠道，如 webhook")
    status = one_of(DELIVERY_STATUSES, "pending 待发送；sent 已发送；failed 失败（不再自动重试）")
    attempts = integer("已尝试次数（重试后从 0 重新计）")
    next_attempt_at = maybe_moment("下次尝试时间；已发送或失败时为 null")
    last_error = maybe_string("最近一次失败的原因")
    created_at = moment()
    delivered_at = maybe_moment("送达时间")
    kind = maybe_string("通知类别")
    kind_label = maybe_string("通知类别名称，如 相互通报")
    subject = maybe_string("通知标题")
    department_code = maybe_string("收件部门")
    username = maybe_string("收件人")


NoticeDeliveryPage = page_of(NoticeDelivery, "NoticeDeliveryPage")


class NoticeDeliveryQuery(Schema):
    status = QueryChoice(DELIVERY_STATUSES, doc="只列此状态的记录")
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")
    offset = QueryInt(minimum=0, default=0, doc="跳过条数")
# <<< outbound
# >>> handover: 转办 and 委托 (issue 14)


class Transfer(Schema):
    to = Text(max_length=64, doc="接收人用户名；缺省或 null：退回部门待办")
    reason = Text(required=True, max_length=MAX_REASON, doc="转办理由")


class DelegationBody(Schema):
    deputy = Text(required=True, max_length=64, doc="代办人用户名（同一部门的在岗人员）")
    starts_on = Text(required=True, max_length=10, example="2026-06-01",
                     doc="开始日期 YYYY-MM-DD（含当天，北京时间）")
    ends_on = Text(required=True, max_length=10, example="2026-06-05",
                   doc="结束日期 YYYY-MM-DD（含当天），最长 366 天")
    username = Text(max_length=64, doc="委托人；缺省为调用者本人。部门负责人可为本部门人员设置")
    reason = Text(max_length=MAX_REASON, doc="事由（可选）")


class DelegationQuery(Schema):
    username = QueryText(max_length=64, doc="只列该委托人的委托（本人、其部门负责人、管理员）")
    include_past = QueryChoice(BOOLEANS, default="false", doc="true：含已结束、已撤销的委托")


class Delegation(Schema):
    id = integer()
    username = string("委托人")
    deputy = string("代办人")
    starts_on = Day(required=True, **_m("开始日期（含）"))
    ends_on = Day(required=True, **_m("结束日期（含）"))
    reason = maybe_string()
    created_by = string()
    created_at = moment()
    revoked_at = maybe_moment()
    revoked_by = maybe_string()
    status = one_of(("upcoming", "active", "ended", "revoked"), "按今天（北京时间）的状态")

    @pre_dump
    def _status(self, obj, **kwargs):
        return {**obj.__dict__, "status": obj.status(local_today())}


DelegationList = items_of(Delegation, "DelegationList")
# <<< handover
# >>> consult: 加签 (issue 14)


class NameList(fields.Field):
    """A list of at most 20 names (department codes or names, usernames)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > 20:
            raise ValidationError(f"字段 {attr} 须为不超过 20 项的列表")
        for v in value:
            if not isinstance(v, str) or not 0 < len(v) <= 200 or "\x00" in v:
                raise ValidationError(f"字段 {attr} 的每一项须为 1–200 个字符的文字")
        return value


class AskOpinion(Schema):
    question = Text(required=True, max_length=2000, doc="征求意见的问题")
    departments = NameList(load_default=list, **_m(
        "征求意见的部门（编码或名称）", type="array", items={"type": "string"}, maxItems=20))
    users = NameList(load_default=list, **_m(
        "征求意见的人员（用户名）", type="array", items={"type": "string"}, maxItems=20))
    due_days = Integer(minimum=1, maximum=30, default=3, doc="答复期限（工作日）")


class AnswerOpinion(Schema):
    opinion = Text(required=True, max_length=4000, doc="意见")
    agree = fields.Boolean(load_default=None, allow_none=True, truthy={True}, falsy={False},
                           error_messages={"invalid": "字段 agree 必须是 true、false 或 null"},
                           **_m("是否同意；null 表示不表态"))


class Opinion(Schema):
    task_id = string("被征求意见一方的任务 id（加签任务）")
    parent_task_id = string("发起加签的任务 id")
    instance_id = integer()
    requested_by = string()
    requested_at = moment()
    question = string()
    asked_department = string("被征求意见的部门编码")
    asked_user = maybe_string("被征求意见的人员；null 表示部门内任一人员答复")
    due_days = maybe_integer("答复期限（工作日）")
    due_at = maybe_moment("答复期限")
    status = one_of(["open", "answered", "withdrawn", "cancelled"],
                    "open 待答复、answered 已答复、withdrawn 已撤回、cancelled 已取消（任务已办结或流程终止）")
    answer = maybe_string()
    answered_by = maybe_string()
    answered_at = maybe_moment()
    agree = fields.Boolean(required=True, allow_none=True, **_m("是否同意；null 表示未表态"))
    withdrawn_by = maybe_string()
    withdrawn_at = maybe_moment()


OpinionList = items_of(Opinion, "OpinionList")
# <<< consult
# >>> inbox: the notice inbox (issue 14)
def _notice_kinds():
    from engine import NOTICE_KINDS

    return NOTICE_KINDS


class NoticeQuery(Schema):
    unread = QueryChoice(BOOLEANS, default="false", doc="true：只列调用者未读的通知")
    kind = QueryChoice(
        tuple(_notice_kinds()),
        doc="类型：" + "、".join(f"{k} {v}" for k, v in _notice_kinds().items()),
    )
    limit = QueryInt(minimum=1, maximum=MAX_PAGE, default=50, doc="每页条数")
    offset = QueryInt(minimum=0, default=0, doc="跳过条数")


class Notice(Schema):
    id = integer()
    kind = one_of(tuple(_notice_kinds()), "类型")
    kind_label = fields.Method("_kind_label", required=True, **_m("类型名称"))
    subject = string("标题")
    body = maybe_string("正文")
    department_code = maybe_string("发给的部门（部门每位成员都可见）；发给个人时为 null")
    username = maybe_string("发给的用户；发给部门时为 null")
    instance_id = maybe_integer("相关案件（流程实例）id")
    business_key = maybe_string("相关案件的业务编号")
    title = maybe_string("相关案件的名称")
    task_id = maybe_string("相关任务 id")
    link = maybe_string("链接（没有任务和案件时）")
    target = maybe_string("打开通知时前往的页面：任务、否则案件、否则 link")
    sender = maybe_string("发送方（部门、督查室、系统提醒等）")
    created_at = moment("发送时间")
    read_at = maybe_moment("调用者阅读的时间；未读为 null")

    def _kind_label(self, obj) -> str:
        return _notice_kinds().get(obj.kind, obj.kind)


NoticePage = page_of(Notice, "NoticePage")


class UnreadNotices(Schema):
    unread = integer("调用者未读的通知数")


class NoticesMarked(Schema):
    marked = integer("本次标为已读的通知数")
# <<< inbox
