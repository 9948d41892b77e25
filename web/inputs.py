"""Reading request input: JSON bodies and query parameters, checked before the engine sees them.

Syntax problems (not JSON, not an object, wrong content type) are 400; a field of the wrong type,
a missing field or a value out of range is 422. Strings that no database could store (NUL
characters, lone surrogates) and non-finite numbers are refused here as well. In the query
string an empty text filter means no filter; an empty choice or number is an error.
"""

from __future__ import annotations

import json
import math
import re

from flask import request

from .errors import ApiError

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
_INT = re.compile(r"-?[0-9]{1,18}", re.ASCII)


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
    if depth > 64:
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


def only_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"未知字段：{', '.join(unknown)}", unknown[0])


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
    return _checked_text(name, value, max_length, allow_empty, required)


def _checked_text(name, value, max_length, allow_empty, required) -> str | None:
    if "\x00" in value:
        raise invalid(f"字段 {name} 不能包含 NUL 字符", name)
    if len(value) > max_length:
        raise invalid(f"字段 {name} 最长 {max_length} 个字符", name)
    if not value.strip() and not allow_empty:
        if required:
            raise invalid(f"字段 {name} 不能为空", name)
        return None
    return value


def int_field(
    body: dict, name: str, default: int | None, *, minimum: int, maximum: int
) -> int | None:
    """An integer field (not a boolean, not a float); null or absent is ``default``."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"字段 {name} 必须是整数", name)
    if value < minimum or value > maximum:
        raise invalid(f"字段 {name} 取值范围 {minimum}–{maximum}", name)
    return value


def object_field(body: dict, name: str) -> dict | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(f"字段 {name} 必须是 JSON 对象", name)
    return value


def query_text(name: str, *, max_length: int = 200) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    return _checked_text(name, value, max_length, False, False)


def query_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    value = request.args.get(name)
    if value is None:
        return default
    if value not in choices:
        raise invalid(f"参数 {name} 只能是 {'、'.join(choices)}", name)
    return value


def query_int(
    name: str, default: int | None, *, minimum: int = 0, maximum: int = MAX_ID
) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    if not _INT.fullmatch(value.strip()):
        raise invalid(f"参数 {name} 必须是整数", name)
    number = int(value)
    if number < minimum or number > maximum:
        raise invalid(f"参数 {name} 取值范围 {minimum}–{maximum}", name)
    return number
