"""Every error leaves the app as JSON ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug import exceptions as http
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine import (
    Conflict,
    EngineError,
    Forbidden,
    InvalidInput,
    InvalidModel,
    NotFound,
    database_unavailable,
)

# Engine error class -> HTTP status; any other EngineError is a 422.
_ENGINE_STATUS = (
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidModel, 422),
    (InvalidInput, 422),
)

_HTTP_MESSAGES = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "需要登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "请求与当前状态冲突"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的请求内容类型"),
    422: ("invalid_input", "请求数据无效"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}

# The database cannot be reached or cannot store anything now (docs/operations.md). A write
# was rolled back (or, cut off during its commit, is unconfirmed): submitting it again is safe,
# a step already taken answers 409 rather than running twice.
DATABASE_UNAVAILABLE_READ = "数据库暂时不可用，请稍后再试"
DATABASE_UNAVAILABLE_WRITE = "数据库暂时不可用，本次提交未能完成，请稍后重新提交"
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """An error the web layer raises itself (bad request, missing auth, ...)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        details: object | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _HTTP_MESSAGES.get(status, ("error", ""))[0]
        self.details = details
        self.headers = headers or {}


def wants_html() -> bool:
    """Pages (not /api, not a script asking for JSON) get an HTML error page."""
    if request.path.startswith("/api/") or request.is_json:
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_response(
    status: int, code: str, message: str, details: object | None = None, headers: dict | None = None
):
    if wants_html():
        try:
            if status == 503:
                # Without the context processors: the page header reads the signed-in user's
                # counts and names from the database that is down.
                body = current_app.jinja_env.get_template("error.html").render(
                    status=status, code=code, message=message)
            else:
                body = render_template("error.html", status=status, code=code, message=message)
        except Exception:  # never let the error page hide the error
            current_app.logger.exception("error page failed")
            body = f"<h1>{status}</h1><p>{message}</p>"
        response = current_app.response_class(body, status=status, mimetype="text/html")
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def engine_status(exc: EngineError) -> int:
    for cls, status in _ENGINE_STATUS:
        if isinstance(exc, cls):
            return status
    return 422


def _path_exists(exc: MethodNotAllowed) -> bool:
    """Werkzeug answers 405 when a rule for another method matches the path's pattern even if
    its converter then refuses the value (an id beyond 32 bits on a path with GET and POST
    rules). Only a path that some allowed method really serves is a 405; otherwise it is 404,
    as the same id is for every other method."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in (exc.valid_methods or ()):
        if method in ("HEAD", "OPTIONS"):
            continue
        try:
            adapter.match(method=method)
        except HTTPException:
            continue
        return True
    return False


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):
        status = engine_status(exc)
        code = exc.code if exc.code != "error" else "engine_error"
        return error_response(status, code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if isinstance(exc, MethodNotAllowed) and not _path_exists(exc):
            exc = http.NotFound()
        status = exc.code or 500
        code, message = _HTTP_MESSAGES.get(status, ("http_error", exc.name))
        # Keep headers such as Allow (405) but not the HTML body's type and length.
        headers = {
            k: v
            for k, v in exc.get_headers()
            if k.lower() not in ("content-type", "content-length")
        }
        return error_response(status, code, message, None, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        cause = database_unavailable(exc)
        if cause is not None:
            # One line with the cause, no traceback: an outage is not a bug, and a stack per
            # request would bury the log while it lasts.
            current_app.logger.error("database unavailable, %s %s answered 503: %s",
                                     request.method, request.path, cause)
            reading = request.method in ("GET", "HEAD", "OPTIONS")
            message = DATABASE_UNAVAILABLE_READ if reading else DATABASE_UNAVAILABLE_WRITE
            return error_response(503, "service_unavailable", message,
                                  headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        current_app.logger.exception("unhandled error")
        code, message = _HTTP_MESSAGES[500]
        return error_response(500, code, message)
