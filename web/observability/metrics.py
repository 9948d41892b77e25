"""Prometheus metrics (prometheus_client), served at ``/metrics``.

Two kinds of figures:

- counted by each process as things happen: request latency by route, method and status class;
  task completions; each scheduler job's last run and failures. Under ``kunflow run`` several
  gunicorn workers count at once, so these use prometheus_client's multiprocess mode: the
  server sets ``PROMETHEUS_MULTIPROC_DIR`` before it forks the workers
  (``web/observability/gunicorn_hooks.py``) and a scrape, answered by any worker, sums the
  files of all of them.
- read from the database at scrape time (``WaitingWork``, a custom collector): incidents open,
  timers due and how late the oldest is, open tasks, pending notice deliveries and messages,
  the age of each node's scheduler heartbeat. Cheap COUNTs over indexes, the same for every
  worker and node, so they are never stored in the multiprocess files.

This module imports prometheus_client, which picks single- or multi-process values when it is
first imported: import it only in the worker (``create_app``), never in the gunicorn master
before it has set the directory.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily

from engine import Engine, utcnow

log = logging.getLogger("kunflow.metrics")

# Chosen by prometheus_client when it was imported: files under PROMETHEUS_MULTIPROC_DIR, or
# plain in-process values (tests, ``kunflow worker``).
MULTIPROCESS = values.ValueClass is not values.MutexValue

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # a path no route matched (404s): one label, not one per path
# The targets (task lists 50 ms, dashboards 150 ms) fall on bucket bounds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# registry=None: not in prometheus_client's global registry; a scrape builds its own (below).
REQUEST_SECONDS = Histogram(
    "kunflow_http_request_duration_seconds",
    "Time from the start of a request to its response, by route (the URL rule), method and "
    "status class",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
COMPLETIONS = Counter(
    "kunflow_task_completions",
    "Human tasks completed through the app, by process key",
    ["process"],
    registry=None,
)
JOB_LAST_RUN = Gauge(
    "kunflow_scheduler_job_last_run_timestamp_seconds",
    "When each scheduler job of this server's scheduler last finished (Unix time)",
    ["job"],
    multiprocess_mode="max",  # the scheduler runs in one worker; the newest run counts
    registry=None,
)
JOB_FAILURES = Counter(
    "kunflow_scheduler_job_failures",
    "Runs of each scheduler job that raised (logged by kunflow.scheduler)",
    ["job"],
    registry=None,
)
IN_PROCESS = (REQUEST_SECONDS, COMPLETIONS, JOB_LAST_RUN, JOB_FAILURES)


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(
        route=route or UNMATCHED,
        method=method if method in METHODS else "OTHER",
        status=f"{status // 100}xx",
    ).observe(seconds)


def count_completion(done) -> None:
    """The engine's completion listener (``Engine.on_task_completed``)."""
    COMPLETIONS.labels(process=done.process_key).inc()


def job_ran(job: str, ok: bool) -> None:
    """A scheduler job finished (``web/scheduler.py``)."""
    JOB_LAST_RUN.labels(job=job).set(time.time())
    if not ok:
        JOB_FAILURES.labels(job=job).inc()


class WaitingWork:
    """The figures read from the database at scrape time. When the database cannot be
    reached, ``kunflow_database_up`` is 0 and the others are left out (a scrape still
    answers: the process figures are what one needs then)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self):
        up = GaugeMetricFamily("kunflow_database_up",
                               "1 when the database answered this scrape's queries, else 0")
        try:
            now = utcnow()
            figures = self.engine.operational_figures(now)
            beats = self.engine.heartbeats(kind="scheduler")
        except Exception as exc:  # the scrape must answer; the log says what went wrong
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("kunflow_incidents_open", "Incidents not yet resolved",
                                value=figures["incidents_open"])
        yield GaugeMetricFamily("kunflow_timers_due",
                                "Running instances whose next timer is due now",
                                value=figures["timers_due"])
        oldest = figures["oldest_due_at"]
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "kunflow_timer_firing_lag_seconds",
            "How long the oldest due timer has been waiting to fire (0 when none is due)",
            value=lag)
        tasks = GaugeMetricFamily("kunflow_tasks_open", "Open human tasks by state",
                                  labels=["state"])
        for state, count in figures["tasks_open"].items():
            tasks.add_metric([state], count)
        yield tasks
        yield GaugeMetricFamily("kunflow_notice_deliveries_pending",
                                "Notices waiting for a delivery attempt to an outbound channel",
                                value=figures["notice_deliveries_pending"])
        yield GaugeMetricFamily("kunflow_messages_pending",
                                "Messages no catcher has taken yet (not expired)",
                                value=figures["messages_pending"])
        ages = GaugeMetricFamily("kunflow_scheduler_heartbeat_age_seconds",
                                 "Seconds since each node's scheduler last wrote its heartbeat",
                                 labels=["node"])
        newest: dict[str, float] = {}
        for beat in beats:
            age = max(0.0, (now - beat["beat_at"]).total_seconds())
            newest[beat["node"]] = min(age, newest.get(beat["node"], age))
        for node, age in sorted(newest.items()):
            ages.add_metric([node], age)
        yield ages


def scrape(engine: Engine) -> tuple[bytes, str]:
    """The exposition text of every metric, and its content type."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in IN_PROCESS:
            registry.register(metric)
    registry.register(WaitingWork(engine))
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4  # any Prometheus reads it


def may_scrape(remote_addr: str | None, authorization: str | None, token: str) -> bool:
    """A scrape from this machine (127.0.0.0/8, ::1), or with ``Authorization: Bearer
    <KUNFLOW_METRICS_TOKEN>`` when that token is set."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        address = None
    if address is not None:
        address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:127.0.0.1
        if address.is_loopback:
            return True
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8"))
