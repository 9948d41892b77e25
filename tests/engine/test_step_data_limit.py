"""What one step may add to a case's data is limited (``Engine(max_step_data_bytes=…)``,
1 MB by default): a larger submission is refused before anything is stored, naming the field."""

from __future__ import annotations

import json

import pytest

from engine import InvalidInput
from tests.conftest import BPMN, FIXTURES, actor, district_engine, seed_org

MB = 1024 * 1024
FORM = {
    "type": "default",
    "id": "register_project",
    "schemaVersion": 16,
    "components": [
        {"type": "textfield", "key": "project_name", "label": "项目名称",
         "validate": {"required": True}},
        {"type": "textarea", "key": "lead_summary", "label": "线索概述"},
    ],
}


def _deploy_with_form(engine) -> None:
    bpmn = (BPMN / "sample_review.bpmn").read_bytes().replace(
        "示例：项目联合预审".encode(), "示例：项目联合预审（线索）".encode())
    engine.deploy("sample_review.bpmn", bpmn,
                  {"register_project.form": json.dumps(FORM).encode()},
                  actor=actor(engine, "admin"))


def test_a_completion_adding_more_than_1_mb_is_refused_naming_the_field(engine):
    assert engine.max_step_data_bytes == MB  # the default
    _deploy_with_form(engine)
    admin, invest = actor(engine, "admin"), actor(engine, "invest-clerk")
    inst = engine.start("sample_review", invest)
    (task,) = inst.tasks
    pasted = "长" * 400_000  # 1.2 MB of UTF-8: text that belongs in an attachment
    with pytest.raises(InvalidInput) as caught:
        engine.complete(task.id, invest, {"project_name": "某项目", "lead_summary": pasted})
    assert caught.value.details == {
        "lead_summary": "“线索概述”过大（1.1 MB）：每步提交的数据合计不能超过 1 MB，"
                        "文件请作为附件上传"}
    assert caught.value.message.startswith("提交的数据过大（共 1.1 MB，每步上限 1 MB）：“线索概述”")
    # nothing stored: the task is open, the case's data and its log are as before
    assert engine.get_task(task.id, invest).state == "ready"
    assert "lead_summary" not in engine.get_instance(inst.id, admin, with_data=True).data
    assert [e.kind for e in engine.list_events(inst.id, admin)
            if e.kind == "task_completed"] == []
    # the case still works
    engine.complete(task.id, invest, {"project_name": "某项目", "lead_summary": "长" * 1000})
    after = engine.get_instance(inst.id, admin)
    assert after.status == "running" and {t.element_id for t in after.tasks} == {
        "opinion_drc", "opinion_natres", "opinion_eco"}


def test_many_fields_together_over_the_limit_name_the_largest(engine):
    _deploy_with_form(engine)
    invest = actor(engine, "invest-clerk")
    (task,) = engine.start("sample_review", invest).tasks
    data = {"project_name": "某项目", "lead_summary": "x" * 300_000,
            "appendix_a": "y" * 400_000, "appendix_b": "z" * 400_000}
    with pytest.raises(InvalidInput) as caught:
        engine.complete(task.id, invest, data)
    assert list(caught.value.details) == ["appendix_a"]  # a field the form does not show
    assert "“appendix_a”" in caught.value.message
    assert engine.get_task(task.id, invest).state == "ready"


def test_the_limit_is_the_engines_setting_for_every_step_that_adds_data(db_url):
    engine = district_engine(db_url, max_step_data_bytes=4096)
    try:
        engine.migrate()
        seed_org(engine)
        admin, clerk = actor(engine, "admin"), actor(engine, "drc-clerk")
        engine.deploy("failing_script.bpmn",
                      (FIXTURES / "bpmn" / "failing_script.bpmn").read_bytes(), actor=admin)
        big, fits = "x" * 5000, "x" * 3000

        with pytest.raises(InvalidInput) as caught:  # start
            engine.start("failing_script", clerk, data={"total": 0, "memo": big})
        assert list(caught.value.details) == ["memo"] and "每步上限 4 KB" in caught.value.message
        assert engine.list_instances(admin).total == 0

        inst = engine.start("failing_script", clerk, data={"total": 0, "memo": fits})
        (enter,) = engine.get_instance(inst.id, admin).tasks
        with pytest.raises(InvalidInput) as caught:  # completion
            engine.complete(enter.id, clerk, {"amount": 5, "memo": big})
        assert list(caught.value.details) == ["memo"]
        engine.complete(enter.id, clerk, {"amount": 5})
        assert engine.get_instance(inst.id, admin).status == "incident"

        with pytest.raises(InvalidInput) as caught:  # an administrator's fix
            engine.retry_incident(inst.id, admin, data={"total": 20, "memo": big})
        assert list(caught.value.details) == ["memo"]
        assert engine.get_instance(inst.id, admin).status == "incident"
        assert engine.retry_incident(inst.id, admin, data={"total": 20}).status == "running"

        with pytest.raises(InvalidInput) as caught:  # a message from outside
            engine.correlate_message("mine_result", "XM-1", {"memo": big})
        assert list(caught.value.details) == ["payload"]
    finally:
        engine.db.dispose()
