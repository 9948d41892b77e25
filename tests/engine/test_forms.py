"""Submitted data is validated against the task's form-js schema (422 naming the field)."""

from __future__ import annotations

import json

import pytest

from engine import InvalidInput, InvalidModel
from engine.forms import FieldLabel, field_labels, validate
from tests.conftest import BPMN, actor

FORM = {
    "type": "default",
    "id": "register_project",
    "schemaVersion": 16,
    "components": [
        {"type": "textfield", "key": "project_name", "label": "项目名称",
         "validate": {"required": True, "maxLength": 50}},
        {"type": "number", "key": "investment", "label": "总投资（亿元）",
         "validate": {"required": True, "min": 0}},
        {"type": "select", "key": "industry", "label": "行业",
         "values": [{"label": "新材料", "value": "material"},
                    {"label": "装备制造", "value": "equipment"}]},
        {"type": "textfield", "key": "contact_phone", "label": "联系电话",
         "validate": {"pattern": r"1\d{10}"}},
        {"type": "group", "label": "证明材料", "components": [
            {"type": "filepicker", "key": "evidence", "label": "附件",
             "validate": {"required": True}}]},
        {"type": "datetime", "subtype": "date", "key": "signed_on", "label": "签约日期"},
    ],
}


def test_validate_names_each_problem():
    errors = validate(FORM, {"investment": "很多", "industry": "coal",
                             "contact_phone": "12345", "signed_on": "2026-13-40"})
    assert set(errors) == {"project_name", "investment", "industry", "contact_phone",
                           "evidence", "signed_on"}
    assert "必填" in errors["project_name"]
    good = {"project_name": "某新材料项目", "investment": 12.5, "industry": "material",
            "contact_phone": "13800000000", "evidence": ["a1b2"], "signed_on": "2026-09-18"}
    assert validate(FORM, good) == {}
    # a required field already in the task's data need not be sent again
    assert validate(FORM, {"investment": 3}, current=good) == {}
    assert validate(FORM, {"investment": True}, current=good) == {"investment": "“总投资（亿元）”须为数字"}


def test_field_labels_name_options_and_the_columns_of_a_list_of_rows():
    schema = {"components": [
        *FORM["components"],
        {"type": "dynamiclist", "label": "督查台账", "path": "ledger", "components": [
            {"type": "textfield", "key": "row_id", "label": "台账编号"},
            {"type": "select", "key": "unit", "label": "责任单位",
             "values": [{"label": "区发改委", "value": "drc"}, {"value": 7}]}]},
        {"type": "group", "label": "联系人", "path": "contact", "components": [
            {"type": "textfield", "key": "name", "label": "姓名"}]},
        {"type": "text", "text": "说明"}, "not a component",
    ]}
    labels = field_labels(schema)
    assert labels["industry"] == FieldLabel("行业", {"material": "新材料", "equipment": "装备制造"})
    assert labels["evidence"] == FieldLabel("附件", files=True)  # inside a group without path
    ledger = labels["ledger"]
    assert ledger.label == "督查台账" and set(ledger.nested) == {"row_id", "unit"}
    assert ledger.nested["unit"].options == {"drc": "区发改委", "7": "7"}
    assert "row_id" not in labels and "unit" not in labels  # keys of the rows, not the task's
    assert labels["contact"].nested["name"].label == "姓名"
    assert field_labels({"components": "broken"}) == {} and field_labels([]) == {}


def test_engine_refuses_bad_submission_and_keeps_the_task(engine):
    admin, invest = actor(engine, "admin"), actor(engine, "invest-clerk")
    bpmn = (BPMN / "sample_review.bpmn").read_bytes().replace(
        "示例：项目联合预审".encode(), "示例：项目联合预审（表单）".encode())
    engine.deploy("sample_review.bpmn", bpmn,
                  {"register_project.form": json.dumps(FORM).encode()}, actor=admin)
    inst = engine.start("sample_review", invest)
    task = inst.tasks[0]
    with pytest.raises(InvalidInput) as caught:
        engine.complete(task.id, invest, {"project_name": "某项目", "investment": "x"})
    assert set(caught.value.details) == {"investment", "evidence"}
    assert engine.get_task(task.id, invest).state == "ready"
    engine.complete(task.id, invest, {"project_name": "某项目", "investment": 3,
                                      "evidence": ["f1"]})
    assert engine.get_task(task.id, invest).state == "completed"


def test_broken_form_file_is_refused_at_deploy(engine):
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("sample_review.bpmn", (BPMN / "sample_review.bpmn").read_bytes(),
                      {"register_project.form": b"{not json"}, actor=actor(engine, "admin"))
    assert caught.value.errors[0]["file"] == "register_project.form"
