"""The real server (``web.server.Server``: gunicorn, two worker processes, a scheduler) with
``KUNFLOW_LOG_FORMAT=json``: every line it logs is a JSON object, requests carry their id into
the access log, /readyz turns ready once the scheduler has beaten, and /metrics sums what every
worker counted (prometheus_client's multiprocess files in a directory the master made), also
after a worker was killed and replaced. One server for the module, on SQLite."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from config import settings as settings_module
from web.provision import initialize
from web.wiring import build_engine

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# Two workers, whatever the default count: multiprocess metrics need more than one process.
SERVE = """
from config import settings
from web.server import Server

class TwoWorkers(Server):
    def load_config(self):
        super().load_config()
        self.cfg.set("workers", 2)

TwoWorkers(settings.load()).run()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, url: str, log: Path, tmp: Path, proc: subprocess.Popen):
        self.url, self.log, self.tmp, self.proc = url, log, tmp, proc

    def lines(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if line]

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines()]

    def metrics_dirs(self) -> list[Path]:
        return sorted(self.tmp.glob("kunflow-metrics-*"))

    def healthz_count(self) -> float:
        text = requests.get(self.url + "/metrics", timeout=10).text
        m = re.search(r'^kunflow_http_request_duration_seconds_count\{method="GET",'
                      r'route="/healthz",status="2xx"\} (\S+)$', text, re.M)
        return float(m.group(1)) if m else 0.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("obs-server")
    port = _free_port()
    env_settings = {
        "KUNFLOW_DATABASE_URL": f"sqlite:///{tmp / 'kunflow.db'}",
        "KUNFLOW_ATTACHMENT_DIR": str(tmp / "attachments"),
        "KUNFLOW_SECRET_KEY": "obs-server-secret",
        "KUNFLOW_SCHEDULER": "1",
        "KUNFLOW_DEMO": "1",
        "KUNFLOW_HOST": "127.0.0.1",
        "KUNFLOW_PORT": str(port),
        "KUNFLOW_LOG_FORMAT": "json",
        "KUNFLOW_TIMER_SECONDS": "1",  # the scheduler's timer job runs every second
    }
    settings = settings_module.load({"DATABASE_URL": env_settings["KUNFLOW_DATABASE_URL"],
                                     "ATTACHMENT_DIR": env_settings["KUNFLOW_ATTACHMENT_DIR"],
                                     "SECRET_KEY": "obs-server-secret"})
    engine = build_engine(settings, live_cache_size=0)
    initialize(engine, settings)  # kunflow init, before the server (as `kunflow run` does)
    engine.close()
    # the server's temporary files (the metrics directory) go under tmp, where the test sees them
    env = {**os.environ, **env_settings, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("server did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)
    yield Served(url, log, tmp, proc)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_readyz_turns_ready_once_the_scheduler_has_beaten(served):
    deadline = time.monotonic() + 30
    while True:
        r = requests.get(served.url + "/readyz", timeout=10)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["scheduler"]["scope"] == "this_node"


def test_every_log_line_is_json_and_the_access_log_carries_the_request_id(served):
    r = requests.get(served.url + "/api/v1/tasks?access_token=hidden",
                     headers={"X-Request-ID": "probe-42"}, timeout=10)
    assert r.status_code == 401 and r.headers["X-Request-ID"] == "probe-42"
    deadline = time.monotonic() + 10
    while not any(rec.get("request_id") == "probe-42" for rec in served.records()):
        assert time.monotonic() < deadline, served.log.read_text()[-3000:]
        time.sleep(0.1)
    records = served.records()  # each line parses, gunicorn's own included
    [access] = [rec for rec in records if rec.get("request_id") == "probe-42"]
    assert access["logger"] == "kunflow.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/tasks", 401)
    assert access["duration_ms"] >= 0 and access["user"] is None
    assert "hidden" not in served.log.read_text()
    assert any(rec["logger"] == "gunicorn.error" for rec in records)
    assert all({"ts", "level", "logger", "message", "request_id"} <= rec.keys()
               for rec in records)


def _worker_pids(served) -> list[int]:
    return [int(m.group(1)) for rec in served.records()
            if (m := re.search(r"Booting worker with pid: (\d+)", rec["message"]))]


def test_metrics_sum_every_workers_counts_even_after_a_worker_died(served):
    [directory] = served.metrics_dirs()  # made by the master before it forked the workers
    before = served.healthz_count()
    for _ in range(20):
        with requests.Session() as fresh:  # a new connection each time: either worker answers
            assert fresh.get(served.url + "/healthz", timeout=10).status_code == 200
    assert served.healthz_count() == before + 20
    assert any(directory.glob("histogram_*.db"))
    # SIGKILL one worker: gunicorn replaces it; what it counted stays in the sum
    victim = _worker_pids(served)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(_worker_pids(served)) < 3:
        assert time.monotonic() < deadline, "no replacement worker booted"
        time.sleep(0.2)
    deadline = time.monotonic() + 30
    while True:
        try:
            count = served.healthz_count()
            break
        except requests.RequestException:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert count >= before + 20


def test_the_scheduler_processs_job_runs_are_in_the_metrics(served):
    """The node's scheduler is a process of its own beside the workers: its jobs' figures
    reach /metrics through the same directory (it inherits the master's environment)."""
    pattern = re.compile(r'^kunflow_scheduler_job_last_run_timestamp_seconds\{job="fire_timers"\} '
                         r"(\S+)$", re.M)
    deadline = time.monotonic() + 30
    while not (m := pattern.search(requests.get(served.url + "/metrics", timeout=10).text)):
        assert time.monotonic() < deadline, "no run of the timer job in /metrics"
        time.sleep(0.5)
    assert abs(float(m.group(1)) - time.time()) < 60  # a real run's time, not a placeholder
    assert not re.search(r'^kunflow_scheduler_job_failures_total\{job="fire_timers"\} [1-9]',
                         requests.get(served.url + "/metrics", timeout=10).text, re.M)


def test_the_metrics_directory_is_removed_when_the_server_stops(served):
    assert served.metrics_dirs()
    os.killpg(served.proc.pid, signal.SIGTERM)
    served.proc.wait(timeout=30)
    assert served.metrics_dirs() == []
