"""The marshmallow fields the API's shapes are made of.

Request fields check a value by kunflow's rules (``web/inputs.py``) and say what is wrong in
Chinese, naming the field; each one also writes its limits (length, range, choices, default)
into the OpenAPI schema, so a limit is stated once. A missing value and JSON ``null`` are the
same; an optional text that is blank counts as not given. In the query string an empty text
filter means no filter, while an empty choice or number is an error.

Response fields: ``Timestamp`` writes the engine's naive UTC times as ISO 8601 with ``Z``.
"""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, missing

from engine import parse_date

from ..errors import ApiError
from ..inputs import MAX_ID, checked_text
from ..serialize import iso

NONBLANK = r"\S"  # strings that must say something: not empty, not only spaces
_QUERY_INT = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def _described(doc: str | None, **schema) -> dict:
    """OpenAPI properties for a field's metadata (apispec copies them into the schema)."""
    return {**schema, "description": doc} if doc else schema


class _Checked(fields.Field):
    """Base of the request fields: absent and null give ``default`` (or the missing-message
    when the field is required); anything else goes to ``check``. ``schema``: OpenAPI
    properties (limits, example) for the document; ``nullable``: whether the document lets
    the value be null (by default when it is optional, except in a query string or a form,
    which have no null)."""

    in_query = False

    def __init__(
        self,
        *,
        required: bool = False,
        default=None,
        missing_message: str | None = None,
        nullable: bool | None = None,
        doc: str | None = None,
        **schema,
    ):
        if default is not None and not callable(default):
            schema["default"] = default
        super().__init__(
            required=required,
            allow_none=not (required or self.in_query) if nullable is None else nullable,
            metadata=_described(doc, **schema),
        )
        self.default = default
        self.missing_message = missing_message

    @property
    def key(self) -> str:
        return self.data_key or self.name

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is missing or value is None:
            if self.required:
                raise ValidationError(self.missing_message or f"缺少字段 {self.key}")
            return self.default() if callable(self.default) else self.default
        return self.check(value)

    def check(self, value):
        raise NotImplementedError


def _text(name: str, value: str, **rules) -> str | None:
    try:
        return checked_text(name, value, **rules)
    except ApiError as exc:
        raise ValidationError(exc.message) from None


class Text(_Checked, fields.String):
    """A string of at most ``max_length`` characters, without NUL. Required text must not be
    blank (unless ``allow_empty``); optional blank text is None."""

    def __init__(
        self, *, max_length: int = 200, required: bool = False, allow_empty: bool = False, **kw
    ):
        schema = {"maxLength": max_length}
        if required and not allow_empty:
            schema.update(minLength=1, pattern=NONBLANK)
        super().__init__(required=required, **schema, **kw)
        self.max_length, self.allow_empty = max_length, allow_empty

    def check(self, value):
        if not isinstance(value, str):
            raise ValidationError(f"字段 {self.key} 必须是字符串")
        return _text(
            self.key,
            value,
            max_length=self.max_length,
            allow_empty=self.allow_empty,
            required=self.required,
        )


class JsonObject(_Checked, fields.Dict):
    """Any JSON object (form data, a message's payload)."""

    def check(self, value):
        if not isinstance(value, dict):
            raise ValidationError(f"字段 {self.key} 必须是 JSON 对象")
        return value


class Integer(_Checked, fields.Integer):
    """A JSON integer (not a boolean, not a float) from ``minimum`` to ``maximum``."""

    def __init__(self, *, minimum: int, maximum: int, **kw):
        super().__init__(minimum=minimum, maximum=maximum, **kw)
        self.minimum, self.maximum = minimum, maximum

    def check(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"字段 {self.key} 必须是整数")
        if value < self.minimum or value > self.maximum:
            raise ValidationError(f"字段 {self.key} 取值范围 {self.minimum}–{self.maximum}")
        return value


class QueryText(_Checked, fields.String):
    """A text filter: empty means no filter."""

    in_query = True

    def __init__(self, *, max_length: int = 200, **kw):
        super().__init__(maxLength=max_length, **kw)
        self.max_length = max_length

    def check(self, value):
        if value == "":
            return None
        return _text(self.key, value, max_length=self.max_length)


class QueryChoice(_Checked, fields.String):
    """One of ``choices``; an empty value is not one of them."""

    in_query = True

    def __init__(self, choices, *, default: str | None = None, **kw):
        super().__init__(default=default, enum=list(choices), **kw)
        self.choices = tuple(choices)

    def check(self, value):
        if value not in self.choices:
            raise ValidationError(f"参数 {self.key} 只能是 {'、'.join(self.choices)}")
        return value


class QueryInt(_Checked, fields.Integer):
    """A whole number from ``minimum`` to ``maximum``, as digits."""

    in_query = True

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_ID, default=None, **kw):
        super().__init__(default=default, minimum=minimum, maximum=maximum, **kw)
        self.minimum, self.maximum = minimum, maximum

    def check(self, value):
        if not _QUERY_INT.fullmatch(value.strip()):
            raise ValidationError(f"参数 {self.key} 必须是整数")
        number = int(value)
        if number < self.minimum or number > self.maximum:
            raise ValidationError(f"参数 {self.key} 取值范围 {self.minimum}–{self.maximum}")
        return number


class QueryDate(_Checked, fields.Date):
    """A required date, YYYY-MM-DD; an empty value is a missing one."""

    in_query = True

    def __init__(self, *, example: str = "2026-09-18", **kw):
        super().__init__(required=True, example=example, **kw)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is missing or value is None or value == "":
            raise ValidationError(f"缺少参数 {self.key}（日期，格式 YYYY-MM-DD）")
        day = parse_date(value)
        if day is None:
            raise ValidationError(f"参数 {self.key} 不是有效日期（格式 YYYY-MM-DD）")
        return day


class Timestamp(fields.DateTime):
    """A moment as ISO 8601 in UTC (``…Z``); the engine keeps naive UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


class Day(fields.Date):
    """A calendar day, YYYY-MM-DD."""

    def __init__(self, **kw):
        kw.setdefault("metadata", {}).setdefault("example", "2026-09-18")
        super().__init__(**kw)
