"""``POST /api/v1/admin/validate`` and ``POST /api/v1/admin/import``: process admins only,
the deploy check's problems, the import's report; no upload ever answers 500."""

from __future__ import annotations

import io

import pytest


def _fixture(root, stem: str) -> bytes:
    return (root / "tests" / "fixtures" / "import" / f"{stem}.bpmn").read_bytes()


OUTSIDE_LANE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="lonely" isExecutable="true">
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="lonely_task" name="无人办理"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="lonely_task" />
    <bpmn:sequenceFlow id="f2" sourceRef="lonely_task" targetRef="end_event" />
  </bpmn:process>
</bpmn:definitions>"""


def test_validate_lists_errors_and_warnings(admin):
    r = admin.post("/api/v1/admin/validate",
                   json={"filename": "lonely.bpmn", "bpmn_xml": OUTSIDE_LANE})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    (problem,) = body["errors"]
    assert problem == {
        "element_id": "lonely_task", "element_type": "bpmn:UserTask",
        "rule": "kunflow/user-task-department",
        "message": "用户任务“无人办理”不在对应部门的泳道中，也没有部门表达式",
        "hint": problem["hint"], "file": "lonely.bpmn", "line": problem["line"],
    }
    assert problem["hint"]
    assert body["warnings"] == []


def test_validate_with_the_shipped_files_is_clean(admin, root):
    bpmn = (root / "bpmn" / "sample_review.bpmn").read_text(encoding="utf-8")
    r = admin.post("/api/v1/admin/validate", json={"bpmn_xml": bpmn, "files": {}})
    assert r.status_code == 200
    assert r.get_json() == {"errors": [], "warnings": []}


def test_validate_malformed_xml_is_a_422_in_chinese(admin, error_of):
    r = admin.post("/api/v1/admin/validate", json={"bpmn_xml": "<bpmn:definitions"})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid_model"
    assert "XML" in err["message"] and "不是有效的" in err["message"]
    assert err["details"][0]["hint"]


def test_validate_refuses_files_that_are_not_text_or_of_another_kind(admin, error_of):
    r = admin.post("/api/v1/admin/validate",
                   json={"bpmn_xml": OUTSIDE_LANE, "files": {"x.exe": "MZ"}})
    assert r.status_code == 422
    assert error_of(r)["details"] == {"field": "files"}


def test_deploy_of_the_same_diagram_answers_422_with_the_same_problems(admin):
    r = admin.post("/api/v1/definitions",
                   data={"file": (io.BytesIO(OUTSIDE_LANE.encode()), "lonely.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 422
    (detail,) = r.get_json()["error"]["details"]
    assert detail["rule"] == "kunflow/user-task-department"
    assert detail["element_id"] == "lonely_task"


@pytest.mark.parametrize("path", ["/api/v1/admin/validate", "/api/v1/admin/import"])
def test_only_process_admins(as_user, path, error_of):
    r = as_user("drc-head").post(path, json={"bpmn_xml": OUTSIDE_LANE})
    assert r.status_code == 403
    assert error_of(r)["code"] == "forbidden"


def test_import_multipart_returns_the_report(admin, root):
    r = admin.post("/api/v1/admin/import",
                   data={"file": (io.BytesIO(_fixture(root, "camunda7_permit")), "permit.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) == {"key", "name", "bpmn_xml", "executable", "translations", "problems"}
    assert body["key"] == "permit_check" and body["executable"] is True
    assert {"element_id": "review_overdue", "kind": "timer", "original": "PT2H",
            "translated": '"PT2H"'} in body["translations"]
    assert body["problems"] == []
    # the translated diagram deploys
    r = admin.post("/api/v1/definitions",
                   data={"file": (io.BytesIO(body["bpmn_xml"].encode()), "permit.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()


def test_import_json_with_an_unsupported_element_reports_per_element(admin, root):
    xml = _fixture(root, "signavio_complaint").decode("utf-8")
    r = admin.post("/api/v1/admin/import", json={"filename": "complaint.bpmn", "bpmn_xml": xml})
    assert r.status_code == 200
    body = r.get_json()
    assert body["executable"] is False
    types = {p["element_type"] for p in body["problems"] if p["rule"] == "import/unsupported"}
    assert types == {"bpmn:ComplexGateway", "bpmn:DataStoreReference"}
    assert all(p["message"] and p["hint"] for p in body["problems"])
    assert body["bpmn_xml"].startswith("<?xml")


@pytest.mark.parametrize("content", [
    b"", b"\x00\x01\x02 binary", b"\xff\xfe\xfa not utf-8 <", b"<a>" * 50,
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&b;'
    b"</bpmn:definitions>",
], ids=["empty", "binary", "not-utf8", "unclosed", "xml-bomb"])
def test_no_upload_answers_500(admin, content, error_of):
    r = admin.post("/api/v1/admin/import", data={"file": (io.BytesIO(content), "x.bpmn")},
                   content_type="multipart/form-data")
    assert r.status_code == 422, r.data[:300]
    assert error_of(r)["message"]


def test_a_huge_diagram_is_refused(admin, error_of):
    # (as JSON: the test client spools a large multipart body to a file it never closes)
    r = admin.post("/api/v1/admin/import", json={"bpmn_xml": "<a>" + "x" * (6 * 1024 * 1024)})
    assert r.status_code == 422
    assert error_of(r)["details"] == {"field": "bpmn_xml"}


def test_import_needs_a_file_or_json(admin, error_of):
    r = admin.post("/api/v1/admin/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert error_of(r)["details"] == {"field": "file"}
    r = admin.post("/api/v1/admin/import", data="plain", content_type="text/plain")
    assert r.status_code == 400
    r = admin.post("/api/v1/admin/import", json={"bpmn_xml": "<x/>", "other": 1})
    assert r.status_code == 422


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/admin/validate"]
    assert "multipart/form-data" in paths["/api/v1/admin/import"]["post"]["requestBody"]["content"]
