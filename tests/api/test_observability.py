"""Observability: every request gets an id (the caller's X-Request-ID when it is a plain token),
answered in the header and carried by the log records written during the request; /healthz and
/readyz for load balancers (database, scheduler heartbeat); Prometheus metrics at /metrics
(request latency by route, completions, waiting work), for this machine or a bearer token.

One app on SQLite for the module; the database-down case is an app on a PostgreSQL address
where nothing listens."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from argon2 import PasswordHasher, profiles

from engine import utcnow
from web import create_app
from web.auth import passwords
from web.observability.logs import make_formatter
from web.provision import initialize

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        # the demo users' passwords hashed cheaply (as tests/api/conftest.py does per test)
        hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
        mp.setattr(passwords, "_hasher", hasher)
        mp.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))
        root = tmp_path_factory.mktemp("obs")
        app = create_app({"DATABASE_URL": f"sqlite:///{root / 'kunflow.db'}",
                          "SCHEDULER": False, "SECRET_KEY": "obs-test", "DEMO": True,
                          "ATTACHMENT_DIR": str(root / "attachments"),
                          "METRICS_TOKEN": "scrape-secret"})
        initialize(app.extensions["kunflow"], app.extensions["kunflow.settings"])
        yield app
    app.extensions["kunflow"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def no_heartbeats(app):
    """Each test starts without heartbeat rows and leaves none behind."""
    from engine.model import heartbeat  # the test reaches the table the engine writes

    def clear():
        with app.extensions["kunflow"].db.begin() as conn:
            conn.execute(heartbeat.delete())

    clear()
    yield
    clear()


def beat(app, node: str, ago: timedelta = timedelta(0)) -> None:
    """A scheduler heartbeat of ``node`` written ``ago`` (the clock travels back to write it)."""
    engine = app.extensions["kunflow"]
    with time_machine.travel(datetime.now(UTC) - ago, tick=False):
        engine.beat(f"scheduler@{node}", "scheduler", node, 4242, utcnow())


# ------------------------------------------------------------------ request id, logs


def test_the_callers_request_id_is_answered_and_on_the_requests_log_records(client, caplog):
    caplog.set_level(logging.INFO, logger="kunflow.access")
    r = client.get("/api/v1/tasks?token=very-secret", headers={"X-Request-ID": "lb-7f3a.01"})
    assert r.status_code == 401
    assert r.headers["X-Request-ID"] == "lb-7f3a.01"
    [record] = [rec for rec in caplog.records if rec.name == "kunflow.access"]
    assert record.request_id == "lb-7f3a.01"
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/tasks", 401)
    assert record.route == "/api/v1/tasks" and record.user is None
    # the JSON line an operator's log shipper reads: no query string, so no secret
    line = make_formatter("json").format(record)
    entry = json.loads(line)
    assert {"ts", "level", "logger", "message", "request_id", "method", "path", "status",
            "duration_ms", "user"} <= entry.keys()
    assert entry["level"] == "INFO" and entry["logger"] == "kunflow.access"
    assert entry["request_id"] == "lb-7f3a.01" and entry["status"] == 401
    assert "very-secret" not in line
    assert datetime.fromisoformat(entry["ts"]).tzinfo is not None


@pytest.mark.parametrize("given", ["", "has space", "x" * 200, "quote\"d", "<script>"])
def test_an_unfit_request_id_is_replaced_by_a_new_one(client, given):
    r = client.get("/healthz", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])


def test_each_request_without_an_id_gets_its_own(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_records_of_the_signed_in_user_name_them_and_records_outside_requests_have_none(
        client, app, caplog):
    caplog.set_level(logging.INFO, logger="kunflow.access")
    token = client.post("/api/v1/auth/token",
                        json={"username": "invest-clerk", "password": "demo"}).get_json()["token"]
    r = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}",
                                            "X-Request-ID": "rid-user"})
    assert r.status_code == 200
    [record] = [rec for rec in caplog.records if rec.request_id == "rid-user"]
    assert record.user == "invest-clerk"
    logging.getLogger("kunflow.test").warning("outside any request")
    assert caplog.records[-1].request_id == "-"


def test_probes_that_succeed_stay_out_of_the_info_access_log(client, no_heartbeats, caplog):
    caplog.set_level(logging.INFO, logger="kunflow.access")
    assert client.get("/healthz", headers={"X-Request-ID": "lb-ok"}).status_code == 200
    assert client.get("/readyz", headers={"X-Request-ID": "lb-fail"}).status_code == 503
    logged = {rec.request_id: rec.status for rec in caplog.records
              if rec.name == "kunflow.access"}
    assert logged == {"lb-fail": 503}


def test_text_lines_end_with_the_request_id():
    record = logging.LogRecord("kunflow.x", logging.INFO, __file__, 1, "完成 %s", ("任务",), None)
    record.request_id = "abc"
    assert make_formatter("text").format(record).endswith("kunflow.x: 完成 任务 [abc]")
    with pytest.raises(ValueError, match="KUNFLOW_LOG_FORMAT"):
        make_formatter("yaml")


# ------------------------------------------------------------------ health


def test_healthz_answers_without_login_session_or_database(client):
    r = client.get("/healthz", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_with_the_database_and_a_fresh_scheduler_heartbeat(
        client, app, no_heartbeats):
    beat(app, "node-b", ago=timedelta(seconds=20))
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["scheduler"]["ok"] is True
    assert body["checks"]["scheduler"]["scope"] == "any_node"  # this app runs no scheduler
    assert 19 <= body["checks"]["scheduler"]["age_seconds"] < 120
    assert "Set-Cookie" not in r.headers


def test_readyz_is_503_when_the_only_heartbeat_is_stale(client, app, no_heartbeats):
    beat(app, "node-b", ago=timedelta(minutes=10))
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "not_ready" and body["failed"] == ["scheduler"]
    assert body["checks"]["scheduler"]["code"] == "heartbeat_stale"
    assert "调度器心跳" in body["message"]
    assert "node-b" not in r.text  # no host names


def test_readyz_is_503_without_any_heartbeat(client, no_heartbeats):
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["scheduler"]["code"] == "heartbeat_missing"


def test_a_node_that_runs_a_scheduler_is_ready_only_with_its_own_heartbeat(app, no_heartbeats):
    node = app.extensions["kunflow.node"]
    settings = app.extensions["kunflow.settings"]
    client = app.test_client()
    beat(app, "another-node")
    try:
        settings["SCHEDULER"] = True  # as a node with SCHEDULER=1 (its scheduler not started)
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.get_json()["checks"]["scheduler"]["scope"] == "this_node"
        beat(app, node, ago=timedelta(seconds=5))
        assert client.get("/readyz").status_code == 200
    finally:
        settings["SCHEDULER"] = False


@pytest.fixture(scope="module")
def app_without_database(tmp_path_factory):
    """An app whose database (PostgreSQL on a port where nothing listens) is down."""
    root = tmp_path_factory.mktemp("nodb")
    app = create_app({"DATABASE_URL": "postgresql://kunflow@127.0.0.1:9/kunflow",
                      "SCHEDULER": False, "SECRET_KEY": "obs-test",
                      "ATTACHMENT_DIR": str(root / "attachments")})
    yield app
    app.extensions["kunflow"].close()


def test_readyz_is_503_when_the_database_is_down_and_healthz_still_200(app_without_database):
    client = app_without_database.test_client()
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["failed"] == ["database", "scheduler"]
    assert body["checks"]["database"]["code"] == "database_unreachable"
    assert body["checks"]["scheduler"]["code"] == "database_required"
    assert "数据库" in body["message"]
    assert "127.0.0.1" not in r.text and "kunflow@" not in r.text  # no address, no user


def test_metrics_say_the_database_is_down_and_still_answer(app_without_database):
    r = app_without_database.test_client().get("/metrics")
    assert r.status_code == 200
    assert sample(r.text, "kunflow_database_up") == 0
    assert "kunflow_incidents_open" not in r.text


# ------------------------------------------------------------------ metrics


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample of the exposition text (None when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if found == {k: str(v) for k, v in labels.items()}:
            return float(m.group(3))
    return None


def test_metrics_have_the_latency_histogram_by_route_after_requests(client):
    before = sample(client.get("/metrics").text, "kunflow_http_request_duration_seconds_count",
                    method="GET", route="/api/v1/tasks/<task_id>", status="4xx") or 0
    for task_id in ("a", "b", "c"):
        assert client.get(f"/api/v1/tasks/{task_id}").status_code == 401
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    after = sample(r.text, "kunflow_http_request_duration_seconds_count",
                   method="GET", route="/api/v1/tasks/<task_id>", status="4xx")
    assert after == before + 3  # one series for the route, not one per path
    assert sample(r.text, "kunflow_http_request_duration_seconds_bucket", le="+Inf",
                  method="GET", route="/api/v1/tasks/<task_id>", status="4xx") == after
    assert '/api/v1/tasks/a"' not in r.text


def test_a_completion_counts_and_the_open_task_gauge_follows(client):
    token = client.post("/api/v1/auth/token",
                        json={"username": "invest-clerk", "password": "demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    text = client.get("/metrics").text
    completed = sample(text, "kunflow_task_completions_total", process="sample_review") or 0
    ready = sample(text, "kunflow_tasks_open", state="ready")
    inst = client.post("/api/v1/instances", json={"process_key": "sample_review"},
                       headers=auth).get_json()
    assert sample(client.get("/metrics").text, "kunflow_tasks_open", state="ready") == ready + 1
    r = client.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", headers=auth)
    assert r.status_code == 200, r.get_json()
    text = client.get("/metrics").text
    assert sample(text, "kunflow_task_completions_total", process="sample_review") == completed + 1
    assert sample(text, "kunflow_database_up") == 1
    for gauge in ("kunflow_incidents_open", "kunflow_timers_due",
                  "kunflow_timer_firing_lag_seconds", "kunflow_notice_deliveries_pending",
                  "kunflow_messages_pending"):
        assert sample(text, gauge) is not None, gauge


def test_metrics_show_each_nodes_heartbeat_age(client, app, no_heartbeats):
    beat(app, "node-a", ago=timedelta(seconds=90))
    age = sample(client.get("/metrics").text, "kunflow_scheduler_heartbeat_age_seconds",
                 node="node-a")
    assert 90 <= age < 100


def test_metrics_are_refused_from_elsewhere_without_the_token(client):
    r = client.get("/metrics", environ_base=ELSEWHERE)
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "metrics_forbidden"
    assert "kunflow_" not in r.text
    wrong = client.get("/metrics", environ_base=ELSEWHERE,
                       headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 403
    r = client.get("/metrics", environ_base=ELSEWHERE,
                   headers={"Authorization": "Bearer scrape-secret"})
    assert r.status_code == 200 and "kunflow_database_up" in r.text
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_without_a_token_set_only_this_machine_may_scrape():
    from web.observability.metrics import may_scrape

    assert may_scrape("127.0.0.1", None, "")
    assert may_scrape("::ffff:127.0.0.1", None, "")
    assert not may_scrape("10.0.0.5", "Bearer ", "")
    assert not may_scrape("10.0.0.5", "Bearer anything", "")
    assert not may_scrape(None, None, "")
