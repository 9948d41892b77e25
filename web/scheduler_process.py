"""The scheduler of a ``kunflow run`` node: one process beside the gunicorn workers, started by
the gunicorn master once it listens, started again if it dies, stopped with the master.

Why a process of its own: with N workers a scheduler inside each would run every job N times a
node (timers stay correct through SKIP LOCKED and the version check, but the work is wasted and
the reminders and housekeeping race); inside the master it would run threads and hold database
connections across the ``fork`` of every new worker. A child started with a fresh interpreter
shares nothing with either.

The settings reach the child on its standard input (JSON), not in its environment: they hold
the secret key.

Run as ``python -m web.scheduler_process`` with the settings on standard input.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

log = logging.getLogger("kunflow.server")

# A scheduler that dies within this many seconds of its start is started again only after a
# pause that doubles each time (up to MAX_PAUSE): a database that is down is not hammered.
STEADY_SECONDS = 60.0
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
STOP_SECONDS = 30.0  # a running job gets this long to finish its unit of work at shutdown


class SchedulerProcess:
    """Start, watch and stop the node's scheduler process (from the gunicorn master)."""

    def __init__(self, settings: Mapping, command: list[str] | None = None):
        self.settings = dict(settings)
        self.command = command or [sys.executable, "-m", "web.scheduler_process"]
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at = 0.0
        self.pause = FIRST_PAUSE
        self.starts = 0
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, close_fds=True)
        try:
            self.proc.stdin.write(json.dumps(self.settings, default=str).encode("utf-8"))
            self.proc.stdin.close()
        except OSError:  # it died at once; ``check`` sees it and starts it again
            pass
        self.started_at = time.monotonic()
        self.starts += 1
        log.info("scheduler process %d started", self.proc.pid)

    def check(self) -> None:
        """Start the scheduler again if it has ended (called from the master's loop, about once
        a second). The master may have reaped it already (``waitpid(-1)``): ``poll`` then says
        0, which is as good: it is gone."""
        if self.stopping or self.proc is None:
            return
        code = self.proc.poll()
        if code is None:
            return
        now = time.monotonic()
        if self.restart_at == 0.0:
            ran = now - self.started_at
            if ran >= STEADY_SECONDS:
                wait, self.pause = 0.0, FIRST_PAUSE
            else:
                wait, self.pause = self.pause, min(self.pause * 2, MAX_PAUSE)
            self.restart_at = now + wait
            log.warning("scheduler process %d ended (exit status %s) after %.0f s; starting it "
                        "again in %.0f s", self.proc.pid, code, ran, wait)
        if now >= self.restart_at:
            self.restart_at = 0.0
            self.start()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM, wait for the running job to finish, then SIGKILL."""
        self.stopping = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("scheduler process %d did not stop in %.0f s: killed", proc.pid, timeout)
            proc.kill()
            proc.wait(5)


def main() -> None:
    from web.cli.commands import log_at_info
    from web.scheduler import serve

    settings = json.load(sys.stdin)
    sys.stdin.close()
    log_at_info(settings)
    serve(settings, parent_pid=os.getppid())


if __name__ == "__main__":
    main()
