"""mine_approval (DOMAIN.md §2, the gazette's 非煤矿山行业管理工作制度) driven through the engine
as the departments' users, on one engine (warm) and with a new engine before every step (cold).

Every path ends: refused at 会商研判, 核准 refused, 源头管控 failed, 采矿登记 refused (不予设立);
each rule of the DMN mine_permits, and the parallel permits it requires (all six, none, and
环评/水保/林草/安全设施设计); safety-design rejection, send-back and a failed completion acceptance; the licence renewal reminder and the
yearly 生态修复 plan with frozen time; 日常监管 (joint inspection, 问题线索, major issues raised by
message or by a verified clue); 关闭退出 from supervision and after a licence not renewed. The step's
department is asserted at every task.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import InvalidInput
from engine.calendar import end_of_local_day
from engine.clock import local_day
from engine.model import message
from tests.conftest import FIXTURES
from tests.processes.conftest import library_deploy

T0 = datetime(2026, 6, 1, 1, 0)  # naive UTC: Monday 2026-06-01 09:00 China time

# A valid submission for each task's form (tests override what the path needs).
FORM_DATA = {
    "give_consultation_opinion": {"opinion": "agree", "opinion_note": "不涉及禁止开采区，无重叠"},
    "decide_mining_allowed": {
        "mining_allowed": "yes",
        "fits_spatial_plan": True,
        "mining_decision_reason": "符合国土空间规划",
    },
    "accept_approval_application": {
        "approval_application_no": "KZ-2026-01",
        "forwarded_on": "2026-06-02",
        "materials_complete": True,
    },
    "drc_approval_opinion": {"cooperation_opinion": "agree", "cooperation_note": "符合产业政策"},
    "miit_approval_opinion": {"cooperation_opinion": "agree", "cooperation_note": "符合行业规划"},
    "record_approval_decision": {
        "project_approved": "yes",
        "approval_doc_no": "包发改核〔2026〕8号",
        "approval_decided_on": "2026-06-20",
    },
    "file_project_record": {
        "filing_accepted": "yes",
        "filing_no": "BA-2026-031",
        "filed_on": "2026-06-02",
    },
    "check_source_control": {
        "source_control_passed": "yes",
        "outside_prohibited_zone": True,
        "exploration_sufficient": True,
        "no_vertical_overlap": True,
        "source_control_note": "已核实",
    },
    "review_development_plans": {
        "development_plan_conclusion": "pass",
        "restoration_plan_conclusion_initial": "pass_revised",
    },
    "record_mining_registration": {"mining_registered": "yes", "mining_licence_no": "C1502002026"},
    "review_land_use": {"land_use_conclusion": "approved"},
    "review_eia": {"eia_conclusion": "approved", "eia_approval_no": "包环审〔2026〕3号"},
    "review_water_intake": {"water_intake_conclusion": "approved"},
    "review_soil_conservation": {"soil_conservation_conclusion": "approved"},
    "review_forest_grass_use": {
        "forest_grass_conclusion": "approved",
        "avoids_protected_areas": True,
    },
    "accept_safety_design": {
        "safety_design_materials": "accepted",
        "has_approval_or_filing": True,
        "has_safety_pre_evaluation": True,
    },
    "review_safety_design": {
        "safety_design_conclusion": "approved",
        "safety_design_opinion": "同意",
        "adjacent_distance_ok": True,
    },
    "supervise_construction_safety": {
        "construction_completed_on": "2026-12-01",
        "built_per_safety_design": True,
    },
    "supervise_environmental_facilities": {"environment_supervision_note": "三同时落实"},
    "supervise_soil_facilities": {"soil_supervision_note": "水保设施同步建设"},
    "promote_intelligent_mining": {
        "intelligence_level": "automated",
        "intelligence_note": "指导企业开展自动化升级改造",
    },
    "cooperate_construction_supervision": {"cooperation_result": "conforming"},
    "check_completion_acceptance": {"acceptance_passed": "yes", "acceptance_note": "合格"},
    "acceptance_rectification": {"rectification_note": "已整改"},
    "issue_safety_licence": {
        "licence_granted": "yes",
        "licence_no": "(蒙)FM安许证字〔2026〕001",
        "licence_issued_on": "2026-06-01",
    },
    "assign_supervision_body": {
        "supervising_body": "区应急局非煤矿山监管股",
        "risk_level": "high",
        "announced_to_public": True,
        "posted_at_entrance": True,
    },
    "supervise_mine": {"supervision_action": "joint_inspection", "supervision_note": "季度检查"},
    "joint_inspection": {"inspection_finding": "no_issue"},
    "town_site_supervision": {"town_patrol_result": "normal"},
    "verify_issue_clue": {
        "clue_verified": "confirmed",
        "clue_handling": "已立案查处",
        "clue_is_major": "no",
    },
    "review_restoration_plan": {
        "restoration_year": 2027,
        "restoration_plan_conclusion": "approved",
    },
    "remind_licence_renewal": {"renewal_notified_on": "2029-02-02", "renewal_applied": "yes"},
    "renew_safety_licence": {
        "renewal_granted": "yes",
        "licence_no": "(蒙)FM安许证字〔2029〕017",
        "licence_issued_on": "2029-03-20",
    },
    "confirm_mine_closure": {"closure_reason": "government_decision", "closure_note": "依法关闭"},
    "cancel_mining_licence": {"mining_licence_cancelled_on": "2030-01-10"},
    "cancel_safety_licence": {"safety_licence_cancelled_on": "2030-01-10"},
    "cancel_discharge_permit": {"discharge_permit_cancelled_on": "2030-01-10"},
    "give_issue_opinion": {"issue_opinion": "joint_enforcement"},
    "decide_major_issue": {
        "issue_decision": "joint_enforcement",
        "issue_measures": "区应急局牵头联合执法",
    },
}

CONSULTED = ["agri", "buerhantu", "eco", "emergency"]  # 生态环境、农牧、应急和街镇
# 二（三）智能化：区工业和信息化局、区应急局依职能负责
INTELLIGENCE = ["emergency", "miit"]
# 三（七）区应急局会同发改、工信、政数、农牧、生态环境做好建设期间的安全生产监管：
# 应急、生态环境、农牧各有三同时监督任务，发改、工信、政数按职责配合
CONSTRUCTION_COOPERATION = ["drc", "gov-data", "miit"]
REFUSAL_NOTICE = {
    "refusal_notice_reasons": "不符合有关规定，可依法申请行政复议或者提起行政诉讼",
    "refusal_notice_served_on": "2026-06-10",
}
PERMIT_FLAGS = (
    "needs_eia",
    "needs_water_permit",
    "needs_soil_conservation",
    "needs_forest_grass",
    "needs_land",
    "needs_safety_design",
)
PERMIT_DEPARTMENT = {
    "review_land_use": "natres",
    "review_eia": "eco",
    "review_water_intake": "agri",
    "review_soil_conservation": "agri",
    "review_forest_grass_use": "agri",
    "accept_safety_design": "emergency",
}


@pytest.fixture
def mine(engine, driver):
    """mine_approval deployed with its DMN and forms, a stand-in for the waiting project, and the
    clock frozen at T0. Checks read through ``driver.reader`` (the first engine): only the steps
    themselves run on the restarted engines of a cold driver."""
    if not hasattr(type(driver), "reader"):
        driver.reader = engine
    result = library_deploy(engine, "mine_approval")
    assert result.definition.warnings == ()
    engine.deploy(
        "mine_result_wait.bpmn",
        (FIXTURES / "bpmn" / "mine_result_wait.bpmn").read_bytes(),
        actor=engine.get_user("admin").actor(),
    )
    with time_machine.travel(T0, tick=False) as clock:
        yield clock


# ---------------------------------------------------------------- helpers


def _admin(driver):
    return driver.user("admin")


def _tasks(driver, iid):
    return driver.reader.get_instance(iid, _admin(driver)).tasks


def open_ids(driver, iid) -> set[str]:
    return {t.element_id for t in _tasks(driver, iid)}


def step(driver, iid, element_id, department, **data):
    """Complete the task as its department's caseworker (or head), asserting the department."""
    return driver.complete(
        iid, element_id, {**FORM_DATA.get(element_id, {}), **data}, expect_department=department
    )


