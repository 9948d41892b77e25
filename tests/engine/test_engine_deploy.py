"""Deploying definitions: versions, unchanged redeploys, structured validation errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine import Engine, Forbidden, InvalidModel

REVIEW_LANES = {"区招商部门", "区发改委", "区自然资源分局", "区生态环境分局"}


def _versions(engine, key):
    return [(d.version, d.checksum) for d in engine.list_definition_versions(key)]


def _newest(engine):
    return {d.key: (d.version, d.checksum) for d in engine.list_definitions()}


def _complete(engine, task, user, data=None):
    return engine.complete(task.id, user, data or {})


def test_sample_diagrams_are_deployed_as_version_1(engine):
    defs = {d.key: d for d in engine.list_definitions()}
    assert set(defs) == {"sample_review", "sample_loop"}
    review = defs["sample_review"]
    assert review.version == 1
    assert review.deployed_by == "admin"
    assert set(review.lanes) == REVIEW_LANES
    # Every lane maps to a department of the org chart, so no task is left to admins only.
    assert review.warnings == ()
    assert defs["sample_loop"].version == 1
    assert defs["sample_loop"].warnings == ()
    assert "sample_review" in engine.get_definition_xml("sample_review")


def test_unchanged_redeploy_creates_nothing(engine, people, sample_bpmn):
    before = engine.get_definition("sample_review")
    result = engine.deploy(
        "sample_review.bpmn", sample_bpmn("sample_review"), actor=people["admin"]
    )
    assert result.created is False
    assert result.definition.version == 1
    assert result.definition.id == before.id
    assert result.definition.checksum == before.checksum
    assert _versions(engine, "sample_review") == [(1, before.checksum)]


def test_caseworker_cannot_deploy(engine, people, bpmn_fixture):
    with pytest.raises(Forbidden):
        engine.deploy(
            "quoted_timer.bpmn", bpmn_fixture("quoted_timer"), actor=people["invest-head"]
        )
    assert "quoted_timer" not in _newest(engine)


def test_new_version_keeps_running_instances_on_theirs(
    engine, db_url, people, open_tasks, bpmn_fixture
):
    clerk = people["invest-clerk"]
    old = engine.start("sample_review", clerk, business_key="v1-case")
    assert old.definition_version == 1

    result = engine.deploy(
        "sample_review.bpmn", bpmn_fixture("sample_review_v2"), actor=people["admin"]
    )
    assert result.created is True
    assert result.definition.key == "sample_review"
    assert result.definition.version == 2
    assert [v for v, _ in _versions(engine, "sample_review")] == [1, 2]
    assert engine.get_definition("sample_review").version == 2
    assert engine.get_definition("sample_review", 1).checksum != result.definition.checksum

    new = engine.start("sample_review", clerk, business_key="v2-case")
    assert new.definition_version == 2
    assert engine.get_instance(old.id, people["admin"]).definition_version == 1

    # Drive both to the consolidation step: v2 renamed it, v1 keeps its own name.
    for inst in (old, new):
        (register,) = open_tasks(engine, inst.id).values()
        _complete(engine, register, clerk)
        opinions = open_tasks(engine, inst.id)
        assert set(opinions) == {"opinion_drc", "opinion_natres", "opinion_eco"}
        for element_id, task in opinions.items():
            _complete(engine, task, people[f"{task.department_code}-clerk"], {element_id: "同意"})
    assert open_tasks(engine, old.id)["consolidate_review"].name == "汇总研判"
    assert open_tasks(engine, new.id)["consolidate_review"].name == "汇总研判（第二版）"

    # The v1 instance runs to its end on v1, also on an engine that must load v1 from the database.
    _complete(engine, open_tasks(engine, old.id)["consolidate_review"], clerk, {"approved": True})
    restarted = Engine(db_url)
    try:
        sign = open_tasks(restarted, old.id)["sign_agreement"]
        _complete(restarted, sign, people["invest-head"], {"signed": True})
    finally:
        restarted.db.dispose()
    done = engine.get_instance(old.id, people["admin"])
    assert done.status == "completed"
    assert done.definition_version == 1
    assert done.tasks == ()
    assert engine.get_instance(new.id, people["admin"]).status == "running"


# (fixture, element ids the errors must name, words the reason must contain); which element
# the timer error names is checked by the next test.
BAD_FIXTURES = [
    ("reserved_ids", {"Start", "End"}, ["保留"]),
    ("unquoted_timer", None, ['"P30D"']),
    ("dangling_flow", {"flow_route_to_missing"}, ["missing_task"]),
    ("malformed", set(), ["XML"]),
    ("no_executable", set(), ["isExecutable"]),
]


@pytest.mark.parametrize(
    ("stem", "element_ids", "reason_words"), BAD_FIXTURES, ids=[b[0] for b in BAD_FIXTURES]
)
def test_invalid_model_names_element_and_reason(
    engine, people, bpmn_fixture, stem, element_ids, reason_words
):
    before = _newest(engine)
    with pytest.raises(InvalidModel) as caught:
        engine.deploy(f"{stem}.bpmn", bpmn_fixture(stem), actor=people["admin"])
    errors = caught.value.errors
    assert errors, "InvalidModel without structured errors"
    assert caught.value.details == errors
    for err in errors:
        assert err["file"] == f"{stem}.bpmn"
        assert err["message"].strip()
    named = {e["element_id"] for e in errors if e["element_id"]}
    if element_ids is None:
        assert len(named) == 1
        element_ids = named
    assert named == element_ids
    for element_id in element_ids:
        (err,) = [e for e in errors if e["element_id"] == element_id]
        assert err["line"], f"no line number for {element_id}"
    # the model check says what is wrong in the message and what to change in the hint
    text = " ".join(e["message"] + " " + (e.get("hint") or "") for e in errors)
    for word in reason_words:
        assert word in text
    assert caught.value.message.startswith(f"{stem}.bpmn")
    if stem == "malformed":
        assert errors[0]["line"] == 19
    assert _newest(engine) == before


def test_unquoted_timer_error_names_the_boundary_event(engine, people, bpmn_fixture):
    """The modeler highlights flow nodes: the timer's event, not its eventDefinition child."""
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("unquoted_timer.bpmn", bpmn_fixture("unquoted_timer"), actor=people["admin"])
    (err,) = caught.value.errors
    assert err["element_id"] == "form_overdue"
    assert "P30D" in err["message"]


