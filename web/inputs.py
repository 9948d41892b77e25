"""What the request-parsing library cannot say for itself: kunflow's 400s and 422s.

Syntax problems (not JSON, not an object, wrong content type) are 400; a field of the wrong type,
a missing field or a value out of range is 422 with a Chinese message naming the field. Strings
that no database could store (NUL characters, lone surrogates), non-finite numbers and bodies
nested too deep are refused here as well. The shapes themselves are declared once, in
``web/api/schemas.py``; the API's parser reads every JSON body through ``json_body``.
"""

from __future__ import annotations

import json
import math

from flask import request

from .errors import ApiError

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
MAX_DEPTH = 64


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "bad_request")


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(422, message, "invalid_input", {"field": field} if field else None)


def json_body(*, required: bool = True) -> dict:
    """The request body as a JSON object; an empty body is ``{}`` when not required."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise bad_request("请求体不能为空，应为 JSON 对象")
        return {}
    if not request.is_json:
        raise bad_request("请求体须为 JSON（Content-Type: application/json）")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise bad_request("请求体须为 JSON 对象")
    _check_storable(body)
    return body


def _check_storable(value, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise bad_request("请求体嵌套层级过深")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise bad_request("数值超出范围")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_storable(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_storable(v, depth + 1)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("请求中含有无效的 Unicode 字符") from None


def unknown_fields_message(names) -> str:
    return f"未知字段：{', '.join(names)}"


def checked_text(
    name: str, value: str, *, max_length: int, allow_empty: bool = False, required: bool = False
) -> str | None:
    """``value`` as given, or None when it is blank and may be left out; 422 otherwise."""
    if "\x00" in value:
        raise invalid(f"字段 {name} 不能包含 NUL 字符", name)
    if len(value) > max_length:
        raise invalid(f"字段 {name} 最长 {max_length} 个字符", name)
    if not value.strip() and not allow_empty:
        if required:
            raise invalid(f"字段 {name} 不能为空", name)
        return None
    return value


# The two helpers below serve web/auth, whose views read their body by hand; the API's views
# declare theirs in web/api/schemas.py.


def only_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(unknown_fields_message(unknown), unknown[0])


def text_field(
    body: dict,
    name: str,
    *,
    required: bool = False,
    max_length: int = 200,
    allow_empty: bool = False,
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"缺少字段 {name}", name)
        return None
    if not isinstance(value, str):
        raise invalid(f"字段 {name} 必须是字符串", name)
    return checked_text(
        name, value, max_length=max_length, allow_empty=allow_empty, required=required
    )
