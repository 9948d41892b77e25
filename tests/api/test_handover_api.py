"""转办 and 委托 over the API: the answers' shapes and codes (403 for another department or a
stand-in outside the period, 422 for bad input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

# Monday 2026-06-01, 23:00 in Beijing: two hours on it is the next China day, and the bearer
# tokens (12 hours) still hold
T0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=True) as traveller:
        yield traveller


def _start(user, key="sample_review"):
    r = user.post("/api/v1/instances", json={"process_key": key, "title": "转办测试"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_transfer_to_a_colleague_and_back_to_the_queue(as_user, error_of):
    clerk, head = as_user("invest-clerk"), as_user("invest-head")
    task_id = _start(clerk)["tasks"][0]["id"]
    assert clerk.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200

    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer", json={"to": "drc-clerk", "reason": "越部门"})
    assert r.status_code == 403 and "本部门" in error_of(r)["message"]
    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer", json={"to": "invest-head"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_input"
    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer", json={"to": "invest-clerk", "reason": "x"})
    assert r.status_code == 422 and "自己" in error_of(r)["message"]
    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer",
                   json={"to": "invest-head", "reason": "请负责人亲自登记", "extra": 1})
    assert r.status_code == 422

    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer",
                   json={"to": "invest-head", "reason": "请负责人亲自登记"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["assignee"], body["handed_by"], body["hand_reason"]) == (
        "invest-head", "invest-clerk", "请负责人亲自登记")
    assert body["handed_at"].startswith("2026-06-01T15:00")
    mine = head.get("/api/v1/tasks?scope=mine").get_json()
    assert mine["items"][0]["id"] == task_id and mine["items"][0]["handed_by"] == "invest-clerk"
    # the former holder may no longer hand it on; the head sends it back to the queue
    r = clerk.post(f"/api/v1/tasks/{task_id}/transfer", json={"reason": "再转"})
    assert r.status_code == 403
    r = head.post(f"/api/v1/tasks/{task_id}/transfer", json={"to": None, "reason": "部门统一分派"})
    assert r.status_code == 200 and r.get_json()["state"] == "ready"
    assert r.get_json()["assignee"] is None


def test_delegation_over_the_api(as_user, deploy, error_of, clock):
    deploy("transfer_review")
    clerk, head = as_user("emergency-clerk"), as_user("emergency-head")
    inst = _start(clerk, "transfer_review")
    check_id = inst["tasks"][0]["id"]
    assert clerk.post(f"/api/v1/tasks/{check_id}/complete").status_code == 200
    (sign,) = [t for t in clerk.get(f"/api/v1/tasks?scope=department&instance_id={inst['id']}")
               .get_json()["items"]]
    assert sign["candidate_role"] == "head"

    # a member cannot set one for a colleague; bad dates are 422
    r = clerk.post("/api/v1/delegations", json={
        "username": "emergency-head", "deputy": "emergency-clerk",
        "starts_on": "2026-06-01", "ends_on": "2026-06-03"})
    assert r.status_code == 403
    r = head.post("/api/v1/delegations", json={
        "deputy": "emergency-clerk", "starts_on": "2026-06-03", "ends_on": "2026-06-01"})
    assert r.status_code == 422 and "早于" in error_of(r)["message"]
    r = head.post("/api/v1/delegations", json={
        "deputy": "drc-clerk", "starts_on": "2026-06-01", "ends_on": "2026-06-03"})
    assert r.status_code == 422
    r = head.post("/api/v1/delegations", json={
        "deputy": "emergency-clerk", "starts_on": "2026-06-02", "ends_on": "2026-06-04",
        "reason": "到市里参加培训"})
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert (made["username"], made["deputy"], made["status"]) == (
        "emergency-head", "emergency-clerk", "upcoming")
    r = head.post("/api/v1/delegations", json={
        "deputy": "emergency-clerk", "starts_on": "2026-06-04", "ends_on": "2026-06-05"})
    assert r.status_code == 422 and "重叠" in error_of(r)["message"]
    listed = clerk.get("/api/v1/delegations").get_json()["items"]
    assert [d["id"] for d in listed] == [made["id"]]

    # before the period: 403, and nothing to stand in for
    assert clerk.get("/api/v1/tasks?scope=delegated").get_json()["total"] == 0
    assert clerk.post(f"/api/v1/tasks/{sign['id']}/claim").status_code == 403

    clock.move_to(T0 + timedelta(hours=2))
    delegated = clerk.get("/api/v1/tasks?scope=delegated").get_json()
    assert [(t["id"], t["on_behalf_of"]) for t in delegated["items"]] == [
        (sign["id"], "emergency-head")]
    r = clerk.post(f"/api/v1/tasks/{sign['id']}/claim")
    assert r.status_code == 200 and r.get_json()["on_behalf_of"] == "emergency-head"
    r = clerk.post(f"/api/v1/tasks/{sign['id']}/complete", json={"data": {}})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["completed_by"], r.get_json()["on_behalf_of"]) == (
        "emergency-clerk", "emergency-head")

    # revoked: the stand-in is refused again
    inst2 = _start(clerk, "transfer_review")
    assert clerk.post(f"/api/v1/tasks/{inst2['tasks'][0]['id']}/complete").status_code == 200
    (sign2,) = clerk.get(f"/api/v1/tasks?scope=delegated&instance_id={inst2['id']}") \
        .get_json()["items"]
    r = clerk.post(f"/api/v1/delegations/{made['id']}/revoke", json={})
    assert r.status_code == 200 and r.get_json()["status"] == "revoked"
    assert clerk.post(f"/api/v1/tasks/{sign2['id']}/claim").status_code == 403
    assert head.post("/api/v1/delegations/99999/revoke").status_code == 404
    assert as_user("drc-clerk").post(f"/api/v1/delegations/{made['id']}/revoke").status_code \
        == 403
    past = head.get("/api/v1/delegations?include_past=true").get_json()["items"]
    assert [d["status"] for d in past] == ["revoked"]
