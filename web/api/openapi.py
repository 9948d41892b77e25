"""``GET /api/v1/openapi.json``: the OpenAPI 3.0 description of every route of the API.

Kept by hand next to the views; ``tests/api/test_openapi.py`` fuzzes the running app against it
(schemathesis), so a response that drifts from this document fails the suite.
"""

from __future__ import annotations

from functools import cache

from flask import jsonify

from engine.access import EVENT_KINDS

from ..attachments import ALLOWED as UPLOAD_TYPES
from ..attachments import ALLOWED_TEXT as UPLOAD_TYPES_TEXT
from ..inputs import MAX_ID
from . import bp
from .casefiles import MAX_COMMENT, MAX_FIELD
from .incidents import BOOLEANS
from .instances import STATUSES
from .messages import DEFAULT_TTL_DAYS, MAX_TTL_DAYS
from .tasks import LIGHTS, SCOPES, SORTS, STATES

_NONBLANK = r"\S"  # strings that must say something: not empty, not only spaces


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


_STR = {"type": "string"}
_NSTR = _nullable(_STR)
_TIME = {"type": "string", "format": "date-time"}
_NTIME = _nullable(_TIME)
_INT = {"type": "integer"}
_NINT = _nullable(_INT)
_DATE = {"type": "string", "format": "date", "example": "2026-09-18"}
_PROVISIONAL = {
    "type": "boolean",
    "description": "true：涉及尚无官方放假安排的年份，按规则估算，结果为暂定",
}
_DATA = {
    "type": "object",
    "nullable": True,
    "additionalProperties": True,
    "description": "流程数据（任意 JSON 对象）；列表接口中为 null",
}


