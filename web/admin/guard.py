"""Every /admin/ request: signed in (else the login page), a process admin (else 403), and a
CSRF token on anything that changes state."""

from __future__ import annotations

from flask import g

from ..auth.identity import enter_page
from ..errors import ApiError
from . import bp


@bp.before_request
def _require_process_admin():
    answer = enter_page()
    if answer is None and not g.actor.is_admin:
        raise ApiError(403, "只有流程管理员可以进入流程管理")
    return answer
