"""The project ledger (项目台账) export: rows of dash_project under the project list's filters and
the viewer's scope, in the printed layout (title, merged headers, Chinese dates, lights)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from workflows.dashboard.project_export import (
    FilterRefused,
    ProjectFilter,
    export_projects,
    project_rows,
)
from workflows.dashboard.tables import dash_project

NOW = datetime(2026, 3, 10, 2, 0)


def project(iid: int, **values) -> dict:
    row = {
        "instance_id": iid, "business_key": f"XM-2026-{iid:03d}", "name": f"项目{iid}",
        "investor": "包头华泰新材料有限公司", "project_type": "file", "street": "kunbei",
        "lead_department": "miit", "leader": "leader", "is_key": False, "investment": 50000.0,
        "stage": "开工建设", "stage_number": 9, "phase": "建得好", "status": "running",
        "light": "green", "light_reason": None, "started_at": NOW, "updated_at": NOW,
        "planned_start": None, "actual_start": None, "planned_production": None,
        "actual_production": None,
    }
    row.update(values)
    return row


@pytest.fixture
def projects(engine):
    rows = [
        project(1, stage="立项", stage_number=5, phase="落得快", lead_department="drc",
                light="red", light_reason="超过约定开工日期", planned_start=date(2026, 3, 6),
                is_key=True),
        project(2, planned_start=date(2025, 11, 1), actual_start=date(2025, 11, 20),
                planned_production=date(2026, 9, 30), light="yellow"),
        project(3, stage="线索登记/首次洽谈", stage_number=1, phase="引得来",
                lead_department="invest", street="buerhantu", leader=None, investment=None),
    ]
    with engine.unit_of_work() as uow:
        uow.conn.execute(dash_project.insert(), rows)
        uow.commit()
    return rows


def names(engine):
    departments = {d.code: d.name for d in engine.list_departments()}
    people = {u.username: u.display_name for u in engine.list_users()}
    return departments, people


def export(engine, flt=None, scope=None):
    flt = flt or ProjectFilter()
    departments, people = names(engine)
    with engine.unit_of_work(readonly=True) as uow:
        content = export_projects(project_rows(uow.conn, flt, scope), departments, people,
                                  date(2026, 3, 10), flt.describe(departments, people))
    return load_workbook(io.BytesIO(content)).active


def test_the_ledger_has_one_row_per_project_in_the_printed_layout(engine, projects):
    ws = export(engine)
    assert ws.title == "项目台账"
    assert ws["A1"].value == "昆都仑区重点项目全生命周期台账\n全部项目　　截至2026年3月10日"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:Q1", "A2:A3", "B2:I2", "J2:K2", "L2:O2", "P2:Q2"} <= merged
    assert [ws.cell(2, c).value for c in (2, 10, 12, 16)] == ["基本情况", "推进阶段", "计划与实际",
                                                              "灯色"]
    assert ws["E3"].value == "计划总投资（万元）"
    assert ws.max_row == 3 + len(projects)
    # by stage: the lead first, 立项 next, 开工建设 last
    assert [ws.cell(r, 2).value for r in (4, 5, 6)] == ["XM-2026-003", "XM-2026-001",
                                                        "XM-2026-002"]
    assert [ws.cell(4, c).value for c in range(1, 12)] == [
        1, "XM-2026-003", "项目3", "包头华泰新材料有限公司", None, "卜尔汉图镇", "区招商部门", None, None,
        "线索登记/首次洽谈", "引得来"]
    first = [ws.cell(5, c).value for c in range(1, 18)]
    assert first[5:11] == ["昆北街道办事处", "区发改委", "王志军", "是", "立项", "落得快"]
    assert first[11] == "2026年3月6日" and first[12] is None  # an empty cell
    assert first[15:] == ["红灯", "超过约定开工日期"]
    assert [ws.cell(6, c).value for c in range(12, 16)] == [
        "2025年11月1日", "2025年11月20日", "2026年9月30日", None]
    assert ws.cell(5, 16).fill.fgColor.rgb == "FFE53935"
    assert ws.cell(6, 16).fill.fgColor.rgb == "FFFFD54F"
    assert ws.cell(4, 16).fill.fgColor.rgb == "FF43A047"
    assert ws.freeze_panes == "A4"
    assert ws.print_area == "'项目台账'!$A$1:$Q$6"
    assert ws.print_title_rows == "$2:$3"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.column_dimensions["C"].width == 30


def test_filters_and_a_heads_scope_choose_the_rows(engine, projects):
    departments, people = names(engine)
    flt = ProjectFilter.parse({"phase": "建得好", "light": "yellow"}, departments, people)
    ws = export(engine, flt)
    assert [ws.cell(r, 2).value for r in range(4, ws.max_row + 1)] == ["XM-2026-002"]
    assert ws["A1"].value.splitlines()[1].startswith("筛选：环节 建得好，黄灯")
    flt = ProjectFilter.parse({"lead": "drc", "key": "1"}, departments, people)
    assert export(engine, flt).cell(4, 2).value == "XM-2026-001"
    assert export(engine, ProjectFilter.parse({"leader": "leader"}, departments, people)
                  ).max_row == 5
    # a head of 区工信局 sees the projects it leads; of 卜尔汉图镇 the one in its territory
    miit = export(engine, scope=frozenset({"miit"}))
    assert [miit.cell(r, 2).value for r in range(4, miit.max_row + 1)] == ["XM-2026-002"]
    town = export(engine, scope=frozenset({"buerhantu"}))
    assert [town.cell(r, 2).value for r in range(4, town.max_row + 1)] == ["XM-2026-003"]
    empty = export(engine, scope=frozenset({"health"}))
    assert empty.max_row == 3 and empty.print_area == "'项目台账'!$A$1:$Q$3"


@pytest.mark.parametrize("args,field", [
    ({"phase": "建设"}, "phase"), ({"stage": "开工"}, "stage"), ({"light": "blue"}, "light"),
    ({"street": "nowhere"}, "street"), ({"lead": "x' OR 1=1"}, "lead"),
    ({"leader": "ghost"}, "leader"), ({"key": "yes"}, "key"),
])
def test_unknown_filter_values_are_refused_in_chinese(engine, args, field):
    departments, people = names(engine)
    with pytest.raises(FilterRefused) as refused:
        ProjectFilter.parse(args, departments, people)
    assert refused.value.field == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value))
