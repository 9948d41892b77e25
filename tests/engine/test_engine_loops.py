"""Long-running instances: the loop diagram passes 400+ rounds (bare SpiffWorkflow stalls
silently at 333) and ends correctly, with a bounded task tree, warm and with cold engines."""

from __future__ import annotations

import json

import pytest

from engine import Engine

TARGET_ROUNDS = 450


@pytest.mark.parametrize("cold_every", [None, 50], ids=["warm", "cold_every_50"])
def test_loop_passes_400_rounds_with_a_bounded_tree(
    engine, db_url, people, sample_bpmn, stored_state, tree_shape, cold_every
):
    admin, invest, drc = people["admin"], people["invest-clerk"], people["drc-clerk"]
    current = engine
    iid = engine.start("sample_loop", invest, data={"target_rounds": TARGET_ROUNDS}).id
    (submit,) = engine.get_instance(iid, admin).tasks
    assert submit.element_id == "submit_material"
    engine.complete(submit.id, invest, {"review_round": 0})

    sizes = {}
    shapes = {}
    extra = []
    try:
        for rnd in range(TARGET_ROUNDS):
            if cold_every and rnd % cold_every == 0 and rnd:
                current = Engine(db_url)
                extra.append(current)
            (task,) = current.get_instance(iid, admin).tasks
            assert (task.element_id, task.department_code) == ("review_round", "drc"), rnd
            if rnd % 25 == 0:
                assert current.get_task(task.id, drc).data["review_round"] == rnd
            current.complete(task.id, drc, {"review_round": rnd + 1})
            if rnd in (10, 100, 200, 300, 333, 334, 400, 449) or rnd % 50 == 0:
                row = stored_state(current, iid)
                assert "spec" not in json.loads(row.state_json)
                sizes[rnd] = len(row.state_json)
                if rnd in (10, 334, 449):
                    shapes[rnd] = tree_shape(row, "sample_loop.bpmn", sample_bpmn("sample_loop"))
        info = current.get_instance(iid, admin, with_data=True)
    finally:
        for e in extra:
            e.db.dispose()

    assert info.status == "completed"
    assert info.tasks == ()
    assert info.data["review_round"] == TARGET_ROUNDS
    assert info.data["target_rounds"] == TARGET_ROUNDS
    assert stored_state(engine, iid).completed_tasks == TARGET_ROUNDS + 1
    events = engine.list_events(iid, admin)
    assert sum(e.kind == "task_completed" for e in events) == TARGET_ROUNDS + 1
    assert [e.kind for e in events][-1] == "instance_completed"

    # Bounded: the stored state does not grow with the rounds.
    assert max(sizes.values()) <= 1.1 * sizes[10], sizes
    for rnd, (count, depth) in shapes.items():
        assert count <= 16, (rnd, count)
        assert depth <= 10, (rnd, depth)
