"""BPMN features of issue 3 (items 5 and 6) through the engine: DMN business-rule tasks deployed
and versioned with their process, parallel and sequential multi-instance tasks (one opinion per
department), inclusive and event-based gateways, error and escalation boundary events.

Every scenario runs twice: on one engine, and with a brand-new Engine (cold spec and live-workflow
caches, as after a restart) before every step. The multi-instance scenarios check the flow and
the routing separately: routing each instance by its element variable needs the task property
``department_expression``, which wins over the lane.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from SpiffWorkflow.util.task import TaskState

from engine import Engine, Forbidden, InvalidModel, TaskInfo
from engine.definitions import parse
from engine.model import instance
from engine.serialization import load_state
from tests.conftest import FIXTURES

T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC
DMN_V1 = (FIXTURES / "dmn" / "review_route.dmn").read_bytes()
DMN_V2 = (FIXTURES / "dmn" / "review_route_v2.dmn").read_bytes()
OPINION_DEPARTMENTS = ["drc", "natres", "eco"]
COUNTERSIGN_DEPARTMENTS = ["natres", "eco", "emergency"]


def _bpmn(stem: str) -> bytes:
    return (FIXTURES / "bpmn" / f"{stem}.bpmn").read_bytes()


def _deploy(engine: Engine, people, stem: str, files: dict[str, bytes] | None = None):
    return engine.deploy(f"{stem}.bpmn", _bpmn(stem), files, actor=people["admin"])


@pytest.fixture(params=["one_engine", "cold_restart"])
def step_engine(request, engine, rebuild):
    """``step_engine()`` before every step: the same engine, or a new one on the same database."""
    if request.param == "one_engine":
        return lambda: engine
    return rebuild


def _running(engine: Engine, people, iid: int) -> None:
    """The instance is still running; an incident is reported with its message."""
    admin = people["admin"]
    status = engine.get_instance(iid, admin).status
    if status == "incident":
        messages = [i["message"] for i in engine.list_incidents(admin, instance_id=iid)]
        pytest.fail(f"instance {iid} stopped with an incident: {messages}")
    assert status == "running"


def _open_list(engine: Engine, people, iid: int) -> list[TaskInfo]:
    """Open tasks of the instance, with their data (multi-instance: one element, many tasks)."""
    admin = people["admin"]
    page = engine.list_tasks(admin, scope="all", state="open", instance_id=iid, limit=500)
    return sorted(
        (engine.get_task(t.id, admin) for t in page.items), key=lambda t: (t.element_id, t.id)
    )


def _open(engine: Engine, people, iid: int) -> dict[str, TaskInfo]:
    tasks = {}
    for t in _open_list(engine, people, iid):
        assert t.element_id not in tasks, f"two open {t.element_id} tasks"
        tasks[t.element_id] = t
    return tasks


def _routes(tasks: dict[str, TaskInfo]) -> dict[str, str | None]:
    return {element_id: t.department_code for element_id, t in tasks.items()}


def _clerk(people, task: TaskInfo):
    """Someone allowed to work the task, wherever it was routed (flow tests, not routing)."""
    if task.department_code is None:
        return people["admin"]
    return people[f"{task.department_code}-clerk"]


def _completed_elements(engine: Engine, people, iid: int) -> list[str]:
    page = engine.list_tasks(
        people["admin"], scope="all", state="completed", instance_id=iid, limit=500
    )
    return sorted(t.element_id for t in page.items)


def _finish(engine: Engine, people, iid: int) -> None:
    assert _open(engine, people, iid) == {}
    assert engine.get_instance(iid, people["admin"]).status == "completed"


# ---------------------------------------------------------------- DMN business-rule tasks


@pytest.mark.parametrize(
    ("investment", "route", "branch", "department"),
    [(5, "full", "full_review", "drc"), (3, "simple", "simple_filing", "invest")],
    ids=["five_bn_full_review", "three_bn_simple_filing"],
)
def test_decision_table_chooses_the_gateway_branch(
    step_engine, people, investment, route, branch, department
):
    result = _deploy(step_engine(), people, "dmn_review_route", {"review_route.dmn": DMN_V1})
    assert result.created
    assert result.definition.files == ("review_route.dmn",)
    assert result.definition.warnings == ()

    invest = people["invest-clerk"]
    iid = step_engine().start("dmn_review_route", invest, business_key="DMN-1").id
    (register,) = _open(step_engine(), people, iid).values()
    assert register.element_id == "register_project"
    step_engine().complete(register.id, invest, {"total_investment": investment})

    engine = step_engine()
    _running(engine, people, iid)
    tasks = _open(engine, people, iid)
    assert _routes(tasks) == {branch: department}
    assert tasks[branch].data["review_route"] == route
    step_engine().complete(tasks[branch].id, people[f"{department}-clerk"], {})
    _finish(step_engine(), people, iid)


def test_new_decision_table_is_a_new_version_and_running_instances_keep_theirs(step_engine, people):
    """The same diagram with a changed DMN is version 2; an instance started on version 1 still
    decides by version 1's table (threshold 5 亿元), a new one by version 2's (1 亿元)."""
    v1 = _deploy(step_engine(), people, "dmn_review_route", {"review_route.dmn": DMN_V1})
    again = _deploy(step_engine(), people, "dmn_review_route", {"review_route.dmn": DMN_V1})
    assert (again.created, again.definition.version) == (False, 1)

    invest = people["invest-clerk"]
    old = step_engine().start("dmn_review_route", invest, business_key="DMN-OLD")
    v2 = _deploy(step_engine(), people, "dmn_review_route", {"review_route.dmn": DMN_V2})
    assert (v2.created, v2.definition.version) == (True, 2)
    assert v2.definition.files == ("review_route.dmn",)
    assert v2.definition.checksum != v1.definition.checksum
    new = step_engine().start("dmn_review_route", invest, business_key="DMN-NEW")
    assert (old.definition_version, new.definition_version) == (1, 2)

    for inst in (old, new):
        (register,) = _open(step_engine(), people, inst.id).values()
        step_engine().complete(register.id, invest, {"total_investment": 3})

    engine = step_engine()
    assert _routes(_open(engine, people, old.id)) == {"simple_filing": "invest"}
    assert _routes(_open(engine, people, new.id)) == {"full_review": "drc"}
    assert engine.get_instance(old.id, invest).definition_version == 1


def test_diagram_without_its_decision_table_is_refused(engine, people):
    with pytest.raises(InvalidModel) as err:
        _deploy(engine, people, "dmn_review_route")
    assert "review_route" in err.value.message
    assert [e["element_id"] for e in err.value.errors] == ["decide_review_route"]
    assert "dmn_review_route" not in {d.key for d in engine.list_definitions()}


# ---------------------------------------------------------------- multi-instance


def test_parallel_multi_instance_opens_one_task_per_department(step_engine, people):
    """One opinion per department in the list, all open at once; the next task waits for the
    last one and receives every opinion (the element variable does not leak into it)."""
    _deploy(step_engine(), people, "parallel_opinions")
    drc = people["drc-clerk"]
    iid = (
        step_engine().start("parallel_opinions", drc, data={"departments": OPINION_DEPARTMENTS}).id
    )

    tasks = _open_list(step_engine(), people, iid)
    assert [t.element_id for t in tasks] == ["give_opinion"] * 3
    by_department = {t.data["department"]: t for t in tasks}
    assert sorted(by_department) == sorted(OPINION_DEPARTMENTS)
    assert len({t.id for t in tasks}) == 3

    order = ["eco", "drc", "natres"]  # not the list order
    for i, code in enumerate(order):
        task = by_department[code]
        step_engine().complete(task.id, _clerk(people, task), {"opinion": f"{code}：同意"})
        engine = step_engine()
        _running(engine, people, iid)
        left = _open_list(engine, people, iid)
        if i < len(order) - 1:
            assert sorted(t.data["department"] for t in left) == sorted(order[i + 1 :]), (
                f"after {order[: i + 1]}"
            )
            assert {t.element_id for t in left} == {"give_opinion"}

    assert [t.element_id for t in left] == ["consolidate_opinions"], "give_opinion never ended"
    (consolidate,) = left
    assert consolidate.department_code == "drc"
    assert sorted(consolidate.data["opinions"]) == sorted(f"{c}：同意" for c in order)
    assert "department" not in consolidate.data
    assert "opinion" not in consolidate.data
    step_engine().complete(consolidate.id, drc, {})
    _finish(step_engine(), people, iid)
    assert _completed_elements(step_engine(), people, iid) == [
        "consolidate_opinions",
        *["give_opinion"] * 3,
    ]


def test_sequential_multi_instance_asks_one_department_after_another(step_engine, people):
    _deploy(step_engine(), people, "sequential_opinions")
    drc = people["drc-clerk"]
    iid = (
        step_engine()
        .start("sequential_opinions", drc, data={"departments": COUNTERSIGN_DEPARTMENTS})
        .id
    )

    for code in COUNTERSIGN_DEPARTMENTS:
        engine = step_engine()
        _running(engine, people, iid)
        tasks = _open_list(engine, people, iid)
        assert [t.element_id for t in tasks] == ["countersign"], f"no countersign for {code}"
        (task,) = tasks
        assert task.data["department"] == code
        step_engine().complete(task.id, _clerk(people, task), {"opinion": f"{code} 会签"})

    engine = step_engine()
    _running(engine, people, iid)
    left = _open_list(engine, people, iid)
    assert [t.element_id for t in left] == ["issue_decision"], "countersign never ended"
    (issue,) = left
    # Sequential: the opinions are in list order.
    assert issue.data["opinions"] == [f"{c} 会签" for c in COUNTERSIGN_DEPARTMENTS]
    assert "department" not in issue.data
    step_engine().complete(issue.id, drc, {})
    _finish(step_engine(), people, iid)


def test_parallel_instances_route_by_their_element_variable_not_the_lane(step_engine, people):
    """give_opinion sits in 区发改委's lane with ``department_expression = department``: each
    instance goes to the department it is about, only that department sees and works it."""
    result = _deploy(step_engine(), people, "parallel_opinions")
    assert result.definition.warnings == ()
    drc = people["drc-clerk"]
    iid = (
        step_engine().start("parallel_opinions", drc, data={"departments": OPINION_DEPARTMENTS}).id
    )

    engine = step_engine()
    tasks = _open_list(engine, people, iid)
    assert sorted((t.data["department"], t.department_code) for t in tasks) == sorted(
        (c, c) for c in OPINION_DEPARTMENTS
    )
    for task in tasks:
        code = task.data["department"]
        queue = engine.list_tasks(people[f"{code}-clerk"], scope="department")
        assert [t.id for t in queue.items] == [task.id], code

    natres_task = next(t for t in tasks if t.data["department"] == "natres")
    with pytest.raises(Forbidden):
        step_engine().complete(natres_task.id, drc, {"opinion": "越权"})
    for task in tasks:
        code = task.data["department"]
        step_engine().complete(task.id, people[f"{code}-clerk"], {"opinion": f"{code}：同意"})
    left = _open_list(step_engine(), people, iid)
    assert [(t.element_id, t.department_code) for t in left] == [("consolidate_opinions", "drc")]


def test_sequential_instances_route_by_their_element_variable(step_engine, people):
    _deploy(step_engine(), people, "sequential_opinions")
    iid = (
        step_engine()
        .start(
            "sequential_opinions",
            people["drc-clerk"],
            data={"departments": COUNTERSIGN_DEPARTMENTS},
        )
        .id
    )
    for code in COUNTERSIGN_DEPARTMENTS:
        tasks = _open_list(step_engine(), people, iid)
        assert [t.element_id for t in tasks] == ["countersign"], f"no countersign for {code}"
        (task,) = tasks
        assert (task.data["department"], task.department_code) == (code, code)
        step_engine().complete(task.id, people[f"{code}-clerk"], {"opinion": "同意"})
    left = _open_list(step_engine(), people, iid)
    assert [(t.element_id, t.department_code) for t in left] == [("issue_decision", "drc")]


# ---------------------------------------------------------------- inclusive gateway


@pytest.mark.parametrize("first", ["land_review", "safety_review"])
def test_inclusive_gateway_opens_and_joins_the_branches_whose_conditions_hold(
    step_engine, people, first
):
    _deploy(step_engine(), people, "inclusive_review")
    invest = people["invest-clerk"]
    iid = step_engine().start("inclusive_review", invest).id
    (register,) = _open(step_engine(), people, iid).values()
    step_engine().complete(
        register.id, invest, {"needs_land": True, "needs_eia": False, "needs_safety": True}
    )

    reviews = _open(step_engine(), people, iid)
    assert _routes(reviews) == {"land_review": "natres", "safety_review": "emergency"}
    second = ({"land_review", "safety_review"} - {first}).pop()
    step_engine().complete(
        reviews[first].id, _clerk(people, reviews[first]), {f"{first}_opinion": "同意"}
    )
    engine = step_engine()
    _running(engine, people, iid)
    assert set(_open(engine, people, iid)) == {second}, "the join must wait for both branches"
    step_engine().complete(
        reviews[second].id, _clerk(people, reviews[second]), {f"{second}_opinion": "有条件同意"}
    )

    tasks = _open(step_engine(), people, iid)
    assert _routes(tasks) == {"consolidate_review": "invest"}
    data = tasks["consolidate_review"].data
    assert (data["land_review_opinion"], data["safety_review_opinion"]) == (
        "同意" if first == "land_review" else "有条件同意",
        "同意" if first == "safety_review" else "有条件同意",
    )
    step_engine().complete(tasks["consolidate_review"].id, invest, {})
    _finish(step_engine(), people, iid)
    assert "eia_review" not in _completed_elements(step_engine(), people, iid)


# ---------------------------------------------------------------- event-based gateway


def _waiting_for(engine: Engine, iid: int) -> list[str]:
    """Event definitions the stored instance waits for (an event-based gateway's, one by one)."""
    with engine.db.connect() as conn:
        row = conn.execute(
            sa.select(instance.c.state_json, instance.c.serializer_version).where(
                instance.c.id == iid
            )
        ).one()
    _, loaded = parse("reply_or_overdue.bpmn", _bpmn("reply_or_overdue"))
    wf = load_state(row.state_json, row.serializer_version, loaded.spec, loaded.subprocess_specs)
    names = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is not None:
            names += [
                type(d).__name__ for d in getattr(definition, "event_definitions", [definition])
            ]
    return sorted(names)


def _next_due(engine: Engine, iid: int):
    with engine.db.connect() as conn:
        return conn.execute(
            sa.select(instance.c.next_due_at).where(instance.c.id == iid)
        ).scalar_one()


def test_event_based_gateway_takes_the_timer_branch_when_no_reply_comes(step_engine, people):
    """The reply message (delivered between instances, built separately) never comes: after
    10 days the timer wins, the message subscription is gone and 催办复函 is open."""
    clerk = people["natres-clerk"]
    with time_machine.travel(T0, tick=False) as clock:
        _deploy(step_engine(), people, "reply_or_overdue")
        iid = step_engine().start("reply_or_overdue", clerk, business_key="ZR-1").id
        (send,) = _open(step_engine(), people, iid).values()
        step_engine().complete(send.id, clerk, {"inquiry": "请于10日内复函"})

        engine = step_engine()
        _running(engine, people, iid)
        assert _open(engine, people, iid) == {}
        assert _waiting_for(engine, iid) == [
            "DurationTimerEventDefinition",
            "MessageEventDefinition",
        ]
        assert _next_due(engine, iid) == T0 + timedelta(days=10)

        clock.shift(timedelta(days=9, hours=23))
        assert step_engine().fire_due_timers() == 0
        assert _open(step_engine(), people, iid) == {}

        clock.shift(timedelta(hours=1, minutes=1))
        assert step_engine().fire_due_timers() == 1
        engine = step_engine()
        _running(engine, people, iid)
        tasks = _open(engine, people, iid)
        assert _routes(tasks) == {"urge_reply": "natres"}
        assert tasks["urge_reply"].data["inquiry"] == "请于10日内复函"
        assert _waiting_for(engine, iid) == []
        assert _next_due(engine, iid) is None

        step_engine().complete(tasks["urge_reply"].id, clerk, {})
        _finish(step_engine(), people, iid)
        assert step_engine().fire_due_timers() == 0
        assert "review_reply" not in _completed_elements(step_engine(), people, iid)


# ---------------------------------------------------------------- error and escalation events


@pytest.mark.parametrize(
    "missing", [[], ["营业执照副本", "环评批复"]], ids=["materials_complete", "materials_missing"]
)
def test_error_end_event_in_sub_process_is_caught_by_the_boundary_event(
    step_engine, people, missing
):
    """Missing materials end the sub-process with an error; the interrupting boundary event
    leaves it for 通知补正材料, which gets the missing items as the error's payload."""
    _deploy(step_engine(), people, "materials_error")
    invest = people["invest-clerk"]
    iid = step_engine().start("materials_error", invest, business_key="CL-1").id
    tasks = _open(step_engine(), people, iid)
    assert _routes(tasks) == {"check_materials": "invest"}
    step_engine().complete(tasks["check_materials"].id, invest, {"missing_items": missing})

    engine = step_engine()
    _running(engine, people, iid)
    tasks = _open(engine, people, iid)
    if not missing:
        assert _routes(tasks) == {"accept_case": "drc"}
        step_engine().complete(tasks["accept_case"].id, people["drc-clerk"], {})
    else:
        # Interrupting: the sub-process is left and 受理申请 never comes.
        assert _routes(tasks) == {"request_supplement": "invest"}
        assert tasks["request_supplement"].data["missing_items"] == missing
        step_engine().complete(tasks["request_supplement"].id, invest, {})
    _finish(step_engine(), people, iid)
    done = _completed_elements(step_engine(), people, iid)
    assert done == (
        ["check_materials", "request_supplement"] if missing else ["accept_case", "check_materials"]
    )


@pytest.mark.parametrize("assess_first", [True, False], ids=["assess_first", "rectify_first"])
def test_escalation_from_sub_process_opens_a_task_and_the_sub_process_goes_on(
    step_engine, people, assess_first
):
    _deploy(step_engine(), people, "risk_escalation")
    natres, emergency = people["natres-clerk"], people["emergency-clerk"]
    iid = step_engine().start("risk_escalation", natres, business_key="YD-1").id
    tasks = _open(step_engine(), people, iid)
    assert _routes(tasks) == {"inspect_site": "natres"}
    step_engine().complete(tasks["inspect_site"].id, natres, {"risk_found": True})

    engine = step_engine()
    _running(engine, people, iid)
    tasks = _open(engine, people, iid)
    # Non-interrupting: 区应急局 assesses the risk while the sub-process continues.
    assert _routes(tasks) == {"rectify_risk": "natres", "assess_risk": "emergency"}
    if assess_first:
        step_engine().complete(tasks["assess_risk"].id, emergency, {"risk_level": "一般"})
        assert _routes(_open(step_engine(), people, iid)) == {"rectify_risk": "natres"}
        step_engine().complete(tasks["rectify_risk"].id, natres, {})
        tasks = _open(step_engine(), people, iid)
        assert _routes(tasks) == {"approve_site": "natres"}
    else:
        step_engine().complete(tasks["rectify_risk"].id, natres, {})
        left = _open(step_engine(), people, iid)
        assert _routes(left) == {"assess_risk": "emergency", "approve_site": "natres"}
        step_engine().complete(tasks["assess_risk"].id, emergency, {"risk_level": "一般"})
        tasks = _open(step_engine(), people, iid)
        assert _routes(tasks) == {"approve_site": "natres"}
    _running(step_engine(), people, iid)
    step_engine().complete(tasks["approve_site"].id, natres, {})
    _finish(step_engine(), people, iid)


def test_sub_process_without_escalation_opens_no_assessment(step_engine, people):
    _deploy(step_engine(), people, "risk_escalation")
    natres = people["natres-clerk"]
    iid = step_engine().start("risk_escalation", natres).id
    (inspect,) = _open(step_engine(), people, iid).values()
    step_engine().complete(inspect.id, natres, {"risk_found": False})
    tasks = _open(step_engine(), people, iid)
    assert _routes(tasks) == {"approve_site": "natres"}
    step_engine().complete(tasks["approve_site"].id, natres, {})
    _finish(step_engine(), people, iid)
    assert _completed_elements(step_engine(), people, iid) == ["approve_site", "inspect_site"]
