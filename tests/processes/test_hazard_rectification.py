"""hazard_rectification (日常监督与隐患整改闭环, DOMAIN.md section 5) driven through the engine.

Every path to an end state, as the users of the departments the tasks route to: a daily check of
a registered mine that finds nothing and ends (started with only the register variables); a
重大隐患 that gets 约谈企业负责人 and a deadline at once (gazette 大事记 1月31日); rectified in time
and passed; the rectification deadline (DMN ``hazard_deadline``) passing with frozen time, 复查
failed, 约谈 of the firm's head with a new deadline, passed; failed again (DMN
``hazard_escalation``) → 提请依法关停 → the 区领导 decides 关停, the shutdown is carried out and
区发改委 handles 联合惩戒失信 and 关闭监督检查; or the 区领导 grants a last deadline and the firm
passes. Each test runs warm (one engine) and cold (a new Engine before every step).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Forbidden, InvalidInput, TaskInfo
from tests.processes.conftest import Driver, library_deploy

PROCESS = "hazard_rectification"
# 2026-09-01 (Tuesday) 10:00 in Beijing = 02:00 UTC; kunflow stores naive UTC.
T0 = datetime(2026, 9, 1, 2, 0, 0)


def end_of_day_utc(y: int, m: int, d: int) -> datetime:
    """23:59:59 China time of that day, as naive UTC."""
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


# ---------------------------------------------------------------- form data


def record(level: str) -> dict:
    return {
        "enterprise_name": "包头某稀土新材料有限公司",
        "enterprise_head": "李建军",
        "enterprise_phone": "0472-5123456",
        "inspection_date": "2026-09-01",
        "inspection_team": "区应急局 郑磊、马福明",
        "hazard_level": level,
        "hazard_description": "1. 危化品仓库未设置可燃气体报警装置；2. 应急通道堵塞",
        "legal_basis": "《中华人民共和国安全生产法》第四十一条",
        "hazard_photos": ["att-h-1"],
    }


NOTICE = {
    "notice_number": "昆应急责改〔2026〕101号",
    "rectification_requirements": "限期安装可燃气体报警装置，清理应急通道",
    "notice_served_date": "2026-09-01",
    "notice_scan": ["att-n-1"],
}
EVIDENCE = {
    "rectification_summary": "已安装报警装置并清理通道",
    "completed_date": "2026-09-08",
    "rectification_evidence": ["att-e-1", "att-e-2"],
}
PASS = {
    "review_date": "2026-09-09",
    "review_result": "pass",
    "review_opinion": "整改到位，隐患销号",
}
FAIL = {"review_date": "2026-09-09", "review_result": "fail", "review_opinion": "报警装置未联动"}
INTERVIEW = {
    "interview_date": "2026-09-10",
    "interviewee": "李建军",
    "interview_record": "指出整改不到位的问题，提出整改要求",
    "enterprise_commitment": "按期整改到位",
}
PROPOSAL = {
    "closure_reason": "两次复查不合格，屡改不合格",
    "legal_basis": "《中华人民共和国安全生产法》第一百一十三条",
    "proposal_files": ["att-p-1"],
}
MAJOR_INTERVIEW = {
    "interview_date": "2026-09-01",
    "interviewee": "李建军",
    "interview_record": "通报重大事故隐患，要求立即停止相关作业、限期整改",
    "enterprise_commitment": "立即停用危化品仓库，按期整改到位",
}
NOTHING_FOUND = {  # the form shows the register's enterprise_name and submits it back
    "enterprise_name": "包头某矿业有限公司",
    "enterprise_head": "王海",
    "enterprise_phone": "0472-5123457",
    "inspection_date": "2026-09-01",
    "inspection_team": "区应急局 郑磊、马福明",
    "hazard_level": "none",
    "hazard_description": "检查了采场边坡、排土场、炸药库和应急预案，未发现隐患",
    "hazard_photos": ["att-c-1"],
}
JOINT_PUNISHMENT = {
    "credit_decision": "punish",
    "credit_basis": "屡教不改被依法关停，认定为安全生产领域严重失信主体",
    "punishment_measures": "区发改委会同区应急局、区市场监管局实施联合惩戒",
    "credit_decision_date": "2026-09-22",
}
CLOSURE_INSPECTION = {
    "closure_inspection_date": "2026-09-23",
    "closure_in_place": "yes",
    "planning_conformity": "unknown",
    "closure_inspection_record": "已停止供电，生产装置已查封，现场无生产迹象",
}
# what the mine register passes when it starts a daily check (contract §4)
REGISTER_START = {
    "register_kind": "mine",
    "register_id": 7,
    "register_name": "包头市某铁矿",
    "enterprise_name": "包头某矿业有限公司",
    "town": "buerhantu",
    "mine_name": "包头市某铁矿",
    "licence_no": "C1502002010127120071234",
    "licence_expiry": "2028-06-30",
    "mine_status": "生产",
}
SHUT_DOWN = {"closure_decision": "shutdown", "decision_note": "同意依法关停"}
FINAL_DEADLINE = {"closure_decision": "final_deadline", "decision_note": "给予最后一次整改期限"}
ENFORCE = {
    "shutdown_date": "2026-09-20",
    "shutdown_measures": "停止供电，查封危化品仓库，公告",
    "shutdown_files": ["att-s-1"],
}


# ---------------------------------------------------------------- helpers


def admin(driver: Driver):
    return driver.user("admin")


def open_elements(driver: Driver, iid: int) -> list[tuple[str, str | None]]:
    page = driver.reader.list_tasks(
        admin(driver), scope="all", state="open", instance_id=iid, limit=500
    )
    return sorted((t.element_id, t.department_code) for t in page.items)


def status(driver: Driver, iid: int) -> str:
    info = driver.reader.get_instance(iid, admin(driver))
    if info.status == "incident":
        messages = [
            i["message"] for i in driver.reader.list_incidents(admin(driver), instance_id=iid)
        ]
        pytest.fail(f"instance {iid} stopped with an incident: {messages}")
    return info.status


def finished(driver: Driver, iid: int) -> dict:
    assert open_elements(driver, iid) == []
    assert status(driver, iid) == "completed"
    return driver.reader.get_instance(iid, admin(driver), with_data=True).data


def opened(driver: Driver, iid: int, element_id: str) -> TaskInfo:
    """The open task of the element, with its data."""
    task = driver.open_tasks(iid)[element_id]
    return driver.reader.get_task(task.id, admin(driver))


def notified(driver: Driver, level: str, key: str) -> int:
    """区应急局 records the hazards of an inspection and its head signs the 整改通知."""
    iid = driver.engine.start(
        PROCESS, driver.user("emergency-clerk"), business_key=key, title="四不两直检查隐患"
    ).id
    driver.complete(iid, "record_hazards", record(level), expect_department="emergency")
    if level == "major":  # 重大隐患: 约谈企业负责人 at once, before the 限期整改 notice
        assert open_elements(driver, iid) == [("interview_major_hazard_head", "emergency")]
        task = driver.complete(
            iid, "interview_major_hazard_head", MAJOR_INTERVIEW, expect_department="emergency"
        )
        assert task.candidate_role == "head"
    notice = opened(driver, iid, "issue_rectification_notice")
    assert notice.candidate_role == "head"
    assert notice.data["rectify_due_days"] == {"general": 10, "major": 30}[level]
    driver.complete(iid, "issue_rectification_notice", NOTICE, expect_department="emergency")
    return iid


def rectify_and_review(driver: Driver, iid: int, result: dict) -> None:
    driver.complete(iid, "record_rectification", EVIDENCE, expect_department="emergency")
    driver.complete(iid, "review_rectification", result, expect_department="emergency")


def interview(driver: Driver, iid: int) -> None:
    task = driver.complete(
        iid, "interview_enterprise_head", INTERVIEW, expect_department="emergency"
    )
    assert task.candidate_role == "head"


# ---------------------------------------------------------------- deploy


def test_deploys_without_warnings_with_its_decisions_and_forms(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    assert {
        "hazard_deadline.dmn",
        "hazard_escalation.dmn",
        "hazard_record.form",
        "hazard_notice.form",
        "hazard_evidence.form",
        "hazard_review.form",
        "hazard_interview.form",
        "hazard_closure_proposal.form",
        "hazard_closure_decision.form",
        "hazard_shutdown.form",
        "hazard_joint_punishment.form",
        "hazard_closure_inspection.form",
    } <= set(result.definition.files)


def test_forms_refuse_missing_and_invalid_fields(engine):
    """The engine checks each submission against the task's form: the field is named."""
    library_deploy(engine, PROCESS)
    clerk = engine.get_user("emergency-clerk").actor()
    iid = engine.start(PROCESS, clerk, business_key="YH-FORM").id
    (task,) = engine.get_instance(iid, engine.get_user("admin").actor()).tasks
    bad = dict(record("critical"), inspection_date="2026/09/01")
    del bad["hazard_photos"]
    with pytest.raises(InvalidInput) as refused:
        engine.complete(task.id, clerk, bad)
    assert set(refused.value.details) == {"hazard_level", "inspection_date", "hazard_photos"}
    engine.complete(task.id, clerk, record("general"))
    head = engine.get_user("emergency-head").actor()
    (notice,) = engine.get_instance(iid, engine.get_user("admin").actor()).tasks
    with pytest.raises(InvalidInput) as refused:
        engine.complete(notice.id, head, dict(NOTICE, notice_scan="att-n-1", notice_number=""))
    assert set(refused.value.details) == {"notice_number"}


