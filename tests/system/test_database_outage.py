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
from collections import Counter
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles

from engine import database_unavailable
from tests.system.support import Server, bearer, loop_cases, token
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
    invest, drc = bearer(client, "invest-clerk"), bearer(client, "drc-clerk")
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


def test_a_live_server_rides_out_a_postgresql_restart(cluster, tmp_path):
    """The same through ``kunflow run`` (gunicorn, its threads, its scheduler) with clients
    completing tasks all along: while the server is down only 503s (no 500, no dropped
    connection), afterwards only successes, and no completion lost or doubled."""
    admin = sa.create_engine(cluster.url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE live_server")
    admin.dispose()
    url = cluster.url.rsplit("/", 1)[0] + "/live_server"
    server = Server(url, tmp_path)
    server.start()
    try:
        base = server.url
        invest, drc = token(base, "invest-clerk"), token(base, "drc-clerk")
        instances = loop_cases(base, invest, 3, "RESTART", "数据库重启")

        log: list[tuple[str, int, str]] = []  # (phase, status, body) of every answer
        acknowledged: list[str] = []
        phase = ["up"]
        stop = threading.Event()

        def client(iid: int) -> None:
            session = requests.Session()
            round_no = 0
            while not stop.is_set():
                r = session.get(f"{base}/api/v1/tasks", headers=drc, timeout=30,
                                params={"scope": "department", "instance_id": iid})
                log.append((phase[0], r.status_code, r.text[:300]))
                if r.status_code != 200 or not r.json()["items"]:
                    time.sleep(0.05)
                    continue
                round_no += 1
                tid = r.json()["items"][0]["id"]
                r = session.post(f"{base}/api/v1/tasks/{tid}/complete", headers=drc,
                                 json={"data": {"review_round": round_no}}, timeout=30)
                log.append((phase[0], r.status_code, r.text[:300]))
                if r.status_code == 200:
                    acknowledged.append(tid)

        threads = [threading.Thread(target=client, args=(iid,)) for iid in instances]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            cluster.stop()
            phase[0] = "down"
            time.sleep(1.5)
            phase[0] = "starting"
            cluster.start()
            phase[0] = "back"
            at_restart = len(acknowledged)
            deadline = time.monotonic() + 60
            while len(acknowledged) < at_restart + 20:
                assert time.monotonic() < deadline, "completions did not resume"
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
    finally:
        server.stop()

    statuses = {(p, s) for p, s, _ in log}
    assert {s for _, s in statuses} <= {200, 503}, [e for e in log if e[1] not in (200, 503)][:3]
    assert ("down", 503) in statuses
    for _phase, s, body in log:
        if s == 503:
            assert "数据库暂时不可用" in body, body
    # Once back, only successes (past the answers already on their way at the restart).
    back = [s for p, s, _ in log if p == "back"]
    assert back[len(threads) * 2:] and set(back[len(threads) * 2:]) == {200}
    server_log = next(tmp_path.glob("server-*.log")).read_text()
    assert "database unavailable" in server_log
    assert "Traceback" not in server_log

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            done = Counter(conn.execute(sa.text(
                "SELECT task_id FROM event WHERE kind = 'task_completed'")).scalars())
            states = dict(conn.execute(sa.text("SELECT id, state FROM task")).all())
    finally:
        engine.dispose()
    assert all(states[t] == "completed" and done[t] == 1 for t in acknowledged)
    assert all(n == 1 for n in done.values())
