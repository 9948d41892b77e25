"""The process admin's decision tools over HTTP: the DMN change preview and the trial run
(admins only; bad input is a 422 in the error envelope; nothing is stored)."""

from __future__ import annotations

import io

from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start

DMN_V1 = "tests/fixtures/dmn/review_route.dmn"
DMN_V2 = "tests/fixtures/dmn/review_route_v2.dmn"
TRIAL = "tests/fixtures/decisions/trial_flow.bpmn"
FORM = "tests/fixtures/decisions/register_project.form"


def _deploy_route(admin, root) -> None:
    bpmn = (root / "tests/fixtures/bpmn/dmn_review_route.bpmn").read_bytes()
    r = admin.post(
        "/api/v1/definitions",
        data={"file": (io.BytesIO(bpmn), "dmn_review_route.bpmn"),
              "files": [(io.BytesIO((root / DMN_V1).read_bytes()), "review_route.dmn")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()


def test_dmn_preview_lists_the_cases_whose_route_changes(admin, as_user, root, error_of):
    _deploy_route(admin, root)
    clerk = as_user("invest-clerk")
    for key, amount in (("A-1", 0.5), ("A-2", 3), ("A-3", 8)):
        inst = _start(clerk, "dmn_review_route", business_key=key)
        task = _open_tasks(clerk, inst["id"])["register_project"]
        _complete(clerk, task["id"], {"total_investment": amount})

    v2 = (root / DMN_V2).read_text("utf-8")
    r = admin.post("/api/v1/admin/processes/dmn_review_route/dmn-preview",
                   json={"files": {"review_route.dmn": v2}})
    assert r.status_code == 200, r.get_json()
    (preview,) = r.get_json()["items"]
    assert (preview["decision_id"], preview["evaluated"]) == ("review_route", 3)
    (change,) = preview["changed"]
    assert change["business_key"] == "A-2"
    assert change["inputs"] == {"total_investment": 3}
    assert (change["before"], change["after"]) == ({"review_route": "simple"},
                                                   {"review_route": "full"})
    assert change["at"].endswith("Z") and change["error"] is None

    r = as_user("invest-clerk").post("/api/v1/admin/processes/dmn_review_route/dmn-preview",
                                     json={"files": {}})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = admin.post("/api/v1/admin/processes/dmn_review_route/dmn-preview", json={})
    assert r.status_code == 404 and "草稿" in error_of(r)["message"]  # no draft
    r = admin.post("/api/v1/admin/processes/dmn_review_route/dmn-preview",
                   json={"files": {"x.dmn": 5}})
    assert r.status_code == 422
    r = admin.post("/api/v1/admin/processes/dmn_review_route/dmn-preview",
                   json={"files": {}, "limit": 0})
    assert r.status_code == 422


def test_trial_run_of_a_draft_given_in_the_request(admin, as_user, root, error_of):
    body = {
        "bpmn_xml": (root / TRIAL).read_text("utf-8"),
        "files": {"review_route.dmn": (root / DMN_V1).read_text("utf-8"),
                  "register_project.form": (root / FORM).read_text("utf-8")},
        "start_data": {"filing_department": "区自然资源分局", "divisor": 4},
        "steps": [{"element_id": "register_project", "data": {"total_investment": 2}}],
    }
    before = admin.get("/api/v1/instances").get_json()["total"]
    r = admin.post("/api/v1/admin/processes/trial_flow/trial", json=body)
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert (result["status"], result["ended"], result["error"]) == ("running", False, None)
    (ready,) = result["ready"]
    assert (ready["element_id"], ready["department_code"], ready["department_name"]) == (
        "assign_filing", "natres", "区自然资源分局")
    assert result["decisions"][0]["outputs"] == {"review_route": "simple"}
    assert [s["element_id"] for s in result["skipped"]] == ["verify_account"]
    assert result["data"]["fee"] == 25
    assert admin.get("/api/v1/instances").get_json()["total"] == before

    failing = {**body, "start_data": {"divisor": 0},
               "steps": [*body["steps"], {"element_id": "assign_filing"}]}
    result = admin.post("/api/v1/admin/processes/trial_flow/trial", json=failing).get_json()
    assert result["status"] == "error"
    assert result["error"]["element_id"] == "compute_fee"

    r = as_user("drc-clerk").post("/api/v1/admin/processes/trial_flow/trial", json=body)
    assert r.status_code == 403
    too_many = {**body, "steps": [{"element_id": "register_project"}] * 201}
    r = admin.post("/api/v1/admin/processes/trial_flow/trial", json=too_many)
    assert r.status_code == 422 and "200" in error_of(r)["message"]
    r = admin.post("/api/v1/admin/processes/trial_flow/trial", json={**body, "steps": [{}]})
    assert r.status_code == 422
    r = admin.post("/api/v1/admin/processes/nothing_here/trial", json={})
    assert r.status_code == 404
    r = admin.post("/api/v1/admin/processes/trial_flow/trial",
                   json={**body, "bpmn_xml": "<not xml"})
    assert r.status_code == 422


def test_both_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/admin/processes/{key}/trial"]
    assert "post" in paths["/api/v1/admin/processes/{key}/dmn-preview"]
