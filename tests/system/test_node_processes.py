"""``kunflow run`` with two workers: exactly one scheduler beside them, which says it is alive
(a heartbeat row with its process id); killed, the master starts it again; the server stopped
(SIGTERM), the scheduler stops with it and takes its heartbeat row away. One server for the
module, on SQLite (the two-node test covers PostgreSQL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from engine import Engine

ROOT = Path(__file__).resolve().parents[2]
KUNFLOW = Path(sys.executable).parent / "kunflow"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """Child process id -> its command line."""
    out = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
        out[int(child)] = cmd
    return out


def _scheduler_pid(master: int) -> int | None:
    found = [p for p, cmd in _children(master).items() if "web.scheduler_process" in cmd]
    assert len(found) <= 1, found
    return found[0] if found else None


def _wait(what, seconds: float = 60, message: str = ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message or f"not within {seconds} s")


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("node")
    url = f"sqlite:///{tmp / 'kunflow.db'}"
    port = _free_port()
    env = {**os.environ, "KUNFLOW_DATABASE_URL": url, "KUNFLOW_SECRET_KEY": "node-test",
           "KUNFLOW_HOST": "127.0.0.1", "KUNFLOW_PORT": str(port), "KUNFLOW_WORKERS": "2",
           "KUNFLOW_THREADS": "2", "KUNFLOW_ATTACHMENT_DIR": str(tmp / "attachments")}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(KUNFLOW), "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    engine = Engine(url, live_cache_size=0)

    def listening():
        try:
            return requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
        except requests.RequestException:
            return proc.poll() is not None  # stop waiting; the test says what went wrong

    try:
        _wait(listening, 90, "the server did not start")
        assert proc.poll() is None, (tmp / "server.log").read_text(errors="replace")
        yield proc, engine, tmp / "server.log"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        engine.close()
        log.close()


def test_one_scheduler_runs_beside_the_workers_and_beats(node):
    proc, engine, _ = node
    scheduler = _wait(lambda: _scheduler_pid(proc.pid), message="no scheduler process")
    workers = [p for p, cmd in _children(proc.pid).items() if "web.scheduler_process" not in cmd]
    assert len(workers) == 2
    beats = _wait(lambda: engine.heartbeats("scheduler"), message="no heartbeat")
    assert [(b["pid"], b["node"]) for b in beats] == [(scheduler, socket.gethostname())]
    assert beats[0]["name"] == f"scheduler@{socket.gethostname()}:{scheduler}"


def test_a_killed_scheduler_is_started_again(node):
    proc, engine, log = node
    first = _wait(lambda: _scheduler_pid(proc.pid))
    os.kill(first, signal.SIGKILL)
    second = _wait(lambda: (pid := _scheduler_pid(proc.pid)) != first and pid,
                   message="the scheduler was not started again")
    _wait(lambda: any(b["pid"] == second for b in engine.heartbeats("scheduler")),
          message="the new scheduler does not beat")
    assert f"scheduler process {first} ended" in log.read_text(errors="replace")


def test_the_scheduler_stops_with_the_server(node):
    proc, engine, _ = node
    scheduler = _wait(lambda: _scheduler_pid(proc.pid))
    _wait(lambda: any(b["pid"] == scheduler for b in engine.heartbeats("scheduler")))
    proc.send_signal(signal.SIGTERM)  # the master only, as a service manager stops it
    proc.wait(60)
    _wait(lambda: not Path(f"/proc/{scheduler}").exists(), 30, "the scheduler outlived the server")
    assert all(b["pid"] != scheduler for b in engine.heartbeats("scheduler"))
