"""The API's blueprint: flask-smorest's, with kunflow's error answers and route documentation.

- ``@bp.arguments(Schema)`` reads a JSON body through ``web.inputs.json_body`` (kunflow's 400s)
  and turns a failed schema into the 422 ``{"error": {"code": "invalid_input", ...}}`` answer
  for the first problem: an unknown field, else the first field in declaration order.
  ``required=False`` lets the body be empty (``{}``).
- ``@bp.get(rule, tags=[...], summary=..., description=..., operation_id=..., security=[])``
  (operation_id defaults to the view's name in camelCase; ``security=[]``: public): the path
  parameters are documented from ``PATH_PARAMETERS``; every operation documents 400, 503 (the
  database is unavailable), and 401 unless it is public.
- ``@bp.errors(403, 404, ...)`` documents the error statuses an operation answers with.
"""

from __future__ import annotations

import http
import re
from functools import wraps

from flask import g
from flask_smorest import Blueprint
from marshmallow import ValidationError, missing
from webargs.flaskparser import FlaskParser

from engine import Forbidden

from ..inputs import MAX_ID, invalid, json_body, unknown_fields_message

INSTANCE_ID = f"<int(max={MAX_ID}):instance_id>"  # in a rule: ids beyond 32 bits are a 404
PATH_PARAMETERS = {
    "instance_id": ("流程实例 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    "task_id": ("任务 id（UUID）", {"type": "string", "minLength": 1}),
    "key": ("流程标识", {"type": "string", "minLength": 1, "example": "sample_review"}),
    "attachment_id": (
        "附件 id（32 位十六进制）",
        {"type": "string", "pattern": "^[0-9a-f]{32}$", "example": "0" * 32},
    ),
    "username": ("用户名", {"type": "string", "minLength": 1}),
    # area: versions (issue 11)
    "version": ("版本号", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    "filename": ("随版本部署的文件名（.dmn / .form）", {"type": "string", "minLength": 1}),
    # registers (issue 12)
    "kind": ("名录类别", {"type": "string", "enum": ["enterprise", "mine", "plant", "tailings"]}),
    "entry_id": ("名录条目 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    # ledger (issue 12)
    "row_id": ("督查台账事项 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    # >>> outbound (issue 14)
    "delivery_id": ("通知外发记录 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    # <<< outbound
    # >>> handover (issue 14)
    "delegation_id": ("委托 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    # <<< handover
    # >>> inbox
    "notice_id": ("通知 id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}),
    # <<< inbox
}
VERSION = f"<int(max={MAX_ID}):version>"  # in a rule: beyond 32 bits is a 404
# >>> outbound (issue 14)
DELIVERY_ID = f"<int(max={MAX_ID}):delivery_id>"
# <<< outbound
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class RequestParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 422

    def load_json(self, req, schema):
        return json_body(required=getattr(schema, "body_required", True))

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        (messages,) = error.messages.values()  # {location: {field: [message, ...]}}
        declared = [f.data_key or name for name, f in schema.load_fields.items()]
        unknown = sorted(name for name in messages if name not in (*declared, "_schema"))
        if unknown:
            raise invalid(unknown_fields_message(unknown), unknown[0])
        for name in declared:
            if name in messages:
                problems = messages[name]
                raise invalid(problems[0] if isinstance(problems, list) else str(problems), name)
        raise invalid("请求数据无效")


def _operation_id(endpoint: str) -> str:
    first, *rest = endpoint.split("_")
    return first + "".join(word.title() for word in rest)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = RequestParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_common_errors_doc)

    def route(self, rule, *, parameters=None, tags=None, **options):
        doc = {
            "summary": options.pop("summary", None),
            "description": options.pop("description", None),
            "operationId": options.pop("operation_id", None),
            "security": options.pop("security", None),  # [] for a public operation
        }
        path = [_path_parameter(name) for name in _RULE_ARGUMENT.findall(rule)]
        smorest_route = super().route(
            rule, parameters=[*path, *(parameters or [])], tags=tags, **options
        )

        def decorator(func):
            doc["operationId"] = doc["operationId"] or _operation_id(func.__name__)
            given = {k: v for k, v in doc.items() if v is not None}
            return smorest_route(self.doc(**given)(func))

        return decorator

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        """Docstrings are for the code's readers (English); the document's words are the
        route's summary and description (Chinese)."""
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method_doc in self._docs[endpoint].values():
            if isinstance(method_doc, dict):
                method_doc["docstring"] = {}

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        schema = schema() if isinstance(schema, type) else schema
        if location == "json":
            # One instance per route: the parser reads whether the body may be empty from it.
            schema = type(schema)()
            schema.body_required = required
        return super().arguments(schema, location=location, required=required, **kwargs)

    def response(self, status_code, schema=None, *, description: str = "成功", **kwargs):
        return super().response(status_code, schema, description=description, **kwargs)

    def errors(self, *statuses: int):
        """Document the error answers of an operation (400 and 401 are added for all)."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, http.HTTPStatus(status).name)(func)
            return func

        return decorator

    def multipart(self, schema):
        """Document a multipart/form-data body that the view reads itself."""
        body = {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
        return self.doc(requestBody=body)

    @staticmethod
    def _prepare_common_errors_doc(doc, doc_info, **kwargs):
        responses = doc.setdefault("responses", {})
        responses.setdefault(400, "BAD_REQUEST")
        if doc_info.get("manual_doc", {}).get("security") != []:
            responses.setdefault(401, "UNAUTHORIZED")
        responses.setdefault(503, "SERVICE_UNAVAILABLE")  # faults: the database is down
        return doc


def _path_parameter(name: str) -> dict:
    description, schema = PATH_PARAMETERS[name]
    return {
        "in": "path",
        "name": name,
        "required": True,
        "schema": schema,
        "description": description,
    }


def field_value(schema, name: str, value):
    """One field of ``schema`` checked on its own: a part of a multipart body that the view
    reads itself. None stands for a part not sent."""
    try:
        return schema().fields[name].deserialize(missing if value is None else value)
    except ValidationError as exc:
        raise invalid(exc.messages[0], name) from None


def allowed_only(may, message: str):
    """403 with ``message`` unless ``may(actor)``, before the body is read (outside
    ``@bp.arguments``): a caller who may not act learns nothing from the body, not even that
    it was invalid (tests/api/test_authz_matrix.py checks every route for this)."""

    def decorator(func):
        @wraps(func)
        def view(*args, **kwargs):
            if not may(g.actor):
                raise Forbidden(message)
            return func(*args, **kwargs)

        return view

    return decorator


def admin_only(message: str):
    """403 with ``message`` unless the caller is an administrator, before the body is read."""
    return allowed_only(lambda actor: actor.is_admin, message)
