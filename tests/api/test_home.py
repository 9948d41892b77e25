"""The landing page names the service and links the API document."""

from __future__ import annotations


def test_landing_page(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "昆都仑区工作流平台" in page and "kunflow" in page
    assert 'href="/api/v1/openapi.json"' in page
    assert "/api/v1/auth/token" in page and "Authorization: Bearer" in page
    assert "invest-clerk" in page  # demo users are named in demo mode


def test_landing_page_without_demo_hint(app_factory):
    page = app_factory(DEMO=False).test_client().get("/").get_data(as_text=True)
    assert "昆都仑区工作流平台" in page and "密码均为" not in page
