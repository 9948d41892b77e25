"""Server-side checks of submitted data: against the task's form-js schema, and its size.

The browser validates too, but the server decides, for the page and the API alike: a missing
required field, a value of the wrong type, an option that is not offered or a pattern mismatch
is refused with the field named by its label (and, in a dynamic list, its row).

Data follows form-js's binding rules: a field's ``key`` and a group's or dynamic list's
``path`` are dotted paths (``a.b`` nests ``{"a": {"b": …}}``); a repeating dynamic list holds a
list of row objects whose fields are relative to the row. Error keys are those data paths, rows
written ``ledger[1].unit`` (0-based, as the page's form places them); messages count rows from
1 (“督查台账 第 2 行 · 责任单位：必填”).

Required means submitted now: a value the case already holds does not fill a required field of
this submission (a loop's next round, a step sent back); the page prefills the form from the
case data and so submits such values back. Not required: ``readonly`` fields (displays of data
the case holds), ``disabled`` fields (form-js neither submits nor validates them) and fields
with a ``conditional`` (hide) expression or inside a group or list that has one — the FEEL
expression is not evaluated here, so a field the user may not have seen is never required; a
value submitted for such a field is still checked. Options given by ``valuesKey`` or
``valuesExpression`` accept any value. Keys the form does not show are allowed (process
variables set by other means).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time

_MISSING = (None, "", [])
_ABSENT = object()
_CONTAINERS = ("group", "dynamiclist")
# form-js field types whose value is computed, never typed: nothing to require or check
_COMPUTED = ("expression",)
_TIME = re.compile(r"(\d{2}:\d{2})(:\d{2})?(Z|[+-]\d{2}:?\d{2})?")
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
_PHONE = re.compile(r"(\+|00)\d{6,25}")  # form-js's rule, without its country-code list


def parse_form(content: bytes | str, filename: str) -> dict:
    """A form-js schema from a ``.form`` file; raises ValueError with a readable reason."""
    try:
        schema = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{filename}: 不是有效的 JSON（{exc}）") from None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        raise ValueError(f"{filename}: 不是 form-js 表单（缺少 components 列表）")
    return schema


def fields(schema: dict) -> list[dict]:
    """Every component with a key outside repeating lists, groups' components included."""
    out = []
    stack = list(reversed(schema.get("components") or []))
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        if comp.get("key"):
            out.append(comp)
        if comp.get("type") == "dynamiclist":
            continue  # rows of a repeating list: their fields are not top-level data keys
        stack.extend(reversed(comp.get("components") or []))
    return out


@dataclass(frozen=True)
class FieldLabel:
    """How a submitted value reads: the field's label, its options' labels by value (as text)
    and, for a list of rows or a group with its own path (form-js ``dynamiclist`` / ``group``
    with ``path``), the same for each key inside."""

    label: str
    options: Mapping[str, str] = field(default_factory=dict)
    nested: Mapping[str, FieldLabel] = field(default_factory=dict)
    files: bool = False  # a filepicker: the value is attachment ids


def field_labels(schema: dict) -> dict[str, FieldLabel]:
    """Data key -> FieldLabel for every field of a form-js schema (groups without a path are
    transparent, as in the data they submit)."""
    return _labels(schema.get("components") if isinstance(schema, dict) else None)


def _labels(components) -> dict[str, FieldLabel]:
    out: dict[str, FieldLabel] = {}
    stack = list(reversed(components)) if isinstance(components, list) else []
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        key, path = comp.get("key"), comp.get("path")
        if isinstance(path, str) and path and comp.get("type") in ("dynamiclist", "group"):
            out[path] = FieldLabel(_label(comp.get("label"), path),
                                   nested=_labels(comp.get("components")))
            continue
        if isinstance(key, str) and key:
            options = {str(v.get("value")): _label(v.get("label"), str(v.get("value")))
                       for v in comp.get("values") or [] if isinstance(v, dict)}
            out[key] = FieldLabel(_label(comp.get("label"), key), options,
                                  files=comp.get("type") == "filepicker")
        children = comp.get("components")
        if isinstance(children, list):
            stack.extend(reversed(children))
    return out


def _label(value, fallback: str) -> str:
    return value if isinstance(value, str) and value else fallback


