"""部门办理 and 流程热力图 pages: who sees what, bad parameters, the figures on the page."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.model import instance, task
from workflows.dashboard import dash_task_stat

NOW = datetime(2026, 6, 15, 2, 0)  # Monday 10:00 in Beijing, naive UTC
PROCESS = "sample_review"


@pytest.fixture
def as_user(app):
    """``as_user("leader")``: a test client signed in through the login form (pages take the
    session cookie, not a bearer token)."""

    def login(username: str):
        client = app.test_client()
        form = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        r = client.post("/login", data={"username": username, "password": "demo",
                                         "csrf_token": csrf})
        assert r.status_code == 302, username
        return client

    return login


@pytest.fixture
def clock():
    with time_machine.travel(NOW.replace(tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def figures(app, clock):
    """Open tasks of 区发改委 (one overdue) and 区自然资源分局, and a month of histogram."""
    engine = app.extensions["kunflow"]
    definition = engine.get_definition(PROCESS)
    with engine.unit_of_work() as uow:
        conn = uow.conn
        case_id = conn.execute(instance.insert().values(
            definition_id=definition.id, process_key=PROCESS, business_key="2026-150203-00-07",
            title="铸件项目联合预审", status="running", version=1, serializer_version="1",
            state_json="{}", started_at=NOW - timedelta(days=40), updated_at=NOW,
        )).inserted_primary_key[0]
        for element_id, department, due_at in (
            ("opinion_drc", "drc", NOW - timedelta(days=5)),
            ("opinion_drc", "drc", NOW + timedelta(days=5)),
            ("opinion_natres", "natres", None),
        ):
            conn.execute(task.insert().values(
                id=str(uuid.uuid4()), instance_id=case_id, process_key=PROCESS,
                element_id=element_id, name="意见", department_code=department, state="ready",
                created_at=NOW - timedelta(days=20), due_at=due_at,
            ))
        for element_id, department, days, count in (
            ("opinion_drc", "drc", 4, 3),
            ("opinion_natres", "natres", 9, 2),
        ):
            conn.execute(dash_task_stat.insert().values(
                process_key=PROCESS, element_id=element_id, department_code=department,
                month="2026-05", days=days, count=count, on_time=count - 1, with_due=count,
            ))
        uow.commit()
    return case_id


def test_a_leader_sees_every_department_and_drills_down_to_the_tasks(as_user, figures):
    leader = as_user("leader")
    page = leader.get("/dashboard/departments")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "区发改委" in html and "区自然资源分局" in html and "卜尔汉图镇" in html
    assert "区直部门" in html and "街镇" in html
    assert "发改意见" in html and "自然资源意见" in html  # task types by the diagram's names
    assert "排名先按逾期未办结任务数从多到少" in html
    drc = leader.get("/dashboard/departments/drc")
    assert drc.status_code == 200
    text = drc.get_data(as_text=True)
    assert text.count('data-testid="dept-task"') == 2
    assert "铸件项目联合预审" in text and f"/cases/{figures}" in text
    assert "2026年6月20日" in text  # the due day in Chinese (China time)
    overdue = leader.get("/dashboard/departments/drc?overdue=1").get_data(as_text=True)
    assert overdue.count('data-testid="dept-task"') == 1
    assert leader.get("/dashboard/departments/no-such-unit").status_code == 404


def test_a_head_sees_their_own_department_only(as_user, figures):
    head = as_user("drc-head")
    html = head.get("/dashboard/departments").get_data(as_text=True)
    assert "区发改委" in html and "区自然资源分局" not in html and "自然资源意见" not in html
    assert head.get("/dashboard/departments/drc").status_code == 200
    assert head.get("/dashboard/departments/natres").status_code == 403
    heat = head.get(f"/dashboard/heatmap/{PROCESS}").get_data(as_text=True)
    assert 'data-element="opinion_drc"' in heat and 'data-element="opinion_natres"' not in heat


def test_the_heatmap_lists_processes_and_gives_each_element_its_figures(as_user, figures):
    leader = as_user("leader")
    index = leader.get("/dashboard/heatmap/")
    assert index.status_code == 200
    assert f"/dashboard/heatmap/{PROCESS}" in index.get_data(as_text=True)
    page = leader.get(f"/dashboard/heatmap/{PROCESS}?months=6")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-element="opinion_natres"' in html
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    natres = next(e for e in data["elements"] if e["id"] == "opinion_natres")
    assert (natres["median"], natres["count"], natres["open"]) == (9, 2, 1)
    assert "暂无数据" not in html
    xml = leader.get(f"/dashboard/heatmap/{PROCESS}/diagram.xml")
    assert xml.status_code == 200 and b'id="opinion_drc"' in xml.data
    empty = leader.get("/dashboard/heatmap/sample_loop").get_data(as_text=True)
    assert "暂无数据" in empty


def test_bad_periods_unknown_processes_and_caseworkers_are_refused(as_user, error_of, clock):
    leader = as_user("leader")
    for query in ("months=0", "months=37", "months=abc", "months=-1"):
        r = leader.get(f"/dashboard/departments?{query}")
        assert r.status_code == 400, query
        assert "统计期间" in error_of(r)["message"]
        assert leader.get(f"/dashboard/heatmap/{PROCESS}?{query}").status_code == 400
    assert leader.get("/dashboard/departments/drc?page=0").status_code == 400
    assert leader.get("/dashboard/heatmap/no_such_process").status_code == 404
    assert leader.get("/dashboard/heatmap/no_such_process/diagram.xml").status_code == 404
    clerk = as_user("drc-clerk")
    for path in ("/dashboard/departments", "/dashboard/departments/drc", "/dashboard/heatmap/",
                 f"/dashboard/heatmap/{PROCESS}", f"/dashboard/heatmap/{PROCESS}/diagram.xml"):
        assert clerk.get(path).status_code == 403, path
