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
    assert validate(FORM, {**good, "investment": True}) == {"investment": "“总投资（亿元）”须为数字"}


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


# ---------------------------------------------------------------- rows of dynamic lists

OWNERS = [{"label": "区应急局", "value": "emergency"}, {"label": "区住建局", "value": "housing"}]
RECTIFICATION = {
    "type": "default",
    "id": "rectification_report",
    "schemaVersion": 16,
    "components": [
        {"type": "textfield", "key": "report_title", "label": "报告标题",
         "validate": {"required": True}},
        {"type": "dynamiclist", "label": "隐患清单", "path": "hazards", "isRepeating": True,
         "allowAddRemove": True, "defaultRepetitions": 1, "components": [
             {"type": "textfield", "key": "hazard", "label": "隐患描述",
              "validate": {"required": True, "maxLength": 20}},
             {"type": "number", "key": "fine", "label": "罚款（万元）", "validate": {"min": 0}},
             {"type": "datetime", "subtype": "date", "key": "due_on", "label": "整改时限"},
             {"type": "select", "key": "level", "label": "隐患等级",
              "values": [{"label": "重大", "value": "major"}, {"label": "一般", "value": "minor"}]},
             {"type": "checkbox", "key": "closed", "label": "已销号"},
             {"type": "dynamiclist", "label": "整改措施", "path": "measures", "isRepeating": True,
              "components": [
                  {"type": "textarea", "key": "measure", "label": "措施",
                   "validate": {"required": True}},
                  {"type": "radio", "key": "owner", "label": "责任单位", "values": OWNERS},
              ]},
         ]},
        {"type": "group", "label": "联系人", "path": "contact", "components": [
            {"type": "textfield", "key": "name", "label": "姓名", "validate": {"required": True}},
            {"type": "textfield", "key": "phone", "label": "电话",
             "validate": {"pattern": r"1\d{10}"}},
        ]},
    ],
}
GOOD_HAZARD = {"hazard": "消防通道堵塞", "fine": 2, "due_on": "2026-10-09", "level": "major",
               "closed": False, "measures": [{"measure": "清理通道", "owner": "emergency"}]}
GOOD_REPORT = {"report_title": "整改报告", "hazards": [GOOD_HAZARD],
               "contact": {"name": "王工", "phone": "13800000000"}}


def test_each_row_of_a_dynamic_list_is_validated_naming_the_row_and_the_field():
    assert validate(RECTIFICATION, GOOD_REPORT) == {}
    bad_rows = [
        GOOD_HAZARD,
        {**GOOD_HAZARD, "hazard": ""},
        {**GOOD_HAZARD, "fine": "两万"},
        {**GOOD_HAZARD, "fine": -1, "due_on": "2026-02-30"},
        {**GOOD_HAZARD, "level": "critical", "closed": "yes"},
        {**GOOD_HAZARD, "hazard": "很" * 21, "measures": [
            {"measure": "设置警示"}, {"measure": " ", "owner": "police"}, {"owner": "housing"}]},
        "消防通道",
    ]
    assert validate(RECTIFICATION, {**GOOD_REPORT, "hazards": bad_rows}) == {
        "hazards[1].hazard": "隐患清单 第 2 行 · 隐患描述：必填",
        "hazards[2].fine": "隐患清单 第 3 行 · 罚款（万元）：须为数字",
        "hazards[3].fine": "隐患清单 第 4 行 · 罚款（万元）：不能小于 0",
        "hazards[3].due_on": "隐患清单 第 4 行 · 整改时限：日期格式应为 YYYY-MM-DD",
        "hazards[4].level": "隐患清单 第 5 行 · 隐患等级：只能选择给定的选项",
        "hazards[4].closed": "隐患清单 第 5 行 · 已销号：须为是/否",
        "hazards[5].hazard": "隐患清单 第 6 行 · 隐患描述：最多 20 个字符",
        "hazards[5].measures[1].owner":
            "隐患清单 第 6 行 · 整改措施 第 2 行 · 责任单位：只能选择给定的选项",
        "hazards[5].measures[2].measure": "隐患清单 第 6 行 · 整改措施 第 3 行 · 措施：必填",
        "hazards[6]": "隐患清单 第 7 行：须为对象",
    }
    # a row's own keys beyond the form (carried-over ledger rows) are allowed
    assert validate(RECTIFICATION, {**GOOD_REPORT, "hazards": [
        {**GOOD_HAZARD, "status": "open", "rolled_over_from": "2026-03"}]}) == {}
    # no rows, or none sent: nothing to check in them
    assert validate(RECTIFICATION, {**GOOD_REPORT, "hazards": []}) == {}
    assert validate(RECTIFICATION, {k: v for k, v in GOOD_REPORT.items() if k != "hazards"}) == {}
    assert validate(RECTIFICATION, {**GOOD_REPORT, "hazards": {"hazard": "x"}}) == {
        "hazards": "“隐患清单”须为列表（每行一个对象）"}


