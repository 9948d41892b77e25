"""Every /admin/ request: signed in (else the login page), a process admin (else 403), and a
CSRF token on anything that changes state."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_login import current_user

from ..auth.identity import check_csrf
from ..errors import ApiError
from . import bp


@bp.before_request
def _require_process_admin():
    if not current_user.is_authenticated:
        if request.method == "GET" and not request.accept_mimetypes.best == "application/json":
            return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
        raise ApiError(401, "需要登录")
    g.user = current_user.info
    g.actor = g.user.actor()
    if not g.actor.is_admin:
        raise ApiError(403, "只有流程管理员可以进入流程管理")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()
    return None
