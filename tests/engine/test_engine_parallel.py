"""Parallel split/join through the engine: the join waits for every branch, inside loops too,
and hands every branch's data on."""

from __future__ import annotations

from itertools import permutations

from engine import Engine

PARALLEL_ROUNDS = 12
OPINIONS = ("opinion_a", "opinion_b", "opinion_c")
REVIEW_OPINIONS = {"opinion_drc": "drc", "opinion_natres": "natres", "opinion_eco": "eco"}


def test_parallel_join_inside_a_loop_waits_for_every_branch(
    engine, db_url, people, open_tasks, bpmn_fixture, stored_state, tree_shape
):
    """Each round opens three opinions and the join waits for all three, in whichever order
    they are completed (every permutation; odd rounds on a cold engine)."""
    admin = people["admin"]
    engine.deploy("parallel_loop.bpmn", bpmn_fixture("parallel_loop"), actor=admin)
    iid = engine.start(
        "parallel_loop", admin, data={"rounds_done": 0, "target_rounds": PARALLEL_ROUNDS}
    ).id
    orders = list(permutations(OPINIONS))
    counts = {}
    for rnd in range(PARALLEL_ROUNDS):
        order = orders[rnd % len(orders)]
        cold = Engine(db_url) if rnd % 2 else None
        current = cold or engine
        try:
            tasks = open_tasks(current, iid)
            assert set(tasks) == set(OPINIONS), f"round {rnd}: {sorted(tasks)}"
            assert current.get_task(tasks["opinion_a"].id, admin).data["rounds_done"] == rnd
            for i, element_id in enumerate(order):
                current.complete(tasks[element_id].id, admin, {element_id: f"round {rnd}"})
                if i < 2:
                    assert set(open_tasks(current, iid)) == set(order[i + 1 :]), (
                        f"round {rnd}: join fired after {order[: i + 1]}"
                    )
        finally:
            if cold is not None:
                cold.db.dispose()
        if rnd in (2, PARALLEL_ROUNDS - 2):
            row = stored_state(engine, iid)
            counts[rnd] = tree_shape(row, "parallel_loop.bpmn", bpmn_fixture("parallel_loop"))[0]

    info = engine.get_instance(iid, admin, with_data=True)
    assert info.status == "completed"
    assert info.data["rounds_done"] == PARALLEL_ROUNDS
    completed = engine.list_tasks(admin, scope="all", state="completed", instance_id=iid, limit=500)
    assert completed.total == 3 * PARALLEL_ROUNDS
    # Finished rounds leave nothing behind in the stored tree.
    assert counts[PARALLEL_ROUNDS - 2] <= counts[2] + 5, counts


def test_join_keeps_each_branchs_data_when_the_variable_existed_before(engine, people, open_tasks):
    """Forms are often started with their fields present (defaults, a copied earlier case).
    Each department fills in its own field; after the join every answer must still be there,
    not only the answer of the department that finished last."""
    invest = people["invest-clerk"]
    blank = {element_id: "" for element_id in REVIEW_OPINIONS}
    inst = engine.start("sample_review", invest, data=blank)
    (register,) = open_tasks(engine, inst.id).values()
    engine.complete(register.id, invest, {})
    opinions = open_tasks(engine, inst.id)
    for element_id, dept in REVIEW_OPINIONS.items():
        engine.complete(
            opinions[element_id].id, people[f"{dept}-clerk"], {element_id: f"{dept} 同意"}
        )

    consolidate = open_tasks(engine, inst.id)["consolidate_review"]
    data = engine.get_task(consolidate.id, invest).data
    assert {k: data[k] for k in REVIEW_OPINIONS} == {
        element_id: f"{dept} 同意" for element_id, dept in REVIEW_OPINIONS.items()
    }