def each(driver, iid, element_id, departments, **data):
    """Complete every instance of a multi-instance task: one per department, as that department."""
    tasks = [t for t in _tasks(driver, iid) if t.element_id == element_id]
    assert sorted(t.department_code for t in tasks) == sorted(departments)
    for t in tasks:
        driver.engine.complete(
            t.id, driver.user(driver.clerk_for(t)), {**FORM_DATA.get(element_id, {}), **data}
        )


def status(driver, iid) -> str:
    return driver.reader.get_instance(iid, _admin(driver)).status


def data_of(driver, iid) -> dict:
    return driver.reader.get_instance(iid, _admin(driver), with_data=True).data


def waiting_project(driver, code: str) -> int:
    """An instance standing in for project_lifecycle, waiting for this project's result."""
    inst = driver.engine.start("mine_result_wait", driver.user("invest-clerk"), business_key=code)
    assert open_ids(driver, inst.id) == set()
    return inst.id


def project_result(driver, project_iid) -> dict:
    tasks = {t.element_id: t for t in _tasks(driver, project_iid)}
    assert set(tasks) == {"continue_project"}, "the project did not resume"
    return driver.reader.get_task(tasks["continue_project"].id, _admin(driver)).data["mine_result"]


def notices(driver, code: str) -> list[str]:
    """Subjects of the 相互通报 messages this case threw."""
    with driver.reader.db.connect() as conn:
        rows = conn.execute(
            sa.select(message.c.payload_json)
            .where(message.c.name == "mine_notice", message.c.correlation_key == code)
            .order_by(message.c.id)
        ).all()
    return [json.loads(r.payload_json)["subject"] for r in rows]


def assert_due(driver, iid, element_id, working_days):
    task = next(t for t in _tasks(driver, iid) if t.element_id == element_id)
    expected = driver.reader.calendar.current().due_at(task.created_at, working_days)
    assert task.due_at == expected, (element_id, task.due_at, expected)


def assert_due_calendar_days(driver, iid, element_id, days):
    """A statutory limit given in 日: the end (23:59:59 China time) of the ``days``-th calendar
    day after the task opened, and earlier than the same number of working days would give."""
    task = next(t for t in _tasks(driver, iid) if t.element_id == element_id)
    opened = local_day(task.created_at)
    assert task.due_at == end_of_local_day(opened + timedelta(days=days)), (
        element_id, task.due_at)
    assert task.due_at < driver.reader.calendar.current().due_at(task.created_at, days)


def register(driver, code, *, town=None, street=None, **facts):
    """Start the case (区自然资源分局) and register it; 会商研判 opinions open. ``street`` is
    what a calling project_lifecycle passes as the project's 街镇."""
    inst = driver.engine.start(
        "mine_approval",
        driver.user("natres-clerk"),
        business_key=code,
        title=f"{code} 非煤矿山",
        data={"street": street} if street else None,
    )
    assert open_ids(driver, inst.id) == {"register_mine_case"}
    case = {
        "project_code": code,
        "mine_name": f"{code} 矿山",
        "applicant": "包头某矿业有限公司",
        "mineral": "rare_earth",
        "project_kind": "new",
        "cross_county": False,
        "capacity_change": False,
        "water_use": False,
        "forest_land": False,
        "new_land": False,
        **facts,
    }
    if town:
        case["town"] = town
    step(driver, inst.id, "register_mine_case", "natres", **case)
    assert open_ids(driver, inst.id) == {"give_consultation_opinion"}
    assert_due(driver, inst.id, "give_consultation_opinion", 5)
    return inst.id


def consult(driver, iid, *, allowed=True, town="buerhantu"):
    each(driver, iid, "give_consultation_opinion", ["agri", "eco", "emergency", town])
    assert open_ids(driver, iid) == {"decide_mining_allowed"}
    step(driver, iid, "decide_mining_allowed", "natres", mining_allowed="yes" if allowed else "no")


def approve(driver, iid, *, approved=True):
    """核准: 区政数局 accepts and forwards, 区发改委 and 区工信局 cooperate, the city decides."""
    assert open_ids(driver, iid) == {"accept_approval_application"}
    step(driver, iid, "accept_approval_application", "gov-data")
    assert open_ids(driver, iid) == {"drc_approval_opinion", "miit_approval_opinion"}
    step(driver, iid, "drc_approval_opinion", "drc")
    step(driver, iid, "miit_approval_opinion", "miit")
    assert_due(driver, iid, "record_approval_decision", 20)
    step(
        driver,
        iid,
        "record_approval_decision",
        "gov-data",
        project_approved="yes" if approved else "no",
    )


def file_record(driver, iid, department):
    """备案 by the department the DMN names (技术改造: 区工信局; 非金属新建: 区发改委)."""
    assert open_ids(driver, iid) == {"file_project_record"}
    assert_due(driver, iid, "file_project_record", 1)
    step(driver, iid, "file_project_record", department)


