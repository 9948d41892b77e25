"""The login and logout pages (``/login``, ``/logout``) of the server-rendered pages: the same
credentials check and login throttle as ``POST /api/v1/auth/login``, then a session cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..errors import ApiError
from . import login_session, logout_session
from .identity import check_csrf
from .views import check_credentials

bp = Blueprint("auth_pages", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths after login (no open redirect)."""
    if not target:
        return url_for("caseworker.tasks")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("caseworker.tasks")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    headers = {}
    username = ""
    if request.method == "POST":
        try:
            check_csrf()
            username = (request.form.get("username") or "").strip()[:64]
            password = request.form.get("password") or ""
            if not username or not password:
                raise ApiError(400, "请输入用户名和密码")
            user = check_credentials(username, password[:1024])
        except ApiError as exc:
            error, status, headers = exc.message, exc.status, exc.headers
            if exc.code == "csrf_failed":
                error = "页面已过期，请重新提交"
        else:
            login_session(user)
            return redirect(_safe_next(request.args.get("next")))
    elif current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    settings = current_app.extensions["kunflow.settings"]
    return render_template("login.html", error=error, username=username,
                           demo=settings["DEMO"]), status, headers


@bp.before_request
def _logout_is_a_signed_in_users_form():
    """``/logout`` answers a signed-in user only, and a POST only with the page's CSRF token,
    as every other form of the pages (``caseworker`` checks the same before its views)."""
    if request.endpoint != "auth_pages.logout":
        return None
    if not current_user.is_authenticated:
        raise ApiError(401, "需要登录")
    g.user = current_user.info
    g.actor = g.user.actor()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()
    return None


@bp.post("/logout")
def logout():
    logout_session()
    flash("已退出登录")
    return redirect(url_for("auth_pages.login"))
