"""SQLite's disk full: a completion answers 503 with a clear message, changes nothing, and the
same completion succeeds once there is room again.

The disk is "filled" with ``PRAGMA max_page_count`` set to the file's current size on every
connection the app takes from its pool: SQLite then fails the first page it would add with
SQLITE_FULL, "database or disk is full", the error a full disk gives."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from sqlalchemy import event

from tests.system.support import bearer
from web import create_app
from web.auth import passwords
from web.errors import DATABASE_UNAVAILABLE_WRITE
from web.provision import initialize

# Rows a request writes whatever it does (sign-in bookkeeping), left out of "nothing changed".
SESSION_TABLES = {"auth_token", "user_session", "login_attempt"}
BIG_NOTE = "审查意见：材料齐全，符合要求。" * 8000  # ~360 KB: the step needs new pages


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))


class Disk:
    """``full()`` / ``room()``: cap every pooled connection's database at its current size."""

    def __init__(self, db: sa.Engine):
        self.db = db
        self.cap: int | None = None
        with db.connect() as conn:
            self.unlimited = conn.exec_driver_sql("PRAGMA max_page_count").scalar()
        event.listen(db, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection, _record, _proxy) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {self.cap or self.unlimited}")
        cursor.close()

    def full(self) -> None:
        with self.db.connect() as conn:
            self.cap = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def room(self) -> None:
        self.cap = None


@pytest.fixture
def app(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'kunflow.db'}",
                      "SCHEDULER": False, "SECRET_KEY": "disk-full-test", "DEMO": True})
    initialize(app.extensions["kunflow"], app.extensions["kunflow.settings"])
    yield app
    app.extensions["kunflow"].close()


def _snapshot(db: sa.Engine) -> dict[str, list]:
    """Every row of every table but the sign-in bookkeeping."""
    with db.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n not in SESSION_TABLES]
        return {n: sorted(map(tuple, conn.exec_driver_sql(f'SELECT * FROM "{n}"').all()), key=repr)
                for n in names}


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _review_task(client, headers, instance_id) -> str:
    r = client.get("/api/v1/tasks", headers=headers,
                   query_string={"scope": "department", "instance_id": instance_id})
    assert r.status_code == 200, r.get_json()
    (item,) = r.get_json()["items"]
    return item["id"]


def test_completion_on_a_full_disk_answers_503_and_changes_nothing(app, caplog):
    client = app.test_client()
    invest, drc = bearer(client, "invest-clerk"), bearer(client, "drc-clerk")
    r = client.post("/api/v1/instances", headers=invest, json={
        "process_key": "sample_loop", "business_key": "DISK-1", "title": "磁盘已满",
        "data": {"target_rounds": 3, "review_round": 0}})
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    r = client.post(f"/api/v1/tasks/{inst['tasks'][0]['id']}/complete", headers=invest,
                    json={"data": {}})
    assert r.status_code == 200, r.get_json()
    tid = _review_task(client, drc, inst["id"])
    body = {"data": {"review_round": 1, "review_note": BIG_NOTE}}

    db = app.extensions["kunflow"].db
    disk = Disk(db)
    disk.full()
    before = _snapshot(db)
    caplog.set_level(logging.ERROR)
    for _ in range(2):  # a retry while the disk is still full fails the same way
        r = client.post(f"/api/v1/tasks/{tid}/complete", headers=drc, json=body)
        assert r.status_code == 503, r.get_json()
        assert r.headers["Retry-After"].isdigit()
        assert r.get_json()["error"]["code"] == "service_unavailable"
        assert r.get_json()["error"]["message"] == DATABASE_UNAVAILABLE_WRITE
        assert re.search(r"[\u4e00-\u9fff]", r.get_json()["error"]["message"])
    # Nothing half-written: instance, task rows, events, outbox … all as before (one
    # transaction, rolled back).
    assert _snapshot(db) == before
    # The log says why, in one line per request, without a stack trace.
    outages = [rec for rec in caplog.records if "database unavailable" in rec.getMessage()]
    assert len(outages) == 2
    assert all(rec.exc_info is None and "\n" not in rec.getMessage() for rec in outages)
    assert "database or disk is full" in outages[0].getMessage()
    assert not [rec for rec in caplog.records if rec.exc_info]

    # The task page: it still opens (reading needs no room), and its form's submission gets
    # the message to show beside the form, which keeps what was typed.
    browser = app.test_client()
    page = browser.get("/login")
    r = browser.post("/login", data={"username": "drc-clerk", "password": "demo",
                                     "csrf_token": _csrf(page.text)})
    assert r.status_code == 302
    page = browser.get(f"/tasks/{tid}")
    assert page.status_code == 200
    r = browser.post(f"/tasks/{tid}/submit", json=body,
                     headers={"X-CSRF-Token": _csrf(page.text), "Accept": "application/json"})
    assert r.status_code == 503
    assert r.get_json()["error"]["message"] == DATABASE_UNAVAILABLE_WRITE
    assert _snapshot(db) == before

    disk.room()
    r = client.post(f"/api/v1/tasks/{tid}/complete", headers=drc, json=body)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "completed"
    with db.connect() as conn:
        kinds = conn.execute(sa.text(
            "SELECT kind FROM event WHERE task_id = :t"), {"t": tid}).scalars().all()
    assert kinds.count("task_completed") == 1
    # The loop goes on: the next round's review is open, the instance loads.
    assert _review_task(client, drc, inst["id"]) != tid
    r = client.get(f"/api/v1/instances/{inst['id']}", headers=drc)
    assert r.status_code == 200 and r.get_json()["status"] == "running"