def source_control(driver, iid, *, passed=True):
    """源头管控 (禁采区, 勘查程度, 重叠) and the plans' review: before any 核准/备案 step."""
    assert open_ids(driver, iid) == {"check_source_control"}
    step(
        driver,
        iid,
        "check_source_control",
        "natres",
        source_control_passed="yes" if passed else "no",
    )
    if not passed:
        return
    step(driver, iid, "review_development_plans", "natres")


def registration(driver, iid, *, registered=True):
    """采矿登记 (40 日), after 核准/备案."""
    assert open_ids(driver, iid) == {"record_mining_registration"}
    assert_due_calendar_days(driver, iid, "record_mining_registration", 40)  # 日
    step(
        driver,
        iid,
        "record_mining_registration",
        "natres",
        mining_registered="yes" if registered else "no",
    )


def admitted(driver, iid, *, town="buerhantu", filing=None):
    """会商研判 → 源头管控 → 核准 (or 备案 by ``filing``) → 采矿登记, all granted."""
    consult(driver, iid, town=town)
    source_control(driver, iid)
    if filing:
        file_record(driver, iid, filing)
    else:
        approve(driver, iid)
    registration(driver, iid)


def permits(driver, iid, expected: set[str]):
    """The parallel permits the DMN requires, each as its department; then 安全设施设计审查
    (受理 5, 审查 20 working days)."""
    opened = open_ids(driver, iid)
    assert opened == expected, f"DMN opened {opened}, expected {expected}"
    for element in sorted(expected):
        if element == "accept_safety_design":
            assert_due(driver, iid, "accept_safety_design", 5)
            step(driver, iid, "accept_safety_design", "emergency")
            review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
            assert (review.name, review.lane, review.form_key) == (
                "安全设施设计审查",
                "区应急局",
                "review_safety_design",
            )
            assert_due(driver, iid, "review_safety_design", 20)
            step(driver, iid, "review_safety_design", "emergency")
        else:
            step(driver, iid, element, PERMIT_DEPARTMENT[element])


def build_and_license(driver, iid, *, fail_acceptance_once=False):
    """建设 (三同时: 应急, 生态环境, 农牧) → 安全设施竣工验收核查 → 安全生产许可 (45 days, head)."""
    assert open_ids(driver, iid) == {
        "supervise_construction_safety",
        "supervise_environmental_facilities",
        "supervise_soil_facilities",
        "promote_intelligent_mining",
        "cooperate_construction_supervision",
    }
    step(driver, iid, "supervise_construction_safety", "emergency")
    step(driver, iid, "supervise_environmental_facilities", "eco")
    step(driver, iid, "supervise_soil_facilities", "agri")
    each(driver, iid, "promote_intelligent_mining", INTELLIGENCE)
    assert "check_completion_acceptance" not in open_ids(driver, iid)
    each(driver, iid, "cooperate_construction_supervision", CONSTRUCTION_COOPERATION)
    if fail_acceptance_once:
        step(driver, iid, "check_completion_acceptance", "emergency", acceptance_passed="no")
        assert open_ids(driver, iid) == {"notify_acceptance_refusal"}
        step(driver, iid, "notify_acceptance_refusal", "emergency", permit_resubmitted="yes",
             **REFUSAL_NOTICE)
        assert open_ids(driver, iid) == {"acceptance_rectification"}
        step(driver, iid, "acceptance_rectification", "emergency")
    step(driver, iid, "check_completion_acceptance", "emergency")
    assert_due_calendar_days(driver, iid, "issue_safety_licence", 45)  # 日
    licence = next(t for t in _tasks(driver, iid) if t.element_id == "issue_safety_licence")
    assert licence.candidate_role == "head"
    step(driver, iid, "issue_safety_licence", "emergency")
    assert open_ids(driver, iid) == {"assign_supervision_body"}
    step(driver, iid, "assign_supervision_body", "emergency")
    assert open_ids(driver, iid) == {"supervise_mine"}


def close_down(driver, iid, code):
    """关闭退出: 区自然资源分局 (head) confirms; parallel 注销 of 采矿证, 安许, 排污许可."""
    assert open_ids(driver, iid) == {"confirm_mine_closure"}
    step(driver, iid, "confirm_mine_closure", "natres")
    assert open_ids(driver, iid) == {
        "cancel_mining_licence",
        "cancel_safety_licence",
        "cancel_discharge_permit",
    }
    step(driver, iid, "cancel_safety_licence", "emergency")
    step(driver, iid, "cancel_discharge_permit", "eco")
    step(driver, iid, "cancel_mining_licence", "natres")
    assert open_ids(driver, iid) == set()
    assert status(driver, iid) == "completed"  # the major-issue listener ends with it
    assert notices(driver, code)[-1] == "关闭退出"


def fire_until(driver, iid, clock, when, element_id):
    """Move the frozen clock to ``when`` and fire due timers until ``element_id`` opens; yearly
    生态修复 plans that fall due on the way are reviewed by 区自然资源分局."""
    clock.move_to(when)
    for _ in range(6):
        driver.engine.fire_due_timers()
        opened = open_ids(driver, iid)
        if element_id in opened:
            return
        if "review_restoration_plan" in opened:
            step(driver, iid, "review_restoration_plan", "natres")
            continue
    raise AssertionError(f"{element_id} did not open; open: {open_ids(driver, iid)}")


# ---------------------------------------------------------------- refused (不予设立)


def test_every_refusal_ends_not_established_and_reports_to_the_project(driver, mine):
    """不予设立 at 会商研判, when the city refuses the 核准, when 源头管控 fails and when the
    region refuses the 采矿登记: each ends the case and tells the waiting project."""
    for where in ("consultation", "approval", "source_control", "registration"):
        code = f"XM-2026-R-{where}"
        project = waiting_project(driver, code)
        if where == "consultation":  # no 街镇 given: 卜尔汉图镇 by default
            iid = register(driver, code)
            consult(driver, iid, allowed=False)
        elif where == "approval":  # 稀土新建 in 昆北街道 → 核准, the city refuses
            iid = register(driver, code, mineral="rare_earth", project_kind="new", town="kunbei")
            consult(driver, iid, town="kunbei")
            source_control(driver, iid)
            approve(driver, iid, approved=False)
            assert open_ids(driver, iid) == {"notify_approval_refusal"}
            step(driver, iid, "notify_approval_refusal", "gov-data", permit_resubmitted="no",
                 **REFUSAL_NOTICE)
        elif where == "source_control":  # 砂石新建; prohibited zone found before 备案
            iid = register(driver, code, mineral="sand_gravel", project_kind="new")
            consult(driver, iid)
            source_control(driver, iid, passed=False)
        else:  # 黄金矿技改, expanding on new land → 备案 (区工信局); 采矿登记 refused
            iid = register(
                driver,
                code,
                mineral="gold",
                project_kind="tech_upgrade",
                capacity_change=True,
                new_land=True,
            )
            consult(driver, iid)
            source_control(driver, iid)
            file_record(driver, iid, "miit")
            registration(driver, iid, registered=False)
            step(driver, iid, "notify_registration_refusal", "natres", permit_resubmitted="no",
                 **REFUSAL_NOTICE)
            facts = data_of(driver, iid)
            assert facts["approval_basis"] == "矿山技术改造项目备案"
            assert (facts["eia_document"], facts["eia_due_days"]) == ("报告表", 30)
            assert {k: facts[k] for k in PERMIT_FLAGS} == {
                "needs_eia": True,
                "needs_water_permit": False,
                "needs_soil_conservation": True,
                "needs_forest_grass": False,
                "needs_land": True,
                "needs_safety_design": True,
            }
        assert open_ids(driver, iid) == set(), where  # the major-issue listener ends too
        assert status(driver, iid) == "completed", where
        assert project_result(driver, project) == {"approved": False, "project_code": code}
        assert notices(driver, code) == ["不予设立"], where


