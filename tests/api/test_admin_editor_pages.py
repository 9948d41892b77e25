"""The version diff page and the one-file editor page (issue 11, area editors) through Flask's
test client: process admins get the page shell the admin bundle mounts on, with the versions to
compare; everyone else gets 403; unknown versions, processes and file kinds get 404."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "editors"
FILES = ("review_route.dmn", "register_project.form", "full_review.form", "simple_filing.form")


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": "demo",
                                           "csrf_token": csrf})
    assert response.status_code == 302
    return client


@pytest.fixture
def engine(app):
    engine = app.extensions["kunflow"]
    admin = engine.get_user("admin").actor()
    files = {name: (FIXTURES / name).read_bytes() for name in FILES}
    for bpmn in ("editor_route.bpmn", "editor_route_v2.bpmn"):
        engine.deploy("editor_route.bpmn", (FIXTURES / bpmn).read_bytes(), files, actor=admin)
    return engine


def test_diff_page_offers_the_versions_and_compares_the_two_newest_by_default(app, engine):
    client = _login(app, "admin")
    page = client.get("/admin/processes/editor_route/diff")
    assert page.status_code == 200
    assert 'data-kf-page="diff"' in page.text
    assert 'data-a="1"' in page.text and 'data-b="2"' in page.text
    assert page.text.count('<option value="1"') == 2  # in both selects
    chosen = client.get("/admin/processes/editor_route/diff?a=2&b=1")
    assert 'data-a="2"' in chosen.text and 'data-b="1"' in chosen.text


@pytest.mark.parametrize("query", ["a=9&b=1", "a=1&b=x", "a=1&b=draft"])
def test_diff_page_refuses_a_version_that_does_not_exist(app, engine, query):
    page = _login(app, "admin").get(f"/admin/processes/editor_route/diff?{query}")
    assert page.status_code == 404
    assert "不存在" in page.text or "没有草稿" in page.text


def test_diff_page_of_an_unknown_process_is_404(app, engine):
    assert _login(app, "admin").get("/admin/processes/no_such/diff").status_code == 404


def test_file_editor_page_edits_dmn_and_form_files_only(app, engine):
    client = _login(app, "admin")
    dmn = client.get("/admin/processes/editor_route/files/review_route.dmn")
    assert dmn.status_code == 200
    assert 'data-kind="dmn"' in dmn.text and 'data-file="review_route.dmn"' in dmn.text
    assert 'data-testid="dmn-preview"' in dmn.text
    form = client.get("/admin/processes/editor_route/files/register_project.form")
    assert 'data-kind="form"' in form.text and 'data-testid="dmn-preview"' not in form.text
    assert client.get("/admin/processes/editor_route/files/notes.txt").status_code == 404
    assert client.get("/admin/processes/no_such/files/a.dmn").status_code == 404


def test_caseworkers_get_403_on_the_editor_pages(app, engine):
    client = _login(app, "invest-clerk")
    for url in ("/admin/processes/editor_route/diff?a=1&b=2",
                "/admin/processes/editor_route/files/review_route.dmn"):
        assert client.get(url).status_code == 403


def test_diff_page_compares_the_newest_version_with_a_saved_draft(app, engine):
    admin = engine.get_user("admin").actor()
    offered = engine.get_process_draft("editor_route", admin)  # the newest version, unsaved
    client = _login(app, "admin")
    before = client.get("/admin/processes/editor_route/diff").text
    assert 'data-b="2"' in before and '<option value="draft"' not in before
    engine.save_process_draft("editor_route", admin, offered.bpmn_xml, offered.files,
                              offered.base_version, offered.revision)
    page = client.get("/admin/processes/editor_route/diff")
    assert 'data-a="2"' in page.text and 'data-b="draft"' in page.text
    assert '<option value="draft"' in page.text
