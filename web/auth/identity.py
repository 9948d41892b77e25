"""Who is calling: a bearer token or the session cookie (which then needs a CSRF header)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, g, request, session

from engine import Access, Actor, Engine, UserInfo

from ..errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kunflow"'}


def current_engine() -> Engine:
    return current_app.extensions["kunflow"]


def current_settings() -> dict:
    return current_app.extensions["kunflow.settings"]


def current_access() -> Access:
    return current_app.extensions["kunflow.access"]


def session_user() -> UserInfo | None:
    """The user of the live server-side session that this request's cookie names; None when
    there is none, or it was ended (logout, password change, deactivation, revocation) or
    left idle too long. Looked up once per request."""
    if "kf_session_user" not in g:
        sid = session.get("sid")
        g.kf_session_user = (
            current_access().session_user(sid) if isinstance(sid, str) and sid else None
        )
    return g.kf_session_user


def token_hash(token: str) -> str:
    """Tokens are stored only as this digest."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, "unauthorized", headers=_CHALLENGE)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization 头格式应为：Bearer <令牌>")
    return token.strip()


def authenticate() -> UserInfo:
    """The calling user, or ApiError 401; checks CSRF on cookie-authenticated unsafe calls."""
    token = bearer_token()
    if token is not None:
        user = current_engine().user_for_token(token_hash(token))
        if user is None:
            raise unauthorized("令牌无效或已过期，请重新获取")
        return user
    if session.get("sid"):
        user = session_user()
        if user is None:
            session.clear()
            raise unauthorized("会话已失效（已退出、超时或被注销），请重新登录")
        if request.method not in SAFE_METHODS:
            check_csrf()
        return user
    raise unauthorized(
        "需要登录：请使用 Authorization: Bearer <令牌>，令牌由 POST /api/v1/auth/token 获取"
    )


def load_user() -> None:
    """``before_request`` of authenticated blueprints: sets ``g.user`` and ``g.actor``."""
    user = authenticate()
    g.user = user
    g.actor = user.actor()


def current_actor() -> Actor:
    return g.actor


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.mimetype in ("application/x-www-form-urlencoded",
                                          "multipart/form-data"):
        given = request.form.get("csrf_token", "")  # pages' own forms
    if (
        not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    ):
        raise ApiError(
            403,
            f"使用会话 Cookie 的写请求须带 {CSRF_HEADER} 头（由 GET /api/v1/auth/csrf 获取）",
            "csrf_failed",
        )


def enter_page():
    """Before a page of a signed-in user's area (caseworker, ledger, registers, admin): the
    login page for a browser that is not signed in (401 for a script), ``g.user`` and
    ``g.actor`` set, and a CSRF token checked on anything that changes state. Returns the
    redirect to answer with, or None."""
    from flask import redirect, url_for
    from flask_login import current_user

    if not current_user.is_authenticated:
        if request.method == "GET" and not request.accept_mimetypes.best == "application/json":
            return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
        raise ApiError(401, "需要登录")
    g.user = current_user.info
    g.actor = g.user.actor()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()
    # A NUL character has no use in any filter or form field, and PostgreSQL refuses it in
    # text: refused here, once, for every page
    if any("\x00" in v for values in (request.args, request.form)
           for v in values.values()):
        raise ApiError(400, "请求中含有不允许的字符（NUL）")
    return None


def open_task_counts() -> dict:
    """The header's 待办 badge: my claimed tasks and my department's unclaimed ones (counts
    only, each read from an index: they are on every page)."""
    eng, actor = current_engine(), g.actor
    return {
        "mine": eng.list_tasks(actor, scope="mine", count_only=True).total,
        "department": eng.list_tasks(actor, scope="department", state="ready",
                                     count_only=True).total,
    }
