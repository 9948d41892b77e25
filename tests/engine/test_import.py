"""Import of diagrams written by other modelers (``tests/fixtures/import``: Camunda Modeler 7,
Camunda 8 / Zeebe, Signavio, bpmn.io, SpiffArena styles), translated into kunflow's dialect."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from engine import Forbidden, InvalidModel
from engine.modelcheck.expressions import Untranslatable, translate
from tests.conftest import BPMN, actor
from tests.engine.boundary_support import T0, head, open_tasks

IMPORT = BPMN.parent / "tests" / "fixtures" / "import"


def raw(stem: str) -> bytes:
    return (IMPORT / f"{stem}.bpmn").read_bytes()


def imported(engine, stem: str):
    return engine.import_model(f"{stem}.bpmn", raw(stem), actor=actor(engine, "admin"))


def by_kind(report) -> dict[tuple[str | None, str], tuple[str, str]]:
    return {(t.element_id, t.kind): (t.original, t.translated) for t in report.translations}


# ------------------------------------------------------------------ expressions


@pytest.mark.parametrize(("source", "python"), [
    ("${approved}", "approved"),
    ("${amount > 1000 && region == 'north'}", "amount > 1000 and region == 'north'"),
    ("${!approved || late}", "not approved or late"),
    ("${a gt 1 and b le 2 or not c}", "a > 1 and b <= 2 or not c"),
    ("${x eq 'y' && z ne 3 && p lt 1 && q ge 0}", "x == 'y' and z != 3 and p < 1 and q >= 0"),
    ("${(a || b) && c}", "(a or b) and c"),
    ("${a - (b - c)}", "a - (b - c)"),
    ("${empty remarks}", "(remarks is None or remarks == '' or remarks == [] or remarks == {})"),
    ("${order.amount >= 10}", "order['amount'] >= 10"),
    ("${vip ? 1 : 2}", "1 if vip else 2"),
    ("#{level == \"high\"}", "level == 'high'"),
    ("= amount > 1000", "amount > 1000"),
    ("= region = \"north\" and not(closed)", "region == 'north' and not (closed)"),
    ("= score >= 60 or vip = true", "score >= 60 or vip == True"),
])
def test_juel_and_feel_translate_into_the_engines_expressions(source, python):
    assert translate(source) == python


@pytest.mark.parametrize(("source", "reason"), [
    ("${order.items.contains('x')}", "方法调用"),
    ("${execution.getVariable('x')}", "方法调用"),
    ("= x in [1, 2]", "in"),
    ("${a = 1}", "赋值"),
    ("${_secret}", "下划线"),
    ("${a &&}", "不完整"),
    ("${x} and ${y}", "多段"),
    ("= a && b", "FEEL"),
    ("${a # b}", "无法识别"),
])
def test_what_cannot_be_translated_says_why(source, reason):
    with pytest.raises(Untranslatable) as caught:
        translate(source)
    assert reason in str(caught.value)


# ------------------------------------------------------------------ Camunda 7: deploys and runs


def test_camunda7_diagram_is_translated_item_by_item(engine):
    report = imported(engine, "camunda7_permit")
    assert (report.key, report.executable) == ("permit_check", True)
    assert report.problems == ()
    kinds = by_kind(report)
    assert kinds[("review_overdue", "timer")] == ("PT2H", '"PT2H"')
    assert kinds[("Flow_large_north", "condition")] == (
        "${amount > 1000 && region == 'north'}", "amount > 1000 and region == 'north'")
    assert kinds[("Flow_other", "condition")][1] == "not (amount > 1000 and region == 'north')"
    assert kinds[("review_application", "candidate_group")] == ("区发改委", "department = 区发改委")
    assert kinds[("review_application", "form_key")] == (
        "camunda-forms:deployment:review_application.form", "review_application")
    assert kinds[("leader_sign", "assignee")] == ("drc-head", "'drc-head'")
    assert "camunda:candidateGroups" not in report.bpmn_xml
    assert "${" not in report.bpmn_xml


def test_camunda7_diagram_as_is_is_refused_per_element(engine):
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("camunda7_permit.bpmn", raw("camunda7_permit"), actor=actor(engine, "admin"))
    details = caught.value.details
    named = {(d["rule"], d["element_id"]) for d in details}
    assert ("kunflow/timer-parses", "review_overdue") in named
    assert ("import/foreign", "Flow_large_north") in named
    assert ("import/foreign", "review_application") in named
    assert all(d["message"] and d["hint"] for d in details)
    assert "permit_check" not in {d.key for d in engine.list_definitions()}


def test_camunda7_diagram_deploys_after_translation_and_runs_both_ways(engine):
    admin = actor(engine, "admin")
    report = imported(engine, "camunda7_permit")
    result = engine.deploy("permit_check.bpmn", report.bpmn_xml.encode(), actor=admin)
    assert result.created and result.definition.warnings == ()
    clerk, head_of_drc = actor(engine, "drc-clerk"), actor(engine, "drc-head")
    with time_machine.travel(T0, tick=False) as clock:
        big = engine.start("permit_check", clerk, data={"amount": 2000, "region": "north"}).id
        small = engine.start("permit_check", clerk, data={"amount": 500, "region": "north"}).id
        review = open_tasks(engine, big)["review_application"]
        assert review.department_code == "drc"
        # The bare PT2H became "PT2H": the boundary timer is due two hours after the start.
        assert head(engine, big).next_due_at == T0 + timedelta(hours=2)

        engine.complete(review.id, clerk, {})
        (sign,) = open_tasks(engine, big).values()
        assert (sign.element_id, sign.assignee) == ("leader_sign", "drc-head")
        engine.complete(sign.id, head_of_drc, {})
        assert engine.get_instance(big, admin).status == "completed"

        engine.complete(open_tasks(engine, small)["review_application"].id, clerk, {})
        assert set(open_tasks(engine, small)) == {"file_permit"}

        late = engine.start("permit_check", clerk, data={"amount": 1, "region": "south"}).id
        clock.shift(timedelta(hours=3))
        assert engine.fire_due_timers() == 1
        assert engine.get_instance(late, admin).status == "completed"
        assert open_tasks(engine, late) == {}


# ------------------------------------------------------------------ the other modelers


def test_zeebe_settings_map_to_kunflow_properties(engine):
    report = imported(engine, "zeebe_referral")
    kinds = by_kind(report)
    assert kinds[("Event_0remind", "timer")] == ('=duration("P7D")', '"P7D"')
    assert kinds[("Flow_1q6r7s8", "condition")][1] == "score >= 60 and not (reopened)"
    assert kinds[("Activity_1handle", "candidate_group")][1] == "department = 区应急局"
    assert kinds[("Activity_1handle", "assignee")] == ("= route.owner", "route['owner']")
    assert kinds[("Activity_1handle", "form_key")][1] == "handle_referral"
    assert kinds[("Activity_1handle", "due")][1] == 'due_expression = "2027-01-10T17:00:00+08:00"'
    assert kinds[("Activity_0route1", "decision")][1] == "calledDecisionId = referral_route"
    assert kinds[("StartEvent_1", "form_key")][1] == "referral_intake"
    (p,) = report.problems
    assert (p.rule, p.element_id, p.element_type) == (
        "import/unsupported", "Activity_0mail1", "bpmn:ServiceTask")
    assert "send-mail" in p.message and p.hint
    assert "zeebe:assignmentDefinition" not in report.bpmn_xml
    assert "<spiffworkflow:calledDecisionId>referral_route<" in report.bpmn_xml


def test_signavio_diagram_with_unsupported_elements_gets_a_chinese_report(engine):
    report = imported(engine, "signavio_complaint")
    assert report.executable is False
    assert report.name == "投诉处理"
    found = {(p.rule, p.element_type): p for p in report.problems}
    assert found[("import/unsupported", "bpmn:ComplexGateway")].message == \
        "复杂网关“按情形分派”无法在引擎中运行"
    assert found[("import/unsupported", "bpmn:DataStoreReference")].element_id == \
        "sid-3D2C1B0A-9F8E-4D7C-6B5A-4F3E2D1C0B9A"
    assert "contains" in found[("import/expression", "bpmn:SequenceFlow")].message
    assert "isExecutable" in found[("import/not-executable", "bpmn:Process")].message
    assert all(p.hint for p in report.problems)
    # Still translated and returned: it can be saved as a draft and edited.
    assert by_kind(report)[("sid-F1000000-0000-4000-8000-000000000003", "condition")] == (
        "${needsVisit}", "needsVisit")
    assert report.bpmn_xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    # Deployed as is: the same elements are refused, one detail each.
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("complaint.bpmn", raw("signavio_complaint"), actor=actor(engine, "admin"))
    refused = {d["element_id"] for d in caught.value.details}
    assert {"sid-C3D4E5F6-A7B8-4901-C2D3-E4F5A6B7C8D9",
            "sid-3D2C1B0A-9F8E-4D7C-6B5A-4F3E2D1C0B9A"} <= refused


def test_bpmnio_diagram_bare_timers_are_quoted(engine):
    report = imported(engine, "bpmnio_inspection")
    kinds = by_kind(report)
    assert kinds[("StartEvent_1", "timer")] == ("R3/PT1H", '"R3/PT1H"')
    assert kinds[("Event_0wait9a", "timer")] == (
        "2027-01-05T09:00:00+08:00", '"2027-01-05T09:00:00+08:00"')
    assert [p.rule for p in report.problems] == ["import/not-executable"]
    assert report.executable is False


def test_spiffarena_form_schema_becomes_the_form_key(engine):
    report = imported(engine, "spiffarena_intake")
    assert by_kind(report) == {("Activity_0reg5x1", "form_key"): ("visitor-schema.json", "visitor")}
    assert report.problems == ()
    assert engine.validate_model("intake.bpmn", report.bpmn_xml.encode(),
                                 actor=actor(engine, "admin")).errors == ()


def test_unknown_or_several_candidate_groups_are_problems(engine):
    xml = raw("camunda7_permit").replace(
        b'camunda:candidateGroups="\xe5\x8c\xba\xe5\x8f\x91\xe6\x94\xb9\xe5\xa7\x94" '
        b'camunda:assignee', b'camunda:candidateGroups="sales,managers" camunda:assignee').replace(
        b'id="file_permit" name="\xe5\xbd\x92\xe6\xa1\xa3" camunda:candidateGroups="'
        b'\xe5\x8c\xba\xe5\x8f\x91\xe6\x94\xb9\xe5\xa7\x94"',
        b'id="file_permit" name="\xe5\xbd\x92\xe6\xa1\xa3" camunda:candidateGroups="archive"')
    report = engine.import_model("x.bpmn", xml, actor=actor(engine, "admin"))
    messages = {p.element_id: p.message for p in report.problems if p.rule == "import/mapping"}
    assert messages["leader_sign"] == "用户任务“领导签批”有多个候选组“sales,managers”"
    assert messages["file_permit"] == "用户任务“归档”的候选组“archive”不是组织机构中的部门"


# ------------------------------------------------------------------ uploads that are not diagrams


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&lol3;
</bpmn:definitions>"""