def validate(schema: dict, submitted: dict) -> dict[str, str]:
    """Error key (the field's data path) -> problem (Chinese) of one submission.

    ``submitted`` is the data sent with this completion (or start) only, never merged with
    the case's data: what is required must be in it."""
    errors: dict[str, str] = {}
    for where, comp, value in _slots(schema, submitted, errors):
        key = comp["key"]
        label = comp.get("label") or key
        rules = comp.get("validate") if isinstance(comp.get("validate"), dict) else {}
        if value is _ABSENT or value in _MISSING or value == {} or (
                comp.get("type") == "checkbox" and value is False and rules.get("required")):
            if rules.get("required") and not where.optional and not comp.get("readonly"):
                errors[where.key + key] = where.say(label, "必填" if where.text else "为必填项")
            continue
        phrase = _check(comp, value, rules)
        if phrase:
            errors[where.key + key] = where.say(label, phrase)
    return errors


def field_values(schema: dict, data: dict):
    """``(data path, component, value, say)`` of every field ``data`` holds, in groups and in
    the rows of dynamic lists too; ``say(phrase)`` is a message naming the field (and its row)
    as ``validate``'s do. Data of the wrong shape (a list that is no list) is skipped:
    ``validate`` reports it."""
    for where, comp, value in _slots(schema, data, {}):
        if value is not _ABSENT:
            label = comp.get("label") or comp["key"]
            yield (where.key + comp["key"], comp, value,
                   lambda phrase, where=where, label=label: where.say(label, phrase))


class _Where:
    """Where a component's data sits: the error-key prefix, the message prefix (rows), and
    whether its requirements are waived (a hide condition on it or a container)."""

    __slots__ = ("key", "text", "optional")

    def __init__(self, key: str, text: str, optional: bool):
        self.key, self.text, self.optional = key, text, optional

    def say(self, label: str, phrase: str) -> str:
        if self.text:
            return f"{self.text}{label}：{phrase}"
        return f"“{label}”{phrase}"


def _slots(schema: dict, data: dict, errors: dict):
    """``(where, component, value or _ABSENT)`` of every field the form declares, once per
    row of the lists it sits in; containers of the wrong shape go to ``errors``."""
    yield from _walk(schema.get("components") or [], data, _Where("", "", False), errors)


def _walk(components: list, scope: dict, where: _Where, errors: dict):
    for comp in components:
        if not isinstance(comp, dict) or comp.get("disabled"):
            continue
        kind = comp.get("type")
        inner = _Where(where.key, where.text, where.optional or bool(comp.get("conditional")))
        if kind in _CONTAINERS or (not comp.get("key") and isinstance(comp.get("components"),
                                                                        list)):
            yield from _container(comp, scope, inner, errors)
        elif comp.get("key") and kind not in _COMPUTED:
            yield inner, comp, _get(scope, comp["key"])


def _container(comp: dict, scope: dict, where: _Where, errors: dict):
    children = comp.get("components") or []
    path = comp.get("path") if isinstance(comp.get("path"), str) and comp.get("path") else None
    if path is None:  # a plain group: its fields write to the enclosing scope
        yield from _walk(children, scope, where, errors)
        return
    key = where.key + path
    label = comp.get("label") or path
    value = _get(scope, path)
    if comp.get("type") == "dynamiclist" and comp.get("isRepeating"):
        if value is _ABSENT or value is None:
            return  # no rows submitted
        if not isinstance(value, list):
            errors[key] = where.say(label, "须为列表（每行一个对象）")
            return
        for i, row in enumerate(value):
            text = f"{where.text}{label} 第 {i + 1} 行 · "
            if not isinstance(row, dict):
                errors[f"{key}[{i}]"] = f"{text.removesuffix(' · ')}：须为对象"
                continue
            yield from _walk(children, row, _Where(f"{key}[{i}].", text, where.optional), errors)
        return
    if value is _ABSENT or value is None:
        value = {}  # nothing sent for the group: its required fields are missing
    if not isinstance(value, dict):
        errors[key] = where.say(label, "须为对象")
        return
    yield from _walk(children, value, _Where(f"{key}.", where.text, where.optional), errors)


def _get(scope, dotted: str):
    node = scope
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _check(comp: dict, value, rules: dict) -> str | None:
    """The problem of a submitted value (a phrase to follow the field's label), or None."""
    kind = comp.get("type")
    if kind == "number":
        if comp.get("serializeToString") and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return "须为数字"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "须为数字"
        if _number(rules.get("min")) is not None and value < _number(rules["min"]):
            return f"不能小于 {rules['min']}"
        if _number(rules.get("max")) is not None and value > _number(rules["max"]):
            return f"不能大于 {rules['max']}"
        return None
    if kind == "checkbox":
        return None if isinstance(value, bool) else "须为是/否"
    if kind in ("checklist", "taglist"):
        if not isinstance(value, list):
            return "须为列表"
        allowed = _options(comp)
        if allowed is not None and not all(_offered(v, allowed) for v in value):
            return "含有不在选项中的值"
        return None
    if kind in ("select", "radio"):
        allowed = _options(comp)
        if allowed is not None and not _offered(value, allowed):
            return "只能选择给定的选项"
        return None
    if kind == "filepicker":
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v for v in items):
            return "须为上传附件的编号"
        return None
    if kind == "datetime":
        return _check_datetime(comp, value)
    if kind in ("textfield", "textarea"):
        return _check_text(value, rules)
    return None


