"""radioactive_check (伴生放射性矿辐射安全监督, 区生态环境分局) driven through the engine, warm and
cold: a check of a registered mine, plant or tailings pond started with only the register's
variables that finds nothing and ends; problems → 责令限期整改 (the notice sets the working days)
→ rectified → 复查 passes; or the deadline passes with nothing reported, 复查 fails → 立案查处
→ 处罚决定 within 90 days of 立案 (行政处罚法 §60)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Forbidden
from tests.processes.conftest import Driver, library_deploy

PROCESS = "radioactive_check"
T0 = datetime(2026, 9, 1, 2, 0, 0)  # Tuesday 2026-09-01 10:00 China time, as naive UTC
PLANT = {
    "register_kind": "plant",
    "register_id": 4,
    "register_name": "某稀土选矿厂",
    "enterprise_name": "包头某稀土选矿有限公司",
    "town": "buerhantu",
}


def end_of_day_utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


def inspection(result: str) -> dict:
    return {
        "enterprise_name": "包头某稀土选矿有限公司",
        "inspection_date": "2026-09-01",
        "inspection_team": "区生态环境分局 高峰、刘洋",
        "checked_items": ["radiation_safety", "radioactive_waste", "three_simultaneous"],
        "radiation_monitoring": "厂界周围剂量当量率 0.12 μSv/h",
        "check_result": result,
        "findings": "未发现问题" if result == "compliant" else "放射性废渣临时堆存未设标识、未防渗",
    }


ORDER = {
    "order_no": "昆环责改〔2026〕15号",
    "rectification_requirements": "废渣库设置电离辐射标志，完成防渗",
    "rectify_due_days": 10,
    "order_served_date": "2026-09-01",
}
REVIEW_PASS = {"review_result": "pass", "review_opinion": "整改到位", "review_date": "2026-09-16"}
REVIEW_FAIL = {"review_result": "fail", "review_opinion": "仍未防渗", "review_date": "2026-09-16"}


def open_elements(driver: Driver, iid: int) -> list[tuple[str, str | None]]:
    return sorted((t.element_id, t.department_code) for t in driver.open_tasks(iid).values())


def finished(driver: Driver, iid: int) -> dict:
    info = driver.reader.get_instance(iid, driver.user("admin"), with_data=True)
    assert info.status == "completed", info.status
    assert open_elements(driver, iid) == []
    return info.data


def checked(driver: Driver, result: str) -> int:
    iid = driver.engine.start(PROCESS, driver.user("eco-clerk"), data=dict(PLANT)).id
    assert open_elements(driver, iid) == [("inspect_radiation_safety", "eco")]
    driver.complete(iid, "inspect_radiation_safety", inspection(result), expect_department="eco")
    return iid


def test_deploys_without_warnings_with_its_forms(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    assert {"radioactive_inspection.form", "radioactive_order.form"} <= set(result.definition.files)


def test_only_the_ecology_bureau_starts_it(engine):
    library_deploy(engine, PROCESS)
    with pytest.raises(Forbidden):
        engine.start(PROCESS, engine.get_user("emergency-clerk").actor(), data=dict(PLANT))


def test_a_check_that_finds_nothing_ends(engine, driver):
    library_deploy(engine, PROCESS)
    iid = checked(driver, "compliant")
    data = finished(driver, iid)
    assert (data["register_kind"], data["check_result"]) == ("plant", "compliant")


def test_problems_are_rectified_within_the_notice_deadline_and_pass(engine, driver):
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = checked(driver, "problems")
        task = driver.complete(iid, "order_radiation_rectification", ORDER, expect_department="eco")
        assert task.candidate_role == "head"
        rect = driver.open_tasks(iid)["record_radiation_rectification"]
        assert rect.due_at == end_of_day_utc(2026, 9, 15)  # 10 working days, set by the notice
        driver.complete(
            iid,
            "record_radiation_rectification",
            {
                "rectification_summary": "已设标志并完成防渗",
                "completed_date": "2026-09-10",
                "rectification_evidence": ["att-r-1"],
            },
            expect_department="eco",
        )
        review = driver.open_tasks(iid)["review_radiation_rectification"]
        assert review.due_at == end_of_day_utc(2026, 9, 8)  # 5 working days
        driver.complete(iid, "review_radiation_rectification", REVIEW_PASS, expect_department="eco")
        assert finished(driver, iid)["review_result"] == "pass"


def test_deadline_passes_review_fails_and_the_case_is_filed_and_decided(engine, driver):
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        iid = checked(driver, "problems")
        driver.complete(iid, "order_radiation_rectification", ORDER, expect_department="eco")
        deadline = end_of_day_utc(2026, 9, 15)
        clock.move_to(deadline - timedelta(minutes=1))
        assert driver.engine.fire_due_timers() == 0
        clock.move_to(deadline + timedelta(seconds=2))
        assert driver.engine.fire_due_timers() == 1
        assert open_elements(driver, iid) == [("review_radiation_rectification", "eco")]
        driver.complete(iid, "review_radiation_rectification", REVIEW_FAIL, expect_department="eco")
        driver.complete(
            iid,
            "file_radiation_case",
            {
                "case_no": "昆环立〔2026〕9号",
                "case_facts": "逾期未整改",
                "filing_date": "2026-09-17",
            },
            expect_department="eco",
        )
        penalty = driver.open_tasks(iid)["decide_radiation_penalty"]
        assert penalty.candidate_role == "head"
        # opened on 2026-09-16 (China time, just after the deadline): 90 calendar days
        assert penalty.due_at == end_of_day_utc(2026, 12, 15)
        driver.complete(
            iid,
            "decide_radiation_penalty",
            {
                "penalty_decision_no": "昆环罚〔2026〕9号",
                "penalty_content": "责令改正，罚款",
                "penalty_basis": "《中华人民共和国放射性污染防治法》",
                "penalty_decision_date": "2026-10-10",
            },
            expect_department="eco",
        )
        data = finished(driver, iid)
        assert (data["review_result"], data["case_no"]) == ("fail", "昆环立〔2026〕9号")
