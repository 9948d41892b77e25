"""The live server (gunicorn, as in production) sends the security headers and no banner, and
chromium enforces the policy while the pages' bpmn-js and form-js still work under it."""

from __future__ import annotations

import pytest
import requests

from tests.browser.cases import mine_at_safety_design_review
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_the_live_server_sends_security_headers_and_no_banner(live_server):
    for path, page in (("/login", True), ("/api/v1/me", False), ("/no-such-page", True)):
        r = requests.get(live_server.url + path, timeout=10,
                         headers={"Accept": "text/html" if page else "application/json"})
        assert "Server" not in r.headers, path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"


def test_pages_work_under_the_policy_that_refuses_inline_script(live_server, page):
    server = live_server
    iid = mine_at_safety_design_review(server.engine, "KS-CSP-01")
    task = next(t for t in server.engine.get_instance(iid, server.user("admin")).tasks
                if t.element_id == "review_safety_design")
    login(page, server, "emergency-clerk")
    page.goto(f"{server.url}/tasks/{task.id}")
    page.wait_for_selector(".kf-form[data-ready='1']")  # form-js rendered the form
    assert page.locator(".fjs-form-field").count() > 3
    page.goto(f"{server.url}/cases/{iid}")
    page.wait_for_selector(".kf-diagram[data-ready='1']")  # bpmn-js drew the diagram
    assert page.locator(".kf-diagram .djs-element.kf-current").count() >= 1
    assert page.kf_errors == []  # no refusal while the pages did their work
    # The browser enforces the policy: an inline script is refused, and says so.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        ran = page.evaluate("""() => {
            const s = document.createElement('script');
            s.textContent = 'window.kfInline = 1';
            document.body.appendChild(s);
            return window.kfInline === 1;
        }""")
    assert ran is False
    assert len(page.kf_errors) == 1 and "script-src 'self'" in page.kf_errors[0]
    page.kf_errors.clear()  # provoked here; the fixture fails on any other
