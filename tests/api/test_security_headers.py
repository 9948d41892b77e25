"""Security headers on every kind of response: a page, an API response, error pages (404, 403;
HTML and JSON), an attachment download (whose sandbox policy stays); ``Secure`` cookies and
HSTS when served over HTTPS; no ``Server`` banner from gunicorn."""

from __future__ import annotations

import io
import re

import pytest
from gunicorn.http import wsgi as gunicorn_wsgi

from config import settings as settings_module
from web.server import Server

PDF = b"%PDF-1.4\n%%EOF\n"


def directives(policy: str) -> dict[str, str]:
    return dict((part.strip() + " ").split(" ", 1) for part in policy.split(";"))


def assert_hardened(response, *, page: bool) -> None:
    h = response.headers
    policy = directives(h["Content-Security-Policy"])
    assert policy["frame-ancestors"].strip() == "'none'"
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert "Server" not in h and "Strict-Transport-Security" not in h
    if page:
        # The bundle from this origin runs (bpmn-js, form-js); inline or eval'd script never.
        assert policy["script-src"].strip() == "'self'"
        assert policy["default-src"].strip() == "'self'"
        assert policy["object-src"].strip() == "'none'"
        assert "unsafe-eval" not in h["Content-Security-Policy"]
    else:
        assert policy["default-src"].strip() == "'none'"


@pytest.fixture
def app(app_factory, tmp_path):
    return app_factory(ATTACHMENT_DIR=str(tmp_path / "attachments"))


def token_headers(client, username: str) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def page_client(app, username: str):
    client = app.test_client()
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"username": username, "password": "demo",
                                    "csrf_token": csrf})
    assert r.status_code == 302
    return client


def test_pages_api_responses_and_error_pages_carry_the_headers(app, error_of):
    client = app.test_client()
    login_page = client.get("/login")
    assert login_page.status_code == 200 and login_page.mimetype == "text/html"
    assert_hardened(login_page, page=True)

    invest = token_headers(client, "invest-clerk")
    me = client.get("/api/v1/me", headers=invest)
    assert me.status_code == 200 and me.is_json
    assert_hardened(me, page=False)
    started = client.post("/api/v1/instances", headers=invest,
                          json={"process_key": "sample_review", "title": "新材料项目预审"})
    assert started.status_code == 201
    assert_hardened(started, page=False)
    task_id = started.get_json()["tasks"][0]["id"]

    unauthorized = client.get("/api/v1/me")
    assert unauthorized.status_code == 401 and error_of(unauthorized)["code"] == "unauthorized"
    assert_hardened(unauthorized, page=False)
    missing_api = client.get("/api/v1/no-such-thing", headers=invest)
    assert missing_api.status_code == 404 and error_of(missing_api)["code"] == "not_found"
    assert_hardened(missing_api, page=False)

    drc = page_client(app, "drc-clerk")
    tasks = drc.get("/tasks")
    assert tasks.status_code == 200 and tasks.mimetype == "text/html"
    assert_hardened(tasks, page=True)
    missing_page = drc.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing_page.status_code == 404 and missing_page.mimetype == "text/html"
    assert_hardened(missing_page, page=True)
    forbidden_page = drc.get(f"/tasks/{task_id}", headers={"Accept": "text/html"})
    assert forbidden_page.status_code == 403 and forbidden_page.mimetype == "text/html"
    assert_hardened(forbidden_page, page=True)
    forbidden_api = drc.get(f"/api/v1/tasks/{task_id}")
    assert forbidden_api.status_code == 403 and error_of(forbidden_api)["code"] == "forbidden"
    assert_hardened(forbidden_api, page=False)

    script = client.get("/static/dist/kunflow.js")
    assert script.status_code == 200
    assert_hardened(script, page=False)
    script.close()


def test_a_download_keeps_its_sandbox_and_gets_the_other_headers(app):
    client = app.test_client()
    invest = token_headers(client, "invest-clerk")
    started = client.post("/api/v1/instances", headers=invest,
                          json={"process_key": "sample_review", "title": "新材料项目预审"})
    task_id = started.get_json()["tasks"][0]["id"]
    uploaded = client.post(f"/api/v1/tasks/{task_id}/attachments", headers=invest,
                           data={"file": (io.BytesIO(PDF), "线索.pdf")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    att = uploaded.get_json()["attachment"]
    page = page_client(app, "invest-clerk")
    for get in (
        lambda: client.get(att["content_url"], headers=invest),
        lambda: page.get(f"/attachments/{att['id']}"),
    ):
        response = get()
        assert response.status_code == 200 and response.data == PDF
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        response.close()


def test_cookies_are_secure_and_hsts_is_sent_when_served_over_https(app_factory):
    plain = app_factory().test_client()
    r = plain.post("/api/v1/auth/login", json={"username": "eco-clerk", "password": "demo"})
    assert "Secure" not in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in r.headers

    https = app_factory(SECURE_COOKIES=True).test_client()
    r = https.post("/api/v1/auth/login", json={"username": "eco-clerk", "password": "demo"},
                   base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    page = https.get("/tasks", base_url="https://localhost")
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"


class _Request:
    version = (1, 1)
    method = "GET"

    def should_close(self) -> bool:
        return False


class _Socket:
    def __init__(self):
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def test_the_server_sends_no_banner(tmp_path):
    # What `kunflow run` builds (without serving): gunicorn answers without naming itself.
    settings = settings_module.load({"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
                                     "SECRET_KEY": "test-secret", "SCHEDULER": False})
    server = Server(settings)
    sock = _Socket()
    response = gunicorn_wsgi.Response(_Request(), sock, server.cfg)
    response.start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    response.write(b"ok")
    head = sock.sent.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower().splitlines()
    assert head[0] == "http/1.1 200 ok"
    assert "content-type: text/plain" in head
    assert not [line for line in head if line.startswith("server:")]
