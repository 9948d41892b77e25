"""驾驶舱 over the API (/api/v1/dashboard/...): a leader gets what the pages' workflows functions
compute, a department head only its department, a caseworker 403 on every endpoint; the 督查室's
催办 is recorded as the page records it and shows in the unit's task list; bad input is a 4xx in
Chinese, never a 500."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest
import sqlalchemy as sa
import time_machine

from engine import local_day, utcnow
from tests.api.test_dashboard_pages import NOW
from tests.api.test_pages import Browser
from tests.workflows.test_dashboard_supervision import MONTH, _ledger
from workflows.dashboard import supervision as sv
from workflows.dashboard.departments import department_overview
from workflows.dashboard.overview import overview
from workflows.dashboard.project import list_projects, parse_filter
from workflows.ledger.tables import ledger_urge

FROZEN = "2026-11-20T02:00:00Z"
API = "/api/v1/dashboard"
GETS = [f"{API}/overview", f"{API}/projects", f"{API}/projects/3", f"{API}/departments",
        f"{API}/supervision"]


def test_a_leader_gets_what_the_pages_show(dashboard_app, as_user):
    engine = dashboard_app.extensions["kunflow"]
    leader = as_user("leader")
    with time_machine.travel(NOW, tick=False):
        today = local_day(utcnow())
        r = leader.get(f"{API}/overview")
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == asdict(overview(engine, parse_filter({}, today), None, today))
        assert r.get_json()["lights"] == {"red": 1, "yellow": 1, "green": 2}
        assert r.get_json()["late_start"] == 1
        key = leader.get(f"{API}/overview?key=1").get_json()
        assert key["total"] == 1 and key["stages"][10]["count"] == 1

        listed = leader.get(f"{API}/projects?stage=3&sort=updated").get_json()
        page = list_projects(engine, parse_filter({"stage": "3"}, today), None, today,
                             sort="updated")
        assert listed["total"] == page.total == 2
        assert [p["instance_id"] for p in listed["items"]] == [p["instance_id"]
                                                                for p in page.rows]
        assert [p["instance_id"] for p in leader.get(f"{API}/projects?light=red")
                .get_json()["items"]] == [2]
        paged = leader.get(f"{API}/projects?limit=1&offset=1&sort=stage").get_json()
        assert (paged["total"], len(paged["items"]), paged["items"][0]["stage_number"]) == (4, 1, 3)

        detail = leader.get(f"{API}/projects/3")
        assert detail.status_code == 200
        body = detail.get_json()
        assert body["project"]["business_key"] == "XM-3"
        assert len(body["stages"]) == 13
        assert [s["number"] for s in body["stages"] if s["state"] == "current"] == [7]
        assert body["stages"][6]["entered"] == "2025-06-02"
        assert body["forecast"]["method"].startswith("预测方法")
        assert leader.get(f"{API}/projects/999").status_code == 404

        deps = leader.get(f"{API}/departments?months=6").get_json()
        figures = department_overview(engine, None, months=6)
        assert deps["months"] == list(figures.months) and len(deps["months"]) == 6
        assert [(d["code"], d["open_tasks"], d["overdue_tasks"], d["rank"])
                for d in deps["departments"]] == [
            (f.code, f.open_tasks, f.overdue_tasks, f.rank) for f in figures.departments]
        assert deps["ranking"] == [f.code for f in figures.ranking]


def test_a_department_head_sees_only_its_department(dashboard_app, as_user):
    head = as_user("drc-head")
    with time_machine.travel(NOW, tick=False):
        assert [p["instance_id"] for p in head.get(f"{API}/projects").get_json()["items"]] == [3]
        assert head.get(f"{API}/overview").get_json()["total"] == 1
        assert head.get(f"{API}/projects/3").status_code == 200
        refused = head.get(f"{API}/projects/1")
        assert refused.status_code == 403 and "本部门" in refused.get_json()["error"]["message"]
        assert [d["code"] for d in head.get(f"{API}/departments").get_json()["departments"]] == [
            "drc"]


@time_machine.travel(FROZEN, tick=False)
def test_supervision_board_scope_and_who_may_urge(app, as_user):
    engine = app.extensions["kunflow"]
    _ledger(engine)
    office = as_user("supervisor")
    r = office.get(f"{API}/supervision?month={MONTH}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    with engine.unit_of_work(readonly=True) as uow:
        board = sv.unit_lines(uow.conn, MONTH, None, utcnow(), lambda c: c)
        assert body["months"] == sv.months(uow.conn)
    assert [(x["unit"], x["state"], x["lights"], x["step"]) for x in body["lines"]] == [
        (x["unit"], x["state"], x["lights"], x["step"]) for x in board["lines"]]
    assert body["totals"]["states"] == board["totals"]["states"]
    assert body["may_urge"] is True
    assert office.get(f"{API}/supervision").get_json()["month"] == MONTH  # newest with data

    head = as_user("housing-head").get(f"{API}/supervision?month={MONTH}").get_json()
    assert [x["unit"] for x in head["lines"]] == ["housing"] and head["may_urge"] is False
    for who in ("leader", "housing-head"):
        refused = as_user(who).post(f"{API}/urges", json={"month": MONTH, "units": ["housing"]})
        assert refused.status_code == 403, who
        assert "督查室" in refused.get_json()["error"]["message"]


@time_machine.travel(FROZEN, tick=False)
def test_an_urge_is_recorded_and_shows_in_the_units_task_list(app, as_user):
    engine = app.extensions["kunflow"]
    _ledger(engine)
    office = as_user("supervisor")
    r = office.post(f"{API}/urges", json={"month": MONTH, "units": ["kunbei", "drc"],
                                         "message": "请今日报送"})
    assert r.status_code == 201, r.get_json()
    made = {u["department_code"]: u for u in r.get_json()["items"]}
    assert set(made) == {"kunbei", "drc"}
    assert made["kunbei"]["message"] == "请今日报送" and made["kunbei"]["urged_by"] == "supervisor"
    assert made["kunbei"]["department_name"] == "昆北街道办事处"
    assert made["kunbei"]["task_id"]  # its open report task of the round
    line = {x["unit"]: x for x in office.get(f"{API}/supervision?month={MONTH}")
            .get_json()["lines"]}["kunbei"]
    assert line["urges"]["count"] == 1 and line["urges"]["open"] == 1

    tasks = Browser(app, "kunbei-clerk").get("/tasks?view=department").text
    assert 'data-testid="urges"' in tasks and "请今日报送" in tasks
    assert f"/tasks/{made['kunbei']['task_id']}" in tasks
    assert 'data-testid="urges"' not in Browser(app, "housing-clerk").get("/tasks").text


@pytest.mark.parametrize("method,url", [*(("get", u) for u in GETS), ("post", f"{API}/urges")])
def test_a_caseworker_gets_403_on_every_endpoint(app, as_user, method, url):
    clerk = as_user("invest-clerk")
    if method == "get":
        r = clerk.get(url)
    else:
        r = clerk.post(url, json={"month": "2026-10", "units": ["invest"]})
    assert r.status_code == 403, (url, r.status_code)
    assert "驾驶舱" in r.get_json()["error"]["message"]


@pytest.mark.parametrize("url", [
    f"{API}/overview?period=2025-13", f"{API}/overview?from=2025-02-30",
    f"{API}/overview?from=0001-01-01", f"{API}/overview?key=yes",
    f"{API}/overview?period=x%00", f"{API}/projects?stage=不存在", f"{API}/projects?light=blue",
    f"{API}/projects?sort=name", f"{API}/projects?limit=0", f"{API}/projects?offset=-1",
    f"{API}/projects?late=1", f"{API}/projects?street=" + "x" * 300,
    f"{API}/departments?months=0", f"{API}/departments?months=37",
    f"{API}/departments?months=x", f"{API}/supervision?month=2026-13",
    f"{API}/supervision?month=x%00",
])
def test_bad_queries_are_refused_in_chinese(app, as_user, url):
    r = as_user("leader").get(url)
    assert r.status_code in (400, 422), (url, r.status_code)
    assert re.search(r"[\u4e00-\u9fff]", r.get_json()["error"]["message"]), url


@pytest.mark.parametrize("body", [
    {"month": "2026-13", "units": ["kunbei"]},
    {"month": "October", "units": ["kunbei"]},
    {"units": ["kunbei"]},
    {"month": "2026-10", "units": []},
    {"month": "2026-10", "units": ["nowhere"]},
    {"month": "2026-10", "units": ["kunbei"] * 201},
    {"month": "2026-10", "units": "kunbei"},
    {"month": "2026-10"},
    {"month": "2026-10", "units": None},
    {"month": "2026-10", "units": [3]},
    {"month": "2026-10", "units": ["kunbei"], "message": "x" * 501},
    {"month": "2026-10", "units": ["kunbei"], "message": "催\x00办"},
    {"month": "2026-10", "units": ["kunbei"], "extra": 1},
])
def test_bad_urges_are_refused_in_chinese_and_record_nothing(app, as_user, body):
    office = as_user("supervisor")
    r = office.post(f"{API}/urges", json=body)
    assert r.status_code in (400, 422), (body, r.status_code)
    assert re.search(r"[\u4e00-\u9fff]", r.get_json()["error"]["message"])
    with app.extensions["kunflow"].unit_of_work(readonly=True) as uow:
        assert uow.conn.execute(sa.select(sa.func.count()).select_from(ledger_urge)).scalar() == 0
