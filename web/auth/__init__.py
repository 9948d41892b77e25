"""Authentication: argon2 passwords, bearer tokens, session cookies with CSRF tokens."""

from __future__ import annotations

from flask import Blueprint, Flask, session
from flask_login import LoginManager, UserMixin, login_user, logout_user

from engine import UserInfo

from .throttle import LoginThrottle

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


def login_session(user: UserInfo) -> None:
    """A fresh session for ``user`` (no fixation of an earlier one)."""
    session.clear()
    login_user(SessionUser(user))
    session["username"] = user.username


def logout_session() -> None:
    logout_user()
    session.clear()


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.login_view = "caseworker.login"
    manager.login_message = "请先登录"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(username: str):
        user = app.extensions["kunflow"].get_user(username)
        return SessionUser(user) if user is not None and user.active else None

    manager.init_app(app)
    app.extensions["kunflow.login_throttle"] = LoginThrottle(
        max_failures=int(app.config.get("LOGIN_MAX_FAILURES", 10)),
        window_seconds=float(app.config.get("LOGIN_WINDOW_SECONDS", 300)),
    )
    app.register_blueprint(bp)


from . import views  # noqa: E402,F401  (routes register on bp)
