"""The process admin's drafts: kept per process key across restarts, saved with an optimistic
revision, deployed as the next version with a comment, new processes from templates, and the
catalogue's counts per version."""

from __future__ import annotations

import pytest

from engine import Actor, Conflict, Forbidden, InvalidInput, InvalidModel, NotFound

SECOND_ADMIN = Actor("second-admin", "gov-data", frozenset({"process_admin"}))


def _xml(engine, key="sample_review", version=None):
    return engine.get_definition_xml(key, version)


def test_a_draft_starts_from_the_newest_version_and_survives_a_restart(engine, people, rebuild):
    admin = people["admin"]
    start = engine.get_process_draft("sample_review", admin)
    assert start.revision == 0 and not start.saved
    assert start.bpmn_xml == _xml(engine)
    assert start.base_version == 1
    assert start.files == {}

    changed = start.bpmn_xml.replace('name="登记项目线索"', 'name="登记项目线索（新）"')
    saved = engine.save_process_draft("sample_review", admin, changed, {}, revision=0)
    assert (saved.revision, saved.base_version, saved.created_by) == (1, 1, "admin")

    again = rebuild().get_process_draft("sample_review", admin)
    assert again.bpmn_xml == changed and again.revision == 1 and again.updated_by == "admin"
    assert engine.get_process_draft("no_such_process", admin) is None


def test_a_stale_save_is_refused_naming_who_saved_last(engine, people):
    admin = people["admin"]
    xml = _xml(engine)
    first = engine.save_process_draft("sample_review", admin, xml, revision=0)
    second = engine.save_process_draft("sample_review", SECOND_ADMIN,
                                       xml.replace("发改意见", "发改委意见"), revision=first.revision)
    assert second.revision == 2 and second.updated_by == "second-admin"

    with pytest.raises(Conflict) as err:
        engine.save_process_draft("sample_review", admin, xml, revision=first.revision)
    assert "second-admin" in err.value.message
    assert err.value.details["revision"] == 2
    # a first save while someone else's draft exists is stale too
    with pytest.raises(Conflict):
        engine.save_process_draft("sample_review", admin, xml, revision=0)
    assert "发改委意见" in engine.get_process_draft("sample_review", admin).bpmn_xml


def test_a_draft_may_be_invalid_but_must_be_a_diagram_of_its_key(engine, people, bpmn_fixture):
    admin = people["admin"]
    broken = _xml(engine).replace('targetRef="opinion_drc"', 'targetRef="nowhere"')
    assert engine.save_process_draft("sample_review", admin, broken).revision == 1

    for bad in ("", "not xml <", "<a/>"):
        with pytest.raises(InvalidInput):
            engine.save_process_draft("sample_review", admin, bad)
    with pytest.raises(InvalidInput, match="sample_loop"):
        engine.save_process_draft("sample_review", admin, _xml(engine, "sample_loop"))
    for files in ({"../x.dmn": "x"}, {"notes.txt": "x"}, {"a.form": 3}, ["a.form"]):
        with pytest.raises(InvalidInput):
            engine.save_process_draft("sample_review", admin, broken, files)
    assert engine.get_process_draft("sample_review", admin).revision == 1


