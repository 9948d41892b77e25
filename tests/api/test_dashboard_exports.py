"""GET /dashboard/export/projects.xlsx: the project ledger under the list's filters; a head's
export holds their department's projects; caseworkers 403; bad filter values 422."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import time_machine
from openpyxl import load_workbook

from workflows.dashboard.tables import dash_project

NOW = datetime(2026, 3, 10, 2, 0)  # 10:00 in 包头
URL = "/dashboard/export/projects.xlsx"


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": "demo",
                                    "csrf_token": token})
    assert r.status_code == 302, r.text[:300]
    return client


def _projects(app) -> None:
    base = {"investor": "包头晶澳光伏有限公司", "project_type": "file", "street": "kunbei",
            "leader": "leader", "is_key": False, "investment": 120000.0, "status": "running",
            "light_reason": None, "planned_start": None, "actual_start": None,
            "planned_production": None, "actual_production": None, "started_at": NOW,
            "updated_at": NOW}
    rows = [
        {**base, "instance_id": 11, "business_key": "XM-2026-011", "name": "光伏组件项目",
         "lead_department": "miit", "stage": "开工建设", "stage_number": 9, "phase": "建得好",
         "light": "red", "light_reason": "超过约定投产日期",
         "planned_production": date(2026, 2, 28)},
        {**base, "instance_id": 12, "business_key": "XM-2026-012", "name": "冷链仓储项目",
         "lead_department": "drc", "stage": "立项", "stage_number": 5, "phase": "落得快",
         "light": "green"},
    ]
    with app.extensions["kunflow"].unit_of_work() as uow:
        uow.conn.execute(dash_project.insert(), rows)
        uow.commit()


@time_machine.travel(NOW, tick=False)
def test_a_leader_exports_the_ledger_and_a_head_their_departments_projects(app, error_of):
    _projects(app)
    leader = _login(app, "leader")
    r = leader.get(URL)
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E5%8F%B0%E8%B4%A6-2026-03-10.xlsx" in (
        r.headers["Content-Disposition"])
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["A1"].value == "昆都仑区重点项目全生命周期台账\n全部项目　　截至2026年3月10日"
    rows = [[ws.cell(r, c).value for c in (2, 7, 10, 14, 16)] for r in range(4, ws.max_row + 1)]
    assert rows == [["XM-2026-012", "区发改委", "立项", None, "绿灯"],
                    ["XM-2026-011", "区工业和信息化局", "开工建设", "2026年2月28日", "红灯"]]
    assert ws.cell(5, 16).fill.fgColor.rgb == "FFE53935"

    filtered = load_workbook(io.BytesIO(leader.get(f"{URL}?phase=建得好&light=red").data)).active
    assert [filtered.cell(r, 2).value for r in range(4, filtered.max_row + 1)] == ["XM-2026-011"]
    assert "筛选：环节 建得好，红灯" in filtered["A1"].value

    head = _login(app, "drc-head")
    ws = load_workbook(io.BytesIO(head.get(URL).data)).active
    assert [ws.cell(r, 2).value for r in range(4, ws.max_row + 1)] == ["XM-2026-012"]

    bad = leader.get(f"{URL}?light=purple")
    assert bad.status_code == 422
    assert error_of(bad)["message"] == "灯色（light）应为 green、yellow 或 red"
    assert leader.get(f"{URL}?lead=%00").status_code == 400


def test_caseworkers_get_403_and_strangers_the_login_page(app):
    clerk = _login(app, "invest-clerk")
    assert clerk.get(URL).status_code == 403
    anonymous = app.test_client().get(URL)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_export_has_the_endpoint_the_pages_link_to(app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("dashboard.export_projects", light="red") == f"{URL}?light=red"
