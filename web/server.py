"""``kunflow run``'s server: gunicorn with one worker and eight threads, so the engine's
in-process caches are shared by every request, and the scheduler runs inside that worker."""

from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi as gunicorn_wsgi

from . import create_app
from .scheduler import start_background

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


class Server(BaseApplication):
    def __init__(self, settings: dict):
        self.settings = settings
        self.scheduler = None
        hide_server_banner()
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self.settings['HOST']}:{self.settings['PORT']}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": 8,
            "timeout": 120,
            "graceful_timeout": 30,
            "accesslog": "-",
            "worker_exit": self._worker_exit,
            # gunicorn's control socket sits at one path per OS user; two kunflow servers on a
            # machine would fight over it, and nothing here uses it.
            "control_socket_disable": True,
        }
        # >>> obs: logs in KUNFLOW_LOG_FORMAT, the access log written by the app (request id,
        # route, user; gunicorn's is off), Prometheus' multiprocess directory and its hooks
        from .observability.gunicorn_hooks import gunicorn_options

        options.update(gunicorn_options(self.settings))
        # <<< obs
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self):
        # Runs in the worker process (preload is off): the app, its database pool and the
        # scheduler's threads all belong to the process that serves requests.
        app = create_app(self.settings)
        if self.settings["SCHEDULER"]:
            self.scheduler = start_background(
                app.extensions["kunflow"], app.extensions["kunflow.access"]
            )
            log.info("scheduler started in worker %d", os.getpid())
        return app

    def _worker_exit(self, server, worker) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
