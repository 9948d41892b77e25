"""whistle_referral (街镇吹哨、部门报到, DOMAIN.md section 4) driven through the engine.

The 街镇's steps sit in one lane named for the role (街镇) and go, by ``department_expression``,
to the 街镇 that blew the whistle: the starter's department, recorded at start
(``starter_department = street``); any of the 15 街镇 may start it (``kind:street``).

Every path to an end state, as the users of the departments the tasks route to: each dispatch
category of the DMN ``whistle_dispatch`` (mine issues to the coordination office 区自然资源分局,
construction dust to two departments at once), the head's sign-off (signed, withdrawn, sent
back), satisfied at once, unsatisfied once then satisfied, unsatisfied twice (two reworks) and
a third time then escalated to 会商研判 or to the 包联 leader, and the timer of each urgency class of the DMN
``whistle_limits`` (urgent: arrival within 2 hours; ordinary: acceptance within 1 working day;
hard: closing within 10 working days) with frozen time. Each test runs warm (one engine) and
cold (a new Engine before every step).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Forbidden, InvalidInput, TaskInfo
from tests.conftest import ORG_FILE
from tests.processes.conftest import Driver, library_deploy
from workflows.org import load_org

PROCESS = "whistle_referral"
# every 街镇 of the org chart (kind street.subdistrict / street.town)
STREETS = sorted(d.code for d in load_org(ORG_FILE)[0] if d.kind.split(".")[0] == "street")
# 2026-09-01 (Tuesday) 10:00 in Beijing = 02:00 UTC; kunflow stores naive UTC.
T0 = datetime(2026, 9, 1, 2, 0, 0)

DISPATCH = {  # category -> (departments, escalation route), as in bpmn/whistle_dispatch.dmn
    "mine": (["natres"], "consult"),
    "land": (["natres"], "leader"),
    "safety": (["emergency"], "leader"),
    "environment": (["eco"], "leader"),
    "water_forest": (["agri"], "leader"),
    "construction": (["housing"], "leader"),
    "construction_dust": (["housing", "eco"], "leader"),
    "enterprise_service": (["miit"], "leader"),
}


def end_of_day_utc(y: int, m: int, d: int) -> datetime:
    """23:59:59 China time of that day, as naive UTC."""
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


# ---------------------------------------------------------------- form data


def report(category: str, urgency: str = "ordinary") -> dict:
    return {
        "problem_title": "矿区道路扬尘及越界开采线索",
        "category": category,
        "urgency": urgency,
        "location": "卜尔汉图镇某村北侧",
        "problem_description": "街镇巡查发现，已劝阻，需职能部门执法",
        "reporter_phone": "13847200001",
        "scene_photos": ["att-1001"],
    }


SIGN = {"sign_decision": "sign", "head_opinion": "同意吹哨"}
WITHDRAW = {"sign_decision": "withdraw", "head_opinion": "街镇可自行协调解决"}
ACCEPT = {"handler_name": "张三", "handler_phone": "0472-2836278", "responsibility_confirmed": True}
ARRIVE = {
    "arrival_date": "2026-09-01",
    "arrival_note": "已到场核实",
    "arrival_photos": ["att-2001"],
}
HANDLE = {
    "measures": "责令停止违法行为",
    "handling_result": "solved",
    "handling_evidence": ["att-3001"],
}
FEEDBACK = {"feedback_summary": "已处置完毕", "feedback_date": "2026-09-02"}
URGE = {"urge_method": "phone", "urge_note": "已电话催办"}
SATISFIED = {"rating": "satisfied", "rating_note": "处置到位"}
UNSATISFIED = {"rating": "unsatisfied", "rating_note": "问题反弹"}
CONSULT = {
    "consult_date": "2026-09-10",
    "participants": "区自然资源分局、区应急局、区生态环境分局",
    "consult_conclusion": "联合执法",
    "lead_department": "区自然资源分局",
}
LEADER = {
    "leader_instruction": "限期联合整治",
    "lead_department": "区住建局",
    "resolve_by": "2026-09-30",
}


# ---------------------------------------------------------------- helpers


def admin(driver: Driver):
    return driver.user("admin")


def open_list(driver: Driver, iid: int) -> list[TaskInfo]:
    page = driver.reader.list_tasks(
        admin(driver), scope="all", state="open", instance_id=iid, limit=500
    )
    return sorted(page.items, key=lambda t: (t.element_id, t.department_code or ""))


def open_elements(driver: Driver, iid: int) -> list[tuple[str, str | None]]:
    return [(t.element_id, t.department_code) for t in open_list(driver, iid)]


def complete_each(
    driver: Driver, iid: int, element_id: str, departments: list[str], data: dict
) -> list[TaskInfo]:
    """Complete the open instances of a multi-instance task, one per department, each as that
    department's caseworker; the open instances must route to exactly these departments."""
    tasks = [t for t in open_list(driver, iid) if t.element_id == element_id]
    assert sorted(t.department_code for t in tasks) == sorted(departments), (
        f"{element_id} routed to {[t.department_code for t in tasks]}, expected {departments}"
    )
    for task in tasks:
        driver.engine.complete(task.id, driver.user(f"{task.department_code}-clerk"), dict(data))
    return tasks


