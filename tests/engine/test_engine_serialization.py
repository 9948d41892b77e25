"""What the instance row stores: SpiffWorkflow state as JSON without the spec, with the
serializer version, consistent with the task read model."""

from __future__ import annotations

import json

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.definitions import parse
from engine.serialization import SERIALIZER_VERSION, dump_state, load_state

OPINIONS = {"opinion_drc": "drc", "opinion_natres": "natres", "opinion_eco": "eco"}


def _library_serializer():
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def _check_row(row, loaded, open_task_ids):
    assert row.serializer_version == SERIALIZER_VERSION
    assert row.serializer_version == _library_serializer().VERSION
    state = json.loads(row.state_json)
    assert "spec" not in state
    assert "subprocess_specs" not in state
    assert state["tasks"] and state["root"] in state["tasks"]
    wf = load_state(row.state_json, row.serializer_version, loaded.spec, loaded.subprocess_specs)
    ready = {str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    assert ready == open_task_ids
    # Loading and saving again changes nothing.
    assert json.loads(dump_state(wf)) == state
    return wf


def test_stored_state_has_no_spec_and_a_serializer_version(
    engine, people, open_tasks, sample_bpmn, stored_state
):
    _, loaded = parse("sample_review.bpmn", sample_bpmn("sample_review"))
    invest = people["invest-clerk"]
    inst = engine.start("sample_review", invest, data={"area_mu": 12})

    def check():
        tasks = open_tasks(engine, inst.id)
        return _check_row(stored_state(engine, inst.id), loaded, {t.id for t in tasks.values()})

    wf = check()
    assert wf.task_tree.data == {"area_mu": 12}
    engine.complete(open_tasks(engine, inst.id)["register_project"].id, invest, {})
    check()
    for element_id, dept in OPINIONS.items():
        engine.complete(open_tasks(engine, inst.id)[element_id].id, people[f"{dept}-clerk"], {})
        check()
    engine.complete(
        open_tasks(engine, inst.id)["consolidate_review"].id, invest, {"approved": False}
    )
    wf = check()
    assert wf.is_completed()
    assert engine.get_instance(inst.id, people["admin"]).status == "completed"
