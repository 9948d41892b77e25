"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers and Prometheus, not people.
No login, no session, no CSRF: the blueprint has no ``before_request`` of its own, and no
answer reveals anything sensitive (``/metrics`` is only for this machine or a bearer token)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..errors import ApiError
from . import metrics
from .readiness import readiness

bp = Blueprint("observability", __name__)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """The process is up and serving; touches nothing else (not the database)."""
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
def readyz():
    """200 when the database answers and a scheduler's heartbeat is fresh, else 503 with the
    failed checks."""
    ext = current_app.extensions
    settings = ext["kunflow.settings"]
    ready, body = readiness(ext["kunflow"], ext["kunflow.readiness"],
                            node=ext["kunflow.node"], runs_scheduler=bool(settings["SCHEDULER"]))
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    return _no_store(response)


@bp.get("/metrics")
def prometheus_metrics():
    token = str(current_app.extensions["kunflow.settings"].get("METRICS_TOKEN") or "")
    if not metrics.may_scrape(request.remote_addr, request.headers.get("Authorization"), token):
        raise ApiError(403, "监控指标仅允许本机访问，或携带 Authorization: Bearer <KUNFLOW_METRICS_TOKEN>",
                       "metrics_forbidden")
    body, content_type = metrics.scrape(current_app.extensions["kunflow"])
    return _no_store(current_app.response_class(body, content_type=content_type))
