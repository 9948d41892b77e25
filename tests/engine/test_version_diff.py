"""Comparing two versions of a process (or a version and the draft): diagram elements with
their property changes, decision table rules, form fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import InvalidInput, NotFound

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "versions"
FORM = "my_process_handle.form"

REVIEW_TASK = """
    <bpmn:userTask id="review" name="复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form_key" value="my_process_handle" />
          <spiffworkflow:property name="due_working_days" value="3" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_handle_to_end</bpmn:incoming>
      <bpmn:outgoing>flow_review_to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_review_to_end" sourceRef="review" targetRef="end_event" />
"""


def _dmn(version: int) -> str:
    return (FIXTURES / f"limits_v{version}.dmn").read_text("utf-8")


@pytest.fixture
def versions(engine, people):
    """``my_process`` version 1 (blank template plus a decision table) deployed, and a draft
    that adds a review task, gives the handling task 10 working days instead of 5, changes a
    rule of the table and adds one, adds a form field and shortens another."""
    admin = people["admin"]
    draft = engine.new_process_draft("my_process", "我的流程", admin)
    v1_files = {**draft.files, "limits.dmn": _dmn(1)}
    engine.save_process_draft("my_process", admin, draft.bpmn_xml, v1_files)
    engine.deploy_process_draft("my_process", admin, "第一版")

    xml = (draft.bpmn_xml
           .replace('name="due_working_days" value="5"', 'name="due_working_days" value="10"')
           .replace('<bpmn:flowNodeRef>end_event</bpmn:flowNodeRef>',
                    '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n'
                    '        <bpmn:flowNodeRef>end_event</bpmn:flowNodeRef>')
           .replace('<bpmn:incoming>flow_handle_to_end</bpmn:incoming>\n    </bpmn:endEvent>',
                    '<bpmn:incoming>flow_review_to_end</bpmn:incoming>\n    </bpmn:endEvent>')
           .replace('sourceRef="handle" targetRef="end_event"', 'sourceRef="handle" targetRef="review"')
           .replace("  </bpmn:process>", REVIEW_TASK + "  </bpmn:process>"))
    form = json.loads(draft.files[FORM])
    form["components"][0]["validate"]["maxLength"] = 500
    form["components"].append({"type": "select", "key": "urgency", "label": "紧急程度",
                               "values": [{"label": "紧急", "value": "urgent"}],
                               "validate": {"required": True}})
    files = {FORM: json.dumps(form, ensure_ascii=False), "limits.dmn": _dmn(2)}
    engine.save_process_draft("my_process", admin, xml, files)
    return admin


def _by_id(items, attr):
    return {getattr(i, attr): i for i in items}


def _props(change):
    return {p.property: (p.before, p.after) for p in change.properties}


def test_an_added_task_and_a_changed_due_time_appear(engine, versions):
    diff = engine.diff_versions("my_process", 1, "draft", versions)
    elements = _by_id(diff.elements, "element_id")

    review = elements["review"]
    assert (review.change, review.element_type, review.name) == ("added", "userTask", "复核")
    assert _props(review)["due_working_days"] == (None, "3")
    assert _props(review)["lane"] == (None, "区政数局")

    handle = elements["handle"]
    assert handle.change == "changed"
    assert _props(handle) == {"due_working_days": ("5", "10")}
    labels = {p.property: p.label for p in handle.properties}
    assert labels["due_working_days"] == "办理时限（工作日）"

    assert _props(elements["flow_handle_to_end"])["target_ref"] == ("end_event", "review")
    assert elements["flow_review_to_end"].change == "added"
    assert "start_event" not in elements and "lane_main" not in elements


def test_a_decision_rule_change_and_a_form_field_change_appear(engine, versions):
    diff = engine.diff_versions("my_process", 1, "draft", versions)

    (table,) = diff.decisions
    assert (table.decision_id, table.file, table.change) == ("handle_limits", "limits.dmn",
                                                             "changed")
    rules = _by_id(table.rules, "rule_id")
    assert set(rules) == {"rule_urgent", "rule_hard"}
    urgent = rules["rule_urgent"]
    assert urgent.change == "changed"
    assert _props(urgent) == {"outputs:办理时限（工作日）": ("1", "2")}
    assert urgent.before["inputs"] == {"紧急程度": '"urgent"'}
    hard = rules["rule_hard"]
    assert hard.change == "added" and hard.after["outputs"] == {"办理时限（工作日）": "10"}

    (form,) = diff.forms
    assert (form.file, form.change) == (FORM, "changed")
    fields = _by_id(form.fields, "key")
    assert fields["urgency"].change == "added" and fields["urgency"].label == "紧急程度"
    assert _props(fields["opinion"]) == {"validate.maxLength": ("2000", "500")}
    assert fields["opinion"].properties[0].label == "最长"


def test_the_deployed_version_compares_like_its_draft(engine, versions):
    before = engine.diff_versions("my_process", 1, "draft", versions)
    engine.deploy_process_draft("my_process", versions, "第二版")
    after = engine.diff_versions("my_process", 1, 2, versions)
    assert (after.elements, after.decisions, after.forms) == (
        before.elements, before.decisions, before.forms)
    assert (after.a, after.b) == ("1", "2")
    assert engine.diff_versions("my_process", "2", 2, versions).empty


def test_a_broken_draft_still_compares(engine, people):
    admin = people["admin"]
    xml = engine.get_definition_xml("sample_review")
    engine.save_process_draft("sample_review", admin,
                              xml.replace('targetRef="opinion_drc"', 'targetRef="nowhere"'))
    diff = engine.diff_versions("sample_review", 1, "draft", admin)
    assert {e.element_id: _props(e) for e in diff.elements} == {
        "flow_split_to_drc": {"target_ref": ("opinion_drc", "nowhere")}}


def test_unknown_versions_are_refused(engine, people):
    admin = people["admin"]
    with pytest.raises(NotFound):
        engine.diff_versions("sample_review", 1, 9, admin)
    with pytest.raises(NotFound):
        engine.diff_versions("sample_review", 1, "draft", admin)
    with pytest.raises(InvalidInput):
        engine.diff_versions("sample_review", "one", 1, admin)


def test_timers_conditions_lanes_roles_and_decision_references_are_compared():
    """The diff itself (no database): a boundary timer's duration, a flow's condition, the lane
    a task moved to, a candidate role and the decision a business rule task calls."""
    from engine.versiondiff import element_changes

    before = (FIXTURES / "route_v1.bpmn").read_text("utf-8")
    after = (FIXTURES / "route_v2.bpmn").read_text("utf-8")
    changes = {c.element_id: c for c in element_changes(before, after)}
    assert set(changes) == {"site_overdue", "f_big", "check_site", "handle", "decide_limits"}
    assert _props(changes["site_overdue"]) == {
        "timer": ('timeDuration="P5D"', 'timeDuration="P3D"')}
    assert _props(changes["f_big"]) == {"condition": ("amount > 1000", "amount > 5000")}
    assert _props(changes["check_site"]) == {"lane": ("区生态环境分局", "区发改委")}
    assert _props(changes["handle"]) == {"candidate_role": ("head", "caseworker")}
    decision = changes["decide_limits"].properties[0]
    assert (decision.label, decision.before, decision.after) == (
        "决策表（calledDecisionId）", "handle_limits", "handle_limits_v2")
    assert {p.label for c in changes.values() for p in c.properties} == {
        "定时器", "条件", "泳道（部门）", "候选角色", "决策表（calledDecisionId）"}


def test_a_changed_source_mark_reads_as_its_own_property_not_a_flow_end():
    from engine.versiondiff import bpmn_elements, label

    def xml(mark):
        return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
          xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core">
          <bpmn:process id="p"><bpmn:userTask id="t"><bpmn:extensionElements>
          <spiffworkflow:properties><spiffworkflow:property name="source" value="{mark}" />
          </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
          <bpmn:sequenceFlow id="f" sourceRef="t" targetRef="t" /></bpmn:process>
          </bpmn:definitions>"""

    before, after = bpmn_elements(xml("local: 5 个工作日")), bpmn_elements(xml("statute: 《某法》第一条"))
    assert (before["t"]["source"], after["t"]["source"]) == ("local: 5 个工作日", "statute: 《某法》第一条")
    assert before["f"]["source_ref"] == "t"
    assert (label("source"), label("source_ref"), label("target_ref")) == ("来源", "起点", "终点")
