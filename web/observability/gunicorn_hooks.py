"""What ``kunflow run``'s gunicorn needs for logs and metrics (``web/server.py`` merges these
options into its own):

- its own log lines (start, worker boots and deaths) in ``KUNFLOW_LOG_FORMAT``;
- no gunicorn access log: the app writes one record per request with its id, route, user
  and duration (``web/observability/__init__.py``);
- the process's logging configured (``configure_logging``) and a fresh directory for
  prometheus_client's multiprocess files, made by the master before it forks any worker
  (``on_starting``), so every worker writes there and a scrape sums them;
  a dead worker's live gauges dropped (``child_exit``); the directory removed at exit.

prometheus_client is not imported here at module level: the master must not load it before
the directory is set. (``preload_app`` would build the app in the master earlier still: it
stays off.)
"""

from __future__ import annotations

import os
import shutil
import tempfile

from gunicorn import glogging

from .logs import configure_logging, install_record_factory, make_formatter

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def gunicorn_options(settings) -> dict:
    """gunicorn settings: the logger class, the access log off, the three hooks."""
    log_format = str(settings["LOG_FORMAT"])

    def on_starting(server) -> None:
        # The app's records (the access log among them) in the same format as gunicorn's,
        # however the server was started (``kunflow run`` configured it already; a script
        # that runs ``Server`` itself has not).
        configure_logging(log_format)
        make_metrics_dir(server)

    return {
        "logger_class": gunicorn_logger(log_format),
        "accesslog": None,
        "on_starting": on_starting,
        "child_exit": child_exit,
        "on_exit": on_exit,
    }


def gunicorn_logger(log_format: str) -> type:
    formatter = make_formatter(log_format)  # an unknown format fails here, before serving

    class KunflowGunicornLogger(glogging.Logger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            install_record_factory()
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter)

    return KunflowGunicornLogger


def make_metrics_dir(server) -> None:
    path = tempfile.mkdtemp(prefix="kunflow-metrics-")
    os.environ[MULTIPROC_ENV] = path
    server.kunflow_metrics_dir = path


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    path = getattr(server, "kunflow_metrics_dir", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)
        if os.environ.get(MULTIPROC_ENV) == path:
            del os.environ[MULTIPROC_ENV]
