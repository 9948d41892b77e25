"""Attachments, drafts, comments and a completion's file fields through the engine and
``CaseFiles`` alone (no Flask): who may attach what where, what a file field may cite, how a
draft lives and ends, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from engine import CaseFiles, Conflict, FileStore, Forbidden, InvalidInput, NotFound
from engine.model import attachment, task_draft
from tests.conftest import BPMN, actor

PDF = b"%PDF-1.4\n%%EOF\n"
FORM = {
    "type": "default",
    "id": "register_project",
    "schemaVersion": 16,
    "components": [
        {"type": "textfield", "key": "project_name", "label": "项目名称"},
        {"type": "group", "label": "证明材料", "components": [
            {"type": "filepicker", "key": "evidence", "label": "附件", "multiple": True}]},
    ],
}


@pytest.fixture
def files(engine, tmp_path):
    """sample_review with a form whose file field cites attachments; the store in tmp_path."""
    engine.deploy("sample_review.bpmn", (BPMN / "sample_review.bpmn").read_bytes(),
                  {"register_project.form": json.dumps(FORM).encode()},
                  actor=actor(engine, "admin"))
    return CaseFiles(engine, FileStore(tmp_path / "store"), max_bytes=1024 * 1024)


def _case(engine) -> tuple[int, str]:
    """A new case standing at 登记项目线索 (区招商部门): (instance id, task id)."""
    inst = engine.start("sample_review", actor(engine, "invest-clerk"), title="某新材料项目")
    (task,) = inst.tasks
    return inst.id, task.id


def _upload(files, who, *, task_id=None, instance_id=None, content=PDF, name="批复.pdf",
            field=None):
    return files.add_attachment(who, filename=name, content_type="application/pdf",
                                stream=io.BytesIO(content), task_id=task_id,
                                instance_id=instance_id, field=field)


def _stored(files) -> list:
    root = files.store.root
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_file_attached_to_an_open_task_is_listed_and_read_back(engine, files):
    invest = actor(engine, "invest-clerk")
    iid, task_id = _case(engine)
    att = _upload(files, invest, task_id=task_id, field="evidence")
    assert (att.instance_id, att.task_id, att.field) == (iid, task_id, "evidence")
    assert att.size == len(PDF) and att.uploaded_by == "invest-clerk"
    assert [a.id for a in files.list_attachments(iid, invest)] == [att.id]
    info, path = files.get_attachment(att.id, invest)
    assert info == att and path.read_bytes() == PDF
    added = [e for e in engine.list_events(iid, invest) if e.kind == "attachment_added"]
    assert [e.data["attachment_id"] for e in added] == [att.id]
    # a case it may see: without a task
    on_case = _upload(files, invest, instance_id=iid, name="说明.pdf")
    assert on_case.task_id is None
    assert [a.id for a in files.list_attachments(iid, invest)] == [att.id, on_case.id]


def test_no_file_for_a_closed_task_or_another_department(engine, files):
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    iid, task_id = _case(engine)
    with pytest.raises(Forbidden):
        _upload(files, drc, task_id=task_id)
    with pytest.raises(Forbidden):
        _upload(files, drc, instance_id=iid)
    assert _stored(files) == []  # refused before any byte reached the disk
    engine.claim(task_id, invest)
    files.complete(task_id, invest, {"project_name": "某项目"})
    with pytest.raises(Conflict, match="已办结"):  # 409: the task moved on, not bad input
        _upload(files, invest, task_id=task_id)
    assert _stored(files) == []
    with pytest.raises(NotFound):
        files.get_attachment("0" * 32, invest)
    att = _upload(files, invest, instance_id=iid)
    with pytest.raises(Forbidden):  # no task of the case in its department
        files.get_attachment(att.id, actor(engine, "emergency-clerk"))
    assert files.get_attachment(att.id, drc)[0] == att  # 发改意见 is drc's now


def test_recording_checks_the_task_again_when_it_writes(engine, files):
    """The check before the bytes is only a pre-check: a task completed meanwhile refuses the
    attachment in the unit of work that would record it."""
    invest = actor(engine, "invest-clerk")
    _iid, task_id = _case(engine)
    engine.check_can_attach(invest, task_id=task_id)
    engine.complete(task_id, invest, {"project_name": "某项目"})
    with pytest.raises(Conflict, match="已办结"):
        engine.record_attachment(invest, filename="迟到.pdf", content_type="application/pdf",
                                 size=len(PDF), sha256="a" * 64, task_id=task_id)
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(attachment)).scalar() == 0


def test_a_file_field_cites_only_this_cases_attachments(engine, files):
    invest = actor(engine, "invest-clerk")
    iid, task_id = _case(engine)
    other_iid, other_task = _case(engine)
    mine = _upload(files, invest, task_id=task_id, field="evidence")
    theirs = _upload(files, invest, task_id=other_task, field="evidence")
    with pytest.raises(InvalidInput) as refused:
        files.complete(task_id, invest, {"project_name": "某项目",
                                         "evidence": [mine.id, theirs.id]})
    assert set(refused.value.details) == {"evidence"}
    assert "不属于本案" in refused.value.details["evidence"]
    with pytest.raises(InvalidInput) as refused:
        files.complete(task_id, invest, {"evidence": [7]})
    assert set(refused.value.details) == {"evidence"}
    assert engine.get_task(task_id, invest).state == "ready"  # nothing happened
    done = files.complete(task_id, invest, {"project_name": "某项目", "evidence": [mine.id]})
    assert done.state == "completed"
    assert engine.get_instance(other_iid, invest).tasks[0].id == other_task


def test_a_draft_is_kept_per_user_and_ends_with_the_completion(engine, files):
    invest = actor(engine, "invest-clerk")
    _iid, task_id = _case(engine)
    assert files.get_draft(task_id, invest) is None
    saved = files.save_draft(task_id, invest, {"project_name": "草稿"})
    assert files.get_draft(task_id, invest) == saved
    assert files.save_draft(task_id, invest, {"project_name": "第二稿"}).data == {
        "project_name": "第二稿"}
    assert files.get_draft(task_id, invest).data == {"project_name": "第二稿"}
    with pytest.raises(Forbidden):
        files.get_draft(task_id, actor(engine, "drc-clerk"))
    with pytest.raises(InvalidInput):
        files.save_draft(task_id, invest, ["not", "an", "object"])
    files.complete(task_id, invest, {"project_name": "定稿"})
    assert files.get_draft(task_id, invest) is None
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(task_draft)).scalar() == 0
    with pytest.raises(Conflict, match="已办结"):
        files.save_draft(task_id, invest, {"project_name": "晚了"})
    with pytest.raises(Conflict):
        files.complete(task_id, invest, {"project_name": "再交一次"})


def test_a_comment_is_an_event_of_the_case(engine, files):
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    iid, task_id = _case(engine)
    files.add_comment(iid, invest, "  请补充材料  ", task_id=task_id)
    files.add_comment(iid, invest, "已电话联系")
    comments = [e for e in engine.list_events(iid, invest) if e.kind == "comment"]
    assert [(e.task_id, e.actor, e.data) for e in comments] == [
        (task_id, "invest-clerk", {"text": "请补充材料"}),
        (None, "invest-clerk", {"text": "已电话联系"}),
    ]
    with pytest.raises(InvalidInput):
        files.add_comment(iid, invest, "   ")
    with pytest.raises(Forbidden):
        files.add_comment(iid, drc, "不是本部门的案件")
