"""Checks of what callers hand the engine: text a column can hold, data storable as JSON, page
bounds, ids that can exist, the size of one step's data, field names that would hide a helper.

Pure functions; each raises ``InvalidInput`` (or ``NotFound`` for an id that cannot exist) with
a message naming the field.
"""

from __future__ import annotations

import re

from .errors import InvalidInput, NotFound
from .forms import size_problem

MAX_ID = 2**31 - 1  # the id columns' range
MAX_PAGE = 500  # rows one list call returns at most
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def instance_id(value) -> int:
    """Ids outside the column's range cannot exist: NotFound, not a database error."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise NotFound(f"流程实例 {value} 不存在")
    return value


def task_id(value) -> str:
    value = str(value).lower()
    if not UUID.match(value):
        raise NotFound("任务不存在（任务编号格式不正确）")
    return value


def text(value, name: str, max_len: int, required: bool = False) -> str | None:
    """Reject text a database column cannot hold (too long, NUL, lone surrogates)."""
    if value is None:
        if required:
            raise InvalidInput(f"{name} 不能为空")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串")
    if required and not value.strip():
        raise InvalidInput(f"{name} 不能为空")
    if len(value) > max_len:
        raise InvalidInput(f"{name} 最长 {max_len} 个字符")
    check_string(value, name)
    return value


def check_string(value: str, name: str) -> None:
    if "\x00" in value:
        raise InvalidInput(f"{name} 含有不允许的字符（NUL）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} 含有无效的 Unicode 字符") from None


def check_data(data, name: str = "data", depth: int = 0) -> None:
    """Submitted data must be storable as JSON text on every backend."""
    if depth > 32:
        raise InvalidInput(f"{name} 嵌套层数过深")
    if isinstance(data, str):
        check_string(data.replace("\x00", ""), name)
    elif isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{name} 的键必须是字符串")
            check_string(key, name)
            check_data(value, f"{name}.{key}", depth + 1)
    elif isinstance(data, list | tuple):
        for item in data:
            check_data(item, name, depth + 1)
    elif isinstance(data, float) and data != data or data in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name} 不能是 NaN 或无穷大")


def check_size(data: dict, limit: int, form: dict | None = None) -> None:
    """Refuse a step that would add more than ``limit`` bytes of JSON to the case's data,
    naming the largest field (by its form label when ``form`` shows it)."""
    problem = size_problem(data, limit, form)
    if problem is not None:
        raise InvalidInput(*problem)


def check_field_names(data, reserved) -> None:
    """Submitted fields may not take a helper's name (``business_key``, ``now``…): the field
    would hide the helper from the diagram's code, and scripts would refuse to run."""
    clash = sorted(k for k in (data or {}) if k in reserved)
    if clash:
        raise InvalidInput(
            "字段名与流程脚本的内置函数重名：" + "、".join(clash),
            {k: f"“{k}”是流程脚本的内置函数名，不能用作字段名" for k in clash},
        )


def page(limit, offset) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise InvalidInput("limit 和 offset 必须是整数") from None
    if limit < 1 or limit > MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit 取值 1–{MAX_PAGE}，offset 不能为负")
    return limit, offset


def like_pattern(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, its wildcards escaped with a backslash."""
    escaped = value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_fix_data(data, reserved, limit: int) -> None:
    """The data an admin merges into a failed step (retry, skip): a JSON object or None, with
    the checks of submitted data (types, depth, field names, size)."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象")
    check_data(data or {})
    check_field_names(data, reserved)
    check_size(data or {}, limit)
