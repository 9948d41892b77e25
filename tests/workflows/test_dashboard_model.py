"""The 驾驶舱's read model (workflows/dashboard/projection.py): a project_lifecycle case driven
through its first stages keeps its dash_project row, its stage spans (working days), the task
histogram and its light in every step's transaction; a terminate marks it; ``rebuild`` makes
exactly the rows the observer kept."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from engine import DepartmentInfo, UserInfo, local_day
from tests.processes.conftest import Driver, library_deploy
from tests.processes.test_project_lifecycle import (
    AGREEMENT,
    ESCALATION,
    PREREVIEW_DEPARTMENTS,
    Project,
    approve,
    china,
    conclude,
    negotiate,
)
from workflows.dashboard import dash_case_link, dash_project, dash_stage_span, dash_task_stat
from workflows.dashboard.projection import (
    DashboardProjection,
    as_day,
    as_number,
    project_light,
    rebuild,
    refresh_lights,
)

T0 = china(2026, 3, 2)  # Monday 2 March 2026, 09:00 China time


@pytest.fixture
def clock():
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as traveller:
        yield traveller


def project_row(engine, iid):
    with engine.unit_of_work(readonly=True) as uow:
        return uow.conn.execute(sa.select(dash_project).where(dash_project.c.instance_id == iid)
                                ).mappings().one()


def spans(engine, iid):
    with engine.unit_of_work(readonly=True) as uow:
        return [(r.stage, r.stage_number, r.project_type, r.entered_at, r.left_at, r.working_days)
                for r in uow.conn.execute(sa.select(dash_stage_span)
                                          .where(dash_stage_span.c.instance_id == iid)
                                          .order_by(dash_stage_span.c.id))]


def stats(engine, element_id):
    with engine.unit_of_work(readonly=True) as uow:
        return [(r.department_code, r.month, r.days, r.count, r.on_time, r.with_due)
                for r in uow.conn.execute(sa.select(dash_task_stat)
                                          .where(dash_task_stat.c.element_id == element_id)
                                          .order_by(dash_task_stat.c.department_code,
                                                    dash_task_stat.c.days))]


def tables(engine) -> dict[str, list[tuple]]:
    """The four tables' rows, in a stable order (a span's id is only a surrogate)."""
    out = {}
    with engine.unit_of_work(readonly=True) as uow:
        for table in (dash_project, dash_stage_span, dash_task_stat, dash_case_link):
            columns = [c for c in table.c if c.name != "id"]
            out[table.name] = sorted(
                tuple(row) for row in uow.conn.execute(sa.select(*columns)))
    return out


def workdays(engine, a: datetime, b: datetime) -> int:
    return engine.calendar.current().working_days_between(local_day(a), local_day(b))


def test_a_project_keeps_its_row_spans_histogram_and_light_and_rebuild_makes_the_same(
        engine, clock):
    library_deploy(engine, "project_lifecycle")
    driver = Driver(engine, cold=False)
    p = Project(driver, clock, "XM-2026-101")
    row = project_row(engine, p.iid)
    assert (row["stage"], row["stage_number"], row["phase"], row["status"]) == (
        "线索登记/首次洽谈", 1, "引得来", "running")
    assert (row["business_key"], row["name"], row["street"], row["investment"]) == (
        "XM-2026-101", "年产 5 万吨稀土新材料项目", "buerhantu", 120000.0)
    assert (row["industry"], row["project_type"], row["light"]) == (
        "heavy_industry", "unknown", "green")
    assert row["started_at"] == T0

    # 3 March: the 区领导 confirms the 包联 proposal (王志军 = user leader), the negotiation
    clock.move_to(china(2026, 3, 3).replace(tzinfo=UTC))
    negotiate(p)
    row = project_row(engine, p.iid)
    assert (row["stage"], row["leader"], row["lead_department"], row["is_key"]) == (
        "项目研判", "leader", "invest", True)
    assert row["open_tasks"] == 6 and row["overdue_tasks"] == 0

    # 11 March: the six opinions were due on the 10th; one in, five late: yellow
    clock.move_to(china(2026, 3, 11).replace(tzinfo=UTC))
    first, *rest = p.tasks("joint_prereview")
    opinion = {"opinion": "agree", "opinion_basis": "研判意见。"}
    engine.complete(first.id, driver.user(driver.clerk_for(first)), opinion)
    assert p.open() == {"joint_prereview", "escalate_prereview"}  # the overdue timer fired
    row = project_row(engine, p.iid)
    assert (row["light"], row["overdue_tasks"], row["open_tasks"]) == ("yellow", 5, 6)
    assert row["light_reason"] == "5项办理事项已逾期"
    for t in rest:
        engine.complete(t.id, driver.user(driver.clerk_for(t)), opinion)
    p.do("escalate_prereview", "leaders", **ESCALATION)
    conclude(p)
    assert project_row(engine, p.iid)["light"] == "green"

    clock.move_to(china(2026, 3, 12).replace(tzinfo=UTC))
    p.do("sign_agreement", "invest", **AGREEMENT)
    clock.move_to(china(2026, 3, 13).replace(tzinfo=UTC))
    p.do("register_company", "gov-data", company_name="包头昆区某新材料有限公司",
         credit_code="91150203MA0N12345X", registered_date="2026-03-13", agent_service=False)
    row = project_row(engine, p.iid)
    assert (row["stage"], row["stage_number"], row["phase"], row["project_type"]) == (
        "立项", 5, "落得快", "file")
    assert (row["signed_on"], row["planned_start"], row["planned_production"],
            row["planned_full_production"]) == (
        date(2026, 3, 10), date(2026, 8, 1), date(2027, 6, 30), date(2027, 12, 31))
    assert row["actual_start"] is None and row["actual_production"] is None

    # 3 August: 备案 granted two days past the agreed 开工 date, nothing built: red
    clock.move_to(china(2026, 8, 3).replace(tzinfo=UTC))
    approve(p, "file")
    row = project_row(engine, p.iid)
    assert (row["stage"], row["light"]) == ("用地/规划", "red")
    assert row["light_reason"] == "已过约定开工日期2026年8月1日仍未开工"

    # the spans: closed with the working days between the China days, all of the type 备案
    kept = spans(engine, p.iid)
    moments = [T0, china(2026, 3, 3), china(2026, 3, 11), china(2026, 3, 12),
               china(2026, 3, 13), china(2026, 8, 3)]
    names = ["线索登记/首次洽谈", "项目研判", "签约", "注册落地", "立项", "用地/规划"]
    expected = [
        (name, number, "file", entered, left,
         None if left is None else workdays(engine, entered, left))
        for number, name, entered, left in zip(
            [1, 2, 3, 4, 5, 6], names, moments, [*moments[1:], None], strict=True)]
    assert kept == expected
    assert [k[5] for k in kept[:4]] == [1, 6, 1, 1]

    # the histogram: 6 opinions, 6 working days each (3 → 11 March), none on time
    assert sorted(stats(engine, "joint_prereview")) == sorted(
        (d, "2026-03", 6, 1, 0, 1) for d in PREREVIEW_DEPARTMENTS)
    assert stats(engine, "assign_package_leader") == [("leaders", "2026-03", 1, 1, 0, 0)]
    assert stats(engine, "register_lead") == [("invest", "2026-03", 0, 1, 0, 0)]

    observed = tables(engine)
    assert rebuild(engine)["dash_project"] == 1
    assert tables(engine) == observed

    # terminated: the status, the end, the open span closed, no open task, no light
    clock.move_to(china(2026, 8, 5).replace(tzinfo=UTC))
    engine.terminate(p.iid, driver.user("admin"), "企业撤回投资")
    row = project_row(engine, p.iid)
    assert (row["status"], row["ended_at"], row["open_tasks"]) == (
        "terminated", china(2026, 8, 5), 0)
    assert (row["light"], row["light_reason"]) == ("green", "项目已终止")
    assert spans(engine, p.iid)[-1][4:] == (china(2026, 8, 5), 2)
    observed = tables(engine)
    rebuild(engine)
    rebuild(engine)  # idempotent
    assert tables(engine) == observed


def test_the_light_rule_red_yellow_green():
    def light(today, **change):
        facts = {"status": "running", "planned_start": date(2026, 8, 1), "actual_start": None,
                 "planned_production": date(2027, 6, 30), "actual_production": None,
                 "overdue_tasks": 0, "report_light": None} | change
        found = project_light(today, **facts)
        return found.colour, found.reason

    assert light(date(2026, 8, 1)) == ("green", None)  # the agreed day itself is not late
    assert light(date(2026, 8, 2))[0] == "red"
    assert light(date(2026, 8, 2), actual_start=date(2026, 7, 30)) == ("green", None)
    assert light(date(2027, 7, 1), actual_start=date(2026, 7, 30)) == (
        "red", "已过约定投产日期2027年6月30日仍未投产")
    assert light(date(2026, 5, 1), report_light="red") == ("red", "最近一期月度进度报告亮红灯")
    assert light(date(2026, 5, 1), report_light="yellow") == (
        "yellow", "最近一期月度进度报告亮黄灯")
    assert light(date(2026, 5, 1), overdue_tasks=2) == ("yellow", "2项办理事项已逾期")
    # producing: the construction reports no longer count
    assert light(date(2027, 7, 1), actual_start=date(2026, 7, 30),
                 actual_production=date(2027, 6, 1), report_light="red") == ("green", None)
    assert light(date(2027, 7, 1), status="completed") == ("green", "项目已办结")


def test_bad_values_in_a_projects_data_become_null():
    projection = DashboardProjection(
        calendar=None,
        departments=[DepartmentInfo("buerhantu", "卜尔汉图镇", "street.town", None)],
        users=[UserInfo("leader", "王志军", "leaders", ("leader",))])
    facts = projection.facts({
        "street": "卜尔汉图镇", "package_leader": "王志军", "total_investment": "约一亿",
        "signed_date": "2026-02-30", "planned_start_date": "下月", "is_key_project": "yes",
        "planned_production_date": "2026-09-01T00:00:00+08:00", "project_name": ["x"],
        "approval_type": {"odd": 1}, "progress_light": "purple"})
    assert (facts["street"], facts["leader"], facts["investment"]) == (
        "buerhantu", "leader", None)
    assert (facts["signed_on"], facts["planned_start"], facts["planned_production"]) == (
        None, None, date(2026, 9, 1))
    assert (facts["name"], facts["is_key"], facts["project_type"], facts["report_light"]) == (
        None, False, "unknown", None)
    assert [as_number(v) for v in ("1,200.5", float("nan"), True, 3)] == [1200.5, None, None, 3]
    assert as_day("2026-03-01T18:00:00Z") == date(2026, 3, 2)  # 02:00 China time


def test_a_whistle_naming_a_projects_code_is_linked_and_rebuild_links_it_too(engine, clock):
    library_deploy(engine, "project_lifecycle")
    library_deploy(engine, "whistle_referral")
    driver = Driver(engine, cold=False)
    p = Project(driver, clock, "XM-2026-102")
    report = {"problem_title": "工地夜间施工扰民", "category": "construction", "urgency": "ordinary",
              "location": "卜尔汉图镇某工地", "problem_description": "多次劝导无效。",
              "reporter_phone": "0472-2101234"}
    cases = {}
    for key, code in (("CS-2026-101", "XM-2026-102"), ("CS-2026-102", "XM-0000-000"),
                      ("CS-2026-103", None)):
        iid = engine.start("whistle_referral", driver.user("buerhantu-clerk"),
                           business_key=key, title=key).id
        driver.complete(iid, "blow_whistle",
                        report | ({"project_code": code} if code else {}))
        cases[key] = iid
    with engine.unit_of_work(readonly=True) as uow:
        links = [tuple(r) for r in uow.conn.execute(sa.select(dash_case_link))]
    assert links == [(cases["CS-2026-101"], p.iid, "whistle_referral", "code")]
    observed = tables(engine)
    assert rebuild(engine)["dash_case_link"] == 1
    assert tables(engine) == observed


def test_lights_follow_passing_time_without_a_step(engine, clock):
    """Between steps a task falls due and an agreed 开工 date passes: the housekeeping's
    ``refresh_lights`` turns the light yellow, then red, from the task rows and stored facts."""
    library_deploy(engine, "project_lifecycle")
    driver = Driver(engine, cold=False)
    p = Project(driver, clock, "XM-2026-103")
    clock.move_to(china(2026, 3, 3).replace(tzinfo=UTC))
    negotiate(p)  # six joint opinions open, due on 10 March
    assert refresh_lights(engine, datetime(2026, 3, 3, 8)) == 0
    assert project_row(engine, p.iid)["light"] == "green"

    # no step happens; on 10 March at 17:00 China time nothing is late yet, on the 11th it is
    assert refresh_lights(engine, datetime(2026, 3, 10, 9)) == 0
    assert refresh_lights(engine, datetime(2026, 3, 11, 2)) == 1
    row = project_row(engine, p.iid)
    assert (row["light"], row["overdue_tasks"]) == ("yellow", 6)
    assert row["light_reason"] == "6项办理事项已逾期"

    # an agreed 开工 date that passes makes it red, with no step either
    with engine.unit_of_work() as uow:
        uow.conn.execute(dash_project.update().where(dash_project.c.instance_id == p.iid)
                         .values(planned_start=date(2026, 3, 12)))
        uow.commit()
    assert refresh_lights(engine, datetime(2026, 3, 12, 8)) == 0  # not past the day yet
    assert refresh_lights(engine, datetime(2026, 3, 13, 2)) == 1
    row = project_row(engine, p.iid)
    assert row["light"] == "red" and "已过约定开工日期2026年3月12日仍未开工" in row["light_reason"]