# ---------------------------------------------------------------- paths


def test_rectified_in_time_passes_the_review_and_the_hazard_is_closed(engine, driver):
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = notified(driver, "general", "YH-PASS")
        rectification = driver.open_tasks(iid)["record_rectification"]
        assert rectification.due_at == end_of_day_utc(2026, 9, 15)  # 10 working days
        driver.complete(iid, "record_rectification", EVIDENCE, expect_department="emergency")
        review = driver.open_tasks(iid)["review_rectification"]
        assert review.due_at == end_of_day_utc(2026, 9, 8)  # 复查 within 5 working days
        driver.complete(iid, "review_rectification", PASS, expect_department="emergency")
        data = finished(driver, iid)
        assert data["failed_reviews"] == 0
        assert driver.engine.fire_due_timers() == 0


def test_deadline_passes_review_fails_interview_sets_a_new_deadline_then_passes(engine, driver):
    """A major hazard: 30 working days (to 2026-10-19, over the National Day holidays); nothing
    recorded by then, so the deadline timer opens 复查; it fails, the firm's head is
    interviewed and a new deadline of 15 working days is set; the second review passes."""
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        iid = notified(driver, "major", "YH-LATE")
        deadline = end_of_day_utc(2026, 10, 19)
        assert driver.open_tasks(iid)["record_rectification"].due_at == deadline

        clock.move_to(deadline - timedelta(minutes=1))
        assert driver.engine.fire_due_timers() == 0
        assert open_elements(driver, iid) == [("record_rectification", "emergency")]
        clock.move_to(deadline + timedelta(seconds=2))
        assert driver.engine.fire_due_timers() == 1
        assert open_elements(driver, iid) == [("review_rectification", "emergency")]
        # opened on 2026-10-20 (China time): 复查 within 10 working days
        assert driver.open_tasks(iid)["review_rectification"].due_at == end_of_day_utc(2026, 11, 3)
        driver.complete(iid, "review_rectification", FAIL, expect_department="emergency")

        assert open_elements(driver, iid) == [("interview_enterprise_head", "emergency")]
        interview(driver, iid)
        rectification = opened(driver, iid, "record_rectification")
        assert rectification.data["rectify_due_days"] == 15
        assert rectification.due_at == end_of_day_utc(2026, 11, 10)
        rectify_and_review(driver, iid, PASS)
        data = finished(driver, iid)
        assert (data["failed_reviews"], data["failure_action"]) == (1, "interview")


