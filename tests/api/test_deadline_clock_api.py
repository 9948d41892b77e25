"""The deadline clock of a task through the HTTP API: pause and resume move the due date by
the working days paused, the pauses are listed, and the rules and bad input; every task's JSON
carries the clock fields."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from tests.api.case_support import MISSING_TASK, T0
from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


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
