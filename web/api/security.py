"""System administrators: end a user's every login, read the security audit log."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_access
from . import bp
from .schemas import EventPage, RevokedAccess, SecurityEventQuery

TAGS = ["auth"]


@bp.delete(
    "/users/<username>/sessions",
    tags=TAGS,
    summary="注销用户的全部会话和令牌（系统管理员）",
    description="该用户的浏览器会话和令牌立即失效，须重新登录（如电脑遗失）。"
    "修改密码、停用用户时系统自动执行同样的操作。",
    operation_id="revokeUserSessions",
)
@bp.response(200, RevokedAccess)
@bp.errors(403, 404)
def revoke_user_access(username: str):
    """Every browser session and bearer token of the user ends now (e.g. a lost laptop)."""
    return current_access().end_user_access(username, g.actor)


@bp.get(
    "/security-events",
    tags=TAGS,
    summary="安全审计日志（系统管理员）",
    description="最新的在前。登录事件的 data 含 address（客户端地址）与 reason 或 "
    "retry_after；会话事件的 data 含 username（被注销的用户）、sessions、tokens。",
)
@bp.arguments(SecurityEventQuery, location="query")
@bp.response(200, EventPage)
@bp.errors(403)
def list_security_events(query):
    """Failed and throttled logins, password changes, deactivations, revocations; newest first."""
    return current_access().list_events(g.actor, **query)
