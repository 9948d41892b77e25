"""The DMN change preview: a draft's decision tables evaluated against the inputs of the newest
recorded real evaluations; exactly the cases whose outcome changes are listed."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine import Engine, Forbidden, InvalidModel, NotFound
from engine.model import process_draft
from tests.conftest import FIXTURES

DECISIONS = FIXTURES / "decisions"
T0 = datetime(2026, 9, 1, 2, 0, 0)
DMN_V1 = (FIXTURES / "dmn" / "review_route.dmn").read_text("utf-8")
DMN_V2 = (FIXTURES / "dmn" / "review_route_v2.dmn").read_text("utf-8")
CHECKS = (DECISIONS / "material_checks.dmn").read_text("utf-8")
INVESTMENTS = {"P-1": 0.5, "P-2": 1, "P-3": 2, "P-4": 4.9, "P-5": 5, "P-6": 8}


def _open(engine: Engine, people, iid: int) -> dict:
    page = engine.list_tasks(people["admin"], scope="all", state="open", instance_id=iid)
    return {t.element_id: t for t in page.items}


def _route_cases(engine: Engine, people) -> dict[str, int]:
    """dmn_review_route v1 (threshold 5) deployed, one case per entry of INVESTMENTS decided."""
    bpmn = (FIXTURES / "bpmn" / "dmn_review_route.bpmn").read_bytes()
    engine.deploy("dmn_review_route.bpmn", bpmn, {"review_route.dmn": DMN_V1.encode()},
                  actor=people["admin"])
    clerk = people["invest-clerk"]
    ids = {}
    for key, amount in INVESTMENTS.items():
        iid = engine.start("dmn_review_route", clerk, business_key=key, title=f"项目 {key}").id
        engine.complete(_open(engine, people, iid)["register_project"].id, clerk,
                        {"total_investment": amount})
        ids[key] = iid
    return ids


def test_a_lower_threshold_lists_exactly_the_cases_it_moves(engine, people):
    ids = _route_cases(engine, people)
    (preview,) = engine.preview_decision_change("dmn_review_route", people["admin"],
                                                files={"review_route.dmn": DMN_V2})
    assert (preview.file, preview.decision_id, preview.name) == (
        "review_route.dmn", "review_route", "审查路径")
    assert preview.evaluated == len(INVESTMENTS)
    # 1 <= investment < 5: simple filing before, full review after; newest first
    assert [c.business_key for c in preview.changed] == ["P-4", "P-3", "P-2"]
    change = preview.changed[0]
    assert (change.instance_id, change.title, change.element_id) == (
        ids["P-4"], "项目 P-4", "decide_review_route")
    assert change.inputs == {"total_investment": 4.9}
    assert (change.before, change.after, change.error) == (
        {"review_route": "simple"}, {"review_route": "full"}, None)


def test_an_unchanged_table_changes_nothing_and_limit_takes_the_newest(engine, people):
    _route_cases(engine, people)
    (same,) = engine.preview_decision_change("dmn_review_route", people["admin"],
                                             files={"review_route.dmn": DMN_V1})
    assert (same.evaluated, same.changed) == (len(INVESTMENTS), ())
    (newest,) = engine.preview_decision_change("dmn_review_route", people["admin"],
                                               files={"review_route.dmn": DMN_V2}, limit=3)
    assert newest.evaluated == 3  # P-6, P-5, P-4
    assert [c.business_key for c in newest.changed] == ["P-4"]


def test_collect_tables_and_expression_inputs(engine, people):
    engine.deploy("material_checks.bpmn", (DECISIONS / "material_checks.bpmn").read_bytes(),
                  {"material_checks.dmn": CHECKS.encode()}, actor=people["admin"])
    clerk = people["drc-clerk"]
    for key, amount, materials in (("M-1", 60, ["a", "b", "c"]), ("M-2", 120, ["a"]),
                                   ("M-3", 10, ["a", "b", "c"])):
        iid = engine.start("material_checks_process", clerk, business_key=key).id
        engine.complete(_open(engine, people, iid)["submit_materials"].id, clerk,
                        {"amount": amount, "materials": materials})
    draft = CHECKS.replace("<text>&gt;= 100</text>", "<text>&gt;= 50</text>")
    (preview,) = engine.preview_decision_change("material_checks_process", people["admin"],
                                                files={"material_checks.dmn": draft})
    assert preview.evaluated == 3
    (change,) = preview.changed
    assert change.business_key == "M-1"
    assert change.inputs == {"amount": 60, "len(materials)": 3}
    assert (change.before, change.after) == ({"checks": ["登记"]}, {"checks": ["审计", "登记"]})


def test_the_draft_files_by_default_and_tables_never_logged(engine, people):
    _route_cases(engine, people)
    admin = people["admin"]
    with pytest.raises(NotFound):
        engine.preview_decision_change("dmn_review_route", admin)
    with engine.db.begin() as conn:
        conn.execute(process_draft.insert().values(
            process_key="dmn_review_route", bpmn_xml="<x/>",
            files_json=json.dumps({"review_route.dmn": DMN_V2, "checks.dmn": CHECKS,
                                   "register.form": "{}"}),
            base_version=1, created_by="admin", created_at=T0, updated_by="admin",
            updated_at=T0, revision=1))
    previews = engine.preview_decision_change("dmn_review_route", admin)
    assert [(p.file, p.decision_id, p.evaluated, len(p.changed)) for p in previews] == [
        ("checks.dmn", "material_checks", 0, 0), ("review_route.dmn", "review_route", 6, 3)]


def test_a_draft_input_that_was_never_recorded_is_reported(engine, people):
    _route_cases(engine, people)
    draft = DMN_V2.replace("<text>total_investment</text>", "<text>total_investment + extra</text>")
    (preview,) = engine.preview_decision_change("dmn_review_route", people["admin"],
                                                files={"review_route.dmn": draft})
    assert len(preview.changed) == preview.evaluated == len(INVESTMENTS)
    assert all(c.after is None and "extra" in c.error for c in preview.changed)


def test_only_admins_and_broken_tables(engine, people):
    with pytest.raises(Forbidden):
        engine.preview_decision_change("dmn_review_route", people["invest-clerk"], files={})
    with pytest.raises(InvalidModel) as err:
        engine.preview_decision_change("dmn_review_route", people["admin"],
                                       files={"bad.dmn": "<definitions"})
    assert "bad.dmn" in err.value.message
    assert engine.preview_decision_change("dmn_review_route", people["admin"], files={}) == []


def test_the_preview_writes_nothing(engine, people):
    _route_cases(engine, people)
    with engine.db.connect() as conn:
        before = conn.execute(sa.text("select count(*) from decision_log")).scalar_one()
    engine.preview_decision_change("dmn_review_route", people["admin"],
                                   files={"review_route.dmn": DMN_V2})
    with engine.db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from decision_log")).scalar_one() == before
