"""sample_review straight through the HTTP API, each step by the department its lane names."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


def _department_task(user, element_id, instance_id):
    r = user.get(f"/api/v1/tasks?scope=department&instance_id={instance_id}")
    assert r.status_code == 200, r.get_json()
    matches = [t for t in r.get_json()["items"] if t["element_id"] == element_id]
    assert len(matches) == 1, r.get_json()
    return matches[0]


def test_sample_review_through_http(as_user, error_of):
    invest = as_user("invest-clerk")
    r = invest.post(
        "/api/v1/instances",
        json={
            "process_key": "sample_review",
            "business_key": "XM-2026-001",
            "title": "新材料项目预审",
            "data": {"investment": 120000},
        },
    )
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    iid = inst["id"]
    assert inst["status"] == "running" and inst["definition_version"] == 1
    assert [t["element_id"] for t in inst["tasks"]] == ["register_project"]

    register = _department_task(invest, "register_project", iid)
    assert register["department_code"] == "invest" and register["state"] == "ready"
    assert register["title"] == "新材料项目预审"

    r = invest.post(f"/api/v1/tasks/{register['id']}/claim")
    assert r.status_code == 200 and r.get_json()["assignee"] == "invest-clerk"
    assert r.get_json()["state"] == "claimed"
    mine = invest.get("/api/v1/tasks?scope=mine").get_json()["items"]
    assert [t["id"] for t in mine] == [register["id"]]

    detail = invest.get(f"/api/v1/tasks/{register['id']}").get_json()
    assert detail["data"]["investment"] == 120000

    r = invest.post(
        f"/api/v1/tasks/{register['id']}/complete", json={"data": {"industry": "新材料"}}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "completed" and r.get_json()["completed_by"] == "invest-clerk"

    # The parallel split: each department sees its own opinion task, and only that one.
    for dept, element in (
        ("drc", "opinion_drc"),
        ("natres", "opinion_natres"),
        ("eco", "opinion_eco"),
    ):
        clerk = as_user(f"{dept}-clerk")
        items = clerk.get("/api/v1/tasks?scope=department").get_json()["items"]
        assert [t["element_id"] for t in items] == [element], (dept, items)
        task = items[0]
        assert task["department_code"] == dept
        r = clerk.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {f"{dept}_ok": True}})
        assert r.status_code == 200, r.get_json()

    consolidate = _department_task(invest, "consolidate_review", iid)
    r = invest.post(
        f"/api/v1/tasks/{consolidate['id']}/complete", json={"data": {"approved": True}}
    )
    assert r.status_code == 200, r.get_json()

    sign = _department_task(invest, "sign_agreement", iid)
    assert sign["candidate_role"] == "head"
    r = invest.post(f"/api/v1/tasks/{sign['id']}/complete", json={"data": {}})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = invest.post(f"/api/v1/tasks/{sign['id']}/claim")
    assert r.status_code == 403

    head = as_user("invest-head")
    r = head.post(
        f"/api/v1/tasks/{sign['id']}/complete", json={"data": {"signed_on": "2026-03-01"}}
    )
    assert r.status_code == 200, r.get_json()

    final = invest.get(f"/api/v1/instances/{iid}").get_json()
    assert final["status"] == "completed" and final["ended_at"] is not None
    assert final["tasks"] == []
    assert final["data"]["approved"] is True and final["data"]["investment"] == 120000

    events = invest.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_completed"
    assert kinds.count("task_completed") == 6
    completed = [e for e in events if e["kind"] == "task_completed"]
    assert {"approved": True} in [e["data"] for e in completed]

    done = invest.get("/api/v1/tasks?scope=done").get_json()
    assert {t["element_id"] for t in done["items"]} == {"register_project", "consolidate_review"}


def test_rejected_review_ends_without_signing(as_user):
    invest = as_user("invest-clerk")
    iid = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()["id"]
    for user, element in (
        ("invest-clerk", "register_project"),
        ("drc-clerk", "opinion_drc"),
        ("natres-clerk", "opinion_natres"),
        ("eco-clerk", "opinion_eco"),
    ):
        u = as_user(user)
        task = _department_task(u, element, iid)
        assert u.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 200
    task = _department_task(invest, "consolidate_review", iid)
    r = invest.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": False}})
    assert r.status_code == 200
    assert invest.get(f"/api/v1/instances/{iid}").get_json()["status"] == "completed"


def test_claim_conflicts_and_unclaim(as_user, error_of):
    invest = as_user("invest-clerk")
    inst = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()
    task_id = inst["tasks"][0]["id"]
    assert invest.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200

    head = as_user("invest-head")
    r = head.post(f"/api/v1/tasks/{task_id}/claim")
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    r = head.post(f"/api/v1/tasks/{task_id}/complete")
    assert r.status_code == 409

    r = invest.post(f"/api/v1/tasks/{task_id}/unclaim")
    assert r.status_code == 200 and r.get_json()["state"] == "ready"
    assert r.get_json()["assignee"] is None

    # Only a head reassigns, and only inside the department.
    r = invest.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "invest-head"})
    assert r.status_code == 403
    r = head.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "drc-clerk"})
    assert r.status_code == 422
    r = head.post(f"/api/v1/tasks/{task_id}/reassign", json={"username": "invest-clerk"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "invest-clerk"

    assert invest.post(f"/api/v1/tasks/{task_id}/complete").status_code == 200
    r = invest.post(f"/api/v1/tasks/{task_id}/complete")
    assert r.status_code == 409


def test_admin_suspends_resumes_terminates(as_user):
    invest = as_user("invest-clerk")
    admin = as_user("admin")
    inst = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()
    iid, task_id = inst["id"], inst["tasks"][0]["id"]

    r = invest.post(f"/api/v1/instances/{iid}/suspend")
    assert r.status_code == 403
    r = admin.post(f"/api/v1/instances/{iid}/suspend", json={"reason": "等待专家评审"})
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    r = invest.post(f"/api/v1/tasks/{task_id}/complete")
    assert r.status_code == 409
    r = admin.post(f"/api/v1/instances/{iid}/suspend")
    assert r.status_code == 409
    r = admin.post(f"/api/v1/instances/{iid}/resume", json={})
    assert r.status_code == 200 and r.get_json()["status"] == "running"
    r = admin.post(f"/api/v1/instances/{iid}/terminate", json={"reason": "企业撤回申请"})
    assert r.status_code == 200 and r.get_json()["status"] == "terminated"
    assert r.get_json()["tasks"] == []
    events = admin.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    assert {"reason": "等待专家评审"} in [
        e["data"] for e in events if e["kind"] == "instance_suspended"
    ]
    assert {"reason": "企业撤回申请"} in [
        e["data"] for e in events if e["kind"] == "instance_terminated"
    ]
    task = invest.get(f"/api/v1/tasks/{task_id}").get_json()
    assert task["state"] == "cancelled"


def test_instance_list_filters_and_paging(as_user):
    invest = as_user("invest-clerk")
    for n in range(3):
        invest.post(
            "/api/v1/instances", json={"process_key": "sample_review", "business_key": f"XM-{n}"}
        )
    page = invest.get("/api/v1/instances?limit=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    page = invest.get("/api/v1/instances?limit=2&offset=2").get_json()
    assert len(page["items"]) == 1 and page["offset"] == 2
    page = invest.get("/api/v1/instances?business_key=XM-1").get_json()
    assert [i["business_key"] for i in page["items"]] == ["XM-1"]
    page = invest.get("/api/v1/instances?status=completed&process_key=sample_review").get_json()
    assert page["total"] == 0
    # Another department sees none of them until it has work in them.
    assert as_user("drc-clerk").get("/api/v1/instances").get_json()["total"] == 0
    assert as_user("leader").get("/api/v1/instances").get_json()["total"] == 3


def test_org_routes(as_user):
    clerk = as_user("drc-clerk")
    me = clerk.get("/api/v1/me").get_json()
    assert me == {
        "username": "drc-clerk",
        "display_name": "张晓东",
        "department_code": "drc",
        "roles": ["caseworker"],
        "active": True,
    }
    departments = clerk.get("/api/v1/departments").get_json()["items"]
    assert {"code": "drc", "name": "区发改委", "kind": "bureau", "parent_code": None} in departments
    users = clerk.get("/api/v1/users?department=invest").get_json()["items"]
    assert [u["username"] for u in users] == ["invest-clerk", "invest-head"]
    assert all("password_hash" not in u for u in users)


def test_concurrent_completions_one_wins_other_409(app, token):
    """Through HTTP: two clients complete the same task at once; one 200, one 409."""
    headers = {"Authorization": f"Bearer {token('invest-clerk')}"}
    admin = {"Authorization": f"Bearer {token('admin')}"}
    client = app.test_client()

    def complete(task_id: str, barrier: threading.Barrier) -> int:
        c = app.test_client()
        barrier.wait()
        return c.post(f"/api/v1/tasks/{task_id}/complete", headers=headers).status_code

    for _ in range(10):
        inst = client.post(
            "/api/v1/instances", headers=headers, json={"process_key": "sample_review"}
        ).get_json()
        task_id, barrier = inst["tasks"][0]["id"], threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(complete, [task_id] * 2, [barrier] * 2))
        assert statuses == [200, 409], statuses
        opinions = client.get(
            f"/api/v1/tasks?scope=all&instance_id={inst['id']}&state=open", headers=admin
        ).get_json()
        assert opinions["total"] == 3  # the parallel split happened exactly once
