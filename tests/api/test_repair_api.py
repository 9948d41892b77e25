"""Repair through the HTTP API: the incident list carries the element and the failing data, a
process admin skips the failing step, reads a case's tokens and moves them; caseworkers get
403, refused moves 422/409 with the reason, and the OpenAPI document lists the operations."""

from __future__ import annotations

from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


def _broken_instance(deploy, as_user) -> int:
    deploy("failing_script")
    clerk = as_user("drc-clerk")
    inst = _start(clerk, "failing_script", data={"total": 0})
    _complete(clerk, _open_tasks(clerk, inst["id"])["enter_amounts"]["id"], {"amount": 5})
    return inst["id"]


def _at_review(deploy, as_user) -> int:
    deploy("repair_moves")
    clerk = as_user("drc-clerk")
    inst = _start(clerk, "repair_moves", data={"amount": 3})
    _complete(clerk, _open_tasks(clerk, inst["id"])["register_case"]["id"], {})
    return inst["id"]


def _kinds(admin, iid) -> list[str]:
    return [e["kind"] for e in admin.get(f"/api/v1/instances/{iid}/events").get_json()["items"]]


def test_incident_list_shows_element_and_data_and_skip_goes_on(deploy, as_user, admin,
                                                                error_of):
    iid = _broken_instance(deploy, as_user)
    (inc,) = admin.get(f"/api/v1/incidents?instance_id={iid}").get_json()["items"]
    assert inc["element_name"] == "计算占比" and inc["element_type"] == "ScriptTask"
    assert inc["definition_version"] == 1
    assert inc["data"]["amount"] == 5 and inc["data_truncated"] is False
    assert inc["message"].startswith("环节“计算占比”（compute_share）执行出错")

    r = as_user("drc-clerk").post(f"/api/v1/instances/{iid}/skip", json={"reason": "跳过"})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = admin.post(f"/api/v1/instances/{iid}/skip", json={"data": {"share": 1}})
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "reason"}
    r = admin.post(f"/api/v1/instances/{iid}/skip", json={"reason": "跳过", "data": [1]})
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "data"}

    r = admin.post(f"/api/v1/instances/{iid}/skip",
                   json={"reason": "占比已人工核定", "data": {"share": 0.5}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "running"
    assert [t["element_id"] for t in body["tasks"]] == ["check_share"]
    detail = as_user("drc-clerk").get(f"/api/v1/tasks/{body['tasks'][0]['id']}").get_json()
    assert detail["data"]["share"] == 0.5
    assert admin.get(f"/api/v1/incidents?instance_id={iid}").get_json()["items"] == []
    (resolved,) = admin.get(f"/api/v1/incidents?open=false&instance_id={iid}").get_json()["items"]
    assert resolved["resolved_by"] == "admin" and resolved["data"] is None
    assert "incident_skipped" in _kinds(admin, iid)

    r = admin.post(f"/api/v1/instances/{iid}/skip", json={"reason": "再跳"})
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"


def test_tokens_read_and_moved_by_an_admin_only(deploy, as_user, admin, client, error_of):
    iid = _at_review(deploy, as_user)
    r = admin.get(f"/api/v1/instances/{iid}/tokens")
    assert r.status_code == 200, r.get_json()
    view = r.get_json()
    assert view["instance_id"] == iid and view["status"] == "running"
    assert [(t["element_id"], t["state"]) for t in view["active"]] == [("review_case", "ready")]
    assert {"register_case", "approve_case"} <= {t["element_id"] for t in view["targets"]}

    assert client.get(f"/api/v1/instances/{iid}/tokens").status_code == 401
    for username in ("emergency-clerk", "supervisor", "leader"):
        user = as_user(username)
        assert user.get(f"/api/v1/instances/{iid}/tokens").status_code == 403, username
        r = user.post(f"/api/v1/instances/{iid}/tokens",
                      json={"cancel": ["review_case"], "activate": "approve_case", "reason": "x"})
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden", username
    assert admin.get("/api/v1/instances/999999/tokens").status_code == 404

    r = admin.post(f"/api/v1/instances/{iid}/tokens",
                   json={"cancel": ["review_case"], "activate": "register_case",
                         "reason": "材料不全，重新登记"})
    assert r.status_code == 200, r.get_json()
    (task,) = r.get_json()["tasks"]
    assert task["element_id"] == "register_case" and task["department_code"] == "drc"
    queue = as_user("drc-clerk").get("/api/v1/tasks?scope=department").get_json()["items"]
    assert task["id"] in [t["id"] for t in queue]
    events = admin.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    (moved,) = [e for e in events if e["kind"] == "token_moved"]
    assert moved["actor"] == "admin"
    assert moved["data"]["cancelled"] == ["review_case"]
    assert moved["data"]["activated"] == "register_case"
    assert moved["data"]["reason"] == "材料不全，重新登记"


def test_refused_moves_answer_422_or_409_with_the_reason(deploy, as_user, admin, error_of):
    iid = _at_review(deploy, as_user)
    url = f"/api/v1/instances/{iid}/tokens"
    for body, words in (
        ({"cancel": ["review_case"], "activate": "moves_started"}, "开始事件"),
        ({"cancel": ["review_case"], "activate": "f3"}, "顺序流"),
        ({"cancel": ["review_case"], "activate": "review_timeout"}, "边界事件"),
        ({"cancel": ["review_case"], "activate": "lane_emergency"}, "泳道"),
        ({"cancel": ["review_case"], "activate": "file_papers"}, "同一（子）流程"),
        ({"cancel": ["review_case"], "activate": "nothing_here"}, "没有标识"),
        ({"activate": "review_case"}, "已有活动令牌"),
        ({}, "请指定"),
    ):
        r = admin.post(url, json={**body, "reason": "试移动"})
        assert r.status_code == 422, (body, r.get_json())
        error = error_of(r)
        assert error["code"] == "invalid_input" and words in error["message"], error
    r = admin.post(url, json={"cancel": ["approve_case"], "activate": "register_case",
                              "reason": "试移动"})
    assert r.status_code == 409 and "没有活动令牌" in error_of(r)["message"]
    for body, field in (
        ({"cancel": "review_case", "reason": "x"}, "cancel"),
        ({"cancel": [1], "reason": "x"}, "cancel"),
        ({"activate": "approve_case"}, "reason"),
        ({"activate": "approve_case", "reason": "x", "extra": 1}, "extra"),
    ):
        r = admin.post(url, json=body)
        assert r.status_code == 422, body
        assert error_of(r)["details"] == {"field": field}, body
    assert "token_moved" not in _kinds(admin, iid)
    assert list(_open_tasks(admin, iid)) == ["review_case"]

    assert admin.post(f"/api/v1/instances/{iid}/suspend", json={"reason": "核查"}
                      ).status_code == 200
    for path, body in (("tokens", {"cancel": ["review_case"], "activate": "compute_total"}),
                       ("skip", {})):
        r = admin.post(f"/api/v1/instances/{iid}/{path}", json={**body, "reason": "调整"})
        assert r.status_code == 409, r.get_json()
        assert error_of(r)["message"] == "实例已挂起，请先恢复后再调整环节"
    assert list(_open_tasks(admin, iid)) == ["review_case"]

    assert admin.post(f"/api/v1/instances/{iid}/terminate", json={"reason": "撤案"}
                      ).status_code == 200
    r = admin.post(url, json={"activate": "approve_case", "reason": "恢复"})
    assert r.status_code == 409 and "已终止" in error_of(r)["message"]


def test_openapi_lists_the_repair_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert "post" in paths["/api/v1/instances/{instance_id}/skip"]
    tokens = paths["/api/v1/instances/{instance_id}/tokens"]
    assert {"get", "post"} <= set(tokens)
    for op in (paths["/api/v1/instances/{instance_id}/skip"]["post"], tokens["post"]):
        assert {"403", "409", "422"} <= set(op["responses"])
    assert {"element_name", "element_type", "data"} <= set(
        doc["components"]["schemas"]["Incident"]["properties"])
    assert "TokenView" in doc["components"]["schemas"]
