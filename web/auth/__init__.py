"""Authentication: argon2 passwords, bearer tokens, server-side sessions behind the session
cookie (with CSRF tokens), and the login throttle shared through the database. ``views``: the
``/api/v1/auth`` endpoints; ``pages``: the login and logout pages."""

from __future__ import annotations

from flask import Blueprint, Flask, g, request, session
from flask_login import LoginManager, UserMixin, login_user, logout_user

from engine import UserInfo

from ..wiring import build_access
from .identity import current_access, session_user

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


class SessionUser(UserMixin):
    """Flask-Login's view of a kunflow user (the id is the username)."""

    def __init__(self, info: UserInfo):
        self.info = info

    def get_id(self) -> str:
        return self.info.username

    @property
    def is_active(self) -> bool:
        return self.info.active


def client_address() -> str:
    """The caller's address (the client's, behind PROXY_COUNT trusted proxies)."""
    return request.remote_addr or "-"


def login_session(user: UserInfo) -> None:
    """A fresh session for ``user`` (no fixation of an earlier one), held on the server."""
    session.clear()
    session["sid"] = current_access().open_session(
        user.username, client_address(), request.user_agent.string
    )
    g.kf_session_user = user
    login_user(SessionUser(user))


def logout_session() -> None:
    """End the session on the server too: the cookie, replayed, opens nothing."""
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        current_access().end_session(sid)
    g.pop("kf_session_user", None)
    logout_user()
    session.clear()


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.login_view = "auth_pages.login"
    manager.login_message = "请先登录"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(username: str):
        user = session_user()
        return SessionUser(user) if user is not None and user.username == username else None

    manager.init_app(app)
    app.extensions["kunflow.access"] = build_access(
        app.extensions["kunflow"], app.extensions["kunflow.settings"]
    )
    app.register_blueprint(bp)
    app.register_blueprint(pages.bp)


from . import pages, views  # noqa: E402,F401  (routes register on bp and pages.bp)
