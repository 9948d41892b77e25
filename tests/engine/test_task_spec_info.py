"""A task's diagram properties are interpreted once, when the diagram is parsed, into its
typed info (``TaskSpecInfo``); a definition stored before those fields existed gets them from
its raw properties, by the same rule."""

from __future__ import annotations

import json

from engine.definitions import ParsedDefinition, TaskSpecInfo, parse
from tests.conftest import FIXTURES


def test_properties_become_typed_fields():
    info = TaskSpecInfo.of("review", "审查", "区发改委", {
        "pausable": "Yes", "send_back_targets": " submit ，check, ", "due_hours": "4.5",
        "candidate_role": "head", "form_key": "review", "stage": "审查", "phase": "办得好",
        "department_expression": "dept", "assignee": "who", "due_expression": "3"})
    assert info.pausable is True and info.send_back_targets == ("submit", "check")
    assert info.due_hours == 4.5 and info.due_expression == "3"
    assert (info.candidate_role, info.form_key, info.stage, info.phase) == (
        "head", "review", "审查", "办得好")
    assert (info.department_expression, info.assignee) == ("dept", "who")
    plain = TaskSpecInfo.of("x", None, None, {"pausable": "on", "due_hours": "soon"})
    assert plain.pausable is False and plain.due_hours is None and plain.send_back_targets == ()


def test_stored_task_infos_read_back_and_old_ones_are_derived():
    path = FIXTURES / "bpmn" / "review_chain.bpmn"
    parsed, _ = parse(path.name, path.read_bytes())
    assert parsed.send_back == {"review_application": ("submit_application",)}
    meta = json.loads(json.dumps(parsed.to_meta()))
    assert ParsedDefinition.from_meta(meta).tasks == parsed.tasks
    for task in meta["tasks"].values():  # as definitions deployed before the typed fields
        for key in list(task):
            if key not in ("name", "lane", "properties"):
                del task[key]
    assert ParsedDefinition.from_meta(meta).tasks == parsed.tasks