# ---------------------------------------------------------------- approved: each DMN rule


def test_approval_with_every_permit_then_supervision_renewal_and_closure(driver, mine):
    """稀土新建 (核准) using water, forest land and new land: all six permits. Then 日常监管 with
    a joint inspection, 问题线索, major issues (by message and by a verified clue), the yearly
    生态修复 plan and the licence renewal reminder, and closure from supervision."""
    clock = mine
    code = "XM-2026-M10"
    project = waiting_project(driver, code)
    iid = register(
        driver,
        code,
        mineral="rare_earth",
        project_kind="new",
        water_use=True,
        forest_land=True,
        new_land=True,
    )

    # Any department raises a major issue to 会商研判 (the coordination office) at any time.
    outcome = driver.engine.correlate_message(
        "mine_major_issue",
        code,
        {"raised_by": "eco", "summary": "拟设矿区疑似涉及水源地"},
        actor=_admin(driver),
    )
    assert outcome["status"] == "delivered"
    assert open_ids(driver, iid) == {"give_consultation_opinion", "give_issue_opinion"}
    each(driver, iid, "give_issue_opinion", CONSULTED)
    step(driver, iid, "decide_major_issue", "natres")
    assert notices(driver, code) == ["重大问题会商研判"]

    admitted(driver, iid)
    assert data_of(driver, iid)["eia_due_days"] == 60
    assert_due_calendar_days(driver, iid, "review_eia", 60)  # 报告书: 六十日
    assert_due(driver, iid, "review_soil_conservation", 10)
    # 水保 expert review does not count: the clock pauses and resumes.
    soil = next(t for t in _tasks(driver, iid) if t.element_id == "review_soil_conservation")
    agri = driver.user("agri-clerk")
    assert driver.engine.pause_task(soil.id, agri, "专家评审").paused_at is not None
    assert driver.engine.resume_task(soil.id, agri).paused_at is None
    permits(
        driver,
        iid,
        {
            "review_land_use",
            "review_eia",
            "review_water_intake",
            "review_soil_conservation",
            "review_forest_grass_use",
            "accept_safety_design",
        },
    )
    assert project_result(driver, project) == {"approved": True, "project_code": code}
    assert notices(driver, code)[-1] == "审批结果"

    build_and_license(driver, iid)
    assert notices(driver, code)[-1] == "安全生产许可"
    facts = data_of(driver, iid)
    assert facts["licence_expires_on"] == "2029-06-01"
    # 条例第九条: apply for renewal 3 months before expiry (by 2029-03-01); the reminder comes a
    # month earlier (DMN renewal_notice_months = 4), not on the last day the firm may apply.
    assert facts["renewal_apply_by"] == "2029-03-01"
    assert facts["renewal_reminder_at"] == "2029-02-01T09:00:00+08:00"
    assert facts["restoration_plan_due_at"] == "2027-01-15T09:00:00+08:00"

    # 联合检查: the departments and the 街镇 (属地监管), results notified.
    step(driver, iid, "supervise_mine", "emergency", supervision_action="joint_inspection")
    assert open_ids(driver, iid) == {"joint_inspection", "town_site_supervision"}
    each(driver, iid, "joint_inspection", ["agri", "eco", "emergency", "natres"])
    step(driver, iid, "town_site_supervision", "buerhantu")
    assert notices(driver, code)[-1] == "联合检查结果"
    assert open_ids(driver, iid) == {"supervise_mine"}

    # 问题线索 for 区农牧局: verified, major → raised to 会商研判 inside the case.
    step(
        driver,
        iid,
        "supervise_mine",
        "emergency",
        supervision_action="issue_clue",
        clue_department="agri",
        supervision_note="疑似超范围取水",
    )
    assert open_ids(driver, iid) == {"verify_issue_clue"}
    step(driver, iid, "verify_issue_clue", "agri", clue_is_major="yes")
    assert open_ids(driver, iid) == {"supervise_mine", "give_issue_opinion"}
    each(driver, iid, "give_issue_opinion", CONSULTED, issue_opinion="rectification")
    step(driver, iid, "decide_major_issue", "natres", issue_decision="rectification")
    # A minor clue for 区生态环境分局 is only verified.
    step(
        driver,
        iid,
        "supervise_mine",
        "emergency",
        supervision_action="issue_clue",
        clue_department="eco",
        supervision_note="扬尘防治不到位",
    )
    step(driver, iid, "verify_issue_clue", "eco", clue_is_major="no")
    assert open_ids(driver, iid) == {"supervise_mine"}

    # Yearly 生态修复 plan (interrupts the supervision task, which opens again afterwards).
    clock.move_to(datetime(2027, 1, 14, 12, 0))
    assert driver.engine.fire_due_timers() == 0
    fire_until(driver, iid, clock, datetime(2027, 1, 15, 2, 0), "review_restoration_plan")
    assert open_ids(driver, iid) == {"review_restoration_plan"}
    step(driver, iid, "review_restoration_plan", "natres")
    assert open_ids(driver, iid) == {"supervise_mine"}
    assert data_of(driver, iid)["restoration_plan_due_at"] == "2028-01-15T09:00:00+08:00"

    # Renewal reminder 4 months before expiry (2029-02-01 09:00 China time), not before: a
    # month ahead of the statutory application deadline (2029-03-01), which the form shows.
    fire_until(driver, iid, clock, datetime(2029, 1, 31, 0, 0), "supervise_mine")
    assert driver.engine.fire_due_timers() == 0
    assert open_ids(driver, iid) == {"supervise_mine"}
    fire_until(driver, iid, clock, datetime(2029, 2, 1, 1, 30), "remind_licence_renewal")
    assert open_ids(driver, iid) == {"remind_licence_renewal"}
    reminder = next(t for t in _tasks(driver, iid) if t.element_id == "remind_licence_renewal")
    assert local_day(reminder.created_at).isoformat() < "2029-03-01"  # renewal_apply_by
    step(driver, iid, "remind_licence_renewal", "emergency", renewal_applied="yes")
    assert_due_calendar_days(driver, iid, "renew_safety_licence", 45)  # 日
    step(driver, iid, "renew_safety_licence", "emergency")
    assert open_ids(driver, iid) == {"supervise_mine"}
    facts = data_of(driver, iid)
    assert facts["licence_expires_on"] == "2032-03-20"
    assert facts["renewal_apply_by"] == "2031-12-20"
    assert facts["renewal_reminder_at"] == "2031-11-20T09:00:00+08:00"

    step(driver, iid, "supervise_mine", "emergency", supervision_action="closure")
    close_down(driver, iid, code)