def _object(properties: dict, required: list | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": properties}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


_CASE_REF = {
    "id": _INT,
    "process_key": _STR,
    "business_key": _NSTR,
    "title": _NSTR,
    "status": {"type": "string", "enum": list(STATUSES)},
}

SCHEMAS = {
    "Error": _object(
        {
            "error": _object(
                {
                    "code": {
                        **_STR,
                        "description": "机器可读的错误码，如 not_found、forbidden、invalid_model",
                    },
                    "message": {**_STR, "description": "给人看的中文说明"},
                    "details": {
                        "description": "补充信息：部署校验失败时为 ValidationProblem 列表；"
                        "请求字段错误时为 {field}（出错的字段名）；表单数据或上传文件校验失败时为"
                        ' {字段名: 说明}（如 {"file": "文件类型不允许"}）；否则为 null',
                    },
                }
            )
        }
    ),
    "ValidationProblem": _object(
        {
            "file": {**_NSTR, "description": "出错的文件名"},
            "element_id": {**_NSTR, "description": "出错的 BPMN 元素 id（如有）"},
            "message": _STR,
            "line": {**_NINT, "description": "行号（如有）"},
        }
    ),
    "User": _object(
        {
            "username": _STR,
            "display_name": _STR,
            "department_code": _STR,
            "roles": {"type": "array", "items": _STR},
            "active": {"type": "boolean"},
        }
    ),
    "Department": _object(
        {
            "code": _STR,
            "name": _STR,
            "kind": {**_STR, "description": "bureau、office、street 或 leadership"},
            "parent_code": _NSTR,
        }
    ),
    "Definition": _object(
        {
            "id": _INT,
            "key": {**_STR, "description": "流程标识（BPMN process id）"},
            "version": _INT,
            "name": _STR,
            "filename": _STR,
            "checksum": _STR,
            "deployed_by": _NSTR,
            "deployed_at": _TIME,
            "lanes": {
                "type": "object",
                "additionalProperties": _NSTR,
                "description": "泳道名 → 泳道的 department 属性（null 表示泳道名即部门名）",
            },
            "files": {"type": "array", "items": _STR, "description": "随流程部署的 DMN / 表单文件"},
            "warnings": {
                "type": "array",
                "items": _object({"element_id": _NSTR, "message": _STR}, required=["message"]),
            },
            "manual_start": {
                "type": "boolean",
                "description": "true：有空白开始事件，可在“发起案件”页手工发起；"
                "false：只由定时器或消息启动（流程管理员仍可发起）",
            },
            "start_departments": {
                "type": "array",
                "nullable": True,
                "items": _STR,
                "description": "可发起该流程的部门编码（开始事件所在泳道及 start_departments 属性）；"
                "null 表示流程图未限定，各部门均可发起；流程管理员总可发起",
            },
            "start_form_key": {
                **_NSTR,
                "description": "发起表单（空白开始事件的 form_key）：发起数据按该表单校验；"
                "null 表示无发起表单",
            },
        }
    ),
    "DeployResult": {
        "allOf": [
            _ref("Definition"),
            _object(
                {
                    "created": {
                        "type": "boolean",
                        "description": "true：新建了版本；false：内容未变化",
                    }
                }
            ),
        ]
    },
    "Task": _object(
        {
            "id": _STR,
            "instance_id": _INT,
            "process_key": _STR,
            "element_id": _STR,
            "name": _NSTR,
            "lane": _NSTR,
            "department_code": _NSTR,
            "candidate_role": _NSTR,
            "assignee": _NSTR,
            "state": {"type": "string", "enum": ["ready", "claimed", "completed", "cancelled"]},
            "created_at": _TIME,
            "claimed_at": _NTIME,
            "due_at": {
                **_NTIME,
                "description": "办理时限（按工作日计算）；暂停计时期间不变，恢复后顺延",
            },
            "due_provisional": {
                "type": "boolean",
                "description": "true：时限跨越尚无官方放假安排的年份，按规则估算，为暂定",
            },
            "paused_at": {**_NTIME, "description": "暂停计时的时间；null 表示正在计时"},
            "completed_at": _NTIME,
            "completed_by": _NSTR,
            "form_key": _NSTR,
            "stage": _NSTR,
            "business_key": _NSTR,
            "title": _NSTR,
            "data": _DATA,
        }
    ),
    "Instance": _object(
        {
            "id": _INT,
            "process_key": _STR,
            "definition_version": {**_INT, "description": "实例所用的流程版本"},
            "business_key": _NSTR,
            "title": _NSTR,
            "status": {"type": "string", "enum": list(STATUSES)},
            "version": {**_INT, "description": "乐观锁版本号"},
            "started_by": _NSTR,
            "started_at": _TIME,
            "updated_at": _TIME,
            "ended_at": _NTIME,
            "tasks": {
                "type": "array",
                "items": _ref("Task"),
                "description": "未办结的任务（列表接口中为空）",
            },
            "data": _DATA,
            "stage": {**_NSTR, "description": "当前阶段（最新待办任务的 stage 属性）"},
            "phase": {**_NSTR, "description": "当前阶段所属的环节，如 引得来/落得快/建得好/运营稳"},
            "parent_instance_id": {**_NINT, "description": "调用本流程的上级实例"},
        }
    ),
    "Event": _object(
        {
            "id": _INT,
            "instance_id": _NINT,
            "task_id": _NSTR,
            "actor": _NSTR,
            "kind": {
                **_STR,
                "description": "instance_started、task_created、task_claimed、task_completed 等",
            },
            "at": _TIME,
            "data": {"description": "该操作提交的数据（任意 JSON 或 null）"},
        }
    ),
    "InstancePage": _object(
        {
            "items": {"type": "array", "items": _ref("Instance")},
            "total": _INT,
            "limit": _INT,
            "offset": _INT,
        }
    ),
    "TaskPage": _object(
        {
            "items": {"type": "array", "items": _ref("Task")},
            "total": _INT,
            "limit": _INT,
            "offset": _INT,
        }
    ),
    "DefinitionList": _object({"items": {"type": "array", "items": _ref("Definition")}}),
    "EventList": _object({"items": {"type": "array", "items": _ref("Event")}}),
    "DepartmentList": _object({"items": {"type": "array", "items": _ref("Department")}}),
    "UserList": _object({"items": {"type": "array", "items": _ref("User")}}),
    "Token": _object(
        {
            "token": {**_STR, "description": "放入 Authorization: Bearer <token>"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_at": _TIME,
            "user": _ref("User"),
        }
    ),
    "Login": _object({"user": _ref("User"), "csrf_token": _STR}),
    "Csrf": _object(
        {"csrf_token": {**_STR, "description": "会话 Cookie 的写请求放入 X-CSRF-Token 头"}}
    ),
    "Logout": _object({"logged_out": {"type": "boolean"}}),
    "RevokedAccess": _object(
        {
            "username": _STR,
            "sessions": {**_INT, "description": "注销的浏览器会话数"},
            "tokens": {**_INT, "description": "作废的令牌数"},
        }
    ),
    "EventPage": _object(
        {
            "items": {"type": "array", "items": _ref("Event")},
            "total": _INT,
            "limit": _INT,
            "offset": _INT,
        }
    ),
    # request bodies
    "Credentials": _object(
        {
            "username": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": _NONBLANK,
                "example": "invest-clerk",
            },
            "password": {"type": "string", "maxLength": 1024, "example": "demo"},
        },
        additionalProperties=False,
    ),
    "StartInstance": _object(
        {
            "process_key": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": _NONBLANK,
            },
            "business_key": _nullable({"type": "string", "maxLength": 200}),
            "title": _nullable({"type": "string", "maxLength": 400}),
            "data": {**_DATA, "description": "流程的初始数据"},
        },
        required=["process_key"],
        additionalProperties=False,
        example={
            "process_key": "sample_review",
            "business_key": "XM-2026-001",
            "title": "某新材料项目联合预审",
            "data": {},
        },
    ),
    "Terminate": _object(
        {"reason": _nullable({"type": "string", "maxLength": 2000})},
        required=[],
        additionalProperties=False,
    ),
    "Reassign": _object(
        {"username": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NONBLANK}},
        additionalProperties=False,
    ),
    "Complete": _object(
        {"data": {**_DATA, "description": (
            "表单提交的数据，并入流程数据。按任务表单校验：必填项须随本次提交（流程中已有的值不算），"
            "动态列表逐行校验，错误键如 ledger[1].unit；每步合计不超过 STEP_DATA_MAX_KB")}},
        required=[],
        additionalProperties=False,
        example={"data": {"approved": True}},
    ),
    "Empty": {"type": "object", "additionalProperties": False, "maxProperties": 0},
    "Incident": _object(
        {
            "id": _INT,
            "instance_id": _INT,
            "process_key": _STR,
            "business_key": _NSTR,
            "task_id": {**_NSTR, "description": "出错的任务（引擎内部 id）"},
            "element_id": {**_NSTR, "description": "出错的 BPMN 元素 id"},
            "message": {**_STR, "description": "错误信息"},
            "created_at": _TIME,
            "resolved_at": {**_NTIME, "description": "重试的时间；null 表示尚未处理"},
            "resolved_by": _NSTR,
        }
    ),
    "IncidentList": _object({"items": {"type": "array", "items": _ref("Incident")}}),
    "TaskPause": _object(
        {
            "id": _INT,
            "task_id": _STR,
            "paused_at": _TIME,
            "paused_by": _NSTR,
            "reason": _NSTR,
            "resumed_at": {**_NTIME, "description": "null：仍在暂停"},
            "resumed_by": _NSTR,
        }
    ),
    "TaskPauseList": _object({"items": {"type": "array", "items": _ref("TaskPause")}}),
    "MessageOutcome": _object(
        {
            "status": {
                "type": "string",
                "enum": ["delivered", "started", "waiting"],
                "description": "delivered：送达等待中的实例；started：启动了以该消息开始的流程；"
                "waiting：暂无接收方，消息保留至 ttl_days 天后过期",
            },
            "instance_id": {**_INT, "description": "送达或新启动的实例（delivered、started）"},
            "message_id": {**_INT, "description": "保留的消息（waiting）"},
        },
        required=["status"],
    ),
    "Retry": _object(
        {"data": {**_DATA, "description": "修正的数据，并入出错环节的流程数据"}},
        required=[],
        additionalProperties=False,
        example={"data": {"total": 20}},
    ),
    "Pause": _object(
        {"reason": _nullable({"type": "string", "maxLength": 2000})},
        required=[],
        additionalProperties=False,
        example={"reason": "专家评审"},
    ),
    "SendBack": _object(
        {
            "target": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": _NONBLANK,
                "description": "退回到的环节（BPMN 元素 id，须在该环节的 send_back_targets 中）",
            },
            "reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": _NONBLANK},
        },
        additionalProperties=False,
        example={"target": "submit_application", "reason": "材料不全，请补充环评批复"},
    ),
    "Message": _object(
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": _NONBLANK,
                "description": "消息名（BPMN message 的 name）",
            },
            "correlation_key": {
                **_nullable({"type": "string", "maxLength": 200}),
                "description": "关联键（通常为项目编号，即实例的 business_key）；"
                "缺省或为空时只匹配没有关联键的接收方",
            },
            "payload": {**_DATA, "description": "消息内容（JSON 对象），存入接收方的消息变量"},
            "ttl_days": _nullable(
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_TTL_DAYS,
                    "default": DEFAULT_TTL_DAYS,
                    "description": "暂无接收方时消息保留的天数",
                }
            ),
        },
        required=["name"],
        additionalProperties=False,
        example={
            "name": "mine_result",
            "correlation_key": "XM-2026-001",
            "payload": {"approved": True},
        },
    ),
    "CalendarAdd": _object(
        {
            "start": _DATE,
            "days": _INT,
            "date": {**_DATE, "description": "start 之后第 days 个工作日（start 当天不计）"},
            "provisional": _PROVISIONAL,
        }
    ),
    "CalendarBetween": _object(
        {
            "start": _DATE,
            "end": _DATE,
            "working_days": {
                **_INT,
                "description": "start 之后至 end（含）的工作日数；end 早于 start 时为负数",
            },
            "provisional": _PROVISIONAL,
        }
    ),
    "CalendarDay": _object(
        {
            "date": _DATE,
            "is_workday": {"type": "boolean", "description": "true：调休上班；false：放假"},
            "name": _NSTR,
            "source": {"type": "string", "enum": ["official", "estimated", "manual"]},
        }
    ),
    "CalendarYear": _object(
        {
            "year": _INT,
            "source": {
                "type": "string",
                "enum": ["official", "imported", "estimated"],
                "description": "official：chinesecalendar 的官方数据；imported：导入的官方安排；"
                "estimated：按法定节假日规则估算（无调休上班日）",
            },
            "official": {"type": "boolean", "description": "false：该年的计算结果为暂定"},
            "stored": {
                "type": "boolean",
                "description": "false：数据库中没有该年，按数据包即时计算",
            },
            "updated_at": _NTIME,
            "days": {
                "type": "array",
                "items": _ref("CalendarDay"),
                "description": "与“周一至周五上班”不同的日子：工作日放假、周末调休上班",
            },
        }
    ),
    "CalendarImport": _object(
        {
            "year": {"type": "integer", "minimum": 2000, "maximum": 2100, "example": 2027},
            "holidays": {
                "type": "array",
                "minItems": 1,
                "maxItems": 366,
                "items": _object(
                    {
                        "date": _DATE,
                        "name": _nullable({"type": "string", "maxLength": 200}),
                    },
                    required=["date"],
                    additionalProperties=False,
                ),
                "description": "放假的日子（周末的可列可不列）",
            },
            "workdays": {
                "type": "array",
                "maxItems": 366,
                "items": _DATE,
                "description": "周末调休上班的日子",
            },
        },
        required=["year", "holidays"],
        additionalProperties=False,
        example={
            "year": 2027,
            "holidays": [
                {"date": "2027-01-01", "name": "元旦"},
                {"date": "2027-02-05", "name": "春节"},
            ],
            "workdays": ["2027-02-20"],
        },
    ),
    "CalendarImportResult": _object(
        {
            "year": _INT,
            "source": {"type": "string", "enum": ["imported"]},
            "official": {"type": "boolean"},
            "holidays": {**_INT, "description": "存入的工作日放假天数"},
            "weekend_holidays": {**_INT, "description": "落在周末的放假天数（本就休息，不存）"},
            "workdays": {**_INT, "description": "调休上班天数"},
            "replaced": {**_INT, "description": "被替换的该年原有记录数"},
            "previous_source": _nullable(
                {"type": "string", "enum": ["official", "imported", "estimated"]}
            ),
        }
    ),
    "Attachment": _object(
        {
            "id": {**_STR, "description": "附件 id（32 位十六进制）"},
            "instance_id": _INT,
            "task_id": {**_NSTR, "description": "上传时所在的任务"},
            "field": {**_NSTR, "description": "对应的表单字段（filepicker 字段的 key）"},
            "filename": _STR,
            "content_type": {**_STR, "description": "保存并下载时使用的类型，由扩展名决定"},
            "size": {**_INT, "description": "字节数"},
            "sha256": {**_STR, "description": "内容的 SHA-256（十六进制）"},
            "uploaded_by": _NSTR,
            "uploaded_at": _TIME,
            "content_url": {**_STR, "description": "下载文件内容的地址"},
        }
    ),
    "AttachmentList": _object({"items": {"type": "array", "items": _ref("Attachment")}}),
    "AttachmentCreated": _object({"attachment": _ref("Attachment")}),
    "AttachmentUpload": _object(
        {
            "file": {
                "type": "string",
                "format": "binary",
                "description": f"要上传的文件（带文件名）：{UPLOAD_TYPES_TEXT}",
            },
            "field": {
                "type": "string",
                "maxLength": MAX_FIELD,
                "description": "对应的表单字段（filepicker 字段的 key），可不填",
            },
        },
        required=["file"],
        additionalProperties=False,
    ),
    "Draft": _object(
        {
            "task_id": _STR,
            "data": {
                "type": "object",
                "additionalProperties": True,
                "description": "保存的表单数据",
            },
            "saved_at": _TIME,
        }
    ),
    "DraftSaved": _object({"task_id": _STR, "saved_at": _TIME}),
    "SaveDraft": _object(
        {
            "data": {
                "type": "object",
                "additionalProperties": True,
                "description": "表单数据（JSON 对象，序列化后不超过 1 MB）",
            }
        },
        additionalProperties=False,
        example={"data": {"safety_design_opinion": "初步同意"}},
    ),
    "Comment": _object(
        {
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_COMMENT,
                "pattern": _NONBLANK,
            },
            "task_id": {
                **_nullable({"type": "string", "maxLength": 64}),
                "description": "针对的任务（须为该实例的任务）；缺省为针对整个案件",
            },
        },
        required=["text"],
        additionalProperties=False,
        example={"text": "请补充专家意见"},
    ),
    "Diagram": _object(
        {
            "definition_key": {**_STR, "description": "流程标识"},
            "definition_version": {**_INT, "description": "实例所用的流程版本"},
            "completed": {"type": "array", "items": _STR, "description": "已完成的 BPMN 元素 id"},
            "current": {
                "type": "array",
                "items": _STR,
                "description": "当前的元素 id（待办任务、等待中的事件）；已办结的实例为空",
            },
            "overdue": {"type": "array", "items": _STR, "description": "已超期的待办任务的元素 id"},
            "task_links": {
                "type": "object",
                "additionalProperties": _STR,
                "description": "元素 id → 调用者可查看的待办任务 id",
            },
        }
    ),
    "TaskContext": _object(
        {
            "process_name": {**_NSTR, "description": "流程名称"},
            "form": {
                "type": "object",
                "nullable": True,
                "additionalProperties": True,
                "description": "该环节的表单（form-js schema）；环节没有表单时为 null",
            },
            "send_back_targets": {
                "type": "array",
                "items": _object({"id": _STR, "name": _STR}),
                "description": "可退回到的环节（POST /api/v1/tasks/{task_id}/send-back 的 target）",
            },
            "pausable": {"type": "boolean", "description": "该环节可以暂停计时"},
            "can_work": {
                "type": "boolean",
                "description": "调用者可以办理（本部门，并有所需角色）",
            },
            "instance_status": {"type": "string", "enum": list(STATUSES)},
        }
    ),
    "TaskList": _object({"items": {"type": "array", "items": _ref("Task")}}),
    "CaseRef": _object(_CASE_REF),
    "Related": _object(
        {
            "parent": {
                **_nullable(_object(_CASE_REF)),
                "description": "调用本案件的上级案件（没有或调用者看不到时为 null）",
            },
            "children": {
                "type": "array",
                "items": _ref("CaseRef"),
                "description": "本案件调用的下级案件中调用者能看到的",
            },
        }
    ),
    "Deploy": _object(
        {
            "file": {"type": "string", "format": "binary", "description": ".bpmn 文件"},
            "files": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": "附带的 .dmn / .form 文件（可多个）",
            },
        },
        required=["file"],
    ),
}

