"""The 驾驶舱 overview's figures, the project list's filters and one project's clock, on summary
rows inserted directly (the read model that keeps them is tested on its own)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from engine import Forbidden, InvalidInput, NotFound
from workflows.dashboard import forecast
from workflows.dashboard.clock import task_pause_rows
from workflows.dashboard.overview import overview
from workflows.dashboard.project import (
    PAGE_SIZE,
    list_projects,
    parse_filter,
    project_detail,
)
from workflows.dashboard.tables import dash_case_link, dash_project, dash_stage_span
from workflows.lifecycle import STAGES

# the engine's task rows, with the columns a test row needs
task_rows = sa.table(
    "task", *(sa.column(c) for c in ("id", "instance_id", "process_key", "element_id", "name",
                                     "department_code", "assignee", "state", "stage",
                                     "due_provisional")),
    *(sa.column(c, sa.DateTime) for c in ("created_at", "due_at", "completed_at")),
)
TODAY = date(2025, 6, 16)  # a Monday
NOW = datetime(2025, 6, 16, 2)  # 10:00 in Beijing
FAR = datetime(2025, 1, 2, 2)


def project(iid, stage_number, **values):
    st = STAGES[stage_number - 1]
    row = dict(instance_id=iid, business_key=f"XM-{iid}", name=f"项目{iid}", project_type="file",
               street="kunbei", lead_department="invest", leader="leader", is_key=False,
               stage=st.name, stage_number=st.number, phase=st.phase, status="running",
               light="green", started_at=FAR, updated_at=FAR)
    row.update(values)
    return row


def insert(engine, table, rows):
    with engine.unit_of_work() as uow:
        for row in rows:  # one by one: the rows name different columns
            uow.conn.execute(table.insert().values(**row))
        uow.commit()


@pytest.fixture(autouse=True)
def fresh_forecast_cache():
    forecast.clear_cache()
    yield
    forecast.clear_cache()


@pytest.fixture
def projects(engine):
    rows = [
        project(1, 1),
        project(2, 3, light="yellow", is_key=True),
        project(3, 3, street="buerhantu", lead_department="drc"),
        project(4, 7, light="red", planned_start=date(2025, 5, 1)),  # not started: late
        project(5, 9, actual_start=date(2025, 4, 1), planned_start=date(2025, 3, 1),
                planned_production=date(2025, 6, 1)),  # started, not producing: late
        project(6, 11, actual_start=date(2024, 4, 1), actual_production=date(2025, 5, 1),
                planned_production=date(2025, 4, 1)),  # produced: not late
        project(7, 12, started_at=datetime(2025, 3, 10, 2), street="buerhantu",
                lead_department="drc", leader="other-leader"),
        project(8, 3, status="terminated", light="red"),
    ]
    insert(engine, dash_project, rows)
    return rows


def test_overview_counts_projects_per_stage_phase_and_light(engine, projects):
    figures = overview(engine, parse_filter({}, TODAY), None, TODAY)
    counts = {s["number"]: s["count"] for s in figures.stages}
    assert counts == {**dict.fromkeys(range(1, 14), 0), 1: 1, 3: 2, 7: 1, 9: 1, 11: 1, 12: 1}
    assert [(p["phase"], p["count"]) for p in figures.phases] == [
        ("引得来", 3), ("落得快", 1), ("建得好", 1), ("运营稳", 2)]
    assert figures.total == 7  # the terminated project is left out
    assert figures.lights == {"red": 1, "yellow": 1, "green": 5}
    assert (figures.late_start, figures.late_production) == (1, 1)


def test_overview_filters_and_a_department_heads_scope(engine, projects):
    by_street = overview(engine, parse_filter({"street": "buerhantu"}, TODAY), None, TODAY)
    assert by_street.total == 2
    key_only = overview(engine, parse_filter({"key": "1"}, TODAY), None, TODAY)
    assert key_only.total == 1 and key_only.lights["yellow"] == 1
    in_march = overview(engine, parse_filter({"period": "2025-03"}, TODAY), None, TODAY)
    assert in_march.total == 1
    this_year = overview(engine, parse_filter({"period": "year"}, TODAY), None, TODAY)
    assert this_year.total == 7
    by_leader = overview(engine, parse_filter({"leader": "other-leader"}, TODAY), None, TODAY)
    assert by_leader.total == 1
    # drc leads projects 3 and 7; kunbei is the street of the others
    assert overview(engine, parse_filter({}, TODAY), frozenset({"drc"}), TODAY).total == 2
    assert overview(engine, parse_filter({}, TODAY), frozenset({"kunbei"}), TODAY).total == 5


def test_the_list_behind_each_number_holds_exactly_its_projects(engine, projects):
    def ids(args, departments=None, **kw):
        page = list_projects(engine, parse_filter(args, TODAY), departments, TODAY, **kw)
        return sorted(r["instance_id"] for r in page.rows)

    assert ids({"stage": "签约"}) == [2, 3]
    assert ids({"stage": "3"}) == [2, 3]
    assert ids({"phase": "运营稳"}) == [6, 7]
    assert ids({"light": "red"}) == [4]
    assert ids({"late": "start"}) == [4]
    assert ids({"late": "production"}) == [5]
    assert ids({"status": "terminated"}) == [8]
    assert ids({"stage": "签约"}, frozenset({"drc"})) == [3]
    by_stage = list_projects(engine, parse_filter({}, TODAY), None, TODAY, sort="-stage")
    assert [r["instance_id"] for r in by_stage.rows][:2] == [7, 6]
    by_light = list_projects(engine, parse_filter({}, TODAY), None, TODAY, sort="light")
    assert [r["light"] for r in by_light.rows][:2] == ["red", "yellow"]


def test_the_list_has_pages_of_fifty(engine):
    insert(engine, dash_project, [project(i, 5) for i in range(1, 2 * PAGE_SIZE + 6)])
    flt = parse_filter({"stage": "立项"}, TODAY)
    last = list_projects(engine, flt, None, TODAY, page=3)
    assert (last.total, last.pages, len(last.rows)) == (2 * PAGE_SIZE + 5, 3, 5)
    assert len(list_projects(engine, flt, None, TODAY, page=1).rows) == PAGE_SIZE


@pytest.mark.parametrize("args", [
    {"stage": "施工"}, {"stage": "14"}, {"light": "blue"}, {"phase": "x"}, {"late": "soon"},
    {"period": "2025-13"}, {"period": "last"}, {"from": "2025-02-30"},
    {"from": "2025-03-01", "to": "2025-02-01"}, {"key": "yes"}, {"status": "open"},
])
def test_a_filter_outside_its_choices_is_refused_in_chinese(args):
    with pytest.raises(InvalidInput) as caught:
        parse_filter(args, TODAY)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(caught.value))


def test_the_forecast_flags_projects_whose_production_comes_after_the_agreed_date(engine):
    # past projects: every stage from 5 on took 20 working days
    insert(engine, dash_stage_span, [
        dict(instance_id=100 + i, stage=STAGES[n - 1].name, stage_number=n, project_type="file",
             entered_at=FAR, left_at=FAR, working_days=20)
        for i in range(5) for n in range(5, 13)])
    insert(engine, dash_project, [
        project(1, 5, planned_production=date(2025, 7, 1)),  # ~6 stages x 20 days: late
        project(2, 5, planned_production=date(2027, 1, 1)),  # in time
    ])
    insert(engine, dash_stage_span, [
        dict(instance_id=i, stage="立项", stage_number=5, project_type="file",
             entered_at=datetime(2025, 6, 2, 2)) for i in (1, 2)])
    figures = overview(engine, parse_filter({}, TODAY), None, TODAY)
    assert figures.forecast_late == 1
    late = list_projects(engine, parse_filter({"late": "forecast"}, TODAY), None, TODAY)
    assert [r["instance_id"] for r in late.rows] == [1]
    with time_machine.travel(NOW, tick=False):
        detail = project_detail(engine, 1, None, TODAY)
    assert detail.forecast.late is True
    assert detail.forecast.production > date(2025, 7, 1)


def test_a_project_page_shows_its_path_steps_cases_and_clock(engine):
    admin = engine.get_user("admin").actor()
    with time_machine.travel(datetime(2025, 5, 5, 2), tick=False):
        case = engine.start("sample_review", admin, title="吹哨：道路占用")
        iid = engine.start("sample_review", admin, title="项目").id
    insert(engine, dash_project, [project(iid, 7, planned_production=date(2026, 1, 1))])
    insert(engine, dash_stage_span, [
        dict(instance_id=iid, stage=STAGES[n - 1].name, stage_number=n, project_type="file",
             entered_at=datetime(2025, 1, n, 2),
             left_at=datetime(2025, 1, n + 1, 2) if n < 7 else None,
             working_days=1 if n < 7 else None) for n in range(1, 8)])
    insert(engine, dash_case_link, [dict(case_instance_id=case.id, project_instance_id=iid,
                                         process_key="whistle_referral", link="code")])
    arrived = datetime(2025, 6, 2, 2)  # Monday 2 June
    common = dict(instance_id=iid, process_key="project_lifecycle", stage="前期手续",
                  created_at=arrived, due_provisional=False)
    insert(engine, task_rows, [
        # 环评: 10 working days, stopped 5 (补正) and resumed, so the due day moved by 5
        dict(common, id="t-eia", element_id="eia", name="环评审批", department_code="eco",
             state="ready", due_at=datetime(2025, 6, 23, 15, 59)),
        # 能评: 5 working days, still open on the 16th: over its limit
        dict(common, id="t-energy", element_id="energy", name="节能审查", department_code="drc",
             assignee="drc-clerk", state="claimed", due_at=datetime(2025, 6, 6, 15, 59)),
        # 水保: done in 3 of 10
        dict(common, id="t-soil", element_id="soil", name="水土保持", department_code="agri",
             state="completed", due_at=datetime(2025, 6, 16, 15, 59),
             completed_at=datetime(2025, 6, 5, 2)),
    ])
    insert(engine, task_pause_rows, [dict(task_id="t-eia", paused_at=datetime(2025, 6, 3, 2),
                                          resumed_at=datetime(2025, 6, 10, 2), reason="补正")])
    with time_machine.travel(NOW, tick=False):
        detail = project_detail(engine, iid, None, TODAY)
    states = [s.state for s in detail.stages]
    assert states == ["done"] * 6 + ["current"] + ["ahead"] * 6
    assert detail.stages[0].working_days == 1 and detail.stages[6].entered == date(2025, 1, 7)
    assert [(c["id"], c["title"]) for c in detail.cases] == [(case.id, "吹哨：道路占用")]
    assert {s["id"] for s in detail.open_steps} >= {"t-eia", "t-energy"}
    energy = next(s for s in detail.open_steps if s["id"] == "t-energy")
    assert energy["overdue"] is True
    group = next(g for g in detail.clocks if g.stage == "前期手续")
    assert group.parallel and group.open
    rows = {r.task_id: r for r in group.rows}
    eia, energy, soil = rows["t-eia"], rows["t-energy"], rows["t-soil"]
    # counted on the engine's calendar (2 June 2025 is the 端午 holiday)
    cal = engine.calendar.current()
    paused = cal.working_days_between(date(2025, 6, 3), date(2025, 6, 10))
    assert eia.paused_days == paused
    assert eia.limit_days == cal.working_days_between(date(2025, 6, 2), date(2025, 6, 23)) - paused
    assert eia.used_days == cal.working_days_between(date(2025, 6, 2), TODAY) - paused
    assert not eia.over and eia.pauses[0].reason == "补正"
    assert energy.over and energy.used_days > energy.limit_days
    assert soil.completed == date(2025, 6, 5) and not soil.over


def test_an_unknown_project_is_not_found_and_another_departments_is_forbidden(engine, projects):
    with pytest.raises(NotFound):
        project_detail(engine, 999, None, TODAY)
    with pytest.raises(Forbidden):
        project_detail(engine, 1, frozenset({"drc"}), TODAY)
