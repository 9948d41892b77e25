"""Sessions are held on the server: a session cookie, replayed, opens neither the pages nor the
API once its session has ended — by logout (page or API), a password change, the user being
disabled, an administrator ending all of the user's access, or inactivity."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
import yaml
from click.testing import CliRunner

from web.cli import main
from web.provision import sync_org

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Beijing


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def page_login(client, username: str, password: str = "demo") -> str:
    """Log in through the login form; returns the page CSRF token of the new session."""
    form = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": csrf_of(form.text)})
    assert r.status_code == 302, r.text
    return csrf_of(client.get("/tasks").text)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str) -> tuple[int, int]:
    """The cookie alone, from a new client: (status of /tasks, status of /api/v1/me)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/tasks").status_code, other.get("/api/v1/me").status_code


def bearer(client, username: str, password: str = "demo") -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def kunflow(db_url, monkeypatch):
    """``kunflow ...`` on the test database."""
    monkeypatch.setenv("KUNFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("KUNFLOW_SECRET_KEY", "test-secret")
    monkeypatch.setenv("KUNFLOW_DEMO", "true")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def security_events(client, kind: str) -> list[dict]:
    r = client.get(f"/api/v1/security-events?kind={kind}", headers=bearer(client, "admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_page_logout_ends_the_session_on_the_server(app):
    client = app.test_client()
    csrf = page_login(client, "emergency-clerk")
    cookie = session_cookie(client)
    assert replay(app, cookie) == (200, 200)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    tasks, me = replay(app, cookie)
    assert tasks == 302 and me == 401
    other = app.test_client()
    other.set_cookie("session", cookie)
    assert other.get("/tasks").headers["Location"].startswith("/login")


def test_api_logout_ends_the_session_on_the_server(app, error_of):
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": "drc-clerk", "password": "demo"})
    csrf = r.get_json()["csrf_token"]
    cookie = session_cookie(client)
    assert replay(app, cookie) == (200, 200)
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert replay(app, cookie) == (302, 401)
    other = app.test_client()
    other.set_cookie("session", cookie)
    r = other.get("/api/v1/me")
    assert error_of(r)["code"] == "unauthorized" and "会话已失效" in error_of(r)["message"]


def test_a_password_change_ends_every_session_and_token_of_the_user(app, kunflow):
    browser = app.test_client()
    page_login(browser, "housing-clerk")
    cookie = session_cookie(browser)
    token = bearer(app.test_client(), "housing-clerk")
    bystander = bearer(app.test_client(), "housing-head")
    changed = kunflow("users", "set-password", "housing-clerk", "--password", "New-secret-42")
    assert changed.exit_code == 0, changed.output
    assert replay(app, cookie) == (302, 401)
    client = app.test_client()
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert client.get("/api/v1/me", headers=bystander).status_code == 200
    # The new password works, with a new session.
    fresh = app.test_client()
    page_login(fresh, "housing-clerk", "New-secret-42")
    assert fresh.get("/api/v1/me").get_json()["username"] == "housing-clerk"
    (event,) = security_events(client, "password_changed")
    assert event["actor"] == "system"
    assert event["data"] == {"username": "housing-clerk", "sessions": 1, "tokens": 1}


def test_disabling_a_user_in_the_org_chart_ends_their_sessions_for_good(app, tmp_path, root):
    engine = app.extensions["kunflow"]
    browser = app.test_client()
    page_login(browser, "kunbei-clerk")
    cookie = session_cookie(browser)
    token = bearer(app.test_client(), "kunbei-clerk")
    org = yaml.safe_load((root / "config" / "org.yaml").read_text(encoding="utf-8"))
    for user in org["users"]:
        if user["username"] == "kunbei-clerk":
            user["active"] = False
    disabled = tmp_path / "org.yaml"
    disabled.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")

    sync_org(engine, disabled, demo=True)  # what `kunflow init` does with the org chart
    assert engine.get_user("kunbei-clerk").active is False
    assert replay(app, cookie) == (302, 401)
    client = app.test_client()
    assert client.get("/api/v1/me", headers=token).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "kunbei-clerk", "password": "demo"})
    assert r.status_code == 401

    # Enabled again, the user logs in anew: what was issued before stays dead.
    sync_org(engine, root / "config" / "org.yaml", demo=True)
    assert replay(app, cookie) == (302, 401)
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(client, "kunbei-clerk")).status_code == 200
    (event,) = security_events(client, "user_disabled")
    assert event["data"] == {"username": "kunbei-clerk", "sessions": 1, "tokens": 1}


