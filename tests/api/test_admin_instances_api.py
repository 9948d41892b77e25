"""The process admin's instance API (issue 11, area 4): list with filters, migrate many cases
in one request (dry run, refusals, "all matching"), batch suspend / resume / terminate; 403
for everyone else."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
import time_machine

from tests.api.case_support import T0
from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False):
        yield


def _at_review(clerk, n: int) -> list[int]:
    """``n`` cases of migrate_review waiting at the review (区发改委)."""
    ids = []
    for i in range(n):
        inst = _start(clerk, "migrate_review", business_key=f"QY-{i:03d}")
        _complete(clerk, _open_tasks(clerk, inst["id"])["submit"]["id"], {})
        ids.append(inst["id"])
    return ids


def test_hundred_cases_migrate_in_one_request(deploy, as_user, admin, error_of):
    deploy("migrate_review_v1")
    clerk = as_user("invest-clerk")
    ids = _at_review(clerk, 100)
    deploy("migrate_review_v2")

    # dry run first: all can move, nothing changes
    r = admin.post("/api/v1/admin/instances/migrate",
                   json={"instance_ids": ids, "target_version": 2, "dry_run": True})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["dry_run"] is True and report["ok_count"] == 100
    assert all(x["from_version"] == 1 for x in report["results"])
    page = admin.get("/api/v1/admin/instances?process=migrate_review&version=1&limit=500")
    assert page.get_json()["total"] == 100

    r = admin.post("/api/v1/admin/instances/migrate",
                   json={"instance_ids": ids, "target_version": 2})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["process_key"] == "migrate_review" and report["target_version"] == 2
    assert report["dry_run"] is False
    assert (report["ok_count"], report["refused_count"]) == (100, 0)
    assert [x["instance_id"] for x in report["results"]] == ids
    first = report["results"][0]
    assert first["ok"] and first["reason"] is None and ["review", "review"] in first["moves"]
    assert first["business_key"] == "QY-000"

    page = admin.get("/api/v1/admin/instances?process=migrate_review&version=2&limit=500")
    assert page.get_json()["total"] == 100
    page = admin.get("/api/v1/admin/instances?department=区应急局&limit=5&page=2").get_json()
    assert page["total"] == 100 and page["offset"] == 5 and len(page["items"]) == 5
    task = _open_tasks(admin, ids[0])["review"]
    assert task["department_code"] == "emergency" and task["name"] == "安全审查"
    events = admin.get(f"/api/v1/instances/{ids[0]}/events").get_json()["items"]
    (migrated,) = [e for e in events if e["kind"] == "migrated"]
    assert migrated["actor"] == "admin"
    assert migrated["data"]["from_version"] == 1 and migrated["data"]["to_version"] == 2


def test_refused_case_and_mapping(deploy, as_user, admin, error_of):
    deploy("migrate_review_v1")
    clerk, drc = as_user("invest-clerk"), as_user("drc-clerk")
    (kept,) = _at_review(clerk, 1)
    inst = _start(clerk, "migrate_review", business_key="QY-CHECK")
    _complete(clerk, _open_tasks(clerk, inst["id"])["submit"]["id"], {})
    _complete(drc, _open_tasks(drc, inst["id"])["review"]["id"], {})
    deploy("migrate_review_v2")

    r = admin.post("/api/v1/admin/instances/migrate",
                   json={"instance_ids": [kept, inst["id"]], "target_version": 2})
    report = r.get_json()
    assert r.status_code == 200 and (report["ok_count"], report["refused_count"]) == (1, 1)
    refused = report["results"][1]
    assert refused["instance_id"] == inst["id"] and not refused["ok"]
    assert "复核" in refused["reason"] and refused["moves"] == []
    assert admin.get(f"/api/v1/instances/{inst['id']}").get_json()["definition_version"] == 1

    r = admin.post("/api/v1/admin/instances/migrate",
                   json={"instance_ids": [inst["id"]], "target_version": 2,
                         "mapping": {"check": "joint_check"}})
    (result,) = r.get_json()["results"]
    assert result["ok"] and result["moves"] == [["check", "joint_check"]]
    assert "joint_check" in _open_tasks(admin, inst["id"])

    # bad requests: 422 / 404 in the error envelope, never 500
    for body, status in (
        ({"target_version": 2}, 422),
        ({"instance_ids": [kept], "filter": {}, "target_version": 2}, 422),
        ({"instance_ids": ["x"], "target_version": 2}, 422),
        ({"instance_ids": [kept], "target_version": 0}, 422),
        ({"instance_ids": [kept], "target_version": 9}, 404),
        ({"instance_ids": [kept], "target_version": 2, "mapping": {"review": "nowhere"}}, 422),
        ({"instance_ids": [kept], "target_version": 2, "dry_run": "maybe"}, 422),
        ({"filter": {"color": "red"}, "target_version": 2}, 422),
        ({"filter": {"process": "no_such_process"}, "target_version": 2}, 422),
    ):
        r = admin.post("/api/v1/admin/instances/migrate", json=body)
        assert r.status_code == status, (body, r.get_json())
        assert error_of(r)["message"]


def test_filter_all_matching(deploy, as_user, admin):
    deploy("migrate_review_v1")
    clerk = as_user("invest-clerk")
    at_review = _at_review(clerk, 3)
    at_submit = _start(clerk, "migrate_review", business_key="QT-1")["id"]
    deploy("migrate_review_v2")
    r = admin.post("/api/v1/admin/instances/migrate", json={
        "filter": {"process": "migrate_review", "version": 1, "department": "drc"},
        "target_version": 2})
    report = r.get_json()
    assert r.status_code == 200, report
    assert sorted(x["instance_id"] for x in report["results"]) == sorted(at_review)
    assert report["ok_count"] == 3
    assert admin.get(f"/api/v1/instances/{at_submit}").get_json()["definition_version"] == 1
    listed = admin.get("/api/v1/admin/instances?business_key=QT").get_json()
    assert [i["id"] for i in listed["items"]] == [at_submit]


def test_batch_suspend_resume_terminate_with_reason(deploy, as_user, admin, error_of):
    deploy("migrate_review_v1")
    clerk = as_user("invest-clerk")
    ids = _at_review(clerk, 3)
    r = admin.post("/api/v1/admin/instances/batch",
                   json={"action": "suspend", "instance_ids": ids})
    assert r.status_code == 422 and error_of(r)["message"]
    r = admin.post("/api/v1/admin/instances/batch",
                   json={"action": "pause", "reason": "x", "instance_ids": ids})
    assert r.status_code == 422
    r = admin.post("/api/v1/admin/instances/batch",
                   json={"action": "suspend", "reason": "专项检查", "instance_ids": ids[:2]})
    report = r.get_json()
    assert r.status_code == 200 and report["ok_count"] == 2
    assert [x["status"] for x in report["results"]] == ["suspended", "suspended"]
    # resume everything suspended: "all matching"
    r = admin.post("/api/v1/admin/instances/batch", json={
        "action": "resume", "reason": "检查结束",
        "filter": {"process": "migrate_review", "status": "suspended"}})
    report = r.get_json()
    assert sorted(x["instance_id"] for x in report["results"]) == sorted(ids[:2])
    assert report["ok_count"] == 2
    r = admin.post("/api/v1/admin/instances/batch",
                   json={"action": "terminate", "reason": "项目撤销",
                         "instance_ids": [ids[0], 99999]})
    report = r.get_json()
    assert (report["ok_count"], report["failed_count"]) == (1, 1)
    assert report["results"][0]["status"] == "terminated"
    missing = report["results"][1]
    assert not missing["ok"] and missing["status"] is None and "不存在" in missing["reason"]
    events = admin.get(f"/api/v1/instances/{ids[0]}/events").get_json()["items"]
    reasons = [(e["kind"], (e["data"] or {}).get("reason")) for e in events]
    assert ("instance_suspended", "专项检查") in reasons
    assert ("instance_running", "检查结束") in reasons
    assert ("instance_terminated", "项目撤销") in reasons


def test_caseworkers_get_403(deploy, as_user, error_of):
    deploy("migrate_review_v1")
    for method, path, body in (
        ("get", "/api/v1/admin/instances", None),
        ("post", "/api/v1/admin/instances/migrate", {"instance_ids": [1], "target_version": 1}),
        ("post", "/api/v1/admin/instances/batch",
         {"action": "terminate", "reason": "x", "instance_ids": [1]}),
    ):
        for username in ("drc-clerk", "supervisor", "leader"):
            user = as_user(username)
            r = user.get(path) if method == "get" else user.post(path, json=body)
            assert r.status_code == 403, (username, path, r.get_json())
            assert error_of(r)["code"] == "forbidden"


def test_a_filter_matching_more_than_the_cap_is_refused_not_cut_short(
        deploy, as_user, admin, error_of, app, monkeypatch):
    """"All matching" never acts on the first N only: more than MAX_SELECTED (here 2) is a
    422 that names the count and asks for a narrower filter; the cases page says so too."""
    monkeypatch.setattr("engine.queries.instances.MAX_SELECTED", 2)
    monkeypatch.setattr("web.admin.instances.MAX_SELECTED", 2)
    deploy("migrate_review_v1")
    clerk = as_user("invest-clerk")
    ids = _at_review(clerk, 3)
    deploy("migrate_review_v2")
    too_wide = {"process": "migrate_review", "version": 1}
    for path, body in (("migrate", {"filter": too_wide, "target_version": 2}),
                       ("batch", {"filter": too_wide, "action": "suspend", "reason": "检查"})):
        r = admin.post(f"/api/v1/admin/instances/{path}", json=body)
        assert r.status_code == 422, r.get_json()
        error = error_of(r)
        assert "3 个" in error["message"] and "缩小筛选范围" in error["message"]
        assert error["details"] == {"matched": 3, "max": 2}
    for iid in ids:
        inst = admin.get(f"/api/v1/instances/{iid}").get_json()
        assert (inst["status"], inst["definition_version"]) == ("running", 1)
    r = admin.post("/api/v1/admin/instances/batch", json={
        "filter": {**too_wide, "business_key": "QY-001"}, "action": "suspend", "reason": "检查"})
    assert r.status_code == 200 and [x["instance_id"] for x in r.get_json()["results"]] == [ids[1]]

    page = app.test_client()
    login = page.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    assert page.post("/login", data={"username": "admin", "password": "demo",
                                     "csrf_token": token}).status_code == 302
    html = page.get("/admin/instances?process=migrate_review").text
    assert 'data-testid="too-many-matching"' in html and "超过 2 件" in html
    assert 'data-action="select-all-matching"' not in html
    html = page.get("/admin/instances?process=migrate_review&business_key=QY-001").text
    assert 'data-testid="too-many-matching"' not in html


def test_dry_run_of_a_rollback_says_so_per_case(deploy, as_user, admin):
    deploy("migrate_review_v1")
    clerk = as_user("invest-clerk")
    (old,) = _at_review(clerk, 1)
    deploy("migrate_review_v2")
    new = _start(clerk, "migrate_review", business_key="QY-NEW")["id"]
    _complete(clerk, _open_tasks(clerk, new)["submit"]["id"], {})
    r = admin.post("/api/v1/admin/instances/migrate", json={
        "instance_ids": [new], "target_version": 1, "dry_run": True})
    (back,) = r.get_json()["results"]
    assert r.status_code == 200 and back["ok"]
    assert (back["rollback"], back["note"]) == (True, "回退到旧版本（v2 → v1）")
    r = admin.post("/api/v1/admin/instances/migrate", json={
        "instance_ids": [old], "target_version": 2, "dry_run": True})
    (forward,) = r.get_json()["results"]
    assert (forward["rollback"], forward["note"]) == (False, None)
