"""``GET /api/v1/openapi.json``: the OpenAPI 3.0.3 document, generated from the declarations.

The paths come from the routes of ``bp`` (their ``@bp.arguments`` / ``@bp.response`` /
``@bp.errors`` and the shapes in ``schemas.py``) and from ``AUTH_OPERATIONS`` for the routes of
``web/auth``; this module adds what belongs to the whole API: info, tags, the security schemes
and the error answers. ``tests/api/test_openapi.py`` fuzzes the running app against the result
(schemathesis), so a response that drifts from its declaration fails the suite.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from copy import deepcopy
from functools import cache

from flask import Flask, jsonify
from flask_smorest import Api

from ..auth import bp as auth_bp
from . import bp
from .schemas import Credentials, Csrf, Error, Login, Logout, Token, ValidationProblem

INFO = {
    "title": "昆都仑区工作流平台 kunflow API",
    "version": "1",
    "description": "BPMN 流程的部署、发起、待办与办理。认证：POST /api/v1/auth/token 换取令牌，"
    "之后每个请求带 Authorization: Bearer <令牌>；或 POST /api/v1/auth/login 使用会话 Cookie，"
    '写请求带 X-CSRF-Token 头。错误一律为 JSON：{"error": {"code", "message", "details"}}。',
}

TAGS = {
    "auth": "认证",
    "org": "部门与用户",
    "definitions": "流程定义",
    "instances": "流程实例",
    "tasks": "任务",
    "casefiles": "附件、草稿、意见与案件流程图",
    "incidents": "故障与重试",
    "messages": "外部系统的消息投递",
    "calendar": "工作日历（法定节假日与调休）",
    "consult": "加签（征求其他部门或人员的意见）",  # consult (issue 14)
    "meta": "接口文档",
}

SECURITY_SCHEMES = {
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
}

# Every error is the Error shape; the description says when each status happens.
ERRORS = {
    400: "请求格式错误（不是 JSON、不是对象、Content-Type 不对）",
    401: "未登录：缺少或无效的令牌 / 会话",
    403: "无权操作（其他部门的任务、需要负责人或流程管理员角色），或会话请求缺少 CSRF 头",
    404: "资源不存在",
    409: "冲突：任务已被认领或已办结、实例状态不允许、并发修改",
    413: "上传内容过大",
    416: "Range 超出文件长度",
    422: "数据无效：字段类型或取值不对，流程模型校验失败，或引擎拒绝",
    429: "登录失败次数过多：Retry-After 秒后再试（等待随失败次数增长）",
    503: "数据库暂时不可用（无法连接、正在重启、磁盘已满）：Retry-After 秒后重试，写请求可以安全地重新提交",
}
_ERROR_HEADERS = {401: "WWW-Authenticate", 429: "Retry-After", 503: "Retry-After"}

_THROTTLE = "连续登录失败后须等待（429，Retry-After），等待时间随失败次数增长。"


def _auth_operation(
    operation_id, summary, response, *, body=None, errors=(), description=None
) -> dict:
    """An operation of web/auth, which reads its body by hand (``web/auth/views.py``)."""
    op = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["auth"],
        "security": [],
        "responses": {
            200: {"description": "成功", "content": {"application/json": {"schema": response}}},
            **{status: http.HTTPStatus(status).name for status in (400, *errors, 503)},
        },
    }
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if description:
        op["description"] = description
    return op


AUTH_OPERATIONS = {
    "auth.issue_token": _auth_operation(
        "issueToken",
        "用户名和密码换取令牌",
        Token,
        body=Credentials,
        errors=(401, 422, 429),
        description="令牌有效期见 TOKEN_TTL_HOURS；非演示模式下密码 demo 被拒绝。" + _THROTTLE,
    ),
    "auth.login": _auth_operation(
        "login",
        "登录（会话 Cookie）",
        Login,
        body=Credentials,
        errors=(401, 422, 429),
        description="设置会话 Cookie；之后的写请求须带 X-CSRF-Token 头。会话保存在服务端："
        "退出、修改密码、停用用户或管理员注销后立即失效，SESSION_IDLE_MINUTES 无操作后过期。"
        + _THROTTLE,
    ),
    "auth.logout": _auth_operation(
        "logout",
        "退出登录（在服务端注销会话；带令牌时作废该令牌）",
        Logout,
        errors=(401, 403),
    ),
    "auth.get_csrf": _auth_operation("getCsrfToken", "获取会话的 CSRF 令牌", Csrf),
}


class _DocumentApi(Api):
    """flask-smorest's Api, used only to write the document (it serves and handles nothing)."""

    ERROR_SCHEMA = Error
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own error statuses

    def _register_error_handlers(self) -> None:
        pass  # web/errors.py answers every error

    def _register_responses(self) -> None:
        for status, description in ERRORS.items():
            response = {
                "description": description,
                "content": {"application/json": {"schema": Error}},
            }
            if status in _ERROR_HEADERS:
                response["headers"] = {_ERROR_HEADERS[status]: {"schema": {"type": "string"}}}
            self.spec.components.response(http.HTTPStatus(status).name, response, lazy=True)

    def _register_etag_headers(self) -> None:
        pass  # no ETag negotiation through flask-smorest

    def _register_pagination_header(self) -> None:
        pass  # pages are in the body ({"items", "total", "limit", "offset"})

    def register_blueprint(self, blp, **options) -> None:
        """Like Api's, without a tag per blueprint: the operations carry their own tags."""
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=None)


class _ComponentSchemas(Mapping):
    """The document's schemas by name (``SCHEMAS["Task"]``), as generated."""

    def __getitem__(self, name: str) -> dict:
        return document()["components"]["schemas"][name]

    def __iter__(self):
        return iter(document()["components"]["schemas"])

    def __len__(self) -> int:
        return len(document()["components"]["schemas"])


SCHEMAS = _ComponentSchemas()


@cache
def document() -> dict:
    """The OpenAPI document of every route under /api/v1."""
    app = Flask(__name__)  # holds the URL rules the document is read from, nothing else
    api = _DocumentApi(
        app,
        spec_kwargs={
            "title": INFO["title"],
            "version": INFO["version"],
            "openapi_version": "3.0.3",
            "info": {"description": INFO["description"]},
            "security": [{name: []} for name in SECURITY_SCHEMES],
        },
    )
    api.register_blueprint(bp)
    app.register_blueprint(auth_bp)
    for endpoint, operation in AUTH_OPERATIONS.items():
        rule = next(app.url_map.iter_rules(endpoint))
        (method,) = rule.methods - {"HEAD", "OPTIONS"}
        api.spec.path(rule=rule, operations={method.lower(): deepcopy(operation)})
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    api.spec.components.schema("ValidationProblem", schema=ValidationProblem)
    for name, description in TAGS.items():
        api.spec.tag({"name": name, "description": description})
    doc = api.spec.to_dict()
    for item in doc["paths"].values():
        _parameters_into_operations(item)
    return doc


def _parameters_into_operations(path_item: dict) -> None:
    """Each operation lists its path parameters itself (the path item holds operations only)."""
    shared = path_item.pop("parameters", [])
    for operation in path_item.values():
        if shared:
            operation["parameters"] = [*shared, *operation.get("parameters", [])]


@bp.get("/openapi.json", tags=["meta"], summary="本文档", operation_id="getOpenApi", security=[])
@bp.response(200, {"type": "object"}, description="OpenAPI 3.0 文档")
def openapi_document():
    return jsonify(document())
