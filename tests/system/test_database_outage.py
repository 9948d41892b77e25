"""PostgreSQL stopped and started under a running app: while it is down every request gets a 503
with a clear Chinese message (pages an HTML page, the API its JSON error), the log one line per
request; once it is back the app serves again by itself, with nothing restarted.

The database is a private PostgreSQL cluster of this test (initdb into a temporary directory, on
a free port), really stopped and started with pg_ctl: the machine's server is never touched.
As root the cluster runs as the ``postgres`` OS user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles

from engine import database_unavailable
from web import create_app
from web.auth import passwords
from web.errors import DATABASE_UNAVAILABLE_READ, DATABASE_UNAVAILABLE_WRITE
from web.provision import initialize
from web.scheduler import register_jobs

pytestmark = pytest.mark.slow
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _run_as() -> list[str] | None:
    """The command prefix that runs PostgreSQL's programs, None when nothing can."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else None


PG_BIN = _pg_bin()
RUN_AS = _run_as()
if PG_BIN is None or RUN_AS is None or not (PG_BIN / "initdb").exists():
    pytest.skip("PostgreSQL's initdb/pg_ctl (or the postgres OS user) not available",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A throw-away PostgreSQL cluster: ``start()``, ``stop()``, ``url``."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="kunflow-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.data = self.dir / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8", "--locale=C")

    def _pg(self, program: str, *args: str) -> None:
        result = subprocess.run([*RUN_AS, str(PG_BIN / program), *args], cwd=self.dir,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                 str(self.dir / "server.log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    pg = PrivateCluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))


@pytest.fixture
def app(cluster):
    app = create_app({"DATABASE_URL": cluster.url, "SCHEDULER": False,
                      "SECRET_KEY": "outage-test", "DEMO": True})
    initialize(app.extensions["kunflow"], app.extensions["kunflow.settings"])
    yield app
    app.extensions["kunflow"].close()


def _bearer(client, username: str) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _assert_unavailable(r, message: str = DATABASE_UNAVAILABLE_READ) -> None:
    assert r.status_code == 503, r.data[:300]
    assert int(r.headers["Retry-After"]) > 0
    body = r.get_json()
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["message"] == message


class Poller(threading.Thread):
    """Requests in a loop from another thread, through the stop and the start."""

    def __init__(self, app, headers: dict):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.headers = headers
        self.statuses: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            r = self.client.get("/api/v1/tasks", headers=self.headers,
                                query_string={"scope": "department"})
            self.statuses.append(r.status_code)
            if r.status_code == 503:
                _assert_unavailable(r)
            time.sleep(0.01)


def test_postgresql_stopped_and_started_gives_503_then_recovers(app, cluster, caplog):
    client = app.test_client()
    invest, drc = _bearer(client, "invest-clerk"), _bearer(client, "drc-clerk")
    r = client.post("/api/v1/instances", headers=invest, json={
        "process_key": "sample_loop", "business_key": "OUTAGE-1", "title": "数据库重启",
        "data": {"target_rounds": 3, "review_round": 0}})
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    first = inst["tasks"][0]["id"]

    browser = app.test_client()
    page = browser.get("/login")
    r = browser.post("/login", data={"username": "invest-clerk", "password": "demo",
                                     "csrf_token": _csrf(page.text)})
    assert r.status_code == 302
    assert browser.get("/tasks").status_code == 200

    db = app.extensions["kunflow"].db
    in_flight = db.connect()  # a request in the middle of its transaction when the server goes
    in_flight.execute(sa.text("SELECT 1"))
    poller = Poller(app, drc)
    poller.start()
    caplog.set_level(logging.INFO)
    try:
        time.sleep(0.2)
        cluster.stop()
        down_from = len(poller.statuses)

        with pytest.raises(sa.exc.OperationalError) as cut:
            in_flight.execute(sa.text("SELECT 1"))
        assert database_unavailable(cut.value)
        in_flight.close()

        # The API: the JSON error, for reading and for a completion.
        _assert_unavailable(client.get("/api/v1/tasks", headers=invest))
        _assert_unavailable(client.post(f"/api/v1/tasks/{first}/complete", headers=invest,
                                        json={"data": {}}), DATABASE_UNAVAILABLE_WRITE)
        # A page: an HTML page with the message, without the signed-in header (it reads the
        # database) and without a trace of the error.
        r = browser.get("/tasks", headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 503 and r.mimetype == "text/html"
        assert DATABASE_UNAVAILABLE_READ in r.text and "服务暂时不可用" in r.text
        assert "Traceback" not in r.text and "psycopg" not in r.text
        # The scheduler's timer run is skipped with one line; the next run tries again.
        jobs = _jobs(app)
        assert jobs["timers"]() is None

        time.sleep(0.3)
        assert 503 in poller.statuses[down_from:]
        cluster.start()
        up_from = len(poller.statuses)

        # Back by itself: the pool drops its dead connections (pre-ping) and reconnects.
        r = client.post(f"/api/v1/tasks/{first}/complete", headers=invest, json={"data": {}})
        assert r.status_code == 200, r.get_json()
        assert browser.get("/tasks").status_code == 200
        assert jobs["timers"]() == 0
        time.sleep(0.3)
    finally:
        poller.stop.set()
        poller.join(timeout=30)
    assert set(poller.statuses) <= {200, 503}, sorted(set(poller.statuses))
    assert poller.statuses[up_from:] and set(poller.statuses[up_from + 2:]) <= {200}

    outages = [rec for rec in caplog.records if "database unavailable" in rec.getMessage()]
    assert len(outages) >= 4
    assert all("\n" not in rec.getMessage() for rec in outages)
    assert any("job fire_timers skipped" in rec.getMessage() for rec in outages)
    assert not [rec for rec in caplog.records if rec.exc_info], "a stack trace was logged"


def _jobs(app) -> dict:
    """The scheduler's jobs as ``kunflow run`` registers them, to run by hand."""

    class Collect:
        def __init__(self):
            self.jobs = {}

        def add_job(self, func, *_args, args=(), id=None, **_kwargs):  # noqa: A002
            self.jobs[id] = lambda: func(*args)

    collect = Collect()
    register_jobs(collect, app.extensions["kunflow"], app.extensions["kunflow.access"])
    return collect.jobs
