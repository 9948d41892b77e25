"""Send-back (退回) through the HTTP API: the assignee's department sends a task back to an
earlier step the diagram lists, with a reason; the case goes round again."""

from __future__ import annotations

import time_machine

from tests.api.case_support import MISSING_TASK, T0
from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


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
