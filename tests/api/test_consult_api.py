"""加签 through the HTTP API: the holder asks another department for an opinion, the asked
department answers through its own task, the holder completes once the answers are in; a
request can be withdrawn; the rules answer with 403 / 409 / 422 in Chinese."""

from __future__ import annotations

import time_machine

from tests.api.case_support import MISSING_TASK, T0
from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


def _review(deploy, as_user):
    deploy("review_chain")
    invest, drc = as_user("invest-clerk"), as_user("drc-clerk")
    inst = _start(invest, "review_chain", business_key="JQ-2026-01")
    (submit,) = inst["tasks"]
    _complete(invest, submit["id"], {"project": "新材料"})
    review = _open_tasks(drc, inst["id"])["review_application"]
    assert drc.post(f"/api/v1/tasks/{review['id']}/claim", json={}).status_code == 200
    return review["id"]


@time_machine.travel(T0, tick=True)
def test_ask_answer_then_complete(deploy, as_user, client, error_of):
    tid = _review(deploy, as_user)
    drc, natres = as_user("drc-clerk"), as_user("natres-clerk")
    url = f"/api/v1/tasks/{tid}/opinions"
    assert client.post(url, json={"question": "x", "departments": ["natres"]}).status_code == 401
    r = natres.post(url, json={"question": "越权", "departments": ["natres"]})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    for body, field in (
        ({"departments": ["natres"]}, "question"),
        ({"question": "  ", "departments": ["natres"]}, "question"),
        ({"question": "x", "departments": "natres"}, "departments"),
        ({"question": "x", "departments": [1]}, "departments"),
        ({"question": "x", "departments": ["natres"], "due_days": 0}, "due_days"),
        ({"question": "x", "departments": ["natres"], "due_days": 31}, "due_days"),
        ({"question": "x", "departments": ["natres"], "extra": 1}, "extra"),
    ):
        r = drc.post(url, json=body)
        assert r.status_code == 422, body
        assert error_of(r)["details"] == {"field": field}, body
    r = drc.post(url, json={"question": "x", "departments": ["不存在的局"]})
    assert r.status_code == 422 and "不存在" in error_of(r)["message"]
    r = drc.post(url, json={"question": "用地是否符合规划？", "departments": ["区自然资源分局"],
                            "due_days": 5})
    assert r.status_code == 201, r.get_json()
    (asked,) = r.get_json()["items"]
    assert (asked["asked_department"], asked["status"], asked["due_days"]) == (
        "natres", "open", 5)
    assert asked["due_at"]
    # the holder cannot complete while the opinion is open
    r = drc.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}})
    assert r.status_code == 409 and "加签" in error_of(r)["message"]
    # the asked department sees its task and answers it
    queue = natres.get("/api/v1/tasks?scope=department").get_json()["items"]
    assert [t["id"] for t in queue] == [asked["task_id"]]
    assert queue[0]["parent_task_id"] == tid
    answer_url = f"/api/v1/tasks/{asked['task_id']}/opinion"
    r = as_user("emergency-clerk").post(answer_url, json={"opinion": "同意"})
    assert r.status_code == 403
    r = natres.post(answer_url, json={"opinion": "", "agree": True})
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "opinion"}
    r = natres.post(answer_url, json={"opinion": "符合规划，同意。", "agree": True})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["agree"]) == ("answered", True)
    assert natres.post(answer_url, json={"opinion": "再答"}).status_code == 409
    (seen,) = drc.get(url).get_json()["items"]
    assert (seen["answer"], seen["answered_by"]) == ("符合规划，同意。", "natres-clerk")
    assert drc.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}).status_code == 200
    assert drc.get(f"/api/v1/tasks/{MISSING_TASK}/opinions").status_code == 404
    # answering a task that is no 加签 task
    assert drc.post(f"/api/v1/tasks/{tid}/opinion", json={"opinion": "x"}).status_code in (
        404, 409)


@time_machine.travel(T0, tick=True)
def test_withdraw(deploy, as_user, error_of):
    tid = _review(deploy, as_user)
    drc = as_user("drc-clerk")
    r = drc.post(f"/api/v1/tasks/{tid}/opinions",
                 json={"question": "安全意见？", "users": ["emergency-head"]})
    assert r.status_code == 201, r.get_json()
    (asked,) = r.get_json()["items"]
    url = f"/api/v1/opinions/{asked['task_id']}/withdraw"
    r = as_user("emergency-clerk").post(url, json={})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = drc.post(url, json={"reason": "已不需要"})
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    assert drc.post(url, json={}).status_code == 409
    assert as_user("emergency-head").get("/api/v1/tasks?scope=mine").get_json()["items"] == []
    assert drc.post(f"/api/v1/tasks/{tid}/complete", json={"data": {}}).status_code == 200
