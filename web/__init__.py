"""kunflow's Flask app: the JSON API under /api/v1, authentication, the landing page."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import settings as settings_module

from . import errors, security_headers
from .errors import ApiError
from .serialize import JSONProvider
from .wiring import build_case_files, build_engine


def create_app(settings: dict | None = None) -> Flask:
    """Application factory. ``settings`` override the defaults and ``KUNFLOW_*`` variables."""
    settings = settings_module.load(settings)
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="session",
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.config.update(settings)  # SECRET_KEY among them; a setting may override the above
    # Over HTTPS (or behind a TLS proxy) the browser sends the cookies back over TLS only.
    app.config["SESSION_COOKIE_SECURE"] = bool(settings["SECURE_COOKIES"])
    app.config["REMEMBER_COOKIE_SECURE"] = bool(settings["SECURE_COOKIES"])
    proxies = int(settings["PROXY_COUNT"])
    if proxies > 0:
        # The client's address (login throttle, sessions) and scheme as the proxies saw them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.json = JSONProvider(app)

    engine = build_engine(settings)  # with the district's service-task handlers
    app.extensions["kunflow"] = engine
    app.extensions["kunflow.settings"] = settings
    app.extensions["kunflow.casefiles"] = build_case_files(engine, settings)

    # >>> obs: request id, access log, metrics, /healthz /readyz /metrics (first: its hooks
    # must run before every other before_request)
    from . import observability
    from .scheduler import node_name

    observability.init_app(app, node_name())
    # <<< obs
    errors.init_app(app)
    security_headers.init_app(app, https=bool(settings["SECURE_COOKIES"]))

    @app.before_request
    def _refuse_nul_in_path() -> None:
        # No database stores a NUL character; refuse it before any lookup sees it.
        if "\x00" in request.path:
            raise ApiError(400, "请求路径含有无效字符")

    from . import admin, api, auth, caseworker, home

    auth.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(caseworker.bp)
    app.register_blueprint(admin.bp)
    # registers (issue 12)
    from . import registers

    app.register_blueprint(registers.bp)
    # ledger (issue 12)
    from . import ledger

    app.register_blueprint(ledger.bp)
    # dashboard (issue 13)
    from . import dashboard

    app.register_blueprint(dashboard.bp)
    # >>> handover: 转办 and 委托 (issue 14)
    from . import handover

    app.register_blueprint(handover.bp)
    # <<< handover
    return app
