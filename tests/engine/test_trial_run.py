"""The trial run (试运行): a process run in memory from its XML and files (or its draft, or its
newest version), step by step; the ready tasks routed as real ones (lane, department
expression), DMN results, data, an error naming the element; service tasks skipped, timers
listed; nothing stored."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Engine, Forbidden, InvalidInput, TrialError
from engine.model import decision_log, event, instance, process_draft, task
from tests.conftest import FIXTURES

DECISIONS = FIXTURES / "decisions"
T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC
BPMN = (DECISIONS / "trial_flow.bpmn").read_text("utf-8")
FILES = {
    "review_route.dmn": (FIXTURES / "dmn" / "review_route.dmn").read_text("utf-8"),
    "register_project.form": (DECISIONS / "register_project.form").read_text("utf-8"),
}
REGISTER = "register_project"


def _counts(engine: Engine) -> dict[str, int]:
    with engine.db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in (instance, task, event, decision_log)}


def _try(engine, people, *steps, start_data=None, bpmn_xml=BPMN, files=FILES):
    return engine.trial_run("trial_flow", people["admin"], bpmn_xml=bpmn_xml, files=files,
                            start_data=start_data, steps=list(steps))


def _step(element_id, **data):
    return {"element_id": element_id, "data": data}


def test_start_alone_shows_the_first_task_with_its_form(engine, people):
    result = _try(engine, people)
    assert (result.status, result.ended, result.error) == ("running", False, None)
    assert [s.element_id for s in result.completed] == ["trial_started"]
    (ready,) = result.ready
    assert (ready.element_id, ready.name, ready.lane) == (REGISTER, "登记项目", "区招商部门")
    assert (ready.department_code, ready.department_name) == ("invest", "区招商部门")
    assert (ready.candidate_role, ready.form_key) == ("caseworker", REGISTER)
    assert [c["key"] for c in ready.form["components"]] == ["total_investment"]


def test_route_by_lane_with_the_decision_and_the_timer(engine, people):
    with time_machine.travel(T0, tick=False):
        result = _try(engine, people, _step(REGISTER, total_investment=7))
    assert result.status == "running"
    assert [s.element_id for s in result.completed] == [
        "trial_started", REGISTER, "decide_route", "route_gateway"]
    assert [s.element_type for s in result.completed][1:3] == ["UserTask", "BusinessRuleTask"]
    (ready,) = result.ready
    assert (ready.element_id, ready.department_code, ready.department_name) == (
        "full_review", "drc", "区发改委")
    (decision,) = result.decisions
    assert (decision.element_id, decision.decision_id) == ("decide_route", "review_route")
    assert (decision.inputs, decision.outputs) == ({"total_investment": 7},
                                                   {"review_route": "full"})
    assert result.data["review_route"] == "full"
    assert result.data["total_investment"] == 7
    (timer,) = result.timers
    assert (timer.element_id, timer.name) == ("review_overdue", "5天超期")
    assert timer.due == T0 + timedelta(days=5)


def test_route_by_department_expression_skipping_the_service(engine, people):
    result = _try(engine, people, _step(REGISTER, total_investment=2),
                  start_data={"filing_department": "区自然资源分局", "divisor": 4})
    assert result.error is None
    (ready,) = result.ready
    assert (ready.element_id, ready.lane) == ("assign_filing", "区招商部门")
    assert (ready.department_code, ready.department_name) == ("natres", "区自然资源分局")
    assert [s.element_id for s in result.skipped] == ["verify_account"]
    assert result.data["fee"] == 25
    assert result.data["checked"] is None  # the service was not called
    assert result.decisions[0].outputs == {"review_route": "simple"}

    done = _try(engine, people, _step(REGISTER, total_investment=2), _step("assign_filing"),
                start_data={"filing_department": "natres", "divisor": 4})
    assert (done.status, done.ended, done.ready) == ("completed", True, ())
    assert done.completed[-1].element_id == "filing_done"


def test_a_failing_script_is_the_error_with_its_element(engine, people):
    result = _try(engine, people, _step(REGISTER, total_investment=2),
                  _step("assign_filing"), start_data={"divisor": 0})
    assert result.status == "error"
    assert result.error.element_id == "compute_fee"
    assert result.error.message.startswith("执行出错：")
    assert "division by zero" in result.error.message
    assert result.ready == ()
    assert "fee" not in result.data


def test_a_step_that_is_not_ready_is_an_error(engine, people):
    result = _try(engine, people, _step("full_review"))
    assert result.error == TrialError("full_review", "第 1 步：full_review 不是当前可办理的用户任务")
    assert [t.element_id for t in result.ready] == [REGISTER]


def test_nothing_is_stored(engine, people):
    engine.deploy("trial_flow.bpmn", BPMN.encode(), {k: v.encode() for k, v in FILES.items()},
                  actor=people["admin"])
    real = engine.start("trial_flow", people["invest-clerk"], business_key="REAL-1")
    before = _counts(engine)
    assert before["instance"] == 1
    for steps in ([_step(REGISTER, total_investment=7)],
                  [_step(REGISTER, total_investment=1), _step("assign_filing")]):
        engine.trial_run("trial_flow", people["admin"], steps=steps,
                         start_data={"filing_department": "drc", "divisor": 2})
    assert _counts(engine) == before
    page = engine.list_instances(people["admin"], process_key="trial_flow")
    assert [i.id for i in page.items] == [real.id]


def test_the_draft_is_tried_before_the_newest_version(engine, people):
    engine.deploy("trial_flow.bpmn", BPMN.encode(), {k: v.encode() for k, v in FILES.items()},
                  actor=people["admin"])
    newest = engine.trial_run("trial_flow", people["admin"],
                              steps=[_step(REGISTER, total_investment=3)],
                              start_data={"divisor": 1})
    assert newest.decisions[0].outputs == {"review_route": "simple"}
    v2 = {**FILES, "review_route.dmn": (FIXTURES / "dmn" / "review_route_v2.dmn").read_text()}
    with engine.db.begin() as conn:
        conn.execute(process_draft.insert().values(
            process_key="trial_flow", bpmn_xml=BPMN, files_json=json.dumps(v2),
            base_version=1, created_by="admin", created_at=T0, updated_by="admin",
            updated_at=T0, revision=1))
    draft = engine.trial_run("trial_flow", people["admin"],
                             steps=[_step(REGISTER, total_investment=3)])
    assert draft.decisions[0].outputs == {"review_route": "full"}


def test_only_process_admins_and_checked_input(engine, people):
    with pytest.raises(Forbidden):
        engine.trial_run("trial_flow", people["invest-clerk"], bpmn_xml=BPMN, files=FILES)
    with pytest.raises(InvalidInput):
        _try(engine, people, *[_step(REGISTER)] * 201)
    with pytest.raises(InvalidInput):
        _try(engine, people, {"data": {}})
    with pytest.raises(InvalidInput):
        engine.trial_run("other_key", people["admin"], bpmn_xml=BPMN, files=FILES)


def test_a_called_process_is_skipped_not_started(engine, people):
    bpmn = (DECISIONS / "decision_parent.bpmn").read_text("utf-8")
    engine.deploy("decision_parent.bpmn", bpmn.encode(), actor=people["admin"])
    before = _counts(engine)
    result = engine.trial_run("decision_parent", people["admin"],
                              steps=[_step(REGISTER, total_investment=3)])
    assert result.error is None
    assert [s.element_id for s in result.skipped] == ["call_child"]
    assert [t.element_id for t in result.ready] == ["after_child"]
    assert _counts(engine) == before


@pytest.mark.parametrize(("fixture", "expected"), [
    ("parallel_opinions", {"give_opinion": "UserTask", "parallel_opinions_requested": "StartEvent"}),
    ("call_middle", {"run_child": "CallActivity", "middle_finished": "EndEvent"}),
    ("repair_moves", {"compute_total": "ScriptTask", "review_timeout": "BoundaryEvent"}),
    ("call_beside_task", {"fork": "ParallelGateway", "join": "ParallelGateway"}),
], ids=["multi-instance", "call-activity", "boundary-timer", "parallel-join"])
def test_one_element_type_naming_for_trial_run_repair_and_incidents(fixture, expected):
    """The trial run and the repair tools name an element's type with the same function
    (``engine.specs.element_type``): kunflow's own spec classes and a multi-instance activity
    (the type of the activity it repeats) are named as the diagram names them."""
    from engine.definitions import parse
    from engine.queries import repair, trial
    from engine.specs import element_type

    assert trial.element_type is repair.element_type is element_type
    _, loaded = parse(f"{fixture}.bpmn", (FIXTURES / "bpmn" / f"{fixture}.bpmn").read_bytes(),
                      validate=False)
    named: dict[str, set] = {}
    for spec in loaded.spec.task_specs.values():
        if getattr(spec, "bpmn_id", None):
            named.setdefault(spec.bpmn_id, set()).add(element_type(spec))
    assert {eid: named[eid] for eid in expected} == {eid: {t} for eid, t in expected.items()}
