"""Who is who: the current user, departments, users."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .schemas import DepartmentList, User, UserList, UserQuery

TAGS = ["org"]


@bp.get("/me", tags=TAGS, summary="当前用户", operation_id="getMe")
@bp.response(200, User)
def me():
    return g.user


@bp.get("/departments", tags=TAGS, summary="部门列表")
@bp.response(200, DepartmentList)
def list_departments():
    return {"items": current_engine().list_departments()}


@bp.get("/users", tags=TAGS, summary="用户列表")
@bp.arguments(UserQuery, location="query")
@bp.response(200, UserList)
def list_users(query):
    return {"items": current_engine().list_users(query["department"])}
