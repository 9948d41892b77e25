"""``kunflow run``'s server: gunicorn with ``WORKERS`` processes (one per CPU core by default) of
``THREADS`` threads each, and the node's one scheduler in a process of its own that the master
starts once it listens, starts again if it dies and stops with itself
(``web/scheduler_process.py``). Nothing a request needs lives only in one worker: sessions,
the login throttle and the cases are in the database, and each worker's live-workflow cache is
checked against the instance's version on every load (``engine/live_cache.py``)."""

from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.http import wsgi as gunicorn_wsgi

from . import create_app
from .scheduler_process import SchedulerProcess

log = logging.getLogger("kunflow.server")


def hide_server_banner() -> None:
    """gunicorn writes ``Server: gunicorn`` into every response and has no option against it;
    leave the line out, so that a response does not name the software that answers it."""
    original = gunicorn_wsgi.Response.default_headers
    if getattr(original, "kunflow_no_banner", False):
        return

    def default_headers(response) -> list[str]:
        return [line for line in original(response) if not line.lower().startswith("server:")]

    default_headers.kunflow_no_banner = True
    gunicorn_wsgi.Response.default_headers = default_headers


def worker_count(settings: dict) -> int:
    """``WORKERS``, or one per CPU core when it is 0 (or unset)."""
    wanted = int(settings.get("WORKERS") or 0)
    return wanted if wanted > 0 else (os.cpu_count() or 1)


class Server(BaseApplication):
    def __init__(self, settings: dict):
        self.settings = settings
        self.scheduler: SchedulerProcess | None = None
        hide_server_banner()
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings['HOST']}:{self.settings['PORT']}",
            "workers": worker_count(self.settings),
            "worker_class": "gthread",
            "threads": max(1, int(self.settings.get("THREADS") or 8)),
            "timeout": 120,
            "graceful_timeout": 30,
            "accesslog": "-",
            "when_ready": self._when_ready,
            "on_exit": self._on_exit,
            # gunicorn's control socket sits at one path per OS user; two kunflow servers on a
            # machine would fight over it, and nothing here uses it.
            "control_socket_disable": True,
        }
        # >>> obs: logs in KUNFLOW_LOG_FORMAT, the access log written by the app (request id,
        # route, user; gunicorn's is off), Prometheus' multiprocess directory and its hooks
        from .observability.gunicorn_hooks import gunicorn_options

        observability = gunicorn_options(self.settings)
        metrics_exit = observability.pop("on_exit")
        options.update(observability)

        def on_exit(arbiter) -> None:  # the scheduler stops first, then the metrics go
            try:
                self._on_exit(arbiter)
            finally:
                metrics_exit(arbiter)

        options["on_exit"] = on_exit
        # <<< obs
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self):
        # Runs in each worker process (preload is off): the app and its database pool belong
        # to the process that serves requests; nothing is shared across the fork.
        return create_app(self.settings)

    def run(self) -> None:
        try:
            SupervisingArbiter(self).run()
        except RuntimeError as exc:  # as gunicorn's own run(): a bad configuration
            raise SystemExit(f"\nError: {exc}\n") from exc

    def _when_ready(self, _arbiter) -> None:
        if self.settings["SCHEDULER"] and self.scheduler is None:
            self.scheduler = SchedulerProcess(self.settings)
            self.scheduler.start()

    def _on_exit(self, _arbiter) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()

    def check_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.check()


class SupervisingArbiter(Arbiter):
    """gunicorn's master, which also starts the scheduler process again when it has died: its
    loop wakes at least once a second (and at once on SIGCHLD) to manage the workers."""

    def manage_workers(self) -> None:
        super().manage_workers()
        self.app.check_scheduler()

    def handle_chld(self) -> None:
        # Reap the scheduler with its own exit status before gunicorn's waitpid(-1) takes it.
        self.app.check_scheduler()
        super().handle_chld()

    handle_cld = handle_chld