_ERRORS = {
    400: "请求格式错误（不是 JSON、不是对象、Content-Type 不对）",
    401: "未登录：缺少或无效的令牌 / 会话",
    403: "无权操作（其他部门的任务、需要负责人或流程管理员角色），或会话请求缺少 CSRF 头",
    404: "资源不存在",
    409: "冲突：任务已被认领或已办结、实例状态不允许、并发修改",
    413: "上传内容过大",
    416: "Range 超出文件长度",
    422: "数据无效：字段类型或取值不对，流程模型校验失败，或引擎拒绝",
    429: "登录失败次数过多：Retry-After 秒后再试（等待随失败次数增长）",
}


def _error_response(status: int) -> dict:
    response = {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": _STR}}
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": _STR}}
    return response


def _json_ok(schema: str, description: str = "成功") -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _op(
    op_id,
    summary,
    tag,
    ok,
    *,
    status=200,
    errors=(),
    params=(),
    body=None,
    body_required=True,
    public=False,
    description=None,
) -> dict:
    responses = {str(status): ok}
    codes = set(errors) | {400}
    if not public:
        codes |= {401}
    for code in sorted(codes):
        responses[str(code)] = _error_response(code)
    op = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if public:
        op["security"] = []
    return op


def _query(name, schema, description) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _required_query(name, schema, description) -> dict:
    return {**_query(name, schema, description), "required": True}


def _path(name, schema, description) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


_LIMIT = _query(
    "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "每页条数"
)
_OFFSET = _query(
    "offset", {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0}, "跳过条数"
)
_VERSION = _query(
    "version", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "版本号（缺省为最新版本）"
)
_KEY = _path("key", {"type": "string", "minLength": 1, "example": "sample_review"}, "流程标识")
_INSTANCE_ID = _path(
    "instance_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "流程实例 id"
)
_TASK_ID = _path("task_id", {"type": "string", "minLength": 1}, "任务 id（UUID）")
_TEXT = {"type": "string", "maxLength": 200}
_ATTACHMENT_ID = _path(
    "attachment_id",
    {"type": "string", "pattern": "^[0-9a-f]{32}$", "example": "0" * 32},
    "附件 id（32 位十六进制）",
)
# Types a stored attachment is served with (the upload check's list; octet-stream otherwise).
_CONTENT_TYPES = sorted({t for t, _ in UPLOAD_TYPES.values()} | {"application/octet-stream"})


def _attachment_content_ok() -> dict:
    fixed = lambda value, description: {  # noqa: E731
        "required": True,
        "schema": {"type": "string", "enum": [value]},
        "description": description,
    }
    return {
        "description": "文件内容：PDF 与图片在浏览器中显示（inline），其他类型下载（attachment）",
        "headers": {
            "X-Content-Type-Options": fixed("nosniff", "浏览器不得猜测类型"),
            "Cache-Control": fixed("private, no-store", "不缓存"),
            "Content-Security-Policy": fixed(
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


def _attachment_content_op() -> dict:
    op = _op(
        "getAttachmentContent",
        "下载附件",
        "casefiles",
        _attachment_content_ok(),
        params=[_ATTACHMENT_ID],
        errors=(403, 404, 416),
        description="以上传时确定的类型返回，带 nosniff、no-store 和沙箱 CSP（与页面的下载相同）。"
        "ETag 为内容的 SHA-256；支持 If-None-Match（304）和 Range（206）请求。",
    )
    partial = _attachment_content_ok()
    partial["description"] = "Range 请求的部分内容（Content-Range 标明位置）"
    op["responses"]["206"] = partial
    op["responses"]["304"] = {"description": "If-None-Match 与 ETag 相同：内容未变"}
    return op


def _paths() -> dict:
    instance_action = lambda op_id, summary, body: _op(  # noqa: E731
        op_id,
        summary,
        "instances",
        _json_ok("Instance"),
        params=[_INSTANCE_ID],
        body=body,
        body_required=False,
        errors=(403, 404, 409, 422),
    )
    deploy = _op(
        "deployDefinition",
        "部署流程（上传 .bpmn 及附带的 .dmn / .form）",
        "definitions",
        _json_ok("DeployResult", "已部署新版本"),
        status=201,
        errors=(403, 413, 422),
        description="新建版本时返回 201；文件与最新版本相同时返回 200（同样的响应体）；"
        "模型无效时返回 422，details 为 ValidationProblem 列表。只有流程管理员可以部署。",
    )
    deploy["responses"]["200"] = _json_ok("DeployResult", "内容未变化：返回现有最新版本")
    deploy["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": _ref("Deploy")}},
    }
    task_action = lambda op_id, summary, body, required=False: _op(  # noqa: E731
        op_id,
        summary,
        "tasks",
        _json_ok("Task"),
        params=[_TASK_ID],
        body=body,
        body_required=required,
        errors=(403, 404, 409, 422),
    )
    return {
        "/api/v1/auth/token": {
            "post": _op(
                "issueToken",
                "用户名和密码换取令牌",
                "auth",
                _json_ok("Token"),
                body="Credentials",
                public=True,
                errors=(401, 422, 429),
                description="令牌有效期见 TOKEN_TTL_HOURS；非演示模式下密码 demo 被拒绝。"
                "连续登录失败后须等待（429，Retry-After），等待时间随失败次数增长。",
            ),
        },
        "/api/v1/auth/login": {
            "post": _op(
                "login",
                "登录（会话 Cookie）",
                "auth",
                _json_ok("Login"),
                body="Credentials",
                public=True,
                errors=(401, 422, 429),
                description="设置会话 Cookie；之后的写请求须带 X-CSRF-Token 头。会话保存在服务端："
                "退出、修改密码、停用用户或管理员注销后立即失效，SESSION_IDLE_MINUTES 无操作后过期。"
                "连续登录失败后须等待（429，Retry-After），等待时间随失败次数增长。",
            ),
        },
        "/api/v1/auth/logout": {
            "post": _op(
                "logout",
                "退出登录（在服务端注销会话；带令牌时作废该令牌）",
                "auth",
                _json_ok("Logout"),
                public=True,
                errors=(401, 403),
            ),
        },
        "/api/v1/auth/csrf": {
            "get": _op(
                "getCsrfToken", "获取会话的 CSRF 令牌", "auth", _json_ok("Csrf"), public=True
            ),
        },
        "/api/v1/me": {
            "get": _op("getMe", "当前用户", "org", _json_ok("User")),
        },
        "/api/v1/departments": {
            "get": _op("listDepartments", "部门列表", "org", _json_ok("DepartmentList")),
        },
        "/api/v1/users": {
            "get": _op(
                "listUsers",
                "用户列表",
                "org",
                _json_ok("UserList"),
                params=[_query("department", {"type": "string", "maxLength": 64}, "部门代码")],
                errors=(422,),
            ),
        },
        "/api/v1/users/{username}/sessions": {
            "delete": _op(
                "revokeUserSessions",
                "注销用户的全部会话和令牌（系统管理员）",
                "auth",
                _json_ok("RevokedAccess"),
                params=[_path("username", {"type": "string", "minLength": 1}, "用户名")],
                errors=(403, 404),
                description="该用户的浏览器会话和令牌立即失效，须重新登录（如电脑遗失）。"
                "修改密码、停用用户时系统自动执行同样的操作。",
            ),
        },
        "/api/v1/security-events": {
            "get": _op(
                "listSecurityEvents",
                "安全审计日志（系统管理员）",
                "auth",
                _json_ok("EventPage"),
                params=[
                    _query(
                        "kind",
                        {"type": "string", "enum": list(EVENT_KINDS)},
                        "login_failed 登录失败、login_throttled 因登录限速被拒、"
                        "password_changed 修改密码、user_disabled 停用用户、"
                        "access_revoked 管理员注销会话",
                    ),
                    _query("username", {"type": "string", "maxLength": 64},
                           "actor：登录事件为尝试登录的用户名，其他事件为操作人"),
                    _LIMIT,
                    _OFFSET,
                ],
                errors=(403, 422),
                description="最新的在前。登录事件的 data 含 address（客户端地址）与 reason 或 "
                "retry_after；会话事件的 data 含 username（被注销的用户）、sessions、tokens。",
            ),
        },
        "/api/v1/definitions": {
            "get": _op(
                "listDefinitions",
                "流程定义（每个流程的最新版本）",
                "definitions",
                _json_ok("DefinitionList"),
                params=[
                    _query(
                        "startable",
                        {"type": "string", "enum": list(BOOLEANS), "default": "false"},
                        "true：只列调用者所在部门可以手动发起的流程（“发起”页）",
                    )
                ],
                errors=(422,),
            ),
            "post": deploy,
        },
        "/api/v1/definitions/{key}": {
            "get": _op(
                "getDefinition",
                "流程定义（缺省最新版本）",
                "definitions",
                _json_ok("Definition"),
                params=[_KEY, _VERSION],
                errors=(404, 422),
            ),
        },
        "/api/v1/definitions/{key}/versions": {
            "get": _op(
                "listDefinitionVersions",
                "流程的全部版本",
                "definitions",
                _json_ok("DefinitionList"),
                params=[_KEY],
                errors=(404,),
            ),
        },
        "/api/v1/definitions/{key}/xml": {
            "get": _op(
                "getDefinitionXml",
                "流程的 BPMN XML",
                "definitions",
                {"description": "BPMN 2.0 XML", "content": {"application/xml": {"schema": _STR}}},
                params=[_KEY, _VERSION],
                errors=(404, 422),
            ),
        },
        "/api/v1/instances": {
            "get": _op(
                "listInstances",
                "流程实例列表",
                "instances",
                _json_ok("InstancePage"),
                params=[
                    _query("status", {"type": "string", "enum": list(STATUSES)}, "实例状态"),
                    _query("process_key", _TEXT, "流程标识"),
                    _query("business_key", _TEXT, "业务编号"),
                    _query("started_by", {"type": "string", "maxLength": 64}, "发起人用户名"),
                    _query("stage", _TEXT, "当前阶段（流程图中任务的 stage 属性）"),
                    _query("q", _TEXT, "名称或业务编号中包含的文字"),
                    _LIMIT,
                    _OFFSET,
                ],
                errors=(422,),
                description="督查室、区领导、管理员看到全部；其他人看到本部门参与过或本人发起的实例。",
            ),
            "post": _op(
                "startInstance",
                "发起流程（最新版本）",
                "instances",
                _json_ok("Instance", "已发起"),
                status=201,
                body="StartInstance",
                errors=(403, 404, 422),
            ),
        },
        "/api/v1/instances/{instance_id}": {
            "get": _op(
                "getInstance",
                "流程实例（含未办结任务和流程数据）",
                "instances",
                _json_ok("Instance"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/instances/{instance_id}/suspend": {
            "post": instance_action("suspendInstance", "挂起（流程管理员）", "Terminate"),
        },
        "/api/v1/instances/{instance_id}/resume": {
            "post": instance_action("resumeInstance", "恢复（流程管理员）", "Terminate"),
        },
        "/api/v1/instances/{instance_id}/terminate": {
            "post": instance_action("terminateInstance", "终止（流程管理员）", "Terminate"),
        },
        "/api/v1/instances/{instance_id}/events": {
            "get": _op(
                "listInstanceEvents",
                "实例的操作日志",
                "instances",
                _json_ok("EventList"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/tasks": {
            "get": _op(
                "listTasks",
                "任务列表",
                "tasks",
                _json_ok("TaskPage"),
                params=[
                    _query(
                        "scope",
                        {"type": "string", "enum": list(SCOPES), "default": "department"},
                        "mine：我认领的；department：本部门的；done：我办结的（被退回后重办的环节，每次办结各一条）；"
                        "all：全部（督查室、领导、管理员）",
                    ),
                    _query(
                        "state",
                        {"type": "string", "enum": list(STATES)},
                        "缺省：mine/department 只列未办结（open）的任务",
                    ),
                    _query("process_key", _TEXT, "流程标识"),
                    _query(
                        "instance_id",
                        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        "流程实例 id",
                    ),
                    _query("stage", _TEXT, "阶段（流程图中任务的 stage 属性）"),
                    _query(
                        "light",
                        {"type": "string", "enum": list(LIGHTS)},
                        "时限灯：red 已超期；yellow 一个工作日内到期；green 按期或无时限",
                    ),
                    _query("q", _TEXT, "案件名称或业务编号中包含的文字"),
                    _query(
                        "sort",
                        {"type": "string", "enum": list(SORTS)},
                        "排序：created 到达时间、due 时限、completed 办结时间，前加 - 为倒序"
                        "（无时限的任务总在最后）；缺省为最新到达（done 为最新办结）在前",
                    ),
                    _LIMIT,
                    _OFFSET,
                ],
                errors=(403, 422),
            ),
        },
        "/api/v1/tasks/{task_id}": {
            "get": _op(
                "getTask",
                "任务（含流程数据）",
                "tasks",
                _json_ok("Task"),
                params=[_TASK_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/tasks/{task_id}/claim": {
            "post": task_action("claimTask", "认领", "Empty"),
        },
        "/api/v1/tasks/{task_id}/unclaim": {
            "post": task_action("unclaimTask", "退回部门待办", "Empty"),
        },
        "/api/v1/tasks/{task_id}/reassign": {
            "post": task_action(
                "reassignTask", "转派给本部门其他人（负责人）", "Reassign", required=True
            ),
        },
        "/api/v1/tasks/{task_id}/complete": {
            "post": task_action("completeTask", "办结任务", "Complete"),
        },
        "/api/v1/calendar/add": {
            "get": _op(
                "calendarAdd",
                "加若干个工作日",
                "calendar",
                _json_ok("CalendarAdd"),
                params=[
                    _required_query("start", _DATE, "起始日期（当天不计）"),
                    _required_query(
                        "days",
                        {"type": "integer", "minimum": -3650, "maximum": 3650, "example": 20},
                        "工作日数；0 表示起始日（非工作日则顺延到下一个工作日）；负数往前数",
                    ),
                ],
                errors=(422,),
            ),
        },
        "/api/v1/calendar/between": {
            "get": _op(
                "calendarBetween",
                "两个日期之间的工作日数",
                "calendar",
                _json_ok("CalendarBetween"),
                params=[
                    _required_query("start", _DATE, "起始日期（不计）"),
                    _required_query("end", {**_DATE, "example": "2026-10-22"}, "结束日期（计入）"),
                ],
                errors=(422,),
            ),
        },
        "/api/v1/calendar/days": {
            "get": _op(
                "calendarDays",
                "某年的节假日与调休上班日",
                "calendar",
                _json_ok("CalendarYear"),
                params=[
                    _query(
                        "year",
                        {"type": "integer", "minimum": 1, "maximum": 9999, "example": 2026},
                        "年份（缺省为今年）",
                    )
                ],
                errors=(422,),
            ),
        },
        "/api/v1/calendar/import": {
            "post": _op(
                "calendarImport",
                "导入一年的官方放假安排（管理员）",
                "calendar",
                _json_ok("CalendarImportResult"),
                body="CalendarImport",
                errors=(403, 422),
                description="替换该年的全部记录（含手工修改）并标为官方数据，该年的计算结果不再是暂定。"
                "有误时返回 422，details.problems 列出每处错误（field、message），不做任何修改。"
                "只有流程管理员或系统管理员可以导入。",
            ),
        },
        "/api/v1/tasks/{task_id}/pause": {
            "post": _op(
                "pauseTask",
                "暂停办理时限的计时（专家评审、听证、公示等）",
                "tasks",
                _json_ok("Task"),
                params=[_TASK_ID],
                body="Pause",
                body_required=False,
                errors=(403, 404, 409, 422),
                description="只有流程图允许暂停（pausable）的环节可以暂停；已暂停、已办结时返回 409。",
            ),
        },
        "/api/v1/tasks/{task_id}/resume": {
            "post": _op(
                "resumeTask",
                "恢复计时（时限顺延暂停的工作日数）",
                "tasks",
                _json_ok("Task"),
                params=[_TASK_ID],
                body="Empty",
                body_required=False,
                errors=(403, 404, 409, 422),
            ),
        },
        "/api/v1/tasks/{task_id}/pauses": {
            "get": _op(
                "listTaskPauses",
                "任务的暂停计时记录",
                "tasks",
                _json_ok("TaskPauseList"),
                params=[_TASK_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/tasks/{task_id}/send-back": {
            "post": _op(
                "sendBackTask",
                "退回到此前办理过的环节",
                "tasks",
                _json_ok("Task", "已退回：返回本任务（已取消），被退回的环节重新打开"),
                params=[_TASK_ID],
                body="SendBack",
                errors=(403, 404, 409, 422),
                description="target 须在该环节的 send_back_targets 中（否则 422）；"
                "本案件尚未办理过 target 或任务已被他人认领时返回 409。",
            ),
        },
        "/api/v1/incidents": {
            "get": _op(
                "listIncidents",
                "故障列表（督查室、区领导、管理员）",
                "incidents",
                _json_ok("IncidentList"),
                params=[
                    _query(
                        "instance_id",
                        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        "流程实例 id",
                    ),
                    _query(
                        "open",
                        {"type": "string", "enum": list(BOOLEANS), "default": "true"},
                        "true：只列未处理的故障；false：全部（含已重试的）",
                    ),
                ],
                errors=(403, 422),
                description="最新的在前，最多 500 条。",
            ),
        },
        "/api/v1/instances/{instance_id}/retry": {
            "post": _op(
                "retryInstance",
                "修正数据后重试出错的环节（流程管理员）",
                "incidents",
                _json_ok("Instance"),
                params=[_INSTANCE_ID],
                body="Retry",
                body_required=False,
                errors=(403, 404, 409, 422),
                description="data 并入出错环节的数据后重新执行；实例没有待处理的故障时返回 409。"
                "再次出错时实例仍为 incident 状态，并记录新的故障。",
            ),
        },
        "/api/v1/messages": {
            "post": _op(
                "correlateMessage",
                "投递消息（外部系统；流程管理员或系统管理员）",
                "messages",
                _json_ok("MessageOutcome"),
                body="Message",
                errors=(403, 409, 422),
                description="按消息名和关联键送达最早等待的实例；否则启动以该消息开始的流程；"
                "都没有时消息保留，待接收方出现时送达，ttl_days 天后过期。",
            ),
        },
        "/api/v1/tasks/{task_id}/attachments": {
            "post": {
                **_op(
                    "uploadAttachment",
                    "为任务上传附件（证明材料）",
                    "casefiles",
                    _json_ok("AttachmentCreated", "已上传"),
                    status=201,
                    params=[_TASK_ID],
                    errors=(403, 404, 413, 422),
                    description=f"multipart/form-data：file 为文件（{UPLOAD_TYPES_TEXT}；按扩展名和"
                    "文件开头的内容检查类型，大小上限见 ATTACHMENT_MAX_MB），field 为对应的表单"
                    "字段（可选）。任务须未办结，调用者须能办理该任务（本部门、所需角色）。"
                    "内容按 SHA-256 存储，相同内容只存一份。类型、内容、大小不符时返回 422，"
                    'details 为 {"file": 说明}。',
                ),
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": _ref("AttachmentUpload")}},
                },
            },
        },
        "/api/v1/instances/{instance_id}/attachments": {
            "get": _op(
                "listInstanceAttachments",
                "案件的附件（最早上传的在前）",
                "casefiles",
                _json_ok("AttachmentList"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/attachments/{attachment_id}": {
            "get": _op(
                "getAttachment",
                "附件信息",
                "casefiles",
                _json_ok("Attachment"),
                params=[_ATTACHMENT_ID],
                errors=(403, 404),
                description="能查看该案件的用户可以读取；文件内容见 content_url。",
            ),
        },
        "/api/v1/attachments/{attachment_id}/content": {
            "get": _attachment_content_op(),
        },
        "/api/v1/tasks/{task_id}/draft": {
            "get": _op(
                "getDraft",
                "调用者保存的表单草稿",
                "casefiles",
                _json_ok("Draft"),
                params=[_TASK_ID],
                errors=(403, 404),
                description="草稿按用户保存，别人看不到；没有草稿或任务已办结时返回 404。",
            ),
            "put": _op(
                "saveDraft",
                "保存表单草稿（替换调用者此前的草稿）",
                "casefiles",
                _json_ok("DraftSaved", "已保存"),
                params=[_TASK_ID],
                body="SaveDraft",
                errors=(403, 404, 422),
                description="任务须未办结（否则 422）；办结任务时草稿被删除。",
            ),
        },
        "/api/v1/instances/{instance_id}/comments": {
            "post": _op(
                "addComment",
                "发表意见",
                "casefiles",
                _json_ok("Event", "已记录：返回 kind 为 comment 的操作日志"),
                status=201,
                params=[_INSTANCE_ID],
                body="Comment",
                errors=(403, 404, 422),
                description="意见记入实例的操作日志（GET /api/v1/instances/{instance_id}/events，"
                "kind 为 comment，data 为 {text}）；带 task_id 时针对该任务（须为该实例的任务，"
                "否则 422）。",
            ),
        },
        "/api/v1/instances/{instance_id}/diagram": {
            "get": _op(
                "getInstanceDiagram",
                "案件在流程图上的位置：已完成、当前、超期的元素",
                "casefiles",
                _json_ok("Diagram"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
                description="流程图本身见 GET /api/v1/instances/{instance_id}/diagram.xml"
                "（即 GET /api/v1/definitions/{definition_key}/xml?version={definition_version}）。",
            ),
        },
        "/api/v1/instances/{instance_id}/diagram.xml": {
            "get": _op(
                "getInstanceDiagramXml",
                "案件所用版本的 BPMN XML",
                "casefiles",
                {"description": "BPMN 2.0 XML", "content": {"application/xml": {"schema": _STR}}},
                params=[_INSTANCE_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/tasks/{task_id}/context": {
            "get": _op(
                "getTaskContext",
                "任务页所需：表单、可退回的环节、能否暂停计时、能否办理",
                "casefiles",
                _json_ok("TaskContext"),
                params=[_TASK_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/instances/{instance_id}/tasks": {
            "get": _op(
                "listInstanceTasks",
                "案件的全部环节（含已办结、已取消的，最早到达的在前）",
                "casefiles",
                _json_ok("TaskList"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
                description="能查看该案件的用户都能看到各部门的环节（办理仍只限本部门）。"
                "列表中 business_key、title、data 为 null（见实例）。",
            ),
        },
        "/api/v1/instances/{instance_id}/related": {
            "get": _op(
                "getRelatedInstances",
                "关联案件：上级（调用本案件的）与下级（本案件调用的）",
                "casefiles",
                _json_ok("Related"),
                params=[_INSTANCE_ID],
                errors=(403, 404),
            ),
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "本文档",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0 文档",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            },
        },
    }


@cache
def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "昆都仑区工作流平台 kunflow API",
            "version": "1",
            "description": "BPMN 流程的部署、发起、待办与办理。认证：POST /api/v1/auth/token 换取令牌，"
            "之后每个请求带 Authorization: Bearer <令牌>；或 POST /api/v1/auth/login 使用会话 Cookie，"
            '写请求带 X-CSRF-Token 头。错误一律为 JSON：{"error": {"code", "message", "details"}}。',
        },
        "tags": [
            {"name": "auth", "description": "认证"},
            {"name": "org", "description": "部门与用户"},
            {"name": "definitions", "description": "流程定义"},
            {"name": "instances", "description": "流程实例"},
            {"name": "tasks", "description": "任务"},
            {"name": "casefiles", "description": "附件、草稿、意见与案件流程图"},
            {"name": "incidents", "description": "故障与重试"},
            {"name": "messages", "description": "外部系统的消息投递"},
            {"name": "calendar", "description": "工作日历（法定节假日与调休）"},
            {"name": "meta", "description": "接口文档"},
        ],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "POST /api/v1/auth/token 获取的令牌",
                },
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "POST /api/v1/auth/login 设置的会话；写请求另须 X-CSRF-Token 头",
                },
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
