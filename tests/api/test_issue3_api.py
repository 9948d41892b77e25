"""Issue 3 through the HTTP API: incidents (list, retry), the deadline clock of a task (pause,
resume, pauses), send-back, and message correlation for external systems."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

# 2026-09-18 10:00 in Beijing = 02:00 UTC
T0 = datetime(2026, 9, 18, 2, 0, 0)
MISSING_TASK = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def admin(as_user):
    return as_user("admin")


@pytest.fixture
def deploy(admin, root):
    """``deploy("review_chain")``: upload a fixture diagram as the admin, over the API."""

    def run(name: str) -> dict:
        path = root / "tests" / "fixtures" / "bpmn" / f"{name}.bpmn"
        with path.open("rb") as fh:
            r = admin.post(
                "/api/v1/definitions",
                data={"file": (fh, f"{name}.bpmn")},
                content_type="multipart/form-data",
            )
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    return run


def _start(user, process_key, **body) -> dict:
    r = user.post("/api/v1/instances", json={"process_key": process_key, **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _open_tasks(user, instance_id) -> dict:
    r = user.get(f"/api/v1/instances/{instance_id}")
    assert r.status_code == 200, r.get_json()
    return {t["element_id"]: t for t in r.get_json()["tasks"]}


def _complete(user, task_id, data) -> dict:
    r = user.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# ------------------------------------------------------------------ incidents


def _broken_instance(deploy, as_user, admin) -> int:
    deploy("failing_script")
    clerk = as_user("drc-clerk")
    inst = _start(clerk, "failing_script", data={"total": 0})
    enter = _open_tasks(clerk, inst["id"])["enter_amounts"]
    _complete(clerk, enter["id"], {"amount": 5})  # the script divides by zero
    return inst["id"]


def test_incident_listed_and_retried_after_a_fix(deploy, as_user, admin, client, error_of):
    iid = _broken_instance(deploy, as_user, admin)
    broken = admin.get(f"/api/v1/instances/{iid}").get_json()
    assert broken["status"] == "incident" and broken["tasks"] == []
    listed = admin.get("/api/v1/instances?status=incident").get_json()["items"]
    assert [i["id"] for i in listed] == [iid]

    for username in ("supervisor", "leader", "admin"):
        r = as_user(username).get("/api/v1/incidents")
        assert r.status_code == 200, (username, r.get_json())
        (inc,) = r.get_json()["items"]
        assert inc["instance_id"] == iid and inc["element_id"] == "compute_share"
        # started through the API without a key, the case got one (engine/commands/start.py)
        assert inc["process_key"] == "failing_script"
        assert inc["business_key"] == broken["business_key"] and inc["business_key"]
        assert "ZeroDivisionError" in inc["message"] or "division" in inc["message"]
        assert inc["resolved_at"] is None and inc["resolved_by"] is None
        assert inc["created_at"].endswith("Z")
    assert admin.get(f"/api/v1/incidents?instance_id={iid}").get_json()["items"]
    assert admin.get(f"/api/v1/incidents?instance_id={iid + 1}").get_json()["items"] == []

    # Retrying with the same data fails again: a second incident, the instance stays parked.
    r = admin.post(f"/api/v1/instances/{iid}/retry")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "incident"
    open_now = admin.get("/api/v1/incidents").get_json()["items"]
    assert len(open_now) == 1 and open_now[0]["resolved_at"] is None

    r = admin.post(f"/api/v1/instances/{iid}/retry", json={"data": {"total": 20}})
    assert r.status_code == 200, r.get_json()
    fixed = r.get_json()
    assert fixed["id"] == iid and fixed["status"] == "running"
    assert [t["element_id"] for t in fixed["tasks"]] == ["check_share"]
    check = fixed["tasks"][0]
    detail = as_user("drc-clerk").get(f"/api/v1/tasks/{check['id']}").get_json()
    assert detail["data"]["share"] == 0.25

    assert admin.get("/api/v1/incidents").get_json()["items"] == []
    assert admin.get("/api/v1/incidents?open=true").get_json()["items"] == []
    history = admin.get(f"/api/v1/incidents?open=false&instance_id={iid}").get_json()["items"]
    assert len(history) == 2
    assert all(i["resolved_by"] == "admin" and i["resolved_at"] for i in history)
    assert history[0]["id"] > history[1]["id"]  # newest first

    kinds = [e["kind"] for e in admin.get(f"/api/v1/instances/{iid}/events").get_json()["items"]]
    assert kinds.count("incident_raised") == 2 and kinds.count("incident_retried") == 2

    # Nothing left to retry.
    r = admin.post(f"/api/v1/instances/{iid}/retry", json={"data": {"total": 20}})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    _complete(as_user("drc-clerk"), check["id"], {})
    assert admin.get(f"/api/v1/instances/{iid}").get_json()["status"] == "completed"


def test_incident_permissions_and_bad_input(deploy, as_user, admin, client, error_of):
    iid = _broken_instance(deploy, as_user, admin)

    assert client.get("/api/v1/incidents").status_code == 401
    assert client.post(f"/api/v1/instances/{iid}/retry").status_code == 401
    for username in ("drc-clerk", "drc-head", "invest-clerk"):
        r = as_user(username).get("/api/v1/incidents")
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden", username
    # Only process admins retry; a supervisor may look but not act.
    for username in ("drc-clerk", "drc-head", "supervisor", "leader"):
        r = as_user(username).post(f"/api/v1/instances/{iid}/retry", json={"data": {"total": 20}})
        assert r.status_code == 403, username

    for query in ("open=yes", "open=", "instance_id=abc", "instance_id=0", "instance_id=1e3"):
        r = admin.get(f"/api/v1/incidents?{query}")
        assert r.status_code == 422, query
        assert error_of(r)["code"] == "invalid_input"
    for body, field in (
        ({"data": "total=20"}, "data"),
        ({"data": [20]}, "data"),
        ({"fix": {"total": 20}}, "fix"),
    ):
        r = admin.post(f"/api/v1/instances/{iid}/retry", json=body)
        assert r.status_code == 422, body
        assert error_of(r)["details"] == {"field": field}
    for raw in ("{bad", "[1]", '"x"'):
        r = admin.post(f"/api/v1/instances/{iid}/retry", data=raw, content_type="application/json")
        assert r.status_code == 400, raw
    assert admin.post("/api/v1/instances/999999/retry").status_code == 404
    assert admin.post("/api/v1/instances/99999999999/retry").status_code == 404
    # Still broken: nothing above touched it.
    assert admin.get(f"/api/v1/instances/{iid}").get_json()["status"] == "incident"

    running = _start(as_user("invest-clerk"), "sample_review")
    r = admin.post(f"/api/v1/instances/{running['id']}/retry")
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"


# ------------------------------------------------------------------ deadline clock


def _login(client, username) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _to_review(client, headers) -> tuple[int, dict]:
    r = client.post(
        "/api/v1/instances",
        headers=headers["invest-clerk"],
        json={"process_key": "review_chain", "business_key": "HZ-2026-01"},
    )
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    (submit,) = inst["tasks"]
    assert submit["element_id"] == "submit_application"
    r = client.post(
        f"/api/v1/tasks/{submit['id']}/complete",
        headers=headers["invest-clerk"],
        json={"data": {"project": "新材料"}},
    )
    assert r.status_code == 200, r.get_json()
    r = client.get(f"/api/v1/instances/{inst['id']}", headers=headers["drc-clerk"])
    (review,) = r.get_json()["tasks"]
    assert review["element_id"] == "review_application"
    return inst["id"], review


def test_pause_and_resume_move_the_due_date(deploy, client, error_of):
    deploy("review_chain")
    with time_machine.travel(T0, tick=False) as clock:
        headers = {u: _login(client, u) for u in ("invest-clerk", "drc-clerk")}
        iid, review = _to_review(client, headers)
        drc = headers["drc-clerk"]
        # 20 working days after 2026-09-18: 2026-10-22, end of the day in Beijing
        assert review["due_at"] == "2026-10-22T15:59:59Z"
        assert review["due_provisional"] is False and review["paused_at"] is None

        r = client.post(
            f"/api/v1/tasks/{review['id']}/pause", headers=drc, json={"reason": "专家评审"}
        )
        assert r.status_code == 200, r.get_json()
        paused = r.get_json()
        assert paused["paused_at"] == "2026-09-18T02:00:00Z"
        assert paused["due_at"] == review["due_at"]
        r = client.post(f"/api/v1/tasks/{review['id']}/pause", headers=drc)
        assert r.status_code == 409 and error_of(r)["code"] == "conflict"
        listed = client.get(f"/api/v1/tasks?instance_id={iid}", headers=drc).get_json()
        assert listed["items"][0]["paused_at"] == "2026-09-18T02:00:00Z"

        clock.shift(timedelta(days=7))  # to 9/25: 9/20 (make-up), 9/21–9/24 = 5 working days
        drc = _login(client, "drc-clerk")  # the first token has expired meanwhile
        r = client.post(f"/api/v1/tasks/{review['id']}/resume", headers=drc)
        assert r.status_code == 200, r.get_json()
        resumed = r.get_json()
        assert resumed["paused_at"] is None
        # 5 working days after 10/22: 10/23, 10/26, 10/27, 10/28, 10/29
        assert resumed["due_at"] == "2026-10-29T15:59:59Z"
        r = client.post(f"/api/v1/tasks/{review['id']}/resume", headers=drc)
        assert r.status_code == 409

        r = client.get(f"/api/v1/tasks/{review['id']}/pauses", headers=drc)
        assert r.status_code == 200
        (pause,) = r.get_json()["items"]
        assert pause == {
            "id": pause["id"],
            "task_id": review["id"],
            "paused_at": "2026-09-18T02:00:00Z",
            "paused_by": "drc-clerk",
            "reason": "专家评审",
            "resumed_at": "2026-09-25T02:00:00Z",
            "resumed_by": "drc-clerk",
        }
        events = client.get(f"/api/v1/instances/{iid}/events", headers=drc).get_json()["items"]
        kinds = [e["kind"] for e in events]
        assert "task_paused" in kinds and "task_resumed" in kinds


def test_pause_rules_and_bad_input(deploy, as_user, client, error_of):
    deploy("review_chain")
    invest, drc = as_user("invest-clerk"), as_user("drc-clerk")
    inst = _start(invest, "review_chain")
    (submit,) = inst["tasks"]
    # submit_application is not pausable in the diagram
    r = invest.post(f"/api/v1/tasks/{submit['id']}/pause", json={"reason": "听证"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    r = drc.post(f"/api/v1/tasks/{submit['id']}/pause")
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    assert drc.get(f"/api/v1/tasks/{submit['id']}/pauses").status_code == 403
    assert invest.get(f"/api/v1/tasks/{submit['id']}/pauses").get_json() == {"items": []}

    _complete(invest, submit["id"], {})
    review = _open_tasks(drc, inst["id"])["review_application"]
    tid = review["id"]
    # another department may neither see nor stop the clock
    assert invest.post(f"/api/v1/tasks/{tid}/pause").status_code == 403
    assert invest.post(f"/api/v1/tasks/{tid}/resume").status_code == 403
    # a completed task's clock cannot change
    assert invest.post(f"/api/v1/tasks/{submit['id']}/pause").status_code == 409

    for body, field in (
        ({"reason": 7}, "reason"),
        ({"reason": ["专家评审"]}, "reason"),
        ({"reason": "长" * 2001}, "reason"),
        ({"reason": "a\x00b"}, "reason"),
        ({"why": "x"}, "why"),
    ):
        r = drc.post(f"/api/v1/tasks/{tid}/pause", json=body)
        assert r.status_code == 422, body
        assert error_of(r)["details"] == {"field": field}
    r = drc.post(f"/api/v1/tasks/{tid}/resume", json={"reason": "x"})
    assert r.status_code == 422
    for path in ("pause", "resume"):
        r = drc.post(f"/api/v1/tasks/{tid}/{path}", data="{bad", content_type="application/json")
        assert r.status_code == 400, path
        r = drc.post(f"/api/v1/tasks/{tid}/{path}", data="reason=x", content_type="text/plain")
        assert r.status_code == 400, path
    assert drc.post(f"/api/v1/tasks/{tid}/resume").status_code == 409  # not paused
    # nothing above paused it
    assert drc.get(f"/api/v1/tasks/{tid}/pauses").get_json() == {"items": []}

    for path in ("pause", "resume"):
        assert client.post(f"/api/v1/tasks/{tid}/{path}").status_code == 401
        assert drc.post(f"/api/v1/tasks/{MISSING_TASK}/{path}").status_code == 404
        assert drc.post(f"/api/v1/tasks/not-a-task/{path}").status_code == 404
    assert client.get(f"/api/v1/tasks/{tid}/pauses").status_code == 401
    assert drc.get(f"/api/v1/tasks/{MISSING_TASK}/pauses").status_code == 404

    # An empty body is fine; the reason is optional.
    r = drc.post(f"/api/v1/tasks/{tid}/pause")
    assert r.status_code == 200 and r.get_json()["paused_at"]
    (pause,) = drc.get(f"/api/v1/tasks/{tid}/pauses").get_json()["items"]
    assert pause["reason"] is None and pause["resumed_at"] is None
    # a paused task can still be read by its department (and a supervisor)
    assert as_user("supervisor").get(f"/api/v1/tasks/{tid}").get_json()["paused_at"]


# ------------------------------------------------------------------ send-back


@time_machine.travel(T0, tick=True)  # due_provisional: the due day must be in a published year
def test_send_back_reopens_the_earlier_step(deploy, as_user, admin, client, error_of):
    deploy("review_chain")
    invest, drc = as_user("invest-clerk"), as_user("drc-clerk")
    inst = _start(invest, "review_chain", business_key="HZ-2026-02")
    iid = inst["id"]
    (submit,) = inst["tasks"]
    _complete(invest, submit["id"], {"project": "新材料"})
    review = _open_tasks(drc, iid)["review_application"]
    tid = review["id"]
    url = f"/api/v1/tasks/{tid}/send-back"

    assert client.post(url, json={"target": "submit_application", "reason": "x"}).status_code == 401
    r = invest.post(url, json={"target": "submit_application", "reason": "越权退回"})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    for body, field in (
        ({"reason": "材料不全"}, "target"),
        ({"target": "submit_application"}, "reason"),
        ({"target": "", "reason": "材料不全"}, "target"),
        ({"target": "submit_application", "reason": "   "}, "reason"),
        ({"target": 1, "reason": "材料不全"}, "target"),
        ({"target": "submit_application", "reason": {"text": "x"}}, "reason"),
        ({"target": "x" * 201, "reason": "材料不全"}, "target"),
        ({"target": "submit_application", "reason": "长" * 2001}, "reason"),
        ({"target": "submit_application", "reason": "x", "data": {}}, "data"),
    ):
        r = drc.post(url, json=body)
        assert r.status_code == 422, body
        assert error_of(r)["details"] == {"field": field}, body
    # a target the diagram does not list
    r = drc.post(url, json={"target": "chain_started", "reason": "不允许的目标"})
    assert r.status_code == 422 and "submit_application" in error_of(r)["message"]
    r = drc.post(url, json={"target": "no_such_step", "reason": "不允许的目标"})
    assert r.status_code == 422
    for raw, ctype in (
        ("", "application/json"),
        ("{bad", "application/json"),
        ("[]", "application/json"),
        ("target=a", "text/plain"),
    ):
        assert drc.post(url, data=raw, content_type=ctype).status_code == 400, raw
    assert (
        drc.post(
            f"/api/v1/tasks/{MISSING_TASK}/send-back", json={"target": "a", "reason": "b"}
        ).status_code
        == 404
    )

    # claimed by a colleague: only the assignee may send it back
    head = as_user("drc-head")
    assert head.post(f"/api/v1/tasks/{tid}/claim").status_code == 200
    r = drc.post(url, json={"target": "submit_application", "reason": "材料不全"})
    assert r.status_code == 409
    assert head.post(f"/api/v1/tasks/{tid}/unclaim").status_code == 200

    r = drc.post(url, json={"target": "submit_application", "reason": "材料不全，请补充环评批复"})
    assert r.status_code == 200, r.get_json()
    sent = r.get_json()
    assert sent["id"] == tid and sent["state"] == "cancelled"
    assert sent["paused_at"] is None and sent["due_provisional"] is False

    reopened = _open_tasks(invest, iid)
    assert set(reopened) == {"submit_application"}
    data = invest.get(f"/api/v1/tasks/{reopened['submit_application']['id']}").get_json()["data"]
    assert data["project"] == "新材料"
    assert data["send_back_reason"] == "材料不全，请补充环评批复"
    assert data["sent_back_by"] == "drc-clerk"
    events = admin.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    (ev,) = [e for e in events if e["kind"] == "task_sent_back"]
    assert ev["actor"] == "drc-clerk" and ev["task_id"] == tid
    assert ev["data"] == {"target": "submit_application", "reason": "材料不全，请补充环评批复"}

    # the cancelled task cannot be sent back again
    r = drc.post(url, json={"target": "submit_application", "reason": "再次退回"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"

    # the case goes round again and can then finish
    _complete(invest, reopened["submit_application"]["id"], {"eia": "已补充"})
    again = _open_tasks(drc, iid)["review_application"]
    assert again["id"] != tid
    _complete(drc, again["id"], {"approved": True})
    assert admin.get(f"/api/v1/instances/{iid}").get_json()["status"] == "completed"


# ------------------------------------------------------------------ messages


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


# ------------------------------------------------------------------ task JSON


@time_machine.travel(T0, tick=True)  # due_provisional: the due day must be in a published year
def test_task_json_carries_the_clock_fields(deploy, as_user):
    deploy("review_chain")
    invest = as_user("invest-clerk")
    inst = _start(invest, "review_chain")
    (submit,) = inst["tasks"]
    assert submit["due_at"] is not None  # due_working_days = 1
    for task in (
        submit,
        invest.get(f"/api/v1/tasks/{submit['id']}").get_json(),
        invest.get("/api/v1/tasks?scope=department").get_json()["items"][0],
    ):
        assert task["paused_at"] is None and task["due_provisional"] is False