@pytest.mark.parametrize("content", [
    b"", b"   \n", b"PK\x03\x04 a zip file", b"\xff\xfe<\x00b\x00\xff", BOMB,
    b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    b"<a>" * 100 + b"x" * (6 * 1024 * 1024),
], ids=["empty", "blank", "zip", "not-utf8", "xml-bomb", "truncated", "svg", "huge"])
def test_what_is_not_a_diagram_is_an_invalid_model_never_a_crash(engine, content):
    with pytest.raises(InvalidModel) as caught:
        engine.import_model("upload.bpmn", content, actor=actor(engine, "admin"))
    assert caught.value.message.startswith("upload.bpmn")
    (detail,) = caught.value.details
    assert detail["message"] and detail["hint"]


def test_a_diagram_in_another_declared_encoding_comes_back_as_utf8(engine):
    xml = raw("bpmnio_inspection").decode("utf-8").replace('encoding="UTF-8"', 'encoding="GB18030"')
    report = engine.import_model("gbk.bpmn", xml.encode("gb18030"), actor=actor(engine, "admin"))
    assert report.name == "工地巡查"
    assert 'encoding="UTF-8"' in report.bpmn_xml


def test_only_admins_import(engine):
    with pytest.raises(Forbidden):
        engine.import_model("x.bpmn", raw("bpmnio_inspection"), actor=actor(engine, "drc-clerk"))
