"""The login throttle counts in the database: every worker (here: separate app instances on one
database) sees the same counts, a restart forgets nothing. Spraying one password over many
accounts from one address is slowed; a guesser elsewhere never slows the real user down at the
address they use; past the free failures each attempt waits twice as long as the one before
(429, Retry-After, a Chinese message). Failed and throttled logins are audit events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Beijing
OFFICE = "198.51.100.7"  # where the real user works
ATTACKER = "203.0.113.9"


def login(app, username: str, password: str, address: str = ATTACKER):
    return app.test_client().post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail(app, username: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        assert login(app, username, "guess", address).status_code == 401


def retry_after(response) -> int:
    assert response.status_code == 429, response.get_json()
    return int(response.headers["Retry-After"])


def events(app, kind: str, username: str | None = None) -> list[dict]:
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"},
                        environ_base={"REMOTE_ADDR": "192.0.2.1"}).get_json()["token"]
    query = f"kind={kind}" + (f"&username={username}" if username else "")
    r = client.get(f"/api/v1/security-events?{query}",
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_workers_and_restarts_share_the_counts(app_factory):
    worker_a, worker_b = app_factory(), app_factory()
    with time_machine.travel(T0, tick=False):
        fail(worker_a, "eco-clerk", 5)
        assert retry_after(login(worker_b, "eco-clerk", "demo")) == 2
        restarted = app_factory()
        assert retry_after(login(restarted, "eco-clerk", "demo")) == 2


def test_one_password_sprayed_over_many_accounts_from_one_address_is_slowed(app_factory):
    app = app_factory()
    users = [u.username for u in app.extensions["kunflow"].list_users()][:21]
    with time_machine.travel(T0, tick=False) as clock:
        for username in users[:20]:  # one wrong password on each account
            fail(app, username, 1)
        held = login(app, users[20], "demo")  # even the right password waits now
        assert retry_after(held) == 2
        # The next account's guess waits twice as long.
        clock.shift(timedelta(seconds=2))
        fail(app, users[20], 1)
        assert retry_after(login(app, users[0], "guess")) == 4
        # Another address is not held back.
        assert login(app, users[20], "demo", address="192.0.2.44").status_code == 200


def test_a_guesser_elsewhere_does_not_lock_the_real_user_out_of_their_address(app_factory):
    worker_a, worker_b = app_factory(), app_factory()
    with time_machine.travel(T0, tick=False) as clock:
        assert login(worker_b, "invest-clerk", "demo", OFFICE).status_code == 200
        clock.shift(timedelta(days=1))
        fail(worker_a, "invest-clerk", 5)
        for _ in range(6):  # the guesser waits as told, and keeps failing
            clock.shift(timedelta(seconds=retry_after(login(worker_a, "invest-clerk", "x"))))
            fail(worker_a, "invest-clerk", 1)
        assert retry_after(login(worker_b, "invest-clerk", "demo")) == 128
        # A new address waits for the account: a guesser could be anywhere.
        assert retry_after(login(worker_b, "invest-clerk", "demo", "192.0.2.44")) == 128
        # At the office, where the user signed in before, the guesses do not count; and the
        # user signing in there hands the guesser no fresh tries.
        assert login(worker_b, "invest-clerk", "demo", OFFICE).status_code == 200
        assert retry_after(login(worker_a, "invest-clerk", "demo")) == 128


def test_the_delay_grows_with_each_failure_and_the_window_forgets(app_factory, error_of):
    app = app_factory()
    with time_machine.travel(T0, tick=False) as clock:
        fail(app, "drc-clerk", 5)
        held = login(app, "drc-clerk", "demo")
        assert retry_after(held) == 2
        err = error_of(held)
        assert err["code"] == "too_many_requests" and err["message"] == "登录失败次数过多，请 2 秒后再试"
        clock.shift(timedelta(seconds=1))
        assert retry_after(login(app, "drc-clerk", "guess")) == 1  # throttled tries don't count
        waits = []
        for _ in range(4):
            clock.shift(timedelta(seconds=1 if not waits else waits[-1]))
            fail(app, "drc-clerk", 1)
            waits.append(retry_after(login(app, "drc-clerk", "guess")))
        assert waits == [4, 8, 16, 32]
        # After an hour without failures the count is gone.
        clock.shift(timedelta(minutes=61))
        fail(app, "drc-clerk", 1)
        assert login(app, "drc-clerk", "demo").status_code == 200
        # A successful login clears the account's count (from that address).
        fail(app, "drc-clerk", 4)
        assert login(app, "drc-clerk", "guess").status_code == 401


def test_the_delay_stops_growing_at_its_limit(app_factory):
    app = app_factory(LOGIN_FREE_FAILURES=1, LOGIN_FIRST_DELAY_SECONDS=60,
                      LOGIN_MAX_DELAY_SECONDS=100)
    with time_machine.travel(T0, tick=False) as clock:
        fail(app, "agri-clerk", 1)
        assert retry_after(login(app, "agri-clerk", "demo")) == 60
        clock.shift(timedelta(seconds=60))
        fail(app, "agri-clerk", 1)
        assert retry_after(login(app, "agri-clerk", "demo")) == 100


def test_the_login_page_shows_the_wait(app_factory):
    app = app_factory()
    client = app.test_client()
    with time_machine.travel(T0, tick=False):
        for attempt in range(6):
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            r = client.post("/login", data={"username": "housing-clerk", "password": "guess",
                                            "csrf_token": token})
            assert r.status_code == (401 if attempt < 5 else 429)
    assert "登录失败次数过多，请 2 秒后再试" in r.text
    assert r.headers["Retry-After"] == "2"


def test_behind_a_proxy_the_client_address_counts(app_factory):
    app = app_factory(PROXY_COUNT=1)

    def via_proxy(username, password, client_address):
        return app.test_client().post(
            "/api/v1/auth/token", json={"username": username, "password": password},
            headers={"X-Forwarded-For": client_address},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the TLS proxy
        )

    with time_machine.travel(T0, tick=False):
        for username in [u.username for u in app.extensions["kunflow"].list_users()][:20]:
            assert via_proxy(username, "guess", ATTACKER).status_code == 401
        assert via_proxy("leader", "demo", ATTACKER).status_code == 429
        assert via_proxy("leader", "demo", OFFICE).status_code == 200


def test_failed_and_throttled_logins_are_audit_events(app_factory, error_of):
    app = app_factory()
    with time_machine.travel(T0, tick=False):
        fail(app, "supervisor", 5)
        login(app, "supervisor", "demo")
        login(app, "nobody-at-all", "guess", address="192.0.2.9")
        failed = events(app, "login_failed", "supervisor")
        assert len(failed) == 5
        assert {e["actor"] for e in failed} == {"supervisor"}
        assert failed[0]["data"] == {"address": ATTACKER, "reason": "invalid_credentials"}
        assert failed[0]["at"] == "2026-03-02T01:00:00Z" and failed[0]["instance_id"] is None
        (throttled,) = events(app, "login_throttled")
        assert throttled["actor"] == "supervisor"
        assert throttled["data"] == {"address": ATTACKER, "retry_after": 2, "scope": "account"}
        (unknown,) = events(app, "login_failed", "nobody-at-all")
        assert unknown["data"]["address"] == "192.0.2.9"
        # Only system administrators read them.
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "leader", "password": "demo"},
                            environ_base={"REMOTE_ADDR": "192.0.2.2"}).get_json()["token"]
        r = client.get("/api/v1/security-events", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
        assert client.get("/api/v1/security-events").status_code == 401