def test_only_process_admins_touch_drafts(engine, people):
    clerk = people["invest-clerk"]
    xml = _xml(engine)
    calls = [
        lambda: engine.process_catalogue(clerk),
        lambda: engine.get_process_draft("sample_review", clerk),
        lambda: engine.save_process_draft("sample_review", clerk, xml),
        lambda: engine.discard_process_draft("sample_review", clerk),
        lambda: engine.deploy_process_draft("sample_review", clerk, "x"),
        lambda: engine.new_process_draft("my_process", "我的流程", clerk),
        lambda: engine.diff_versions("sample_review", 1, 1, clerk),
        lambda: engine.get_definition_file("sample_review", 1, "a.form", clerk),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call()


def test_deploying_a_draft_stores_the_comment_and_removes_the_draft(engine, people):
    admin = people["admin"]
    xml = _xml(engine).replace('name="发改意见"', 'name="发改委意见"')
    engine.save_process_draft("sample_review", admin, xml)
    result = engine.deploy_process_draft("sample_review", admin, "  发改委改名  ")
    assert result.created and result.definition.version == 2
    assert result.definition.comment == "发改委改名"
    assert engine.get_definition("sample_review", 2).comment == "发改委改名"
    assert engine.get_definition("sample_review", 1).comment is None
    assert engine.get_process_draft("sample_review", admin).revision == 0  # no draft left
    with pytest.raises(NotFound):
        engine.deploy_process_draft("sample_review", admin, "again")

    # an unchanged draft creates no version, and goes away
    engine.save_process_draft("sample_review", admin, xml)
    same = engine.deploy_process_draft("sample_review", admin, "没有变化")
    assert not same.created and same.definition.version == 2
    assert [d.version for d in engine.list_definition_versions("sample_review")] == [1, 2]
    assert engine.get_process_draft("sample_review", admin).revision == 0


def test_an_invalid_draft_is_not_deployed_and_is_kept(engine, people):
    admin = people["admin"]
    broken = _xml(engine).replace('targetRef="opinion_drc"', 'targetRef="nowhere"')
    engine.save_process_draft("sample_review", admin, broken)
    with pytest.raises(InvalidModel):
        engine.deploy_process_draft("sample_review", admin, "坏的")
    assert [d.version for d in engine.list_definition_versions("sample_review")] == [1]
    assert engine.get_process_draft("sample_review", admin).revision == 1


def test_a_draft_older_than_the_newest_version_is_not_deployed_over_it(
        engine, people, bpmn_fixture):
    admin = people["admin"]
    engine.save_process_draft("sample_review", admin, _xml(engine).replace("发改意见", "甲"))
    engine.deploy("sample_review.bpmn", bpmn_fixture("sample_review_v2"), actor=SECOND_ADMIN)
    with pytest.raises(Conflict, match="版本 2"):
        engine.deploy_process_draft("sample_review", admin, "旧草稿")
    # rebased on version 2 (after looking at the diff) it deploys as version 3
    draft = engine.get_process_draft("sample_review", admin)
    engine.save_process_draft("sample_review", admin, draft.bpmn_xml, base_version=2,
                              revision=draft.revision)
    assert engine.deploy_process_draft("sample_review", admin, "基于 2").definition.version == 3


def test_a_blank_process_deploys_and_routes_to_the_admins_department(engine, people):
    admin = people["admin"]
    draft = engine.new_process_draft("my_process", "我的流程", admin)
    assert draft.revision == 1 and draft.base_version is None
    assert set(draft.files) == {"my_process_handle.form"}
    with pytest.raises(Conflict):
        engine.new_process_draft("my_process", "又一个", admin)
    with pytest.raises(Conflict):
        engine.new_process_draft("sample_review", "重名", admin)
    for bad in ("1abc", "has space", "Start", "x" * 101):
        with pytest.raises(InvalidInput):
            engine.new_process_draft(bad, "名称", admin)

    result = engine.deploy_process_draft("my_process", admin, "新流程")
    info = result.definition
    assert (info.version, info.name, info.warnings) == (1, "我的流程", ())
    assert info.files == ("my_process_handle.form",)
    case = engine.start("my_process", admin)
    (task,) = case.tasks
    assert (task.element_id, task.department_code, task.form_key) == (
        "handle", "gov-data", "my_process_handle")
    assert task.due_at is not None


def test_a_copy_of_a_process_is_a_new_key_with_its_files(engine, people):
    admin = people["admin"]
    draft = engine.new_process_draft("review_copy", "预审（副本）", admin, template="sample_review")
    assert 'id="review_copy"' in draft.bpmn_xml and 'processRef="review_copy"' in draft.bpmn_xml
    assert 'id="sample_review"' not in draft.bpmn_xml
    result = engine.deploy_process_draft("review_copy", admin, "复制")
    assert (result.definition.key, result.definition.version) == ("review_copy", 1)
    assert result.definition.name == "预审（副本）"
    assert engine.get_definition("sample_review").version == 1
    with pytest.raises(NotFound):
        engine.new_process_draft("other_copy", "x", admin, template="no_such_process")


def test_a_new_process_draft_is_not_deployed_over_a_version_deployed_meanwhile(engine, people):
    admin = people["admin"]
    draft = engine.new_process_draft("my_process", "我的流程", admin)
    other = draft.bpmn_xml.replace('name="办理"', 'name="别人的办理"')
    engine.deploy("my_process.bpmn", other.encode(), {
        k: v.encode() for k, v in draft.files.items()}, actor=SECOND_ADMIN)
    with pytest.raises(Conflict, match="新流程"):
        engine.deploy_process_draft("my_process", admin, "我的")
    assert [d.version for d in engine.list_definition_versions("my_process")] == [1]


def test_the_catalogue_counts_cases_per_version_and_lists_drafts(engine, people, bpmn_fixture):
    admin, clerk = people["admin"], people["invest-clerk"]
    running = engine.start("sample_review", clerk)
    ended = engine.start("sample_review", clerk)
    engine.terminate(ended.id, admin, "测试")
    engine.deploy("sample_review.bpmn", bpmn_fixture("sample_review_v2"), actor=admin,
                  comment="第二版")
    engine.start("sample_review", clerk)
    engine.new_process_draft("draft_only", "只有草稿", admin)

    catalogue = {p.key: p for p in engine.process_catalogue(admin)}
    assert set(catalogue) == {"sample_review", "sample_loop", "draft_only"}
    review = catalogue["sample_review"]
    assert [(v.version, v.running, v.done, v.comment) for v in review.versions] == [
        (2, 1, 0, "第二版"), (1, 1, 1, None)]
    assert review.draft is None
    assert running.definition_version == 1
    only = catalogue["draft_only"]
    assert (only.name, only.versions, only.draft.revision) == ("只有草稿", (), 1)


def test_a_versions_files_are_read_back(engine, people):
    admin = people["admin"]
    draft = engine.new_process_draft("my_process", "我的流程", admin)
    engine.deploy_process_draft("my_process", admin, "v1")
    form = engine.get_definition_file("my_process", 1, "my_process_handle.form", admin)
    assert form == draft.files["my_process_handle.form"]
    with pytest.raises(NotFound):
        engine.get_definition_file("my_process", 1, "other.form", admin)
    with pytest.raises(NotFound):
        engine.get_definition_file("my_process", 2, "my_process_handle.form", admin)
    # the next draft starts with the version's files
    assert engine.get_process_draft("my_process", admin).files == draft.files
