"""Server-side validation of submitted task data against the task's form-js schema.

The browser validates too, but the server decides: a missing required field, a value of the
wrong type, an option that is not offered or a pattern mismatch is refused with the field named.
Fields the form does not show are allowed (process variables set by other means).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

_MISSING = (None, "", [])


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
    """Every component with a key, groups and nested components included."""
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


def validate(schema: dict, submitted: dict, current: dict | None = None) -> dict[str, str]:
    """Field key -> problem (Chinese). ``current`` is the task's data before this submission:
    a required field already filled (e.g. a case sent back) need not be sent again."""
    current = current or {}
    errors: dict[str, str] = {}
    for comp in fields(schema):
        key = comp["key"]
        label = comp.get("label") or key
        rules = comp.get("validate") or {}
        conditional = bool(comp.get("conditional"))  # shown only sometimes: not required here
        if key in submitted:
            value = submitted[key]
        else:
            value = current.get(key)
        if value in _MISSING or value == {}:
            if rules.get("required") and not conditional and not comp.get("readonly"):
                errors[key] = f"“{label}”为必填项"
            continue
        if key not in submitted:
            continue
        problem = _check(comp, value, rules, label)
        if problem:
            errors[key] = problem
    return errors


def _check(comp: dict, value, rules: dict, label: str) -> str | None:
    kind = comp.get("type")
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"“{label}”须为数字"
        if rules.get("min") is not None and value < rules["min"]:
            return f"“{label}”不能小于 {rules['min']}"
        if rules.get("max") is not None and value > rules["max"]:
            return f"“{label}”不能大于 {rules['max']}"
        return None
    if kind == "checkbox":
        return None if isinstance(value, bool) else f"“{label}”须为是/否"
    if kind in ("checklist", "taglist"):
        if not isinstance(value, list):
            return f"“{label}”须为列表"
        allowed = _options(comp)
        if allowed is not None and any(v not in allowed for v in value):
            return f"“{label}”含有不在选项中的值"
        return None
    if kind in ("select", "radio"):
        allowed = _options(comp)
        if allowed is not None and value not in allowed:
            return f"“{label}”只能选择给定的选项"
        return None
    if kind == "filepicker":
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v for v in items):
            return f"“{label}”须为上传附件的编号"
        return None
    if kind == "datetime":
        if not isinstance(value, str):
            return f"“{label}”须为日期"
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return f"“{label}”日期格式应为 YYYY-MM-DD"
        return None
    if kind in ("textfield", "textarea"):
        if not isinstance(value, str):
            return f"“{label}”须为文本"
        if rules.get("minLength") is not None and len(value) < rules["minLength"]:
            return f"“{label}”至少 {rules['minLength']} 个字符"
        if rules.get("maxLength") is not None and len(value) > rules["maxLength"]:
            return f"“{label}”最多 {rules['maxLength']} 个字符"
        pattern = rules.get("pattern")
        if pattern:
            try:
                if re.fullmatch(pattern, value) is None:
                    return f"“{label}”格式不正确"
            except re.error:
                return None  # a broken pattern in the form must not block the caseworker
        return None
    return None


def _options(comp: dict) -> list | None:
    values = comp.get("values")
    if not isinstance(values, list):
        return None  # options from an expression or input data: checked by the browser only
    return [v.get("value") for v in values if isinstance(v, dict)]