def test_failing_again_is_shut_down_by_decision_of_the_district_leader(engine, driver):
    library_deploy(engine, PROCESS)
    iid = notified(driver, "general", "YH-SHUT")
    rectify_and_review(driver, iid, FAIL)
    interview(driver, iid)
    rectify_and_review(driver, iid, FAIL)
    assert open_elements(driver, iid) == [("propose_closure", "emergency")]
    task = driver.complete(iid, "propose_closure", PROPOSAL, expect_department="emergency")
    assert task.candidate_role == "head"
    task = driver.complete(iid, "decide_closure", SHUT_DOWN, expect_department="leaders")
    assert task.candidate_role == "head"
    driver.complete(iid, "enforce_shutdown", ENFORCE, expect_department="emergency")
    assert open_elements(driver, iid) == [
        ("apply_joint_punishment", "drc"),
        ("inspect_closure", "drc"),
    ]
    task = driver.complete(iid, "apply_joint_punishment", JOINT_PUNISHMENT, expect_department="drc")
    assert task.candidate_role == "head"
    driver.complete(iid, "inspect_closure", CLOSURE_INSPECTION, expect_department="drc")
    data = finished(driver, iid)
    assert data["credit_decision"] == "punish"
    assert (data["failed_reviews"], data["failure_action"]) == (2, "closure")
    assert data["closure_decision"] == "shutdown"


