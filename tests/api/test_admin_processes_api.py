"""The process admin's catalogue, drafts, deploy with a comment, diff and downloads over the
API (/api/v1/admin/processes)."""

from __future__ import annotations

import pytest

from engine import Actor

BASE = "/api/v1/admin/processes"


@pytest.fixture
def call(client, token):
    """``call("PUT", path, "admin", json=...)``: a request with that user's bearer token."""

    def run(method: str, path: str, username: str = "admin", **kw):
        headers = {"Authorization": f"Bearer {token(username)}"}
        return client.open(path, method=method, headers=headers, **kw)

    return run


@pytest.fixture
def eng(app):
    return app.extensions["kunflow"]


def _newest_version(call, key):
    items = {p["key"]: p for p in call("GET", BASE).get_json()["items"]}
    return items[key]["versions"][0]


def test_a_caseworker_gets_403_on_every_endpoint(call, error_of):
    requests = [
        ("GET", BASE, None),
        ("POST", BASE, {"key": "x_process", "name": "x"}),
        ("POST", BASE, {"unknown": 1}),
        ("GET", f"{BASE}/sample_review/draft", None),
        ("PUT", f"{BASE}/sample_review/draft", {"bpmn_xml": "<x/>"}),
        ("DELETE", f"{BASE}/sample_review/draft", None),
        ("POST", f"{BASE}/sample_review/draft/deploy", {"comment": "x"}),
        ("GET", f"{BASE}/sample_review/diff?a=1&b=1", None),
        ("GET", f"{BASE}/sample_review/versions/1/xml", None),
        ("GET", f"{BASE}/sample_review/versions/1/files/a.form", None),
    ]
    for method, path, body in requests:
        r = call(method, path, "invest-clerk", json=body)
        assert r.status_code == 403, (method, path, r.get_json())
        assert error_of(r)["code"] == "forbidden"


def test_a_stale_draft_save_is_a_409_naming_who_saved(call, eng, error_of):
    start = call("GET", f"{BASE}/sample_review/draft").get_json()
    assert (start["revision"], start["saved"], start["base_version"]) == (0, False, 1)
    xml = start["bpmn_xml"]

    # another admin saves first
    eng.save_process_draft("sample_review", Actor("second-admin", "gov-data",
                                                   frozenset({"process_admin"})),
                           xml.replace("发改意见", "发改委意见"), revision=0)
    r = call("PUT", f"{BASE}/sample_review/draft",
             json={"bpmn_xml": xml, "files": {}, "revision": 0})
    assert r.status_code == 409
    err = error_of(r)
    assert "second-admin" in err["message"] and err["details"]["revision"] == 1

    fresh = call("GET", f"{BASE}/sample_review/draft").get_json()
    r = call("PUT", f"{BASE}/sample_review/draft",
             json={"bpmn_xml": fresh["bpmn_xml"], "revision": fresh["revision"]})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert (saved["revision"], saved["updated_by"], saved["saved"]) == (2, "admin", True)
    assert "发改委意见" in saved["bpmn_xml"]

    bad = call("PUT", f"{BASE}/sample_review/draft", json={"bpmn_xml": "not xml"})
    assert bad.status_code == 422
    bad = call("PUT", f"{BASE}/sample_review/draft",
               json={"bpmn_xml": xml, "files": {"a.txt": "x"}})
    assert bad.status_code == 422 and "a.txt" in error_of(bad)["message"]

    gone = call("DELETE", f"{BASE}/sample_review/draft")
    assert gone.status_code == 200 and gone.get_json() == {"discarded": True}
    assert call("DELETE", f"{BASE}/sample_review/draft").get_json() == {"discarded": False}
    assert call("GET", f"{BASE}/sample_review/draft").get_json()["revision"] == 0
    assert call("GET", f"{BASE}/no_such/draft").status_code == 404


def test_the_comment_is_stored_and_listed(call, eng):
    xml = eng.get_definition_xml("sample_review").replace("发改意见", "发改委意见")
    assert call("PUT", f"{BASE}/sample_review/draft", json={"bpmn_xml": xml}).status_code == 200
    r = call("POST", f"{BASE}/sample_review/draft/deploy", json={"comment": "发改委改名"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["version"], body["comment"], body["created"]) == (2, "发改委改名", True)

    newest = _newest_version(call, "sample_review")
    assert (newest["version"], newest["comment"], newest["deployed_by"]) == (
        2, "发改委改名", "admin")
    listed = call("GET", "/api/v1/definitions/sample_review/versions").get_json()["items"]
    assert [d["comment"] for d in listed] == [None, "发改委改名"]
    assert call("GET", f"{BASE}/sample_review/draft").get_json()["saved"] is False


def test_deploying_an_unchanged_draft_creates_no_version(call, eng):
    xml = eng.get_definition_xml("sample_review")
    call("PUT", f"{BASE}/sample_review/draft", json={"bpmn_xml": xml})
    r = call("POST", f"{BASE}/sample_review/draft/deploy", json={"comment": "无变化"})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["version"], r.get_json()["created"]) == (1, False)
    items = {p["key"]: p for p in call("GET", BASE).get_json()["items"]}
    assert [v["version"] for v in items["sample_review"]["versions"]] == [1]
    assert items["sample_review"]["draft"] is None
    assert call("POST", f"{BASE}/sample_review/draft/deploy", json={}).status_code == 404