def test_filing_cross_county_nonmetal_upgrade_needs_no_permit_and_closes_when_not_renewed(
    driver, mine
):
    """跨旗县区非金属矿技术改造 (备案 by 区工信局) without expansion or new land: no permit.
    The enterprise does not apply for renewal: 关闭退出."""
    clock = mine
    code = "XM-2026-M12"
    project = waiting_project(driver, code)
    iid = register(driver, code, mineral="nonmetal", project_kind="tech_upgrade", cross_county=True)
    admitted(driver, iid, filing="miit")
    facts = data_of(driver, iid)
    assert facts["approval_basis"] == "跨旗县区非金属矿技术改造项目备案"
    assert not any(facts[k] for k in PERMIT_FLAGS)
    # No permit needed: straight on to construction.
    assert project_result(driver, project) == {"approved": True, "project_code": code}
    build_and_license(driver, iid)
    fire_until(driver, iid, clock, datetime(2029, 2, 1, 1, 30), "remind_licence_renewal")
    step(driver, iid, "remind_licence_renewal", "emergency", renewal_applied="no")
    close_down(driver, iid, code)


def test_renewal_refused_is_notified_resubmitted_refused_again_and_the_mine_closes(driver, mine):
    """延期 is an approval too: 不予延期 with reasons, the enterprise told in writing
    (《行政许可法》第三十八条); it may apply again after rectification; when it gives up, the
    licence lapses and the mine goes to 关闭退出."""
    clock = mine
    code = "XM-2026-M13"
    waiting_project(driver, code)
    iid = register(driver, code, mineral="nonmetal", project_kind="tech_upgrade", cross_county=True)
    admitted(driver, iid, filing="miit")
    build_and_license(driver, iid)
    fire_until(driver, iid, clock, datetime(2029, 2, 1, 1, 30), "remind_licence_renewal")
    step(driver, iid, "remind_licence_renewal", "emergency", renewal_applied="yes")
    refused = {"renewal_granted": "no", "renewal_refusal_reasons": "安全生产条件不再具备"}
    review = next(t for t in _tasks(driver, iid) if t.element_id == "renew_safety_licence")
    driver.engine.complete(review.id, driver.user("emergency-head"), refused)  # no licence no.
    assert open_ids(driver, iid) == {"notify_renewal_refusal"}
    notice = {"renewal_notice_reasons": "安全生产条件不再具备", "renewal_notice_served_on":
              "2029-03-25"}
    step(driver, iid, "notify_renewal_refusal", "emergency", **notice, renewal_resubmitted="yes")
    assert open_ids(driver, iid) == {"renew_safety_licence"}  # applied again after rectifying
    review = next(t for t in _tasks(driver, iid) if t.element_id == "renew_safety_licence")
    driver.engine.complete(review.id, driver.user("emergency-head"), refused)
    step(driver, iid, "notify_renewal_refusal", "emergency", **notice, renewal_resubmitted="no")
    assert open_ids(driver, iid) == {"confirm_mine_closure"}
    assert data_of(driver, iid)["renewal_refusal_reasons"] == "安全生产条件不再具备"
    close_down(driver, iid, code)


def test_filing_sand_gravel_with_forest_land_safety_design_returned(driver, mine):
    """普通建筑用砂石新建 in 昆北街道 (passed by the calling project as ``street``; 备案 by
    区发改委) on forest land: 环评, 水保, 林草, 安全设施设计 — returned once for correction
    (send-back), rejected once; the completion acceptance fails once."""
    code = "XM-2026-M14"
    iid = register(
        driver, code, mineral="sand_gravel", project_kind="new", forest_land=True, street="kunbei"
    )
    admitted(driver, iid, town="kunbei", filing="drc")
    assert open_ids(driver, iid) == {
        "review_eia",
        "review_soil_conservation",
        "review_forest_grass_use",
        "accept_safety_design",
    }
    assert_due_calendar_days(driver, iid, "review_eia", 30)  # 报告表: 三十日
    step(driver, iid, "accept_safety_design", "emergency")
    review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
    with pytest.raises(InvalidInput) as err:  # the form needs a conclusion and an opinion
        driver.engine.complete(review.id, driver.user("emergency-clerk"), {})
    assert set(err.value.details) >= {"safety_design_conclusion", "safety_design_opinion"}
    driver.engine.send_back(
        review.id, driver.user("emergency-clerk"), "accept_safety_design", "缺少安全预评价报告"
    )
    step(
        driver,
        iid,
        "accept_safety_design",
        "emergency",
        safety_design_materials="accepted_after_correction",
    )
    step(
        driver,
        iid,
        "review_safety_design",
        "emergency",
        safety_design_conclusion="rejected",
        safety_design_opinion="排土场设计不符合规范",
    )
    assert "notify_safety_design_refusal" in open_ids(driver, iid)
    step(driver, iid, "notify_safety_design_refusal", "emergency", permit_resubmitted="yes",
         **REFUSAL_NOTICE)
    assert "accept_safety_design" in open_ids(driver, iid)
    step(driver, iid, "accept_safety_design", "emergency")
    step(driver, iid, "review_safety_design", "emergency")
    permits(driver, iid, {"review_eia", "review_soil_conservation", "review_forest_grass_use"})
    build_and_license(driver, iid, fail_acceptance_once=True)
    step(driver, iid, "supervise_mine", "emergency", supervision_action="closure")
    close_down(driver, iid, code)