def test_an_administrator_ends_all_sessions_and_tokens_of_a_user(app, error_of):
    laptop, phone = app.test_client(), app.test_client()
    page_login(laptop, "agri-clerk")
    page_login(phone, "agri-clerk")
    cookies = [session_cookie(laptop), session_cookie(phone)]
    token = bearer(app.test_client(), "agri-clerk")
    client = app.test_client()
    admin = bearer(client, "admin")

    refused = client.delete("/api/v1/users/agri-clerk/sessions", headers=bearer(client, "agri-head"))
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    assert all(replay(app, c) == (200, 200) for c in cookies)
    missing = client.delete("/api/v1/users/nobody/sessions", headers=admin)
    assert missing.status_code == 404

    r = client.delete("/api/v1/users/agri-clerk/sessions", headers=admin)
    assert r.status_code == 200
    assert r.get_json() == {"username": "agri-clerk", "sessions": 2, "tokens": 1}
    assert all(replay(app, c) == (302, 401) for c in cookies)
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert client.get("/api/v1/me", headers=admin).status_code == 200
    (event,) = security_events(client, "access_revoked")
    assert event["actor"] == "admin"
    assert event["data"] == {"username": "agri-clerk", "sessions": 2, "tokens": 1}


def test_the_command_line_ends_all_sessions_of_a_user(app, kunflow):
    browser = app.test_client()
    page_login(browser, "miit-clerk")
    cookie = session_cookie(browser)
    result = kunflow("users", "revoke-sessions", "miit-clerk")
    assert result.exit_code == 0, result.output
    assert "已注销 miit-clerk 的 1 个会话和 0 个令牌" in result.output
    assert replay(app, cookie) == (302, 401)
    missing = kunflow("users", "revoke-sessions", "nobody")
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_the_command_line_ends_every_users_sessions_after_a_leaked_key(app, kunflow):
    cookies = []
    for username in ("miit-clerk", "agri-clerk", "admin"):
        browser = app.test_client()
        page_login(browser, username)
        cookies.append(session_cookie(browser))
    assert all(replay(app, c) == (200, 200) for c in cookies)
    result = kunflow("users", "revoke-sessions", "--all")
    assert result.exit_code == 0, result.output
    assert "全部" in result.output and "的 3 个会话" in result.output
    assert all(replay(app, c) == (302, 401) for c in cookies)
    neither = kunflow("users", "revoke-sessions")
    assert neither.exit_code == 2 and "--all" in neither.output


def test_a_session_ends_after_eight_idle_hours(app):
    with time_machine.travel(T0, tick=False) as clock:
        browser = app.test_client()
        page_login(browser, "natres-clerk")
        cookie = session_cookie(browser)
        # In use, the session lasts: each request starts the eight hours anew.
        for _ in range(3):
            clock.shift(timedelta(hours=7, minutes=59))
            assert browser.get("/tasks").status_code == 200
        clock.shift(timedelta(hours=8, seconds=1))
        assert replay(app, cookie) == (302, 401)
        assert browser.get("/tasks").status_code == 302


def test_the_idle_limit_is_a_setting(app_factory):
    app = app_factory(SESSION_IDLE_MINUTES=30)
    with time_machine.travel(T0, tick=False) as clock:
        client = app.test_client()
        client.post("/api/v1/auth/login", json={"username": "eco-clerk", "password": "demo"})
        clock.shift(timedelta(minutes=29))
        assert client.get("/api/v1/me").status_code == 200
        clock.shift(timedelta(minutes=30))
        assert client.get("/api/v1/me").status_code == 401


def test_a_rotated_secret_key_keeps_signed_in_users_while_it_is_a_fallback(app_factory):
    """Rotation (docs/operations.md): with the old key among SECRET_KEY_FALLBACKS a cookie
    signed before the change still opens the pages; once the old key is dropped it does not."""
    before = app_factory(SECRET_KEY="key-2026-a")
    client = before.test_client()
    page_login(client, "emergency-clerk")
    cookie = session_cookie(client)
    assert replay(before, cookie) == (200, 200)

    rotated = app_factory(SECRET_KEY="key-2026-b", SECRET_KEY_FALLBACKS="key-2026-a")
    assert replay(rotated, cookie) == (200, 200)
    fresh = rotated.test_client()
    page_login(fresh, "emergency-clerk")  # new cookies are signed with the new key only
    assert replay(app_factory(SECRET_KEY="key-2026-b"), session_cookie(fresh)) == (200, 200)

    after = app_factory(SECRET_KEY="key-2026-b")
    tasks, me = replay(after, cookie)
    assert tasks == 302 and me == 401