def _check_datetime(comp: dict, value) -> str | None:
    subtype = comp.get("subtype") or "date"
    if not isinstance(value, str):
        return "须为时间" if subtype == "time" else "须为日期"
    if subtype == "time":
        match = _TIME.fullmatch(value)
        if match is None or not _valid_time(match.group(1) + (match.group(2) or "")):
            return "时间格式应为 HH:MM"
        return None
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return "日期格式应为 YYYY-MM-DD"
    return None


def _valid_time(clock: str) -> bool:
    try:
        time.fromisoformat(clock)
    except ValueError:
        return False
    return True


def _check_text(value, rules: dict) -> str | None:
    if not isinstance(value, str):
        return "须为文本"
    length = len(value.strip())  # form-js counts the trimmed text
    if _number(rules.get("minLength")) is not None and length < rules["minLength"]:
        return f"至少 {rules['minLength']} 个字符"
    if _number(rules.get("maxLength")) is not None and length > rules["maxLength"]:
        return f"最多 {rules['maxLength']} 个字符"
    pattern = rules.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            if re.fullmatch(pattern, value) is None:
                return rules.get("patternErrorMessage") or "格式不正确"
        except re.error:
            pass  # a broken pattern in the form must not block the caseworker
    kind = rules.get("validationType")
    if kind == "email" and _EMAIL.fullmatch(value) is None:
        return "须为有效的电子邮箱"
    if kind == "phone" and _PHONE.fullmatch(value) is None:
        return "须为有效的国际电话号码（如 +8647212345678）"
    return None


def _number(limit) -> int | float | None:
    """A numeric rule; an expression (``=…``) or anything else is not checked here."""
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        return None
    return limit


def _options(comp: dict) -> list | None:
    values = comp.get("values")
    if not isinstance(values, list):
        return None  # options from input data (valuesKey) or an expression: any value
    return [v.get("value") for v in values if isinstance(v, dict)]


def _offered(value, allowed: list) -> bool:
    # type-aware: True is not the option 1, nor "1" the option 1
    return any(value == a and _sort(value) == _sort(a) for a in allowed)


def _sort(value) -> str:
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else type(value).__name__


# ---------------------------------------------------------------------------- size


def json_size(value) -> int:
    """Bytes of ``value`` as the engine stores it (compact UTF-8 JSON)."""
    return len(json.dumps(value, ensure_ascii=False, default=str,
                          separators=(",", ":")).encode("utf-8"))


def size_problem(data: dict, limit: int, schema: dict | None = None
                 ) -> tuple[str, dict[str, str]] | None:
    """``(message, {field: problem})`` when the JSON of ``data`` (what one step adds to the
    case) is larger than ``limit`` bytes, else None. Named: the largest field, and every field
    larger than the limit on its own, by its form label when ``schema`` shows it."""
    total = json_size(data)
    if total <= limit or not data:
        return None
    sizes = {key: json_size(value) for key, value in data.items()}
    largest = max(sizes, key=sizes.__getitem__)
    named = [largest] + [k for k, n in sizes.items() if n > limit and k != largest]
    labels = _top_labels(schema or {})
    cap = _size_text(limit)
    details = {
        key: f"“{labels.get(key, key)}”过大（{_size_text(sizes[key])}）：每步提交的数据合计"
             f"不能超过 {cap}，文件请作为附件上传"
        for key in named
    }
    which = "、".join(f"“{labels.get(k, k)}”{_size_text(sizes[k])}" for k in named)
    message = (f"提交的数据过大（共 {_size_text(total)}，每步上限 {cap}）：{which}；"
               "文件请作为附件上传")
    return message, details


def _top_labels(schema: dict) -> dict[str, str]:
    """Top-level data key -> the label of the component that writes it."""
    out: dict[str, str] = {}
    stack = list(reversed(schema.get("components") or []))
    while stack:
        comp = stack.pop()
        if not isinstance(comp, dict):
            continue
        bound = comp.get("key") if comp.get("type") not in _CONTAINERS else None
        bound = bound or comp.get("path")
        if isinstance(bound, str) and bound:
            out.setdefault(bound.split(".")[0], comp.get("label") or bound)
        elif isinstance(comp.get("components"), list):
            stack.extend(reversed(comp["components"]))
    return out


def _size_text(n: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} 字节"
