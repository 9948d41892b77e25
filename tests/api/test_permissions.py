"""A caseworker sees and acts on their own department's work only; admins deploy."""

from __future__ import annotations

import io


def _start(as_user):
    inst = (
        as_user("invest-clerk")
        .post("/api/v1/instances", json={"process_key": "sample_review"})
        .get_json()
    )
    return inst["id"], inst["tasks"][0]["id"]


def test_other_department_gets_403_on_task(as_user, error_of):
    iid, task_id = _start(as_user)
    drc = as_user("drc-clerk")
    for r in (
        drc.get(f"/api/v1/tasks/{task_id}"),
        drc.post(f"/api/v1/tasks/{task_id}/claim"),
        drc.post(f"/api/v1/tasks/{task_id}/unclaim"),
        drc.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"x": 1}}),
        as_user("drc-head").post(
            f"/api/v1/tasks/{task_id}/reassign", json={"username": "drc-clerk"}
        ),
    ):
        assert r.status_code == 403, r.get_json()
        assert error_of(r)["code"] == "forbidden"
    # Not in the department queue either, and the instance is not theirs to read.
    assert drc.get("/api/v1/tasks?scope=department").get_json()["items"] == []
    assert drc.get(f"/api/v1/instances/{iid}").status_code == 403
    assert drc.get(f"/api/v1/instances/{iid}/events").status_code == 403
    # The task is untouched.
    task = as_user("invest-clerk").get(f"/api/v1/tasks/{task_id}").get_json()
    assert task["state"] == "ready" and task["assignee"] is None


def test_scope_all_only_for_readers_of_everything(as_user):
    _start(as_user)
    assert as_user("invest-clerk").get("/api/v1/tasks?scope=all").status_code == 403
    for username in ("supervisor", "leader", "admin"):
        r = as_user(username).get("/api/v1/tasks?scope=all")
        assert r.status_code == 200 and r.get_json()["total"] == 1


def test_caseworker_cannot_deploy(as_user, error_of, root):
    content = (root / "bpmn" / "sample_review.bpmn").read_bytes()
    for username in ("invest-clerk", "invest-head", "leader"):
        r = as_user(username).post(
            "/api/v1/definitions", data={"file": (io.BytesIO(content), "sample_review.bpmn")}
        )
        assert r.status_code == 403, r.get_json()
        assert error_of(r)["code"] == "forbidden"


def test_other_department_cannot_start_a_process_of_invest(as_user):
    r = as_user("drc-clerk").post("/api/v1/instances", json={"process_key": "sample_review"})
    assert r.status_code == 403


def test_admin_suspend_forbidden_for_head(as_user):
    iid, _ = _start(as_user)
    assert as_user("invest-head").post(f"/api/v1/instances/{iid}/terminate").status_code == 403
