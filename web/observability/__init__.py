"""Observability (docs/operations.md): a request id on every request and log record, one
access-log record per request, Prometheus metrics, and the health checks.

- ``logs``: the request id, JSON or text log lines (``configure_logging``)
- ``metrics``: prometheus_client metrics and the scrape (imported by ``init_app`` only)
- ``readiness``: what ``/readyz`` checks
- ``views``: ``/healthz``, ``/readyz``, ``/metrics``
- ``gunicorn_hooks``: what ``kunflow run``'s gunicorn needs for all of it
"""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from .logs import REQUEST_ID, install_record_factory, request_id_from

access_log = logging.getLogger("kunflow.access")
REQUEST_ID_HEADER = "X-Request-ID"
# Polled every few seconds by load balancers and Prometheus: their lines go to DEBUG, so the
# INFO access log shows people's and scripts' requests.
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def init_app(app: Flask, node: str) -> None:
    """Register the hooks before any other ``before_request`` (so every request, even one
    refused early, has its id and its timing) and the blueprint of the three endpoints.
    ``node``: this host's name, as the scheduler's heartbeat writes it."""
    # prometheus_client is imported here, in the serving process, after gunicorn's master
    # has set PROMETHEUS_MULTIPROC_DIR (gunicorn_hooks): never at module import.
    from . import metrics, views
    from .readiness import DatabaseProbe

    install_record_factory()
    engine = app.extensions["kunflow"]
    engine.on_task_completed(metrics.count_completion)
    app.extensions["kunflow.readiness"] = DatabaseProbe(engine)
    app.extensions["kunflow.node"] = node

    @app.before_request
    def _start_request() -> None:
        g.kf_request_id = rid = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.kf_started = time.perf_counter()
        REQUEST_ID.set(rid)

    @app.after_request
    def _finish_request(response):
        # Registered first, so it runs last: the status and headers are final.
        rid = g.get("kf_request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = rid
        started = g.get("kf_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule.rule if request.url_rule is not None else None
        metrics.observe_request(rule, request.method, response.status_code, seconds)
        _log_access(response.status_code, seconds, rule)
        return response

    @app.teardown_request
    def _end_request(_exc) -> None:
        # gthread workers reuse threads: the next request on this thread starts clean.
        REQUEST_ID.set(None)

    app.register_blueprint(views.bp)


def _log_access(status: int, seconds: float, rule: str | None) -> None:
    level = logging.DEBUG if request.path in PROBES and status < 400 else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    user = g.get("user")
    username = getattr(user, "username", None)
    duration_ms = round(seconds * 1000, 1)
    # The path only: a query string may carry values nobody should find in a log.
    access_log.log(
        level, "%s %s %d %.1f ms", request.method, request.path, status, duration_ms,
        extra={"method": request.method, "path": request.path, "route": rule,
               "status": status, "duration_ms": duration_ms, "user": username,
               "remote_addr": request.remote_addr},
    )
