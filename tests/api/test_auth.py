"""Bearer tokens, session cookies with CSRF, the demo password, the login rate limit."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from web.auth.passwords import hash_password


def test_token_issued_with_user(client):
    r = client.post("/api/v1/auth/token", json={"username": "invest-clerk", "password": "demo"})
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"token", "token_type", "expires_at", "user"}
    assert body["token_type"] == "Bearer" and len(body["token"]) >= 40
    assert body["expires_at"].endswith("Z")
    assert body["user"] == {
        "username": "invest-clerk",
        "display_name": "徐鹏",
        "department_code": "invest",
        "roles": ["caseworker"],
        "active": True,
    }
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200 and r.get_json()["username"] == "invest-clerk"


def test_token_stored_only_as_digest(client, app):
    token = client.post(
        "/api/v1/auth/token", json={"username": "drc-clerk", "password": "demo"}
    ).get_json()["token"]
    engine = app.extensions["kunflow"]
    assert engine.user_for_token(token) is None
    assert engine.user_for_token(hashlib.sha256(token.encode()).hexdigest()).username == "drc-clerk"


def test_without_or_with_bad_token_401(client, error_of):
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
    ):
        for path in ("/api/v1/me", "/api/v1/tasks", "/api/v1/definitions", "/api/v1/instances/1"):
            r = client.get(path, headers=headers)
            assert r.status_code == 401, (headers, path)
            assert error_of(r)["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.post("/api/v1/instances", json={"process_key": "sample_review"})
    assert r.status_code == 401


def test_bad_credentials_same_message(client, error_of):
    wrong = client.post("/api/v1/auth/token", json={"username": "invest-clerk", "password": "x"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown)
    assert error_of(wrong)["code"] == "invalid_credentials"


def test_demo_password_refused_outside_demo_mode(app_factory, error_of):
    app = app_factory(DEMO=False)
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": "invest-clerk", "password": "demo"})
    assert r.status_code == 401
    err = error_of(r)
    assert err["code"] == "demo_password_disabled" and "演示" in err["message"]
    # Outside demo mode init set no passwords; an admin sets a real one.
    engine = app.extensions["kunflow"]
    user = engine.get_user("invest-clerk")
    assert user.password_hash is None
    engine.sync_org([], [replace(user, password_hash=hash_password("S3cure-pass"))])
    r = client.post(
        "/api/v1/auth/token", json={"username": "invest-clerk", "password": "S3cure-pass"}
    )
    assert r.status_code == 200
    r = client.post("/api/v1/auth/login", json={"username": "invest-clerk", "password": "demo"})
    assert r.status_code == 401 and error_of(r)["code"] == "demo_password_disabled"


def test_login_rate_limited(client, error_of):
    # tests/api/test_login_throttle.py has the rules; five failures are free by default.
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "eco-clerk", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "eco-clerk", "password": "demo"})
    assert r.status_code == 429 and error_of(r)["code"] == "too_many_requests"
    assert int(r.headers["Retry-After"]) > 0
    # Other users are not affected.
    r = client.post("/api/v1/auth/token", json={"username": "eco-head", "password": "demo"})
    assert r.status_code == 200


def test_session_login_needs_csrf_for_writes(client, error_of):
    r = client.post("/api/v1/auth/login", json={"username": "invest-clerk", "password": "demo"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["user"]["username"] == "invest-clerk"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    assert client.get("/api/v1/me").get_json()["username"] == "invest-clerk"
    assert client.get("/api/v1/tasks").status_code == 200

    r = client.post("/api/v1/instances", json={"process_key": "sample_review"})
    assert r.status_code == 403 and error_of(r)["code"] == "csrf_failed"
    r = client.post(
        "/api/v1/instances",
        json={"process_key": "sample_review"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert r.status_code == 403 and error_of(r)["code"] == "csrf_failed"

    csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    assert csrf == body["csrf_token"]
    r = client.post(
        "/api/v1/instances", json={"process_key": "sample_review"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.get_json()
    task_id = r.get_json()["tasks"][0]["id"]
    r = client.post(f"/api/v1/tasks/{task_id}/claim")
    assert r.status_code == 403
    r = client.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200

    assert client.post("/api/v1/auth/logout").status_code == 403
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.get_json() == {"logged_out": True}
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_requests_need_no_csrf(client, token):
    # A session cookie in the jar does not make a bearer request need a CSRF token.
    client.post("/api/v1/auth/login", json={"username": "drc-clerk", "password": "demo"})
    r = client.post(
        "/api/v1/instances",
        json={"process_key": "sample_review"},
        headers={"Authorization": f"Bearer {token('invest-clerk')}"},
    )
    assert r.status_code == 201
    assert r.get_json()["started_by"] == "invest-clerk"


def test_session_of_deactivated_user_ends(client, app):
    client.post("/api/v1/auth/login", json={"username": "kunbei-clerk", "password": "demo"})
    assert client.get("/api/v1/me").status_code == 200
    engine = app.extensions["kunflow"]
    engine.sync_org([], [replace(engine.get_user("kunbei-clerk"), active=False)])
    assert client.get("/api/v1/me").status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "kunbei-clerk", "password": "demo"})
    assert r.status_code == 401


def test_logout_revokes_the_bearer_token(client, token):
    bearer = {"Authorization": f"Bearer {token('drc-clerk')}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    r = client.post("/api/v1/auth/logout", headers=bearer)
    assert r.status_code == 200
    r = client.get("/api/v1/me", headers=bearer)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"]