def test_safety_design_review_extended_by_ten_working_days_with_the_heads_approval(driver, mine):
    """三同时办法第十四条: the review is due 20 working days after 受理; the reviewer asks for
    more time, the head (负责人) approves, and the review is due 10 working days later — once
    only: a second approval does not move it again, a refusal keeps the deadline."""
    code = "XM-2026-M16"
    iid = register(driver, code, mineral="sand_gravel", project_kind="new", street="kunbei")
    admitted(driver, iid, town="kunbei", filing="drc")
    step(driver, iid, "accept_safety_design", "emergency")
    review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
    cal = driver.reader.calendar.current()
    due_20 = cal.due_at(review.created_at, 20)
    assert review.due_at == due_20
    due_30 = end_of_local_day(cal.add_working_days(local_day(due_20), 10))
    assert due_30 == cal.due_at(review.created_at, 30)

    ask = {"safety_design_conclusion": "extension", "safety_design_opinion": "需补充论证排土场稳定性",
           "extension_request_reason": "需组织专家现场核查"}
    step(driver, iid, "review_safety_design", "emergency", **ask)
    assert "approve_safety_design_extension" in open_ids(driver, iid)
    head_task = next(t for t in _tasks(driver, iid)
                     if t.element_id == "approve_safety_design_extension")
    assert head_task.candidate_role == "head"
    step(driver, iid, "approve_safety_design_extension", "emergency",
         safety_design_extension_approved="yes")
    review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
    assert review.due_at == due_30

    # Asked again: the head's approval does not extend a second time; a refusal keeps it too.
    for answer in ("yes", "no"):
        step(driver, iid, "review_safety_design", "emergency", **ask)
        step(driver, iid, "approve_safety_design_extension", "emergency",
             safety_design_extension_approved=answer)
        review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
        assert review.due_at == due_30
    step(driver, iid, "review_safety_design", "emergency", safety_design_conclusion="approved")
    assert "review_safety_design" not in open_ids(driver, iid)


def test_safety_design_extension_refused_keeps_the_twenty_days(driver, mine):
    code = "XM-2026-M17"
    iid = register(driver, code, mineral="sand_gravel", project_kind="new", street="kunbei")
    admitted(driver, iid, town="kunbei", filing="drc")
    step(driver, iid, "accept_safety_design", "emergency")
    review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
    due_20 = review.due_at
    step(driver, iid, "review_safety_design", "emergency", safety_design_conclusion="extension",
         extension_request_reason="专家意见未返回")
    step(driver, iid, "approve_safety_design_extension", "emergency",
         safety_design_extension_approved="no")
    review = next(t for t in _tasks(driver, iid) if t.element_id == "review_safety_design")
    assert review.due_at == due_20


# ---------------------------------------------------------------- 专项审批 refused (不予批准)

REFUSABLE = {  # permit key: (review task, its department, the conclusion field)
    "eia": ("review_eia", "eco", "eia_conclusion"),
    "water_intake": ("review_water_intake", "agri", "water_intake_conclusion"),
    "soil_conservation": ("review_soil_conservation", "agri", "soil_conservation_conclusion"),
    "forest_grass": ("review_forest_grass_use", "agri", "forest_grass_conclusion"),
}


@pytest.mark.parametrize("permit", sorted(REFUSABLE))
def test_special_permit_refused_resubmitted_then_given_up_ends_not_established(
    driver, mine, permit
):
    """环评, 取水, 水保 and 林草 can refuse (不予批准 with reasons): the department tells the
    applicant in writing (行政许可法第三十八条); the applicant resubmits (the review opens again)
    or gives up, and then the case ends 不予设立, the other reviews with it."""
    review, department, conclusion = REFUSABLE[permit]
    notify = f"notify_{permit}_refusal"
    code = f"XM-2026-P-{permit}"
    project = waiting_project(driver, code)
    iid = register(driver, code, mineral="rare_earth", project_kind="new", water_use=True,
                   forest_land=True, new_land=True)
    admitted(driver, iid)
    assert review in open_ids(driver, iid)
    refuse = {conclusion: "refused", f"{permit}_refusal_reasons": "方案不符合有关规定"}
    notice = {"refusal_notice_reasons": "方案不符合有关规定，可依法申请行政复议或者提起行政诉讼",
              "refusal_notice_served_on": "2026-06-10"}

    step(driver, iid, review, department, **refuse)
    assert notify in open_ids(driver, iid) and review not in open_ids(driver, iid)
    task = next(t for t in _tasks(driver, iid) if t.element_id == notify)
    assert task.form_key == "mine_permit_refusal_notice"
    with pytest.raises(InvalidInput):  # reasons, service date and the applicant's answer
        driver.engine.complete(task.id, driver.user(f"{department}-clerk"), {})
    step(driver, iid, notify, department, permit_resubmitted="yes", **notice)
    assert review in open_ids(driver, iid) and notify not in open_ids(driver, iid)
    assert status(driver, iid) == "running"

    step(driver, iid, review, department, **refuse)
    step(driver, iid, notify, department, permit_resubmitted="no", **notice)
    assert open_ids(driver, iid) == set()
    assert status(driver, iid) == "completed"
    assert project_result(driver, project) == {"approved": False, "project_code": code}
    assert notices(driver, code)[-1] == "不予设立"


def test_refused_permit_resubmitted_and_granted_joins_the_others(driver, mine):
    """A 取水 refusal, resubmitted and then granted: the approval goes on when all are done."""
    code = "XM-2026-P-regrant"
    project = waiting_project(driver, code)
    iid = register(driver, code, mineral="rare_earth", project_kind="new", water_use=True,
                   forest_land=True, new_land=True)
    admitted(driver, iid)
    step(driver, iid, "review_water_intake", "agri", water_intake_conclusion="refused",
         water_intake_refusal_reasons="取水量超出区域用水总量控制指标")
    step(driver, iid, "notify_water_intake_refusal", "agri", permit_resubmitted="yes",
         refusal_notice_reasons="取水量超出区域用水总量控制指标",
         refusal_notice_served_on="2026-06-10")
    step(driver, iid, "review_water_intake", "agri", water_intake_conclusion="approved")
    permits(driver, iid, {"review_land_use", "review_eia", "review_soil_conservation",
                          "review_forest_grass_use", "accept_safety_design"})
    assert project_result(driver, project) == {"approved": True, "project_code": code}


# ---------------------------------------------------------------- issue 12: order and refusals


def created_elements(driver, iid) -> set[str]:
    """Every task element the case ever opened (open, completed or cancelled)."""
    from engine.model import task as task_table

    with driver.reader.db.connect() as conn:
        rows = conn.execute(
            sa.select(task_table.c.element_id).where(task_table.c.instance_id == iid)
        ).all()
    return {r.element_id for r in rows}


APPROVAL_STEPS = {"accept_approval_application", "file_project_record",
                  "drc_approval_opinion", "miit_approval_opinion", "record_approval_decision"}


