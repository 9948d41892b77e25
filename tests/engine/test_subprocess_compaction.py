"""Finished embedded sub-processes are dropped (engine/compaction.py): a case that passes
through an embedded and a multi-instance sub-process round after round keeps a bounded state,
and the data the sub-processes produced stays in the case's data. Warm and cold engines."""

from __future__ import annotations

import pytest

from engine import Engine
from tests.conftest import FIXTURES, actor

ROUNDS = 300


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    """``step(n)`` gives the engine for round n: the same one, or (cold) a new one every 25
    rounds."""
    if request.param == "warm":
        return lambda n: engine
    current = {"engine": engine}

    def cold(n: int) -> Engine:
        if n % 25 == 0:
            current["engine"] = rebuild()
        return current["engine"]

    return cold


def test_state_stays_bounded_over_hundreds_of_subprocess_rounds(engine, step, stored_state):
    engine.deploy("subprocess_rounds.bpmn",
                  (FIXTURES / "bpmn" / "subprocess_rounds.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    clerk, admin = actor(engine, "supervision-clerk"), actor(engine, "admin")
    inst = step(0).start("subprocess_rounds", clerk,
                         data={"rounds": ROUNDS, "done": 0, "total": 0, "items": [1, 2]})
    sizes = {}
    for n in range(1, ROUNDS + 1):
        e = step(n)
        (record,) = e.get_instance(inst.id, admin).tasks
        assert record.element_id == "record_round"
        e.complete(record.id, clerk, {"amount": n, "note": f"第{n}轮"})
        if n in (10, ROUNDS - 1):
            sizes[n] = len(stored_state(e, inst.id).state_json)
    # Before the fix: 85 KB after 10 rounds, 2.6 MB after 300 (one finished sub-process kept
    # per round and per multi-instance item).
    assert sizes[ROUNDS - 1] <= sizes[10] + 1024, sizes
    done = step(ROUNDS + 1).get_instance(inst.id, admin, with_data=True)
    assert done.status == "completed"
    assert done.data["done"] == ROUNDS
    assert done.data["total"] == ROUNDS * (ROUNDS + 1) // 2
    assert done.data["last_note"] == f"第{ROUNDS}轮"
    assert done.data["doubled"] == [2 + ROUNDS, 4 + ROUNDS]