def status(driver: Driver, iid: int) -> str:
    info = driver.reader.get_instance(iid, admin(driver))
    if info.status == "incident":
        messages = [
            i["message"] for i in driver.reader.list_incidents(admin(driver), instance_id=iid)
        ]
        pytest.fail(f"instance {iid} stopped with an incident: {messages}")
    return info.status


def finished(driver: Driver, iid: int) -> None:
    assert open_list(driver, iid) == []
    assert status(driver, iid) == "completed"


def data_of(driver: Driver, iid: int) -> dict:
    return driver.reader.get_instance(iid, admin(driver), with_data=True).data


def start(driver: Driver, street: str, key: str) -> int:
    """The 街镇's caseworker starts the referral: the case records their 街镇 as ``street``."""
    return driver.engine.start(
        PROCESS,
        driver.user(f"{street}-clerk"),
        business_key=key,
        title="街镇吹哨",
    ).id


def blow(driver: Driver, street: str, key: str, category: str, urgency: str = "ordinary") -> int:
    """吹哨 and the head's signature: the case is dispatched."""
    iid = start(driver, street, key)
    driver.complete(iid, "blow_whistle", report(category, urgency), expect_department=street)
    task = driver.complete(iid, "sign_whistle", SIGN, expect_department=street)
    assert task.candidate_role == "head"
    return iid


def report_in(driver: Driver, iid: int, departments: list[str]) -> None:
    complete_each(driver, iid, "accept_referral", departments, ACCEPT)
    complete_each(driver, iid, "arrive_on_site", departments, ARRIVE)


def handle(driver: Driver, iid: int, departments: list[str]) -> None:
    complete_each(driver, iid, "handle_problem", departments, HANDLE)
    complete_each(driver, iid, "feed_back", departments, FEEDBACK)


def rate(driver: Driver, iid: int, street: str, rating: dict) -> None:
    driver.complete(iid, "rate_result", rating, expect_department=street)


# ---------------------------------------------------------------- deploy