def test_leader_grants_a_last_deadline_and_the_firm_passes(engine, driver):
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = notified(driver, "general", "YH-LAST")
        rectify_and_review(driver, iid, FAIL)
        interview(driver, iid)
        rectify_and_review(driver, iid, FAIL)
        driver.complete(iid, "propose_closure", PROPOSAL, expect_department="emergency")
        driver.complete(iid, "decide_closure", FINAL_DEADLINE, expect_department="leaders")
        rectification = opened(driver, iid, "record_rectification")
        assert rectification.data["rectify_due_days"] == 5  # general hazard, after a failure
        assert rectification.due_at == end_of_day_utc(2026, 9, 8)
        rectify_and_review(driver, iid, PASS)
        data = finished(driver, iid)
        assert data["failed_reviews"] == 2
        assert data["closure_decision"] == "final_deadline"


def test_a_check_started_from_the_register_that_finds_nothing_ends(engine, driver):
    """区应急局 starts a daily check of a registered mine with only the register's variables
    (contract §4): the firm's name is already in the case, the check finds no hazard, the case
    ends without a deadline."""
    library_deploy(engine, PROCESS)
    iid = driver.engine.start(PROCESS, driver.user("emergency-clerk"), data=dict(REGISTER_START)).id
    assert open_elements(driver, iid) == [("record_hazards", "emergency")]
    assert opened(driver, iid, "record_hazards").data["enterprise_name"] == "包头某矿业有限公司"
    driver.complete(iid, "record_hazards", NOTHING_FOUND, expect_department="emergency")
    data = finished(driver, iid)
    assert data["hazard_level"] == "none"
    assert data["register_kind"] == "mine" and data["register_id"] == 7
    assert "rectify_due_days" not in data


def test_other_departments_may_not_start_a_daily_check(engine):
    library_deploy(engine, PROCESS)
    with pytest.raises(Forbidden):
        engine.start(PROCESS, engine.get_user("drc-clerk").actor(), data=dict(REGISTER_START))


def test_major_hazard_gets_the_interview_and_a_deadline_at_once(engine, driver):
    """A 重大隐患 found at the first check: the firm's head is interviewed at once (not only
    after a failed re-inspection), then the 限期整改 notice sets 30 working days; rectified in
    time, the review passes with no failure counted."""
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = driver.engine.start(
            PROCESS,
            driver.user("emergency-clerk"),
            data=dict(REGISTER_START, register_kind="tailings", register_name="某尾矿库"),
        ).id
        driver.complete(iid, "record_hazards", record("major"), expect_department="emergency")
        assert open_elements(driver, iid) == [("interview_major_hazard_head", "emergency")]
        driver.complete(
            iid, "interview_major_hazard_head", MAJOR_INTERVIEW, expect_department="emergency"
        )
        notice = opened(driver, iid, "issue_rectification_notice")
        assert notice.data["rectify_due_days"] == 30
        driver.complete(iid, "issue_rectification_notice", NOTICE, expect_department="emergency")
        assert driver.open_tasks(iid)["record_rectification"].due_at == end_of_day_utc(2026, 10, 19)
        rectify_and_review(driver, iid, PASS)
        data = finished(driver, iid)
        assert data["failed_reviews"] == 0
        assert data["interview_record"] == MAJOR_INTERVIEW["interview_record"]