def test_an_invalid_draft_is_refused_with_its_problems(call, eng, error_of):
    xml = eng.get_definition_xml("sample_review").replace('targetRef="opinion_drc"',
                                                          'targetRef="nowhere"')
    call("PUT", f"{BASE}/sample_review/draft", json={"bpmn_xml": xml})
    r = call("POST", f"{BASE}/sample_review/draft/deploy", json={"comment": "坏"})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid_model" and err["details"]
    assert call("GET", f"{BASE}/sample_review/draft").get_json()["saved"] is True
    assert _newest_version(call, "sample_review")["version"] == 1


def test_counts_running_and_done_per_version(call, eng, root):
    admin = eng.get_user("admin").actor()
    clerk = eng.get_user("invest-clerk").actor()
    eng.start("sample_review", clerk)
    ended = eng.start("sample_review", clerk)
    eng.terminate(ended.id, admin, "测试")
    v2 = (root / "tests" / "fixtures" / "bpmn" / "sample_review_v2.bpmn").read_bytes()
    eng.deploy("sample_review.bpmn", v2, actor=admin, comment="第二版")
    for _ in range(3):
        eng.start("sample_review", clerk)

    items = {p["key"]: p for p in call("GET", BASE).get_json()["items"]}
    versions = items["sample_review"]["versions"]
    assert [(v["version"], v["running"], v["done"], v["comment"]) for v in versions] == [
        (2, 3, 0, "第二版"), (1, 1, 1, None)]
    assert items["sample_review"]["draft"] is None


def test_a_new_process_from_the_blank_template_deploys(call, error_of):
    r = call("POST", BASE, json={"key": "my_process", "name": "我的流程"})
    assert r.status_code == 201, r.get_json()
    draft = r.get_json()
    assert draft["revision"] == 1 and list(draft["files"]) == ["my_process_handle.form"]
    again = call("POST", BASE, json={"key": "my_process", "name": "重名"})
    assert again.status_code == 409
    bad = call("POST", BASE, json={"key": "has space", "name": "x"})
    assert bad.status_code == 422
    missing = call("POST", BASE, json={"key": "copy_x", "name": "x", "template": "nothing"})
    assert missing.status_code == 404

    items = {p["key"]: p for p in call("GET", BASE).get_json()["items"]}
    assert items["my_process"]["versions"] == []
    assert items["my_process"]["draft"]["files"] == ["my_process_handle.form"]

    r = call("POST", f"{BASE}/my_process/draft/deploy", json={"comment": "新流程"})
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["version"], r.get_json()["warnings"]) == (1, [])

    form = call("GET", f"{BASE}/my_process/versions/1/files/my_process_handle.form")
    assert form.status_code == 200 and form.mimetype == "application/json"
    assert form.get_json()["components"][0]["key"] == "opinion"
    assert call("GET", f"{BASE}/my_process/versions/1/files/x.form").status_code == 404


def test_diff_and_xml_download(call, eng, error_of):
    xml = eng.get_definition_xml("sample_review")
    changed = xml.replace('<spiffworkflow:property name="form_key" value="opinion_drc" />',
                          '<spiffworkflow:property name="form_key" value="opinion_drc" />\n'
                          '          <spiffworkflow:property name="due_working_days" value="7" />')
    assert changed != xml
    call("PUT", f"{BASE}/sample_review/draft", json={"bpmn_xml": changed})
    r = call("GET", f"{BASE}/sample_review/diff?a=1&b=draft")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    (element,) = body["elements"]
    assert (element["element_id"], element["change"]) == ("opinion_drc", "changed")
    assert element["properties"] == [{"property": "due_working_days", "label": "办理时限（工作日）",
                                      "before": None, "after": "7"}]
    assert body["decisions"] == [] and body["forms"] == []

    assert call("GET", f"{BASE}/sample_review/diff?a=1").status_code == 422
    assert call("GET", f"{BASE}/sample_review/diff?a=x&b=1").status_code == 422
    assert call("GET", f"{BASE}/sample_review/diff?a=1&b=5").status_code == 404

    down = call("GET", f"{BASE}/sample_review/versions/1/xml")
    assert down.status_code == 200 and down.mimetype == "application/xml"
    assert 'filename="sample_review_v1.bpmn"' in down.headers["Content-Disposition"]
    assert down.get_data(as_text=True) == xml
    assert call("GET", f"{BASE}/sample_review/versions/9/xml").status_code == 404
    assert call("GET", f"{BASE}/sample_review/versions/0/xml").status_code == 404


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/admin/processes", "/admin/processes/{key}/draft",
                 "/admin/processes/{key}/draft/deploy", "/admin/processes/{key}/diff",
                 "/admin/processes/{key}/versions/{version}/xml",
                 "/admin/processes/{key}/versions/{version}/files/{filename}"):
        assert any(p.endswith(path) for p in paths), path
