"""Helpers of the system tests: a real ``kunflow run`` server on a free port, bearer tokens,
and the ``sample_loop`` cases that bursts of completions work on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
KUNFLOW = Path(sys.executable).parent / "kunflow"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db_url: str, tmp: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KUNFLOW_DATABASE_URL": db_url,
            "KUNFLOW_PORT": str(self.port),
            "KUNFLOW_HOST": "127.0.0.1",
            "KUNFLOW_SECRET_KEY": "crash-test",
        }
        self.log = open(tmp / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [str(KUNFLOW), "run", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/api/v1/openapi.json", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            time.sleep(0.2)
        raise RuntimeError("server did not start in 60 s")

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:  # several workers and the scheduler stop in turn on a busy machine
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def token(base: str, username: str) -> dict:
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": "demo"},
                      timeout=10)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def bearer(client, username: str) -> dict:
    """A bearer token header of a demo user, from a Flask test client."""
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def loop_cases(base: str, headers: dict, count: int, key: str, title: str) -> list[int]:
    """``count`` sample_loop cases started over HTTP, each past its first step (so each has one
    open task of 区发改委 that a burst can complete round after round); their instance ids."""
    instances = []
    for i in range(count):
        r = requests.post(f"{base}/api/v1/instances", headers=headers, timeout=10, json={
            "process_key": "sample_loop", "business_key": f"{key}-{i}",
            "title": f"{title} {i}", "data": {"target_rounds": 10_000, "review_round": 0}})
        assert r.status_code == 201, r.text
        first = r.json()["tasks"][0]["id"]
        r = requests.post(f"{base}/api/v1/tasks/{first}/complete", headers=headers,
                          json={"data": {}}, timeout=10)
        assert r.status_code == 200, r.text
        instances.append(r.json()["instance_id"])
    return instances
