"""Who is who: the current user, departments, users."""

from __future__ import annotations

from flask import g, jsonify

from ..auth.identity import current_engine
from ..inputs import query_text
from ..serialize import department_json, user_json
from . import bp


@bp.get("/me")
def me():
    return jsonify(user_json(g.user))


@bp.get("/departments")
def list_departments():
    return jsonify({"items": [department_json(d) for d in current_engine().list_departments()]})


@bp.get("/users")
def list_users():
    department = query_text("department", max_length=64)
    users = current_engine().list_users(department)
    return jsonify({"items": [user_json(u) for u in users]})
