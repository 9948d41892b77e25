"""The model check a deploy runs first (``engine/modelcheck``): the kunflow rules with their
codes and Chinese messages, each problem naming the element; errors store nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine import Forbidden, InvalidModel
from engine.model import definition
from tests.conftest import BPMN, actor

FIXTURES = BPMN.parent / "tests" / "fixtures"
FORM = (FIXTURES / "forms" / "start_case.form").read_bytes()
DMN = (FIXTURES / "dmn" / "review_route.dmn").read_bytes()


def diagram(body: str, lanes: str = "", key: str = "checked", extra: str = "") -> bytes:
    """A small diagram: start -> ``body`` (whose first element is ``first``) -> end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">
  <bpmn:process id="{key}" name="检查" isExecutable="true">
    {lanes}
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {body}
    <bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="task_a" />
    <bpmn:sequenceFlow id="f2" sourceRef="task_a" targetRef="end_event" />
    {extra}
  </bpmn:process>
</bpmn:definitions>""".encode()


def user_task(task_id="task_a", name="审查", props: dict | None = None, inner="") -> str:
    entries = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />'
                      for k, v in (props or {}).items())
    ext = (f"<bpmn:extensionElements><spiffworkflow:properties>{entries}"
           f"</spiffworkflow:properties></bpmn:extensionElements>") if entries else ""
    return (f'<bpmn:userTask id="{task_id}" name="{name}">{ext}<bpmn:incoming>f1</bpmn:incoming>'
            f"<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>{inner}")


def lane(name: str, *refs: str) -> str:
    nodes = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
    return (f'<bpmn:laneSet id="lanes"><bpmn:lane id="lane_1" name="{name}">{nodes}'
            "</bpmn:lane></bpmn:laneSet>")


IN_DRC = lane("区发改委", "task_a")


def check(engine, bpmn: bytes, files=None):
    return engine.validate_model("checked.bpmn", bpmn, files or {}, actor=actor(engine, "admin"))


def rules(problems) -> list[tuple[str, str | None]]:
    return [(p.rule, p.element_id) for p in problems]


# ------------------------------------------------------------------ the shipped library


def test_every_shipped_diagram_passes_with_zero_errors(engine):
    from web.provision import library_files

    for path, extra in library_files(BPMN):
        report = check(engine, path.read_bytes(), extra)
        assert report.errors == (), (path.name, [p.to_dict() for p in report.errors])
        assert report.warnings == (), (path.name, [p.to_dict() for p in report.warnings])


# ------------------------------------------------------------------ departments


def test_user_task_outside_any_lane_is_an_error_and_deploy_stores_nothing(engine):
    bpmn = diagram(user_task())
    report = check(engine, bpmn)
    (p,) = report.errors
    assert p.rule == "kunflow/user-task-department"
    assert p.element_id == "task_a"
    assert p.element_type == "bpmn:UserTask"
    assert p.message == "用户任务“审查”不在对应部门的泳道中，也没有部门表达式"
    assert "泳道" in p.hint
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("checked.bpmn", bpmn, actor=actor(engine, "admin"))
    (detail,) = caught.value.details
    assert detail == {**p.to_dict()}
    assert {"element_id", "element_type", "rule", "message", "hint", "file", "line"} <= set(detail)
    assert "checked" not in {d.key for d in engine.list_definitions()}


@pytest.mark.parametrize("props", [
    {"department_expression": "'区发改委'"},
    {"department": "区发改委"},
    {"department": "drc"},
], ids=["expression", "department-name", "department-code"])
def test_a_department_property_or_expression_routes_the_task(engine, props):
    assert check(engine, diagram(user_task(props=props))).errors == ()


def test_candidate_role_or_assignee_alone_does_not_route(engine):
    bpmn = diagram(user_task(props={"candidate_role": "head", "assignee": "'drc-head'"}))
    assert rules(check(engine, bpmn).errors) == [("kunflow/user-task-department", "task_a")]


def test_lane_of_an_unknown_department_is_a_warning_stored_once(engine):
    bpmn = diagram(user_task(), lanes=lane("不存在的科室", "task_a"))
    report = check(engine, bpmn)
    assert report.errors == ()
    assert rules(report.warnings) == [("kunflow/user-task-department", "task_a")]
    result = engine.deploy("checked.bpmn", bpmn, actor=actor(engine, "admin"))
    assert [w["element_id"] for w in result.definition.warnings] == ["task_a"]
    assert result.definition.warnings[0]["rule"] == "kunflow/user-task-department"
    assert result.definition.warnings[0]["hint"]


def test_every_stored_warning_has_rule_and_hint_and_old_ones_read_in_the_same_shape(engine):
    starters = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
                'name="start_departments" value="kind:nowhere" /></spiffworkflow:properties>'
                "</bpmn:extensionElements>")
    bpmn = diagram(user_task(), lanes=starters + lane("不存在的科室", "task_a"))
    info = engine.deploy("checked.bpmn", bpmn, actor=actor(engine, "admin")).definition
    keys = {"element_id", "element_type", "rule", "message", "hint"}
    assert all(set(w) == keys for w in info.warnings), info.warnings
    assert {w["rule"] for w in info.warnings} == {"kunflow/user-task-department",
                                                  "kunflow/start-departments"}
    assert all(w["hint"] for w in info.warnings)
    # A version deployed before warnings carried rule and hint reads in the same shape.
    with engine.db.begin() as conn:
        meta = json.loads(conn.execute(sa.select(definition.c.meta_json)
                                       .where(definition.c.id == info.id)).scalar_one())
        meta["warnings"] = [{"element_id": "task_a", "message": "旧警告"}]
        conn.execute(definition.update().where(definition.c.id == info.id)
                     .values(meta_json=json.dumps(meta)))
    (old,) = engine.get_definition("checked", info.version).warnings
    assert old == {"element_id": "task_a", "element_type": None, "rule": None,
                   "message": "旧警告", "hint": ""}


def test_task_inside_a_subprocess_takes_the_lane_of_the_subprocess(engine):
    body = ('<bpmn:subProcess id="task_a" name="子流程"><bpmn:incoming>f1</bpmn:incoming>'
            '<bpmn:outgoing>f2</bpmn:outgoing>'
            '<bpmn:startEvent id="sub_start"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:userTask id="inner_task" name="内部"><bpmn:incoming>s1</bpmn:incoming>'
            '<bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:endEvent id="sub_end"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner_task" />'
            '<bpmn:sequenceFlow id="s2" sourceRef="inner_task" targetRef="sub_end" />'
            "</bpmn:subProcess>")
    assert check(engine, diagram(body, lanes=IN_DRC)).errors == ()
    assert rules(check(engine, diagram(body)).errors) == [
        ("kunflow/user-task-department", "inner_task")]


# ------------------------------------------------------------------ forms


def test_form_key_naming_no_deployed_form_is_a_warning(engine):
    """A warning, not an error: the engine runs the task with the plain data page, and
    diagrams are deployed with part of their forms on purpose."""
    bpmn = diagram(user_task(props={"form_key": "opinion"}), lanes=IN_DRC)
    report = check(engine, bpmn, {"forms/start_case.form": FORM})
    assert report.errors == ()
    (p,) = report.warnings
    assert (p.rule, p.element_id) == ("kunflow/user-task-form", "task_a")
    assert p.message == "用户任务“审查”的表单“opinion”不存在"
    assert "start_case" in p.hint
    ok = diagram(user_task(props={"form_key": "start_case"}), lanes=IN_DRC)
    assert check(engine, ok, {"forms/start_case.form": FORM}).warnings == ()


def test_user_task_without_form_is_a_warning_when_forms_are_deployed(engine):
    report = check(engine, diagram(user_task(), lanes=IN_DRC), {"start_case.form": FORM})
    assert report.errors == ()
    (p,) = report.warnings
    assert (p.rule, p.message) == ("kunflow/user-task-form", "用户任务“审查”没有表单")


def test_forms_are_not_checked_when_the_deploy_carries_none(engine):
    report = check(engine, diagram(user_task(props={"form_key": "opinion"}), lanes=IN_DRC))
    assert report.errors == () and report.warnings == ()


# ------------------------------------------------------------------ ids


def test_missing_duplicate_and_reserved_ids_are_errors(engine):
    body = (user_task() + '<bpmn:task name="无标识" />'
            '<bpmn:intermediateThrowEvent id="task_a" name="重复" />'
            '<bpmn:intermediateThrowEvent id="Start" name="保留" />')
    report = check(engine, diagram(body, lanes=IN_DRC))
    messages = {p.message for p in report.errors if p.rule == "kunflow/explicit-ids"}
    assert messages == {"元素“无标识”缺少标识", "标识“task_a”重复",
                        "标识“Start”是保留字，请改用其他标识"}


def test_generated_id_on_a_user_task_is_a_warning(engine):
    body = user_task(task_id="Activity_0x1y2z3").replace("task_a", "Activity_0x1y2z3")
    bpmn = diagram(body, lanes=lane("区发改委", "Activity_0x1y2z3")).replace(
        b'targetRef="task_a"', b'targetRef="Activity_0x1y2z3"').replace(
        b'sourceRef="task_a"', b'sourceRef="Activity_0x1y2z3"')
    report = check(engine, bpmn)
    assert report.errors == ()
    assert rules(report.warnings) == [("kunflow/explicit-ids", "Activity_0x1y2z3")]


def test_extension_ids_may_repeat_an_element_id(engine):
    """``spiffworkflow:parameter id=`` is not an element id (the shipped diagrams do this)."""
    props = ('<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="task_a">'
             "<spiffworkflow:parameters /></spiffworkflow:serviceTaskOperator>"
             "</bpmn:extensionElements>")
    body = user_task().replace("<bpmn:incoming>", props + "<bpmn:incoming>", 1)
    assert "kunflow/explicit-ids" not in {
        p.rule for p in check(engine, diagram(body, lanes=IN_DRC)).errors}


# ------------------------------------------------------------------ timers


def _timer(expression: str, kind: str = "timeDuration") -> bytes:
    boundary = ('<bpmn:boundaryEvent id="overdue" name="超期" attachedToRef="task_a">'
                '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:timerEventDefinition id="overdue_def">'
                f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{expression}</bpmn:{kind}>'
                "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
                '<bpmn:endEvent id="late_end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
                '<bpmn:sequenceFlow id="f3" sourceRef="overdue" targetRef="late_end" />')
    return diagram(user_task(), lanes=IN_DRC, extra=boundary)


@pytest.mark.parametrize(("expression", "kind"), [
    ('"P30D"', "timeDuration"), ('"PT2H"', "timeDuration"), ("limit_days", "timeDuration"),
    ('"R3/PT1H"', "timeCycle"), ('"2027-01-05T09:00:00+08:00"', "timeDate"),
    ("due_in_working_days(5)", "timeDate"),
])
def test_timers_that_parse(engine, expression, kind):
    assert check(engine, _timer(expression, kind)).errors == ()


@pytest.mark.parametrize(("expression", "kind", "hint_word"), [
    ("P30D", "timeDuration", '"P30D"'),
    ('"P3X"', "timeDuration", "ISO 8601"),
    ('"tomorrow"', "timeDate", "ISO 8601"),
    ("limit_days +", "timeDuration", "语法"),
    ("__import__('os')", "timeDuration", "安全"),
    ("", "timeDuration", "填写"),
])
def test_timers_that_do_not_parse_name_the_event(engine, expression, kind, hint_word):
    errors = [p for p in check(engine, _timer(expression, kind)).errors
              if p.rule == "kunflow/timer-parses"]
    (p,) = errors
    assert p.element_id == "overdue"
    assert p.element_type == "bpmn:BoundaryEvent"
    assert p.message == f"定时器“超期”的时间“{expression}”无法解析"
    assert hint_word in p.hint


# ------------------------------------------------------------------ DMN


def _rule_task(decision: str) -> bytes:
    body = (f'<bpmn:businessRuleTask id="task_a" name="确定路径"><bpmn:extensionElements>'
            f"<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>"
            "</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming>"
            "<bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>")
    return diagram(body)


def test_called_decision_must_exist_in_the_dmn_files(engine):
    (p,) = check(engine, _rule_task("no_such_table"), {"review_route.dmn": DMN}).errors
    assert (p.rule, p.element_id) == ("kunflow/dmn-reference", "task_a")
    assert p.message == "业务规则任务“确定路径”引用的决策表“no_such_table”不存在"
    assert "review_route" in p.hint
    assert check(engine, _rule_task("review_route"), {"review_route.dmn": DMN}).errors == ()


# ------------------------------------------------------------------ the operation


def test_only_admins_validate(engine):
    with pytest.raises(Forbidden):
        engine.validate_model("x.bpmn", diagram(user_task()), {},
                              actor=actor(engine, "invest-clerk"))


@pytest.mark.parametrize("content", [b"", b"<not-closed", b"\xff\xfe\x00garbage",
                                     b'<?xml version="1.0"?><html/>'])
def test_what_is_not_bpmn_xml_is_an_invalid_model(engine, content):
    with pytest.raises(InvalidModel) as caught:
        check(engine, content)
    assert caught.value.message
    assert caught.value.details and caught.value.details[0]["message"]


def test_parser_errors_join_the_rule_problems(engine):
    """What only SpiffWorkflow's parse finds (a dangling flow) comes with the rule problems."""
    bpmn = diagram(user_task()).replace(b'targetRef="end_event"', b'targetRef="nowhere"')
    found = rules(check(engine, bpmn).errors)
    assert ("kunflow/user-task-department", "task_a") in found
    assert ("kunflow/parse", "f2") in found


def test_a_role_lane_routed_by_a_department_expression_deploys_without_warnings(engine):
    """A lane named for a role (属地街镇, 责任单位) whose task names its department at run time
    (``department_expression``): neither the model check nor the deploy warns."""
    bpmn = diagram(user_task(props={"department_expression": "town"}),
                   lanes=lane("属地街镇", "task_a"))
    assert check(engine, bpmn).warnings == ()
    result = engine.deploy("checked.bpmn", bpmn, actor=actor(engine, "admin"))
    assert result.definition.warnings == ()
    plain = diagram(user_task(), lanes=lane("属地街镇", "task_a"), key="plain")
    warned = engine.deploy("plain.bpmn", plain, actor=actor(engine, "admin"))
    assert [w["rule"] for w in warned.definition.warnings] == ["kunflow/user-task-department"]
