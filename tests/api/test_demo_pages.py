"""Every page of the demo answers: the case page of every demo case, for admin and for a user of
the department that started it (or that works on it), with the API endpoints and the diagram
the case page reads; the task page of every demo task (open, completed and cancelled), with its
API endpoints, for a user of the task's department; and every task list of those users.

The demo (seed 2026, ``demo_database`` in tests/conftest.py) is loaded once per session; the
clock stands at the demo's "today" (28 November 2026) while the pages are read. Only on SQLite
(the embedded default's demo)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine.model import app_user, instance, task
from web import create_app
from workflows.demo import TODAY

TODAY_UTC = (TODAY - timedelta(hours=8)).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_app(demo_database):
    url, env, _output = demo_database
    with time_machine.travel(TODAY_UTC, tick=False):
        app = create_app({"DATABASE_URL": url, "SCHEDULER": False, "SECRET_KEY": "demo-pages",
                          "DEMO": True, "ATTACHMENT_DIR": env["KUNFLOW_ATTACHMENT_DIR"]})
        yield app
        app.extensions["kunflow"].db.dispose()


@pytest.fixture(scope="module")
def demo_rows(demo_app):
    """(cases: id -> the department of the user who started it, tasks: (id, instance id,
    department, state) case by case)."""
    db = demo_app.extensions["kunflow"].db
    with db.connect() as conn:
        cases = dict(conn.execute(
            sa.select(instance.c.id, app_user.c.department_code)
            .outerjoin(app_user, app_user.c.username == instance.c.started_by)
            .order_by(instance.c.id)).all())
        tasks = conn.execute(
            sa.select(task.c.id, task.c.instance_id, task.c.department_code, task.c.state)
            .order_by(task.c.instance_id, task.c.created_at, task.c.id)).all()
    return cases, tasks


@pytest.fixture(scope="module")
def browser(demo_app):
    """``browser(username)``: a test client logged in through the login form (one per user)."""
    clients = {}

    def get(username: str):
        if username not in clients:
            client = demo_app.test_client()
            page = client.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            response = client.post("/login", data={"username": username, "password": "demo",
                                                   "csrf_token": csrf})
            assert response.status_code == 302, (username, response.status_code)
            clients[username] = client
        return clients[username]

    return get


def _failures(client, username: str, urls) -> list[tuple[str, str, int]]:
    """Every URL that does not answer 200 to ``username``."""
    out = []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            out.append((username, url, response.status_code))
        response.close()
    return out


def _case_urls(iid: int) -> list[str]:
    api = f"/api/v1/instances/{iid}"
    return [f"/cases/{iid}", f"/cases/{iid}/diagram.xml", api, f"{api}/events", f"{api}/tasks",
            f"{api}/diagram", f"{api}/related", f"{api}/attachments"]


def test_every_demo_case_page_renders_for_admin_and_its_department(demo_rows, browser):
    cases, tasks = demo_rows
    touched = defaultdict(list)
    for t in tasks:
        if t.department_code:
            touched[t.instance_id].append(t.department_code)
    failures, seen = [], 0
    for iid, starter_department in cases.items():
        department = starter_department or (touched[iid] or [None])[0]
        users = ["admin"] + ([f"{department}-clerk"] if department else [])
        for username in users:
            failures += _failures(browser(username), username, _case_urls(iid))
            seen += 1
    # 72 cases, 13 whistles of the other 街镇 and 15 cases started from register entries
    assert len(cases) == 101 and seen > 2 * 99
    assert not failures, failures[:20]


def test_every_demo_task_page_renders_for_its_department(demo_rows, browser):
    _cases, tasks = demo_rows
    failures = []
    for t in tasks:
        username = f"{t.department_code}-clerk" if t.department_code else "admin"
        api = f"/api/v1/tasks/{t.id}"
        urls = [f"/tasks/{t.id}", api]
        if t.state in ("ready", "claimed"):  # the page reads these for a closed task too
            urls += [f"{api}/context", f"{api}/pauses"]
        failures += _failures(browser(username), username, urls)
    assert len(tasks) > 1000 and sum(t.state in ("ready", "claimed") for t in tasks) > 70
    assert not failures, failures[:20]


def test_every_task_list_renders_for_the_demo_users(demo_rows, browser):
    _cases, tasks = demo_rows
    users = sorted({f"{t.department_code}-clerk" for t in tasks if t.department_code}
                   | {"admin", "supervisor", "leader"})
    failures = []
    for username in users:
        failures += _failures(browser(username), username, [
            f"/tasks?view={view}" for view in ("mine", "department", "done", "started")] + [
            f"/api/v1/tasks?scope={scope}" for scope in ("mine", "department", "done")])
    assert not failures, failures[:20]
