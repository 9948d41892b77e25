"""The modeler page /admin/processes/<key>/edit (area 7 of issue 11) through Flask's test
client: a shell for the admin bundle (modeler.js mounts on it), for process admins only."""

from __future__ import annotations

import re

import pytest


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": "demo",
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def admin_client(app):
    return _login(app, "admin")


def test_the_admin_gets_the_modeler_shell_with_its_tabs_and_the_admin_bundle(admin_client):
    page = admin_client.get("/admin/processes/mine_approval/edit")
    assert page.status_code == 200
    html = page.text
    assert 'data-kf-mount="Modeler"' in html and 'data-process-key="mine_approval"' in html
    assert "非煤矿山审批与监管" in html and "dist/kunflow-admin.js" in html
    for tab in ("流程图", "决策表", "表单", "试运行", "决策变更预览"):
        assert f">{tab}</button>" in html
    for control in ("校验", "部署…", "比较"):
        assert control in html
    assert re.search(r'data-csrf="[^"]+"', html)
    assert re.search(r'href="/admin/processes/mine_approval/diff\?a=\d+&amp;b=draft"', html)


def test_an_unknown_process_is_404(admin_client):
    page = admin_client.get("/admin/processes/no_such_process/edit")
    assert page.status_code == 404
    assert "no_such_process" in page.text


def test_a_caseworker_gets_403_and_no_admin_bundle(app):
    client = _login(app, "emergency-clerk")
    page = client.get("/admin/processes/mine_approval/edit")
    assert page.status_code == 403
    assert "kunflow-admin.js" not in page.text


def test_a_new_process_opens_from_its_draft(admin_client):
    csrf = re.search(r'data-csrf="([^"]+)"',
                     admin_client.get("/admin/processes/mine_approval/edit").text).group(1)
    created = admin_client.post("/api/v1/admin/processes", headers={"X-CSRF-Token": csrf},
                                json={"key": "site_followup", "name": "现场回访", "template": "blank"})
    assert created.status_code == 201, created.text
    page = admin_client.get("/admin/processes/site_followup/edit")
    assert page.status_code == 200
    assert "现场回访" in page.text and 'data-process-key="site_followup"' in page.text
    assert "基于版本" not in page.text and 'data-testid="compare"' not in page.text
