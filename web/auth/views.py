"""``/api/v1/auth``: bearer tokens, session login/logout, CSRF token."""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify, session

from engine import UserInfo

from ..errors import ApiError
from ..inputs import json_body, only_fields, text_field
from ..serialize import iso, user_json
from . import bp, client_address, login_session, logout_session
from .identity import (
    bearer_token,
    check_csrf,
    csrf_token,
    current_access,
    current_engine,
    current_settings,
    new_token,
    token_hash,
)
from .passwords import DEMO_PASSWORD, verify_password


def _credentials() -> tuple[str, str]:
    body = json_body()
    only_fields(body, {"username", "password"})
    username = text_field(body, "username", required=True, max_length=64)
    password = text_field(body, "password", required=True, max_length=1024, allow_empty=True)
    return username, password


def check_credentials(username: str, password: str) -> UserInfo:
    """The user when the password is right; 401 (same message for unknown user and wrong
    password), 401 for the demo password outside demo mode, 429 with Retry-After while the
    login throttle holds the account or the address back (the password is then not checked).
    Failed and throttled attempts are counted in the database and logged as audit events."""
    access = current_access()
    address = client_address()
    wait = access.login_wait(username, address)
    if wait.seconds:
        access.login_throttled(username, address, wait)
        raise ApiError(
            429,
            f"登录失败次数过多，请 {wait.seconds} 秒后再试",
            "too_many_requests",
            headers={"Retry-After": str(wait.seconds)},
        )
    if password == DEMO_PASSWORD and not current_settings()["DEMO"]:
        access.login_failed(username, address, "demo_password_disabled")
        raise ApiError(
            401,
            "演示密码已停用：当前未启用演示模式，请使用管理员设置的密码",
            "demo_password_disabled",
        )
    user = current_engine().get_user(username)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        access.login_failed(username, address, "invalid_credentials")
        raise ApiError(401, "用户名或密码错误", "invalid_credentials")
    access.login_succeeded(username, address)
    return user


@bp.post("/token")
def issue_token():
    user = check_credentials(*_credentials())
    token = new_token()
    ttl = timedelta(hours=current_settings()["TOKEN_TTL_HOURS"])
    expires_at = current_engine().store_token(token_hash(token), user.username, ttl)
    return jsonify(
        {
            "token": token,
            "token_type": "Bearer",
            "expires_at": iso(expires_at),
            "user": user_json(user),
        }
    )


@bp.post("/login")
def login():
    user = check_credentials(*_credentials())
    login_session(user)  # a fresh session on login: no fixation of an earlier one
    return jsonify({"user": user_json(user), "csrf_token": csrf_token()})


@bp.post("/logout")
def logout():
    # Bearer calls need no CSRF token; a cookie session must prove it is the page's own call.
    token = bearer_token()
    if token is None and session.get("sid"):
        check_csrf()
    if token is not None:
        current_engine().revoke_token(token_hash(token))
    logout_session()
    return jsonify({"logged_out": True})


@bp.get("/csrf")
def get_csrf():
    return jsonify({"csrf_token": csrf_token()})
