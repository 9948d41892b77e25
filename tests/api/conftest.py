"""API fixtures, flaskr style: app -> client -> token(username) / as_user(username).

Helpers are fixtures (``error_of``, ``make_app``): test modules here are not a package.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

from web import create_app
from web.auth import passwords
from web.provision import initialize

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2 with the cheapest parameters: the suite logs in hundreds of times, and a hash's
    verification cost is set by the parameters it was made with."""
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))


@pytest.fixture
def root() -> Path:
    """The repository root (bpmn/, tests/fixtures/)."""
    return ROOT


def make_app(db_url: str, **settings):
    """An app on ``db_url`` after the equivalent of ``kunflow init``."""
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "SCHEDULER": False,
            "SECRET_KEY": "test-secret",
            "DEMO": True,
            **settings,
        }
    )
    initialize(app.extensions["kunflow"], app.extensions["kunflow.settings"])
    return app


@pytest.fixture
def app_factory(db_url):
    """``app_factory(DEMO=False, ...)``: another initialized app on the same kind of database."""
    apps = []

    def build(**settings):
        apps.append(make_app(db_url, **settings))
        return apps[-1]

    yield build
    for a in apps:
        a.extensions["kunflow"].close()


@pytest.fixture
def app(db_url):
    app = make_app(db_url)
    yield app
    app.extensions["kunflow"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(client):
    """``token("invest-clerk")``: a bearer token of that demo user (cached per test)."""
    tokens: dict[str, str] = {}

    def get(username: str) -> str:
        if username not in tokens:
            r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            assert r.status_code == 200, r.get_json()
            tokens[username] = r.get_json()["token"]
        return tokens[username]

    return get


class UserClient:
    """The test client with one user's bearer token on every request."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self.headers, **kw)


@pytest.fixture
def as_user(client, token):
    return lambda username: UserClient(client, token(username))


@pytest.fixture
def admin(as_user):
    return as_user("admin")


@pytest.fixture
def deploy(admin, root):
    """``deploy("review_chain")``: upload a fixture diagram as the admin, over the API."""

    def run(name: str) -> dict:
        path = root / "tests" / "fixtures" / "bpmn" / f"{name}.bpmn"
        with path.open("rb") as fh:
            r = admin.post(
                "/api/v1/definitions",
                data={"file": (fh, f"{name}.bpmn")},
                content_type="multipart/form-data",
            )
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    return run


def _error_of(response) -> dict:
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


@pytest.fixture
def error_of():
    """``error_of(response)``: the JSON error body, after checking its shape.

    A fixture, not an importable function: the test directories are not packages.
    """
    return _error_of


@pytest.fixture
def dashboard_app(app):
    """Four projects in the 驾驶舱's tables (stages 3, 3, 7, 11; one red, one a head's), one
    stage span; the forecast's cache cleared around the test."""
    from tests.api.test_dashboard_pages import project
    from workflows.dashboard import forecast
    from workflows.dashboard.tables import dash_project, dash_stage_span

    forecast.clear_cache()
    engine = app.extensions["kunflow"]
    with engine.unit_of_work() as uow:
        for row in [project(1, 3), project(2, 3, light="red", planned_start=date(2025, 5, 1)),
                    project(3, 7, lead_department="drc", street="buerhantu"),
                    project(4, 11, light="yellow", is_key=True)]:
            uow.conn.execute(dash_project.insert().values(**row))
        uow.conn.execute(dash_stage_span.insert().values(
            instance_id=3, stage="前期手续", stage_number=7, project_type="file",
            entered_at=datetime(2025, 6, 2, 2)))
        uow.commit()
    yield app
    forecast.clear_cache()