def test_deploys_without_warnings_with_its_decisions_and_forms(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    files = set(result.definition.files)
    assert {"whistle_dispatch.dmn", "whistle_limits.dmn"} <= files
    assert {
        "whistle_report.form",
        "whistle_signoff.form",
        "whistle_accept.form",
        "whistle_arrive.form",
        "whistle_urge.form",
        "whistle_handle.form",
        "whistle_feedback.form",
        "whistle_rating.form",
        "whistle_consult.form",
        "whistle_leader.form",
    } <= files


def test_every_street_and_only_a_street_starts_a_referral(engine):
    """start_departments = kind:street on the start event: each of the 13 街道 and 2 镇 may blow
    the whistle, and its first step goes to that 街镇 (the one 街镇 lane, routed by the
    recorded starter's department); a bureau or an office may not start it."""
    info = library_deploy(engine, PROCESS).definition
    assert info.manual_start is True
    assert len(STREETS) == 15 and {"buerhantu", "kunhe", "kunbei", "shaoxianlu"} <= set(STREETS)
    assert info.start_departments == tuple(STREETS)

    def user(name):
        return engine.get_user(name).actor()

    for street in STREETS:
        iid = engine.start(PROCESS, user(f"{street}-clerk"), business_key=f"ST-{street}").id
        (task,) = engine.get_instance(iid, user("admin")).tasks
        assert (task.element_id, task.lane, task.department_code) == (
            "blow_whistle", "街镇", street)
        assert PROCESS in {d.key for d in engine.startable_definitions(user(f"{street}-head"))}
    for bureau in ("natres-clerk", "supervision-clerk", "drc-head", "gov-office-clerk"):
        with pytest.raises(Forbidden):
            engine.start(PROCESS, user(bureau))
        assert PROCESS not in {d.key for d in engine.startable_definitions(user(bureau))}


def test_a_street_cannot_blow_the_whistle_in_another_streets_name(engine):
    """The starter's department is recorded whatever the start data says; an administrator
    may start a case on a 街镇's behalf by naming it."""
    library_deploy(engine, PROCESS)
    admin_actor = engine.get_user("admin").actor()
    iid = engine.start(PROCESS, engine.get_user("kunhe-clerk").actor(), business_key="NAME-1",
                       data={"street": "kunbei"}).id
    (task,) = engine.get_instance(iid, admin_actor).tasks
    assert task.department_code == "kunhe"
    assert engine.get_instance(iid, admin_actor, with_data=True).data["street"] == "kunhe"
    iid = engine.start(PROCESS, admin_actor, business_key="NAME-2",
                       data={"street": "tuanjie"}).id
    (task,) = engine.get_instance(iid, admin_actor).tasks
    assert task.department_code == "tuanjie"


def test_forms_refuse_missing_and_invalid_fields(engine):
    """The engine checks each submission against the task's form: the field is named."""
    library_deploy(engine, PROCESS)
    clerk = engine.get_user("kunbei-clerk").actor()
    iid = engine.start(PROCESS, clerk, business_key="FORM-1").id
    (task,) = engine.get_instance(iid, engine.get_user("admin").actor()).tasks
    bad = dict(report("mine"), urgency="very_urgent", reporter_phone="12345")
    del bad["category"]
    with pytest.raises(InvalidInput) as refused:
        engine.complete(task.id, clerk, bad)
    assert set(refused.value.details) == {"category", "urgency", "reporter_phone"}
    engine.complete(task.id, clerk, report("mine"))
    head = engine.get_user("kunbei-head").actor()
    (sign,) = engine.get_instance(iid, engine.get_user("admin").actor()).tasks
    with pytest.raises(InvalidInput) as refused:
        engine.complete(sign.id, head, {"sign_decision": "maybe"})
    assert set(refused.value.details) == {"sign_decision", "head_opinion"}


# ---------------------------------------------------------------- each dispatch category


def test_each_category_is_dispatched_by_the_decision_table(engine, driver):
    """Every rule of whistle_dispatch, each case driven to 办结 (satisfied at once): the
    report-in, handling and feedback tasks route to the departments of the rule, in parallel
    when there are two; a different 街镇 (街道 or 镇) blows the whistle for each."""
    library_deploy(engine, PROCESS)
    for n, (category, (departments, route)) in enumerate(sorted(DISPATCH.items())):
        street = STREETS[(2 * n) % len(STREETS)]
        iid = blow(driver, street, f"CS-{category}", category)
        data = data_of(driver, iid)
        assert (category, data["departments"], data["escalation_route"]) == (
            category,
            departments,
            route,
        )
        assert open_elements(driver, iid) == [("accept_referral", d) for d in sorted(departments)]
        report_in(driver, iid, departments)
        assert open_elements(driver, iid) == [("handle_problem", d) for d in sorted(departments)]
        handle(driver, iid, departments)
        rate(driver, iid, street, SATISFIED)
        finished(driver, iid)
        final = data_of(driver, iid)
        assert final["rework_count"] == 0
        assert final["feedbacks"] == ["已处置完毕"] * len(departments)
        assert final["arrival_notes"] == ["已到场核实"] * len(departments)


# ---------------------------------------------------------------- the head's sign-off


def test_head_sends_the_report_back_then_decides_not_to_blow_the_whistle(engine, driver):
    library_deploy(engine, PROCESS)
    iid = start(driver, "kunbei", "WD-1")
    driver.complete(iid, "blow_whistle", report("construction"), expect_department="kunbei")
    sign = driver.open_tasks(iid)["sign_whistle"]
    assert (sign.department_code, sign.candidate_role) == ("kunbei", "head")
    driver.engine.send_back(sign.id, driver.user("kunbei-head"), "blow_whistle", "请补充问题地点")
    assert open_elements(driver, iid) == [("blow_whistle", "kunbei")]
    fixed = dict(report("construction"), location="昆北街道某小区东门")
    driver.complete(iid, "blow_whistle", fixed, expect_department="kunbei")
    driver.complete(iid, "sign_whistle", WITHDRAW, expect_department="kunbei")
    finished(driver, iid)
    assert "departments" not in data_of(driver, iid)


# ---------------------------------------------------------------- rating, rework, escalation


def test_unsatisfied_once_goes_back_to_handling_then_satisfied_closes(engine, driver):
    library_deploy(engine, PROCESS)
    iid = blow(driver, "buerhantu", "RW-1", "environment")
    report_in(driver, iid, ["eco"])
    handle(driver, iid, ["eco"])
    rate(driver, iid, "buerhantu", UNSATISFIED)
    assert open_elements(driver, iid) == [("handle_problem", "eco")]
    assert data_of(driver, iid)["rework_count"] == 1
    handle(driver, iid, ["eco"])
    rate(driver, iid, "buerhantu", SATISFIED)
    finished(driver, iid)
    final = data_of(driver, iid)
    assert final["rework_count"] == 1
    assert final["previous_feedbacks"] == ["已处置完毕"]


@pytest.mark.parametrize(
    ("category", "street", "departments", "element_id", "department", "data"),
    [
        ("mine", "buerhantu", ["natres"], "consult_coordination", "natres", CONSULT),
        ("construction_dust", "kunbei", ["housing", "eco"], "leader_coordinate", "leaders", LEADER),
    ],
    ids=["mine_to_consultation", "dust_to_leader"],
)
def test_unsatisfied_after_two_reworks_is_escalated(
    engine, driver, category, street, departments, element_id, department, data
):
    """Unsatisfied once and twice: back to handling (rework_count 1, 2); unsatisfied a third
    time: max_rework (2) is used up, the case goes to 会商研判 (mine issues, 区自然资源分局) or to
    the 包联 leader (区领导, head)."""
    library_deploy(engine, PROCESS)
    iid = blow(driver, street, f"ESC-{category}", category)
    report_in(driver, iid, departments)
    for rework in (1, 2):
        handle(driver, iid, departments)
        rate(driver, iid, street, UNSATISFIED)
        assert open_elements(driver, iid) == [("handle_problem", d) for d in sorted(departments)]
        assert data_of(driver, iid)["rework_count"] == rework
    handle(driver, iid, departments)
    rate(driver, iid, street, UNSATISFIED)
    assert open_elements(driver, iid) == [(element_id, department)]
    task = driver.complete(iid, element_id, data, expect_department=department)
    assert task.candidate_role == ("head" if department == "leaders" else None)
    finished(driver, iid)
    assert data_of(driver, iid)["rework_count"] == 2


# ---------------------------------------------------------------- time limits by urgency class


def test_urgent_arrival_overdue_after_two_hours_is_urged_by_the_supervision_office(engine, driver):
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        iid = blow(driver, "kunbei", "URG-1", "safety", "urgent")
        accept = driver.open_tasks(iid)["accept_referral"]
        assert accept.due_at == end_of_day_utc(2026, 9, 1)  # accept_due_days 0: the same day
        complete_each(driver, iid, "accept_referral", ["emergency"], ACCEPT)
        assert open_elements(driver, iid) == [("arrive_on_site", "emergency")]

        clock.shift(timedelta(hours=1, minutes=59))
        assert driver.engine.fire_due_timers() == 0
        clock.shift(timedelta(minutes=2))
        assert driver.engine.fire_due_timers() == 1
        assert open_elements(driver, iid) == [
            ("arrive_on_site", "emergency"),
            ("urge_arrival", "supervision"),
        ]
        driver.complete(iid, "urge_arrival", URGE, expect_department="supervision")
        complete_each(driver, iid, "arrive_on_site", ["emergency"], ARRIVE)
        handle(driver, iid, ["emergency"])
        rate(driver, iid, "kunbei", SATISFIED)
        finished(driver, iid)


def test_ordinary_acceptance_overdue_after_one_working_day_is_urged(engine, driver):
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        iid = blow(driver, "buerhantu", "ORD-1", "water_forest", "ordinary")
        accept = driver.open_tasks(iid)["accept_referral"]
        assert accept.due_at == end_of_day_utc(2026, 9, 2)  # 1 working day

        clock.move_to(end_of_day_utc(2026, 9, 2) - timedelta(minutes=1))
        assert driver.engine.fire_due_timers() == 0
        clock.move_to(end_of_day_utc(2026, 9, 2) + timedelta(seconds=2))
        assert driver.engine.fire_due_timers() == 1
        assert open_elements(driver, iid) == [
            ("accept_referral", "agri"),
            ("urge_accept", "supervision"),
        ]
        driver.complete(iid, "urge_accept", URGE, expect_department="supervision")
        report_in(driver, iid, ["agri"])
        # handling opened on 2026-09-03 (China time): 5 working days, closes 2026-09-10
        assert driver.open_tasks(iid)["handle_problem"].due_at == end_of_day_utc(2026, 9, 10)
        handle(driver, iid, ["agri"])
        assert driver.engine.fire_due_timers() == 0
        rate(driver, iid, "buerhantu", SATISFIED)
        finished(driver, iid)


def test_hard_case_overdue_after_ten_working_days_is_supervised(engine, driver):
    with time_machine.travel(T0, tick=False) as clock:
        library_deploy(engine, PROCESS)
        departments = ["housing", "eco"]
        iid = blow(driver, "kunbei", "HARD-1", "construction_dust", "hard")
        report_in(driver, iid, departments)
        handling = [t for t in open_list(driver, iid) if t.element_id == "handle_problem"]
        # 10 working days from 2026-09-01: 2026-09-15
        assert [t.due_at for t in handling] == [end_of_day_utc(2026, 9, 15)] * 2

        clock.move_to(end_of_day_utc(2026, 9, 15) - timedelta(minutes=1))
        assert driver.engine.fire_due_timers() == 0
        clock.move_to(end_of_day_utc(2026, 9, 15) + timedelta(seconds=2))
        assert driver.engine.fire_due_timers() == 1
        complete_each(driver, iid, "supervise_handling", ["supervision", "supervision"], URGE)
        handle(driver, iid, departments)
        rate(driver, iid, "kunbei", SATISFIED)
        finished(driver, iid)