@pytest.mark.parametrize("failure", ["prohibited_zone", "overlap"])
def test_source_control_failure_stops_before_any_approval_step(driver, mine, failure):
    """源头管控 comes before 核准/备案: a project in a 禁采区 or overlapping an existing licence
    ends 不予设立 (notice to the departments, result to the project) and no 核准 or 备案 step
    is ever created."""
    code = f"XM-2026-S-{failure}"
    project = waiting_project(driver, code)
    iid = register(driver, code, mineral="rare_earth", project_kind="new")
    consult(driver, iid)
    assert open_ids(driver, iid) == {"check_source_control"}
    facts = {"outside_prohibited_zone": failure != "prohibited_zone",
             "no_vertical_overlap": failure != "overlap"}
    step(driver, iid, "check_source_control", "natres", source_control_passed="no", **facts)
    assert open_ids(driver, iid) == set()
    assert status(driver, iid) == "completed"
    assert not created_elements(driver, iid) & APPROVAL_STEPS
    assert project_result(driver, project) == {"approved": False, "project_code": code}
    assert notices(driver, code) == ["不予设立"]


# step key: how the case reaches the step, the refusing submission, the step's department,
# the notify task's department and what giving up ends in
REFUSALS = {
    "approval": ("record_approval_decision", {"project_approved": "no",
                                              "approval_refusal_reasons": "不符合产业政策"},
                 "gov-data", "accept_approval_application"),
    "filing": ("file_project_record", {"filing_accepted": "no",
                                       "filing_refusal_reasons": "不属于备案范围"},
               "drc", "file_project_record"),
    "registration": ("record_mining_registration", {"mining_registered": "no",
                                                    "registration_refusal_reasons": "资料不全"},
                     "natres", "record_mining_registration"),
    "land_use": ("review_land_use", {"land_use_conclusion": "refused",
                                     "land_use_refusal_reasons": "占用永久基本农田"},
                 "natres", "review_land_use"),
    "safety_design": ("review_safety_design", {"safety_design_conclusion": "rejected",
                                               "safety_design_opinion": "排土场设计不符合规范"},
                      "emergency", "accept_safety_design"),
}


def _reach(driver, iid, key):
    """Drive a 稀土新建 (核准) or 砂石新建 (备案, 区发改委) case to the step ``key`` refuses."""
    consult(driver, iid)
    source_control(driver, iid)
    if key == "approval":
        step(driver, iid, "accept_approval_application", "gov-data")
        step(driver, iid, "drc_approval_opinion", "drc")
        step(driver, iid, "miit_approval_opinion", "miit")
        return
    if key == "filing":
        return
    if key == "registration" or key == "land_use":
        approve(driver, iid)
    else:
        file_record(driver, iid, "drc")
    if key == "registration":
        return
    registration(driver, iid)
    if key == "safety_design":
        step(driver, iid, "accept_safety_design", "emergency")


@pytest.mark.parametrize("key", sorted(REFUSALS))
def test_each_approval_step_refuses_then_resubmits_then_gives_up(driver, mine, key):
    """核准, 备案, 采矿登记, 用地 and 安全设施设计 can refuse (不予批准 with reasons): the
    department tells the applicant in writing; the applicant resubmits (the step opens again)
    or gives up, and the case ends 不予设立 with the result to the project."""
    element, refuse, department, again = REFUSALS[key]
    notify = f"notify_{key}_refusal"
    code = f"XM-2026-F-{key}"
    project = waiting_project(driver, code)
    filing = key in ("filing", "safety_design")
    iid = register(driver, code, mineral="sand_gravel" if filing else "rare_earth",
                   project_kind="new", new_land=True)
    _reach(driver, iid, key)
    step(driver, iid, element, department, **refuse)
    assert notify in open_ids(driver, iid) and element not in open_ids(driver, iid)
    task = next(t for t in _tasks(driver, iid) if t.element_id == notify)
    assert (task.form_key, task.department_code) == ("mine_permit_refusal_notice", department)
    assert_due(driver, iid, notify, 10)
    with pytest.raises(InvalidInput):  # reasons, service date and the applicant's answer
        driver.engine.complete(task.id, driver.user(f"{department}-clerk"), {})
    step(driver, iid, notify, department, permit_resubmitted="yes", **REFUSAL_NOTICE)
    assert again in open_ids(driver, iid) and notify not in open_ids(driver, iid)
    assert status(driver, iid) == "running"
    if key == "approval":
        step(driver, iid, "accept_approval_application", "gov-data")
        step(driver, iid, "drc_approval_opinion", "drc")
        step(driver, iid, "miit_approval_opinion", "miit")
    if key == "safety_design":
        step(driver, iid, "accept_safety_design", "emergency")
    step(driver, iid, element, department, **refuse)
    step(driver, iid, notify, department, permit_resubmitted="no", **REFUSAL_NOTICE)
    assert open_ids(driver, iid) == set()
    assert status(driver, iid) == "completed"
    assert project_result(driver, project) == {"approved": False, "project_code": code}
    assert notices(driver, code)[-1] == "不予设立"


@pytest.mark.parametrize("key", ["acceptance", "licence"])
def test_acceptance_or_licence_refused_and_given_up_ends_without_licence(driver, mine, key):
    """After the approval result, 竣工验收核查 and 安全生产许可 can refuse too: the firm is told
    in writing; it rectifies and applies again, or gives up — the case ends 未取得安全生产许可
    (相互通报), with no licence and no 日常监管 of a producing mine."""
    code = f"XM-2026-L-{key}"
    iid = register(driver, code, mineral="nonmetal", project_kind="tech_upgrade",
                   cross_county=True)
    admitted(driver, iid, filing="miit")
    for element, department in (("supervise_construction_safety", "emergency"),
                                ("supervise_environmental_facilities", "eco"),
                                ("supervise_soil_facilities", "agri")):
        step(driver, iid, element, department)
    each(driver, iid, "promote_intelligent_mining", INTELLIGENCE)
    each(driver, iid, "cooperate_construction_supervision", CONSTRUCTION_COOPERATION)
    if key == "acceptance":
        refuse = ("check_completion_acceptance", {"acceptance_passed": "no",
                                                  "acceptance_note": "安全设施未按设计建设"})
        again = "acceptance_rectification"
    else:
        step(driver, iid, "check_completion_acceptance", "emergency")
        refuse = ("issue_safety_licence", {"licence_granted": "no",
                                           "licence_refusal_reasons": "安全生产条件不具备"})
        again = "issue_safety_licence"
    notify = f"notify_{key}_refusal"
    step(driver, iid, refuse[0], "emergency", **refuse[1])
    assert open_ids(driver, iid) == {notify}
    step(driver, iid, notify, "emergency", permit_resubmitted="yes", **REFUSAL_NOTICE)
    assert open_ids(driver, iid) == {again}
    if key == "acceptance":
        step(driver, iid, "acceptance_rectification", "emergency")
    step(driver, iid, refuse[0], "emergency", **refuse[1])
    step(driver, iid, notify, "emergency", permit_resubmitted="no", **REFUSAL_NOTICE)
    assert open_ids(driver, iid) == set()
    assert status(driver, iid) == "completed"
    assert "assign_supervision_body" not in created_elements(driver, iid)
    assert notices(driver, code)[-1] == "未取得安全生产许可"


