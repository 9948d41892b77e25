"""Authentication: argon2 passwords, bearer tokens, session cookies with CSRF tokens."""

from __future__ import annotations

from flask import Blueprint, Flask

from .throttle import LoginThrottle

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def init_app(app: Flask) -> None:
    app.extensions["kunflow.login_throttle"] = LoginThrottle(
        max_failures=int(app.config.get("LOGIN_MAX_FAILURES", 10)),
        window_seconds=float(app.config.get("LOGIN_WINDOW_SECONDS", 300)),
    )
    app.register_blueprint(bp)


from . import views  # noqa: E402,F401  (routes register on bp)
