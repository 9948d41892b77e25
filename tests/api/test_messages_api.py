"""Message correlation for external systems through the HTTP API: a message resumes the
instance that waits with the same key, or waits until one does; only admins send them."""

from __future__ import annotations

from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


def _waiting_project(invest, business_key) -> int:
    inst = _start(invest, "msg_wait", business_key=business_key, title="等待矿山审批的项目")
    (prepare,) = inst["tasks"]
    _complete(invest, prepare["id"], {})
    assert _open_tasks(invest, inst["id"]) == {}
    return inst["id"]


def test_message_resumes_the_instance_with_the_same_key(deploy, as_user, admin):
    deploy("msg_wait")
    invest = as_user("invest-clerk")
    first = _waiting_project(invest, "XM-2026-007")
    second = _waiting_project(invest, "XM-2026-008")

    r = admin.post(
        "/api/v1/messages",
        json={
            "name": "mine_result",
            "correlation_key": "XM-2026-008",
            "payload": {"approved": True, "licence": "采矿许可 2026-15"},
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"status": "delivered", "instance_id": second}
    assert _open_tasks(invest, first) == {}
    (use,) = _open_tasks(invest, second).values()
    assert use["element_id"] == "use_mine_result"
    data = invest.get(f"/api/v1/tasks/{use['id']}").get_json()["data"]
    assert data["mine_result"] == {"approved": True, "licence": "采矿许可 2026-15"}
    events = admin.get(f"/api/v1/instances/{second}/events").get_json()["items"]
    (received,) = [e for e in events if e["kind"] == "message_received"]
    assert received["actor"] == "admin" and received["data"]["name"] == "mine_result"


def test_message_without_catcher_waits_until_one_appears(deploy, as_user, admin):
    deploy("msg_wait")
    invest = as_user("invest-clerk")
    r = admin.post(
        "/api/v1/messages",
        json={
            "name": "mine_result",
            "correlation_key": "XM-2026-009",
            "payload": {"approved": False},
            "ttl_days": 60,
        },
    )
    assert r.status_code == 200, r.get_json()
    outcome = r.get_json()
    assert outcome["status"] == "waiting" and isinstance(outcome["message_id"], int)
    assert set(outcome) == {"status", "message_id"}

    # No key and defaults: waits as well (for a catcher without a key).
    r = admin.post("/api/v1/messages", json={"name": "mine_result"})
    assert r.status_code == 200 and r.get_json()["status"] == "waiting"

    inst = _start(invest, "msg_wait", business_key="XM-2026-009")
    (prepare,) = inst["tasks"]
    _complete(invest, prepare["id"], {})
    (use,) = _open_tasks(invest, inst["id"]).values()  # delivered as soon as it waited
    data = invest.get(f"/api/v1/tasks/{use['id']}").get_json()["data"]
    assert data["mine_result"] == {"approved": False}


def test_messages_are_for_admins_and_checked(deploy, as_user, admin, client, error_of):
    body = {"name": "mine_result", "correlation_key": "XM-1"}
    assert client.post("/api/v1/messages", json=body).status_code == 401
    for username in ("invest-clerk", "drc-head", "supervisor", "leader"):
        r = as_user(username).post("/api/v1/messages", json=body)
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden", username
    # a caseworker learns nothing about the body either
    assert as_user("invest-clerk").post("/api/v1/messages", data="{bad").status_code == 403

    for bad, field in (
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "m\x00"}, "name"),
        ({"name": "m", "correlation_key": 12}, "correlation_key"),
        ({"name": "m", "correlation_key": "k" * 201}, "correlation_key"),
        ({"name": "m", "payload": "approved"}, "payload"),
        ({"name": "m", "payload": [1, 2]}, "payload"),
        ({"name": "m", "ttl_days": 0}, "ttl_days"),
        ({"name": "m", "ttl_days": -1}, "ttl_days"),
        ({"name": "m", "ttl_days": 3651}, "ttl_days"),
        ({"name": "m", "ttl_days": True}, "ttl_days"),
        ({"name": "m", "ttl_days": 1.5}, "ttl_days"),
        ({"name": "m", "ttl_days": "30"}, "ttl_days"),
        ({"name": "m", "key": "XM-1"}, "key"),
    ):
        r = admin.post("/api/v1/messages", json=bad)
        assert r.status_code == 422, bad
        assert error_of(r)["details"] == {"field": field}, bad
    for raw, ctype in (
        ("", "application/json"),
        ("{bad", "application/json"),
        ("[1]", "application/json"),
        ('{"name": "\\ud800"}', "application/json"),
        ('{"name": "m", "payload": {"x": 1e400}}', "application/json"),
        ("name=m", "application/x-www-form-urlencoded"),
    ):
        r = admin.post("/api/v1/messages", data=raw, content_type=ctype)
        assert r.status_code == 400, raw
        assert error_of(r)["code"] == "bad_request"
    assert admin.get("/api/v1/messages").status_code == 405