def test_a_group_with_a_path_nests_its_fields_as_form_js_does():
    assert validate(RECTIFICATION, {**GOOD_REPORT, "contact": {"phone": "110"}}) == {
        "contact.name": "“姓名”为必填项", "contact.phone": "“电话”格式不正确"}
    # the fields of the group written at the top level are not the group's
    assert validate(RECTIFICATION, {**GOOD_REPORT, "contact": None, "name": "王工"}) == {
        "contact.name": "“姓名”为必填项"}
    assert validate(RECTIFICATION, {**GOOD_REPORT, "contact": "王工"}) == {
        "contact": "“联系人”须为对象"}
    dotted = {"components": [{"type": "number", "key": "site.area", "label": "面积",
                              "validate": {"required": True}}]}
    assert validate(dotted, {"site": {"area": 3}}) == {}
    assert validate(dotted, {"site.area": 3}) == {"site.area": "“面积”为必填项"}


def test_options_checkboxes_dates_and_fields_the_user_may_not_see():
    form = {"components": [
        {"type": "checklist", "key": "closed_row_ids", "label": "销账事项",
         "valuesKey": "finished_row_ids", "validate": {"required": True}},
        {"type": "taglist", "key": "tags", "label": "标签",
         "values": [{"label": "一", "value": 1}, {"label": "二", "value": 2}]},
        {"type": "checkbox", "key": "confirmed", "label": "确认属实",
         "validate": {"required": True}},
        {"type": "select", "key": "clue_department", "label": "移交部门",
         "conditional": {"hide": '=action != "issue_clue"'}, "validate": {"required": True},
         "values": OWNERS},
        {"type": "group", "label": "补充", "conditional": {"hide": "=simple"}, "components": [
            {"type": "textfield", "key": "extra", "label": "补充说明",
             "validate": {"required": True}}]},
        {"type": "number", "key": "due_days", "label": "整改期限（天）", "readonly": True,
         "validate": {"required": True}},
        {"type": "textfield", "key": "internal", "label": "内部编号", "disabled": True,
         "validate": {"required": True}},
        {"type": "datetime", "subtype": "time", "key": "at", "label": "时间"},
        {"type": "textfield", "key": "mail", "label": "邮箱",
         "validate": {"validationType": "email"}},
    ]}
    base = {"closed_row_ids": ["R9"], "confirmed": True}
    assert validate(form, base) == {}  # options from input data: any value
    assert validate(form, {**base, "confirmed": False, "closed_row_ids": []}) == {
        "confirmed": "“确认属实”为必填项", "closed_row_ids": "“销账事项”为必填项"}
    assert validate(form, {**base, "tags": [1, True, "2"]}) == {"tags": "“标签”含有不在选项中的值"}
    assert validate(form, {**base, "tags": [1, 2.0]}) == {}
    # hidden by a condition (not evaluated here): never required, checked when sent
    assert validate(form, {**base, "clue_department": "police"}) == {
        "clue_department": "“移交部门”只能选择给定的选项"}
    assert validate(form, {**base, "extra": 5}) == {"extra": "“补充说明”须为文本"}
    assert validate(form, {**base, "at": "25:00"}) == {"at": "“时间”时间格式应为 HH:MM"}
    assert validate(form, {**base, "at": "09:30:61"}) == {"at": "“时间”时间格式应为 HH:MM"}
    assert validate(form, {**base, "at": "09:30", "mail": "ban@kundulun.gov.cn"}) == {}
    assert validate(form, {**base, "mail": "ban@"}) == {"mail": "“邮箱”须为有效的电子邮箱"}


