"""Incidents through the HTTP API: a failed step is listed (for supervisors and admins only)
and retried by a process admin, with or without a data fix; bad input changes nothing."""

from __future__ import annotations

from tests.api.case_support import complete as _complete
from tests.api.case_support import open_tasks as _open_tasks
from tests.api.case_support import start as _start


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
