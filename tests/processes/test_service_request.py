"""service_request (“三在三找”企业诉求办理) driven through the engine, warm and cold.

A request of an operating firm is recorded by the unit that receives it (区招商部门, 区政数局 or
the firm's 街镇; a case started from the enterprise register with only its variables goes to the
firm's 街镇), routed by DMN ``service_request_route`` to the responsible department, answered
within ``answer_due_days`` working days (DMN ``service_request_limit``), the firm's feedback is
recorded; overdue, unresolved or unsatisfied requests go to a 区领导, who sends the request back
for another answer or closes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Forbidden
from tests.processes.conftest import Driver, library_deploy

PROCESS = "service_request"
T0 = datetime(2026, 9, 1, 2, 0, 0)  # Tuesday 2026-09-01 10:00 China time, as naive UTC

ENTERPRISE = {  # what the enterprise register passes (contract §4)
    "register_kind": "enterprise",
    "register_id": 31,
    "register_name": "包头某新材料有限公司",
    "enterprise_name": "包头某新材料有限公司",
    "town": "kunbei",
}


def end_of_day_utc(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


def request(kind: str) -> dict:
    return {
        "enterprise_name": "包头某新材料有限公司",
        "contact_person": "赵明",
        "contact_phone": "13904721234",
        "request_kind": kind,
        "request_content": "稀土抛光粉订单下滑，希望对接下游企业",
        "received_date": "2026-09-01",
    }


def answer(result: str) -> dict:
    return {
        "service_result": result,
        "service_response": "已组织供需对接会",
        "answer_date": "2026-09-03",
    }


def feedback(satisfied: str) -> dict:
    return {
        "firm_satisfied": satisfied,
        "firm_feedback": "对接及时" if satisfied == "yes" else "尚未落实订单",
        "feedback_date": "2026-09-04",
    }


def open_elements(driver: Driver, iid: int) -> list[tuple[str, str | None]]:
    return sorted((t.element_id, t.department_code) for t in driver.open_tasks(iid).values())


def finished(driver: Driver, iid: int) -> dict:
    admin = driver.user("admin")
    info = driver.reader.get_instance(iid, admin, with_data=True)
    assert info.status == "completed", info.status
    assert open_elements(driver, iid) == []
    return info.data


def test_deploys_without_warnings_with_its_decisions_and_forms(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    assert {
        "service_request_route.dmn",
        "service_request_limit.dmn",
        "service_request_record.form",
        "service_request_answer.form",
        "service_request_feedback.form",
        "service_request_leader.form",
    } <= set(result.definition.files)


@pytest.mark.parametrize(
    "starter,allowed",
    [
        ("invest-clerk", True),
        ("gov-data-clerk", True),
        ("kunbei-clerk", True),
        ("buerhantu-clerk", True),
        ("eco-clerk", False),
        ("emergency-clerk", False),
    ],
)
def test_the_investment_office_the_data_bureau_and_the_streets_start_it(engine, starter, allowed):
    library_deploy(engine, PROCESS)
    who = engine.get_user(starter).actor()
    if allowed:
        assert engine.start(PROCESS, who, data=dict(ENTERPRISE)).status == "running"
    else:
        with pytest.raises(Forbidden):
            engine.start(PROCESS, who, data=dict(ENTERPRISE))


def test_started_from_the_register_the_street_records_and_the_firm_is_satisfied(engine, driver):
    """Only the register's variables: the firm's 街镇 (昆北) records the request, DMN routes
    找资金 to 区发改委, which answers within 5 working days; the firm is satisfied."""
    with time_machine.travel(T0, tick=False):
        library_deploy(engine, PROCESS)
        iid = driver.engine.start(PROCESS, driver.user("invest-clerk"), data=dict(ENTERPRISE)).id
        assert open_elements(driver, iid) == [("record_service_request", "kunbei")]
        driver.complete(iid, "record_service_request", request("funds"), expect_department="kunbei")
        task = driver.open_tasks(iid)["answer_service_request"]
        assert task.department_code == "drc"
        assert task.due_at == end_of_day_utc(2026, 9, 8)  # 5 working days
        driver.complete(iid, "answer_service_request", answer("resolved"), expect_department="drc")
        driver.complete(iid, "record_firm_feedback", feedback("yes"), expect_department="kunbei")
        data = finished(driver, iid)
        assert (data["service_department"], data["answer_due_days"]) == ("drc", 5)
        assert data["register_id"] == 31


def test_overdue_answer_goes_to_a_district_leader_who_sends_it_back(engine, driver):
    """区政数局 receives a 找原料 request (区工信局 answers); nothing is answered within 5 working
    days, the timer takes the request to a 区领导, who orders another answer; the firm is then
    satisfied."""
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        iid = driver.engine.start(
            PROCESS,
            driver.user("gov-data-clerk"),
            data=dict(ENTERPRISE, intake_department="gov-data"),
        ).id
        driver.complete(
            iid, "record_service_request", request("materials"), expect_department="gov-data"
        )
        assert open_elements(driver, iid) == [("answer_service_request", "miit")]
        deadline = end_of_day_utc(2026, 9, 8)
        clock.move_to(deadline - timedelta(minutes=1))
        assert driver.engine.fire_due_timers() == 0
        clock.move_to(deadline + timedelta(seconds=2))
        assert driver.engine.fire_due_timers() == 1
        assert open_elements(driver, iid) == [("leader_coordinate_request", "leaders")]
        task = driver.complete(
            iid,
            "leader_coordinate_request",
            {"leader_decision": "reprocess", "leader_instruction": "区工信局三日内对接原料供应商"},
            expect_department="leaders",
        )
        assert task.candidate_role == "head"
        driver.complete(
            iid, "answer_service_request", answer("partially"), expect_department="miit"
        )
        driver.complete(iid, "record_firm_feedback", feedback("yes"), expect_department="gov-data")
        data = finished(driver, iid)
        assert data["leader_decision"] == "reprocess"
        assert data["service_result"] == "partially"


def test_unsatisfied_firm_is_escalated_and_the_leader_closes_the_request(engine, driver):
    """Started with no variables at all: 区招商部门 records and answers (找订单); the firm is not
    satisfied, the 区领导 coordinates and closes the request."""
    library_deploy(engine, PROCESS)
    iid = driver.engine.start(PROCESS, driver.user("invest-clerk")).id
    driver.complete(iid, "record_service_request", request("orders"), expect_department="invest")
    driver.complete(iid, "answer_service_request", answer("resolved"), expect_department="invest")
    driver.complete(iid, "record_firm_feedback", feedback("no"), expect_department="invest")
    assert open_elements(driver, iid) == [("leader_coordinate_request", "leaders")]
    driver.complete(
        iid,
        "leader_coordinate_request",
        {"leader_decision": "close", "leader_instruction": "已协调区内企业采购，办结"},
        expect_department="leaders",
    )
    data = finished(driver, iid)
    assert (data["firm_satisfied"], data["leader_decision"]) == ("no", "close")


def test_an_unresolved_answer_is_escalated_even_when_the_firm_accepts_it(engine, driver):
    library_deploy(engine, PROCESS)
    iid = driver.engine.start(
        PROCESS, driver.user("buerhantu-clerk"), data={"intake_department": "buerhantu"}
    ).id
    driver.complete(iid, "record_service_request", request("other"), expect_department="buerhantu")
    driver.complete(iid, "answer_service_request", answer("unresolved"), expect_department="miit")
    driver.complete(iid, "record_firm_feedback", feedback("yes"), expect_department="buerhantu")
    assert open_elements(driver, iid) == [("leader_coordinate_request", "leaders")]
    driver.complete(
        iid,
        "leader_coordinate_request",
        {"leader_decision": "close", "leader_instruction": "纳入会商研判"},
        expect_department="leaders",
    )
    assert finished(driver, iid)["service_result"] == "unresolved"