# ---------------------------------------------------------------- required means sent now

ROUND_FORM = {
    "type": "default",
    "id": "review_round",
    "schemaVersion": 16,
    "components": [
        {"type": "textarea", "key": "review_opinion", "label": "审查意见",
         "validate": {"required": True}},
        {"type": "number", "key": "review_round", "label": "轮次", "validate": {"required": True}},
    ],
}


def test_a_required_field_filled_in_an_earlier_round_must_be_sent_again(engine):
    """sample_loop's 审查 runs once a round: the opinion given in round 1 is in the case's
    data when round 2 opens, but round 2 is completed only with an opinion of its own."""
    admin, invest, drc = (actor(engine, u) for u in ("admin", "invest-clerk", "drc-clerk"))
    engine.deploy("sample_loop.bpmn", (BPMN / "sample_loop.bpmn").read_bytes(),
                  {"review_round.form": json.dumps(ROUND_FORM).encode()}, actor=admin)
    iid = engine.start("sample_loop", invest, data={"target_rounds": 2}).id
    (submit,) = engine.get_instance(iid, admin).tasks
    engine.complete(submit.id, invest, {"review_round": 0})
    (first,) = engine.get_instance(iid, admin).tasks
    engine.complete(first.id, drc, {"review_opinion": "材料齐全", "review_round": 1})
    (second,) = engine.get_instance(iid, admin).tasks
    assert second.element_id == "review_round" and second.id != first.id
    prefill = engine.get_task(second.id, drc).data
    assert (prefill["review_opinion"], prefill["review_round"]) == ("材料齐全", 1)
    with pytest.raises(InvalidInput) as caught:
        engine.complete(second.id, drc, {"review_round": 2})
    assert caught.value.details == {"review_opinion": "“审查意见”为必填项"}
    assert engine.get_task(second.id, drc).state == "ready"
    # the prefilled opinion confirmed (sent back as it stands) completes the round
    engine.complete(second.id, drc, {"review_opinion": "材料齐全", "review_round": 2})
    assert engine.get_instance(iid, admin).status == "completed"


def test_engine_refuses_bad_rows_and_keeps_the_task(engine):
    admin, invest = actor(engine, "admin"), actor(engine, "invest-clerk")
    bpmn = (BPMN / "sample_review.bpmn").read_bytes().replace(
        "示例：项目联合预审".encode(), "示例：项目联合预审（整改清单）".encode())
    engine.deploy("sample_review.bpmn", bpmn,
                  {"register_project.form": json.dumps(RECTIFICATION).encode()}, actor=admin)
    inst = engine.start("sample_review", invest)
    task = inst.tasks[0]
    rows = [GOOD_HAZARD, {**GOOD_HAZARD, "level": "严重", "measures": [{"owner": "housing"}]}]
    with pytest.raises(InvalidInput) as caught:
        engine.complete(task.id, invest, {**GOOD_REPORT, "hazards": rows})
    assert caught.value.details == {
        "hazards[1].level": "隐患清单 第 2 行 · 隐患等级：只能选择给定的选项",
        "hazards[1].measures[0].measure": "隐患清单 第 2 行 · 整改措施 第 1 行 · 措施：必填",
    }
    assert "隐患清单 第 2 行 · 隐患等级：只能选择给定的选项" in caught.value.message
    assert engine.get_task(task.id, invest).state == "ready"
    assert "hazards" not in engine.get_instance(inst.id, admin, with_data=True).data
    engine.complete(task.id, invest, GOOD_REPORT)
    assert engine.get_task(task.id, invest).state == "completed"