def test_permits_wait_for_a_safety_design_sent_back_to_acceptance(driver, mine):
    """安全设施设计 不予批准 and resubmitted: the other permits finish meanwhile, and the approval
    waits for the new 受理 and review (the inclusive join sees the token behind the loop)."""
    code = "XM-2026-J-safety"
    iid = register(driver, code, mineral="rare_earth", project_kind="new", water_use=True,
                   forest_land=True, new_land=True)
    admitted(driver, iid)
    step(driver, iid, "accept_safety_design", "emergency")
    step(driver, iid, "review_safety_design", "emergency",
         **REFUSALS["safety_design"][1])
    step(driver, iid, "notify_safety_design_refusal", "emergency", permit_resubmitted="yes",
         **REFUSAL_NOTICE)
    for element in ("review_land_use", "review_eia", "review_water_intake",
                    "review_soil_conservation", "review_forest_grass_use"):
        step(driver, iid, element, PERMIT_DEPARTMENT[element])
    assert open_ids(driver, iid) == {"accept_safety_design"}, "approved with a review pending"
    step(driver, iid, "accept_safety_design", "emergency")
    step(driver, iid, "review_safety_design", "emergency")
    assert "supervise_construction_safety" in open_ids(driver, iid)


def _with_kunhe(engine):
    """昆河镇 (kunhe) in the org chart: the 两镇一办 are 卜尔汉图镇, 昆河镇 and 昆北街道; the chart's
    owner adds every 街镇 to config/org.yaml, this test does not wait for it."""
    from engine.dto import DepartmentInfo, UserInfo

    if any(d.code == "kunhe" for d in engine.list_departments()):
        return
    engine.sync_org(
        [DepartmentInfo("kunhe", "昆河镇", "street")],
        [UserInfo("kunhe-clerk", "昆河镇经办人", "kunhe", ("caseworker",)),
         UserInfo("kunhe-head", "昆河镇负责人", "kunhe", ("caseworker", "head"))],
    )


def test_site_supervision_routes_to_the_mines_own_town(engine, driver, mine):
    """属地监管 goes to the mine's 街镇 (两镇一办): 昆河镇 here, from the registered ``town``."""
    _with_kunhe(engine)
    code = "XM-2026-T-kunhe"
    iid = register(driver, code, mineral="nonmetal", project_kind="tech_upgrade",
                   cross_county=True, town="kunhe")
    admitted(driver, iid, town="kunhe", filing="miit")
    build_and_license(driver, iid)
    step(driver, iid, "supervise_mine", "emergency", supervision_action="joint_inspection")
    task = next(t for t in _tasks(driver, iid) if t.element_id == "town_site_supervision")
    assert task.lane == "属地街镇"
    step(driver, iid, "town_site_supervision", "kunhe")
    each(driver, iid, "joint_inspection", ["agri", "eco", "emergency", "natres"])
    assert open_ids(driver, iid) == {"supervise_mine"}


def test_restoration_plan_date_comes_from_the_decision_table(driver, mine):
    """The yearly 生态修复 review date is a DMN output (mine_permits), not a script constant."""
    code = "XM-2026-D-restoration"
    iid = register(driver, code, mineral="nonmetal", project_kind="tech_upgrade",
                   cross_county=True)
    admitted(driver, iid, filing="miit")
    facts = data_of(driver, iid)
    assert (facts["restoration_plan_month"], facts["restoration_plan_day"]) == (1, 15)
    build_and_license(driver, iid)
    assert data_of(driver, iid)["restoration_plan_due_at"] == "2027-01-15T09:00:00+08:00"


SEED = FIXTURES.parent.parent.parent / "shared" / "seeds" / "000_f235151b42dc8bc2.txt"
SOURCE_PREFIXES = ("gazette: “", "statute: 《", "local: ")


def _gazette_quotes_in_seed(text: str) -> list[str]:
    """The quotes of ``gazette: “…”`` in ``text`` that do not occur in the seed (whitespace
    ignored); empty when the seed is not beside the checkout."""
    import re

    if not SEED.exists():
        return []
    seed = re.sub(r"\s+", "", SEED.read_text(encoding="utf-8"))
    quotes = re.findall(r"gazette: “([^”]+)”", text)
    return [q for q in quotes if re.sub(r"\s+", "", q) not in seed]


@pytest.mark.parametrize("stem", ["mine_approval", "mine_closure"])
def test_every_time_limit_and_timer_names_its_source(stem):
    """Contract §2: each element with a time limit or a timer carries ``source`` starting with
    gazette/statute/local; a gazette quote occurs in the seed text."""
    from lxml import etree

    path = FIXTURES.parent.parent / "bpmn" / f"{stem}.bpmn"
    root = etree.parse(str(path)).getroot()
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "s": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    missing = []
    for node in root.iterfind(".//bpmn:process//*[@id]", ns):
        props = {p.get("name"): p.get("value") for p in node.iterfind(
            "bpmn:extensionElements/s:properties/s:property", ns)}
        timed = {"due_working_days", "due_days", "due_expression"} & set(props) or (
            node.find("bpmn:timerEventDefinition", ns) is not None)
        assert "due_source" not in props and "renewal_source" not in props, node.get("id")
        if timed and not (props.get("source") or "").startswith(SOURCE_PREFIXES):
            missing.append(node.get("id"))
    assert missing == []
    assert _gazette_quotes_in_seed(path.read_text(encoding="utf-8")) == []


def test_every_mine_permits_rule_names_its_source():
    from lxml import etree

    path = FIXTURES.parent.parent / "bpmn" / "mine_permits.dmn"
    root = etree.parse(str(path)).getroot()
    ns = {"d": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    rules = root.findall(".//d:rule", ns)
    assert rules
    for rule in rules:
        text = rule.findtext("d:description", "", ns)
        assert text.startswith(SOURCE_PREFIXES), rule.get("id")
    assert _gazette_quotes_in_seed(path.read_text(encoding="utf-8")) == []
