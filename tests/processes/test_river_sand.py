"""river_sand (河道采砂许可与执法, 区农牧局) driven through the engine, warm and cold.

Permit: 受理 (5 working days, 行政许可法 §32) → 审查 → 许可决定 (20 working days from 受理,
§42) → 发证 with the electronic licence and the 采运管理单 (10 working days, §44), or 不予许可
with reasons (§38); an application may also not be accepted. Enforcement: an illegal-mining clue
is verified (local 5 working days) → 立案 → 处罚决定 (90 days from 立案, 行政处罚法 §60) → 结案;
or the clue is unfounded. A case starts from the enterprise register or with no variables.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Forbidden, InvalidInput
from tests.processes.conftest import Driver, library_deploy

PROCESS = "river_sand"
T0 = datetime(2026, 9, 1, 2, 0, 0)  # Tuesday 2026-09-01 10:00 China time, as naive UTC
ENTERPRISE = {
    "register_kind": "enterprise",
    "register_id": 12,
    "register_name": "包头某砂石有限公司",
    "enterprise_name": "包头某砂石有限公司",
    "town": "buerhantu",
}


def end_of_day_utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


def register(kind: str) -> dict:
    return {
        "case_kind": kind,
        "enterprise_name": "包头某砂石有限公司",
        "river_section": "昆都仑河 卜尔汉图镇段 K3+200—K3+800",
        "case_summary": "申请在许可区段采砂" if kind == "permit" else "群众举报夜间在禁采区采砂",
        "received_date": "2026-09-01",
    }


ACCEPT = {"acceptance": "accepted", "acceptance_note": "材料齐全", "acceptance_date": "2026-09-01"}
REVIEW = {
    "site_survey": "采区位于河道管理范围内，现场已查勘",
    "flood_safety_opinion": "采砂深度控制在 2 米以内，对堤防无影响",
    "review_recommendation": "grant",
}
PERMIT = {
    "permit_no": "昆农牧采砂〔2026〕3号",
    "permit_scope": "K3+200—K3+800，深度 2 米，期限至 2026-12-31，许可量 2 万立方米",
    "transport_slip_no": "CY-2026-0031",
    "permit_served_date": "2026-09-25",
}
VIOLATION = {
    "violation_found": "yes",
    "violation_kind": "prohibited_zone",
    "verification_record": "现场发现采砂船 1 艘，位于禁采区",
    "verification_date": "2026-09-02",
}
FILING = {
    "case_no": "昆农牧立〔2026〕8号",
    "case_facts": "在禁采区采砂",
    "filing_date": "2026-09-03",
}
PENALTY = {
    "penalty_decision_no": "昆农牧罚〔2026〕8号",
    "penalty_content": "责令停止违法行为，没收砂石，罚款",
    "penalty_basis": "《中华人民共和国河道管理条例》",
    "penalty_decision_date": "2026-09-20",
}
CLOSING = {"execution_record": "罚款已缴纳，砂石已没收", "case_closed_date": "2026-10-09"}


def open_elements(driver: Driver, iid: int) -> list[tuple[str, str | None]]:
    return sorted((t.element_id, t.department_code) for t in driver.open_tasks(iid).values())


def finished(driver: Driver, iid: int) -> dict:
    info = driver.reader.get_instance(iid, driver.user("admin"), with_data=True)
    assert info.status == "completed", info.status
    assert open_elements(driver, iid) == []
    return info.data


def started(driver: Driver, kind: str, data: dict | None = None) -> int:
    iid = driver.engine.start(PROCESS, driver.user("agri-clerk"), data=data).id
    driver.complete(iid, "register_sand_case", register(kind), expect_department="agri")
    return iid


def test_deploys_without_warnings_with_its_forms(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    assert {
        "river_sand_register.form",
        "river_sand_decision.form",
        "river_sand_penalty.form",
    } <= set(result.definition.files)


def test_only_the_agriculture_bureau_starts_it(engine):
    library_deploy(engine, PROCESS)
    with pytest.raises(Forbidden):
        engine.start(PROCESS, engine.get_user("natres-clerk").actor(), data=dict(ENTERPRISE))


def test_permit_granted_within_the_statutory_limits(engine, driver):
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = started(driver, "permit", dict(ENTERPRISE))
        accept = driver.open_tasks(iid)["accept_sand_application"]
        assert accept.due_at == end_of_day_utc(2026, 9, 8)  # 5 working days
        driver.complete(iid, "accept_sand_application", ACCEPT, expect_department="agri")
        # 20 working days from 受理 on 2026-09-01, for the review and the decision alike
        assert driver.open_tasks(iid)["review_sand_application"].due_at == end_of_day_utc(
            2026, 9, 29
        )
        driver.complete(iid, "review_sand_application", REVIEW, expect_department="agri")
        decision = driver.open_tasks(iid)["decide_sand_permit"]
        assert (decision.candidate_role, decision.due_at) == ("head", end_of_day_utc(2026, 9, 29))
        driver.complete(
            iid,
            "decide_sand_permit",
            {
                "permit_decision": "grant",
                "decision_note": "同意",
                "permit_decision_date": "2026-09-24",
            },
            expect_department="agri",
        )
        assert driver.open_tasks(iid)["issue_sand_permit"].due_at == end_of_day_utc(2026, 9, 15)
        driver.complete(iid, "issue_sand_permit", PERMIT, expect_department="agri")
        data = finished(driver, iid)
        assert (data["permit_decision"], data["transport_slip_no"]) == ("grant", "CY-2026-0031")
        assert data["register_id"] == 12


def test_refusal_needs_reasons_and_is_served_with_the_remedies(engine, driver):
    library_deploy(engine, PROCESS)
    iid = started(driver, "permit")
    driver.complete(iid, "accept_sand_application", ACCEPT, expect_department="agri")
    driver.complete(
        iid,
        "review_sand_application",
        dict(REVIEW, review_recommendation="refuse"),
        expect_department="agri",
    )
    driver.complete(
        iid,
        "decide_sand_permit",
        {
            "permit_decision": "refuse",
            "decision_note": "不符合防洪要求",
            "permit_decision_date": "2026-09-20",
        },
        expect_department="agri",
    )
    refusal = {
        "refusal_reasons": "",
        "refusal_notice_no": "昆农牧不许〔2026〕1号",
        "remedies_told": False,
        "refusal_served_date": "2026-09-22",
    }
    task = driver.open_tasks(iid)["notify_sand_refusal"]
    with pytest.raises(InvalidInput) as refused:  # no reasons, remedies not told
        driver.engine.complete(task.id, driver.user("agri-clerk"), refusal)
    assert set(refused.value.details) == {"refusal_reasons", "remedies_told"}
    driver.complete(
        iid,
        "notify_sand_refusal",
        dict(refusal, refusal_reasons="申请区段位于汛期禁采期，影响防洪安全", remedies_told=True),
        expect_department="agri",
    )
    data = finished(driver, iid)
    assert data["permit_decision"] == "refuse"
    assert data["refusal_reasons"].startswith("申请区段")


def test_application_not_accepted_ends(engine, driver):
    library_deploy(engine, PROCESS)
    iid = started(driver, "permit", dict(ENTERPRISE))
    driver.complete(
        iid,
        "accept_sand_application",
        {
            "acceptance": "not_accepted",
            "acceptance_note": "不属于本机关职权范围",
            "acceptance_date": "2026-09-02",
        },
        expect_department="agri",
    )
    assert finished(driver, iid)["acceptance"] == "not_accepted"


def test_illegal_sand_mining_is_filed_punished_and_closed(engine, driver):
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = started(driver, "enforcement")
        assert driver.open_tasks(iid)["verify_sand_clue"].due_at == end_of_day_utc(2026, 9, 8)
        driver.complete(iid, "verify_sand_clue", VIOLATION, expect_department="agri")
        task = driver.complete(iid, "file_sand_case", FILING, expect_department="agri")
        assert task.candidate_role == "head"
        penalty = driver.open_tasks(iid)["decide_sand_penalty"]
        assert penalty.due_at == end_of_day_utc(2026, 11, 30)  # 90 calendar days
        driver.complete(iid, "decide_sand_penalty", PENALTY, expect_department="agri")
        driver.complete(iid, "close_sand_case", CLOSING, expect_department="agri")
        data = finished(driver, iid)
        assert (data["violation_kind"], data["case_no"]) == (
            "prohibited_zone",
            "昆农牧立〔2026〕8号",
        )


def test_unfounded_clue_ends_without_a_case(engine, driver):
    library_deploy(engine, PROCESS)
    iid = started(driver, "enforcement", dict(ENTERPRISE))
    driver.complete(
        iid,
        "verify_sand_clue",
        {
            "violation_found": "no",
            "verification_record": "现场为河道清淤工程，已批准",
            "verification_date": "2026-09-02",
        },
        expect_department="agri",
    )
    data = finished(driver, iid)
    assert data["violation_found"] == "no" and "case_no" not in data
