"""Only process admins reach 流程管理: every /admin/ page of the app's url_map answers a
caseworker (and a supervisor, who reads everything but administers nothing) with the 403 page,
an anonymous visitor with the login page, and the admin API (/api/v1/admin/...) answers JSON 403.
The routes are read from the url_map, so pages and endpoints added later are covered too."""

from __future__ import annotations

import re

import pytest

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ADMIN_API = "/api/v1/admin"


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _sample(rule) -> str:
    """The rule's URL with a plausible value for each variable part."""

    def value(m):
        converter, name = m.group(1) or "", m.group(2)
        if converter.startswith("int"):
            return "1"
        if name in ("key", "process_key"):
            return "mine_approval"
        if name == "version":
            return "1"
        return "sample.dmn" if converter.startswith("path") or "file" in name else "x"

    return re.sub(r"<(?:(\w+(?:\([^)]*\))?):)?(\w+)>", value, rule.rule)


def _routes(app, prefix: str) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule == prefix or rule.rule.startswith(prefix + "/"):
            found += [(m, _sample(rule)) for m in METHODS if m in rule.methods]
    return sorted(set(found))


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": "demo",
                                    "csrf_token": csrf_of(page.text)})
    assert r.status_code == 302, r.text[:300]
    return client, csrf_of(client.get("/tasks").text)


def test_the_admin_pages_are_in_the_url_map(app):
    routes = {url for _, url in _routes(app, "/admin")}
    assert {"/admin/processes", "/admin/instances", "/admin/incidents"} <= routes


@pytest.mark.parametrize("username", ["invest-clerk", "supervisor"])
def test_everyone_but_a_process_admin_gets_the_403_page_on_every_admin_url(app, username):
    client, csrf = _login(app, username)
    routes = _routes(app, "/admin")
    assert routes
    for method, url in routes:
        headers = {"X-CSRF-Token": csrf, "Accept": "text/html,*/*;q=0.8"}  # as a browser
        r = client.open(url, method=method, headers=headers,
                        json={} if method != "GET" else None)
        assert r.status_code == 403, (method, url, r.status_code)
        if method == "GET":
            assert r.mimetype == "text/html", (url, r.mimetype)
            assert "只有流程管理员" in r.text, url
            assert 'data-testid="nav-admin"' not in r.text  # no 流程管理 in the header
        else:
            assert r.get_json()["error"]["code"] == "forbidden", (method, url)
    # ... and their own pages do not offer 流程管理 either
    assert 'data-testid="nav-admin"' not in client.get("/tasks").text


def test_an_anonymous_visitor_is_sent_to_the_login_page(app):
    client = app.test_client()
    for method, url in _routes(app, "/admin"):
        r = client.open(url, method=method, headers={"Accept": "text/html,*/*;q=0.8"},
                        json={} if method != "GET" else None)
        if method == "GET":
            assert r.status_code == 302, (url, r.status_code)
            assert "/login" in r.headers["Location"], url
        else:
            assert r.status_code == 401, (method, url, r.status_code)


def test_the_admin_api_answers_json_403_to_everyone_but_a_process_admin(app, as_user, client):
    routes = _routes(app, ADMIN_API)
    if not routes:
        pytest.skip("no admin API endpoints registered yet")
    for username in ("invest-clerk", "supervisor"):
        user = as_user(username)
        for method, url in routes:
            r = user.client.open(url, method=method, headers=user.headers,
                                 json={} if method != "GET" else None)
            assert r.status_code == 403, (username, method, url, r.status_code, r.data[:200])
            assert r.is_json and r.get_json()["error"]["code"] == "forbidden", (method, url)
    for method, url in routes:
        r = client.open(url, method=method, json={} if method != "GET" else None)
        assert r.status_code == 401, (method, url, r.status_code)


def test_the_admin_sees_流程管理_in_the_header_and_reaches_the_pages(app):
    client, _ = _login(app, "admin")
    tasks = client.get("/tasks").text
    assert 'data-testid="nav-admin"' in tasks and "流程管理" in tasks
    for url in ("/admin/instances", "/admin/incidents"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:500])
        assert 'data-testid="nav-admin"' in r.text
