"""The DMN evaluation log: every real evaluation of a business rule task is a ``decision_log``
row (decision id, input expressions' values, the result; COLLECT: lists), written with the step
that ran it, in called processes too; a trial run writes none."""

from __future__ import annotations

import json

import sqlalchemy as sa

from engine import Engine
from engine.model import decision_log
from tests.conftest import FIXTURES

DECISIONS = FIXTURES / "decisions"
DMN_V1 = (FIXTURES / "dmn" / "review_route.dmn").read_bytes()


def _rows(engine: Engine, **where) -> list:
    query = sa.select(decision_log).order_by(decision_log.c.id)
    for name, value in where.items():
        query = query.where(decision_log.c[name] == value)
    with engine.db.connect() as conn:
        return list(conn.execute(query))


def _open(engine: Engine, people, iid: int) -> dict:
    page = engine.list_tasks(people["admin"], scope="all", state="open", instance_id=iid)
    return {t.element_id: t for t in page.items}


def _deploy_route(engine: Engine, people):
    bpmn = (FIXTURES / "bpmn" / "dmn_review_route.bpmn").read_bytes()
    return engine.deploy("dmn_review_route.bpmn", bpmn, {"review_route.dmn": DMN_V1},
                         actor=people["admin"])


def test_each_evaluation_is_logged_with_the_step_that_ran_it(engine, people):
    definition = _deploy_route(engine, people).definition
    clerk = people["invest-clerk"]
    iid = engine.start("dmn_review_route", clerk, business_key="LOG-1").id
    assert _rows(engine) == []  # nothing evaluated yet
    engine.complete(_open(engine, people, iid)["register_project"].id, clerk,
                    {"total_investment": 7})

    (row,) = _rows(engine)
    assert (row.process_key, row.definition_id, row.instance_id) == (
        "dmn_review_route", definition.id, iid)
    assert (row.element_id, row.decision_id) == ("decide_review_route", "review_route")
    assert json.loads(row.inputs_json) == {"total_investment": 7}
    assert json.loads(row.outputs_json) == {"review_route": "full"}
    assert set(_open(engine, people, iid)) == {"full_review"}  # behaviour unchanged


def test_a_failed_step_rolls_its_log_back(engine, people, monkeypatch):
    _deploy_route(engine, people)
    clerk = people["invest-clerk"]
    iid = engine.start("dmn_review_route", clerk, business_key="LOG-2").id
    task_id = _open(engine, people, iid)["register_project"].id
    save = engine._save

    def failing(conn, uow, head, step):
        save(conn, uow, head, step)
        raise RuntimeError("the unit of work fails after the save")

    monkeypatch.setattr(engine, "_save", failing)
    try:
        engine.complete(task_id, clerk, {"total_investment": 2})
    except RuntimeError:
        pass
    assert _rows(engine) == []
    monkeypatch.setattr(engine, "_save", save)
    engine.complete(task_id, clerk, {"total_investment": 2})
    (row,) = _rows(engine)
    assert json.loads(row.outputs_json) == {"review_route": "simple"}


def test_collect_logs_the_list_and_expression_inputs(engine, people):
    engine.deploy("material_checks.bpmn", (DECISIONS / "material_checks.bpmn").read_bytes(),
                  {"material_checks.dmn": (DECISIONS / "material_checks.dmn").read_bytes()},
                  actor=people["admin"])
    clerk = people["drc-clerk"]
    iid = engine.start("material_checks_process", clerk, business_key="LOG-3").id
    engine.complete(_open(engine, people, iid)["submit_materials"].id, clerk,
                    {"amount": 120, "materials": ["a", "b"]})

    (row,) = _rows(engine)
    assert json.loads(row.inputs_json) == {"amount": 120, "len(materials)": 2}
    assert json.loads(row.outputs_json) == {"checks": ["审计", "补件", "登记"]}
    task = engine.get_task(_open(engine, people, iid)["review_materials"].id, people["admin"])
    assert task.data["checks"] == ["审计", "补件", "登记"]


def test_evaluations_in_a_called_process_are_logged_under_the_child(engine, people):
    admin = people["admin"]
    engine.deploy("decision_child.bpmn", (DECISIONS / "decision_child.bpmn").read_bytes(),
                  {"review_route.dmn": DMN_V1}, actor=admin)
    engine.deploy("decision_parent.bpmn", (DECISIONS / "decision_parent.bpmn").read_bytes(),
                  actor=admin)
    clerk = people["invest-clerk"]
    parent = engine.start("decision_parent", clerk, business_key="LOG-4").id
    engine.complete(_open(engine, people, parent)["register_project"].id, clerk,
                    {"total_investment": 3})

    (row,) = _rows(engine)
    assert row.process_key == "decision_child"
    assert row.instance_id != parent
    assert (row.element_id, row.decision_id) == ("child_decide", "review_route")
    assert json.loads(row.outputs_json) == {"review_route": "simple"}
    # the child ended in the same command: the caller went on with its data
    assert set(_open(engine, people, parent)) == {"after_child"}


def test_a_trial_run_logs_nothing(engine, people):
    _deploy_route(engine, people)
    result = engine.trial_run("dmn_review_route", people["admin"],
                              steps=[{"element_id": "register_project",
                                      "data": {"total_investment": 9}}])
    assert [d.outputs for d in result.decisions] == [{"review_route": "full"}]
    assert _rows(engine) == []
