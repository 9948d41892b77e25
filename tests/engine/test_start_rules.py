"""Who may start a process by hand (start lanes ∪ ``start_departments``; administrators
always), which processes a user's "start a case" page lists, and the start form."""

from __future__ import annotations

import pytest

from engine import Engine, Forbidden, InvalidInput, InvalidModel
from tests.conftest import FIXTURES, actor
from tests.engine.test_department_kinds import STREETS

START_FORM = {"start_case.form": (FIXTURES / "forms" / "start_case.form").read_bytes()}
GOOD = {"project_name": "某新材料项目", "investment": 12.5, "industry": "material"}


def _bpmn(name: str) -> bytes:
    return (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes()


def _deploy(engine: Engine, name: str, bpmn: bytes | None = None, files=None):
    return engine.deploy(f"{name}.bpmn", bpmn or _bpmn(name), files,
                         actor=actor(engine, "admin")).definition


def test_start_departments_are_the_start_lane_the_property_and_the_kind(engine):
    info = _deploy(engine, "start_rules", files=START_FORM)
    assert info.warnings == ()
    assert info.manual_start is True and info.start_form_key == "start_case"
    # lane 区招商部门, 区发改委 by name, every 街镇 (kind:street: 13 街道, 2 镇), 区应急局 by code
    assert info.start_departments == tuple(sorted([*STREETS, "drc", "emergency", "invest"]))
    assert engine.get_definition("start_rules").start_departments == info.start_departments

    for who in ("invest-clerk", "drc-clerk", "kunbei-clerk", "buerhantu-head", "kunhe-clerk",
                "shaoxianlu-head", "emergency-clerk", "admin"):
        inst = engine.start("start_rules", actor(engine, who), data=GOOD)
        assert inst.status == "running"
    for who in ("eco-clerk", "supervision-clerk", "gov-office-clerk", "education-head",
                "leader"):
        with pytest.raises(Forbidden):
            engine.start("start_rules", actor(engine, who), data=GOOD)


def test_entries_that_name_nobody_warn_and_leave_only_administrators(engine):
    bpmn = (_bpmn("start_rules").decode()
            .replace("<bpmn:flowNodeRef>sr_started</bpmn:flowNodeRef>", "")
            .replace("区发改委，kind:street", "kind:nowhere")
            .replace('value="emergency"', 'value="区不存在局"').encode())
    info = _deploy(engine, "start_rules", bpmn, START_FORM)
    assert info.start_departments == ()
    messages = " ".join(w["message"] for w in info.warnings)
    assert "kind:nowhere" in messages and "区不存在局" in messages
    with pytest.raises(Forbidden):
        engine.start("start_rules", actor(engine, "invest-clerk"), data=GOOD)
    assert engine.start("start_rules", actor(engine, "admin"), data=GOOD).status == "running"


def test_a_diagram_that_names_nobody_may_be_started_by_anyone(engine):
    """The whistle-like case before start_departments: start event outside every lane."""
    bpmn = (_bpmn("start_rules").decode()
            .replace("<bpmn:flowNodeRef>sr_started</bpmn:flowNodeRef>", "")
            .replace('<spiffworkflow:property name="start_departments" value="区发改委，kind:street" />', "")
            .replace('<spiffworkflow:property name="start_departments" value="emergency" />', "")
            .encode())
    info = _deploy(engine, "start_rules", bpmn, START_FORM)
    assert info.start_departments is None
    assert engine.start("start_rules", actor(engine, "eco-clerk"), data=GOOD).status == "running"


def test_a_timer_started_process_is_not_started_by_hand(engine):
    info = _deploy(engine, "timer_start")
    assert info.manual_start is False and info.start_form_key is None
    assert info.start_departments == ("supervision",)
    with pytest.raises(Forbidden):
        engine.start("timer_start", actor(engine, "supervision-clerk"))
    # an administrator may still set one going (it then waits for its timer)
    assert engine.start("timer_start", actor(engine, "admin")).status == "running"


def test_startable_definitions_lists_the_newest_version_a_department_may_start(engine):
    _deploy(engine, "start_rules", files=START_FORM)
    _deploy(engine, "timer_start")
    renamed = _bpmn("start_rules").replace("测试：发起部门与发起表单".encode(),
                                           "测试：发起部门与发起表单（二）".encode())
    _deploy(engine, "start_rules", renamed, START_FORM)

    def keys(who):
        return {d.key: d.version for d in engine.startable_definitions(actor(engine, who))}

    # sample_review and sample_loop (deployed by the fixture) start in 区招商部门's lane
    assert keys("kunbei-clerk") == {"start_rules": 2}
    assert keys("invest-clerk") == {"start_rules": 2, "sample_review": 1, "sample_loop": 1}
    assert keys("eco-clerk") == {}
    assert keys("supervision-clerk") == {}  # timer_start: not by hand
    assert keys("admin") == {"start_rules": 2, "sample_review": 1, "sample_loop": 1}
    (listed,) = [d for d in engine.startable_definitions(actor(engine, "kunbei-clerk"))]
    assert listed.name == "测试：发起部门与发起表单（二）" and listed.start_form_key == "start_case"


def test_start_data_is_validated_against_the_start_form(engine):
    _deploy(engine, "start_rules", files=START_FORM)
    invest = actor(engine, "invest-clerk")
    with pytest.raises(InvalidInput) as refused:
        engine.start("start_rules", invest, data={"investment": "很多", "industry": "coal"})
    assert set(refused.value.details) == {"project_name", "investment", "industry"}
    assert "必填" in refused.value.details["project_name"]
    assert engine.list_instances(actor(engine, "admin"), process_key="start_rules").total == 0
    with pytest.raises(InvalidInput) as refused:
        engine.start("start_rules", invest)
    assert set(refused.value.details) == {"project_name", "investment"}

    inst = engine.start("start_rules", invest, business_key="XM-9", data=GOOD)
    (task,) = inst.tasks
    assert engine.get_task(task.id, invest).data["project_name"] == "某新材料项目"


def test_deploy_refuses_a_start_form_that_is_not_deployed_with_it(engine):
    with pytest.raises(InvalidModel) as refused:
        _deploy(engine, "start_rules")
    (error,) = refused.value.errors
    assert error["element_id"] == "sr_started" and "start_case.form" in error["message"]
    assert "start_rules" not in {d.key for d in engine.list_definitions()}
    _deploy(engine, "start_rules", files=START_FORM)  # with its form it deploys