def _reserved_end(xml: bytes) -> bytes:
    return xml.replace(b"project_rejected", b"End")


def _dangling(xml: bytes) -> bytes:
    out = xml.replace(b'targetRef="project_rejected"', b'targetRef="project_lost"')
    assert out != xml
    return out


def _truncated(xml: bytes) -> bytes:
    return xml[: len(xml) // 2]


@pytest.mark.parametrize(
    ("breaks", "element_id"),
    [(_reserved_end, "End"), (_dangling, "flow_review_rejected"), (_truncated, None)],
    ids=["reserved_id", "dangling_flow", "truncated"],
)
def test_failed_deploy_keeps_the_newest_version(
    engine, people, open_tasks, sample_bpmn, bpmn_fixture, breaks, element_id
):
    admin = people["admin"]
    v1 = engine.get_definition("sample_review")
    with pytest.raises(InvalidModel) as caught:
        engine.deploy("sample_review.bpmn", breaks(sample_bpmn("sample_review")), actor=admin)
    if element_id:
        assert element_id in {e["element_id"] for e in caught.value.errors}

    assert _newest(engine)["sample_review"] == (1, v1.checksum)
    assert _versions(engine, "sample_review") == [(1, v1.checksum)]
    inst = engine.start("sample_review", people["invest-clerk"])
    assert inst.definition_version == 1
    assert set(open_tasks(engine, inst.id)) == {"register_project"}
    # A failed deploy uses up no version number.
    nxt = engine.deploy("sample_review.bpmn", bpmn_fixture("sample_review_v2"), actor=admin)
    assert nxt.created is True
    assert nxt.definition.version == 2


def test_quoted_timer_deploys_and_runs(engine, people, open_tasks, bpmn_fixture):
    admin = people["admin"]
    result = engine.deploy("quoted_timer.bpmn", bpmn_fixture("quoted_timer"), actor=admin)
    assert result.created is True
    assert result.definition.key == "quoted_timer"
    assert result.definition.version == 1
    # Its task sits in no lane: deploy warns that only administrators will see it.
    assert [w["element_id"] for w in result.definition.warnings] == ["fill_form"]

    # The duration is evaluated when the boundary timer starts waiting: at start.
    inst = engine.start("quoted_timer", admin)
    assert inst.status == "running"
    (task,) = open_tasks(engine, inst.id).values()
    assert task.element_id == "fill_form"
    assert task.department_code is None
    engine.complete(task.id, admin, {"filled": True})
    assert engine.get_instance(inst.id, admin).status == "completed"


def test_the_newest_definitions_follow_a_deploy_on_another_node(engine, rebuild, people,
                                                                bpmn_fixture):
    """``list_definitions`` keeps its answer while the definition table is unchanged: a version
    deployed by another node (another Engine on the database) shows at once, and the org chart
    a definition's start rule reads is taken again when the directory is."""
    before = _newest(engine)
    assert _newest(engine) == before
    other = rebuild()
    result = other.deploy("sample_review.bpmn", bpmn_fixture("sample_review_v2"),
                          actor=other.get_user("admin").actor())
    assert result.created is True
    assert _newest(engine)["sample_review"] == (2, result.definition.checksum)
    assert _newest(engine)["sample_loop"] == before["sample_loop"]
    # The lane 区招商部门 names the department that may start it; renamed in the org chart,
    # the lane names none (anyone may start, as for an unknown lane) once the directory is read.
    starters = {d.key: d.start_departments for d in engine.list_definitions()}
    assert starters["sample_review"] == ("invest",)
    invest = next(d for d in engine.list_departments() if d.code == "invest")
    engine.sync_org([replace(invest, name="区投资促进中心")], [])
    starters = {d.key: d.start_departments for d in engine.list_definitions()}
    assert starters["sample_review"] != ("invest",)
