"""Two writers race for one task: exactly one wins, the other gets Conflict, nothing is doubled.

Every round uses a fresh instance. Some rounds share one Engine (one process, two request
threads); others use two Engine objects on the same database, like two nodes, each with its own
live-workflow cache that the other node's writes make stale.
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import partial

import pytest

from engine import Conflict

ROUNDS = 100


def _race(first, second, timeout: float = 60.0):
    """Run two callables in two threads released together by a barrier.

    Returns ``[(outcome, value), (outcome, value)]`` with outcome "ok" or "error".
    """
    barrier = threading.Barrier(2, timeout=timeout)
    results: list = [None, None]

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = ("ok", fn())
        except BaseException as exc:  # every outcome is asserted on by the caller
            results[i] = ("error", exc)

    threads = [
        threading.Thread(target=run, args=(i, fn), daemon=True)
        for i, fn in enumerate((first, second))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results


def _one_winner(results, round_no):
    outcomes = [r[0] for r in results]
    assert sorted(outcomes) == ["error", "ok"], f"round {round_no}: {results}"
    winner = outcomes.index("ok")
    loser_exc = results[1 - winner][1]
    assert isinstance(loser_exc, Conflict), f"round {round_no}: loser raised {loser_exc!r}"
    return winner


def _start_many(engine, actor, n):
    instances = [engine.start("sample_review", actor, business_key=f"RACE-{i}") for i in range(n)]
    out = []
    for inst in instances:
        (register,) = inst.tasks
        assert register.element_id == "register_project"
        out.append((inst.id, register.id))
    return out


def test_concurrent_completions_exactly_one_wins(engine, second_node, people, open_tasks):
    admin = people["admin"]
    clerk, head = people["invest-clerk"], people["invest-head"]
    rounds = _start_many(engine, clerk, ROUNDS)

    for round_no, (iid, task_id) in enumerate(rounds):
        mode = round_no % 3
        if mode == 0:  # one engine, the same user submitting twice (double click)
            nodes, users = (engine, engine), (clerk, clerk)
        elif mode == 1:  # one engine, two colleagues
            nodes, users = (engine, engine), (clerk, head)
        else:  # two nodes, both holding the workflow in their live cache at the same version
            nodes, users = (engine, second_node), (clerk, head)
            assert second_node.get_task(task_id, head).data is not None
        if round_no % 2:
            nodes, users = nodes[::-1], users[::-1]

        results = _race(
            partial(nodes[0].complete, task_id, users[0], {"winner": users[0].username}),
            partial(nodes[1].complete, task_id, users[1], {"winner": users[1].username}),
        )
        w = _one_winner(results, round_no)
        winner, winner_node, loser_node = users[w], nodes[w], nodes[1 - w]
        done = results[w][1]
        assert (done.id, done.state, done.completed_by) == (task_id, "completed", winner.username)

        # Stored exactly once.
        row = engine.get_task(task_id, admin, with_data=False)
        assert (row.state, row.completed_by) == ("completed", winner.username)
        events = engine.list_events(iid, admin)
        completed = [e for e in events if e.kind == "task_completed"]
        assert [(e.task_id, e.actor, e.data) for e in completed] == [
            (task_id, winner.username, {"winner": winner.username})
        ], f"round {round_no}"
        created = Counter(e.data["element_id"] for e in events if e.kind == "task_created")
        assert created == Counter(
            register_project=1, opinion_drc=1, opinion_natres=1, opinion_eco=1
        ), f"round {round_no}"
        rows = engine.list_tasks(admin, scope="all", instance_id=iid, limit=50)
        assert Counter(t.element_id for t in rows.items) == created
        assert engine.get_instance(iid, admin).version == 2

        # Both nodes carry on correctly, each after the other moved the instance on (in
        # two-node rounds each then holds a stale copy in its live cache).
        drc = open_tasks(loser_node, iid)["opinion_drc"]
        loser_node.complete(drc.id, people["drc-clerk"], {"opinion": "同意"})
        natres = open_tasks(winner_node, iid)["opinion_natres"]
        winner_node.complete(natres.id, people["natres-clerk"], {"opinion": "同意"})
        assert set(open_tasks(engine, iid)) == {"opinion_eco"}
        assert engine.get_instance(iid, admin).version == 4


def test_concurrent_claims_exactly_one_wins(engine, second_node, people):
    admin = people["admin"]
    clerk, head = people["invest-clerk"], people["invest-head"]
    rounds = _start_many(engine, clerk, ROUNDS)

    for round_no, (iid, task_id) in enumerate(rounds):
        nodes = (engine, second_node) if round_no % 2 else (engine, engine)
        if round_no % 2:
            second_node.get_task(task_id, head)
        users = (clerk, head) if round_no % 4 < 2 else (head, clerk)
        results = _race(
            partial(nodes[0].claim, task_id, users[0]),
            partial(nodes[1].claim, task_id, users[1]),
        )
        w = _one_winner(results, round_no)
        winner = users[w].username
        assert results[w][1].assignee == winner

        row = engine.get_task(task_id, admin, with_data=False)
        assert (row.state, row.assignee) == ("claimed", winner)
        claims = [e for e in engine.list_events(iid, admin) if e.kind == "task_claimed"]
        assert [(e.task_id, e.actor) for e in claims] == [(task_id, winner)], f"round {round_no}"
        assert engine.get_instance(iid, admin).version == 2

        # Only the winner can complete it now, on either node.
        with pytest.raises(Conflict):
            nodes[1 - w].complete(task_id, users[1 - w], {})
        nodes[1 - w].complete(task_id, users[w], {"by": winner})
        assert engine.get_task(task_id, admin, with_data=False).completed_by == winner


def test_claim_racing_a_colleagues_completion(engine, second_node, people):
    """Claim by A against completion by B: either the claim stands and B's completion is
    refused, or B's completion stands and the claim is refused; never both."""
    admin = people["admin"]
    clerk, head = people["invest-clerk"], people["invest-head"]
    rounds = _start_many(engine, clerk, ROUNDS // 2)

    for round_no, (iid, task_id) in enumerate(rounds):
        nodes = (engine, second_node) if round_no % 2 else (engine, engine)
        if round_no % 2:
            second_node.get_task(task_id, head)
        results = _race(
            partial(nodes[0].claim, task_id, clerk),
            partial(nodes[1].complete, task_id, head, {"by": "invest-head"}),
        )
        w = _one_winner(results, round_no)
        row = engine.get_task(task_id, admin, with_data=False)
        kinds = [e.kind for e in engine.list_events(iid, admin) if e.task_id == task_id]
        if w == 0:
            assert (row.state, row.assignee) == ("claimed", "invest-clerk"), f"round {round_no}"
            assert kinds == ["task_created", "task_claimed"], f"round {round_no}"
        else:
            assert (row.state, row.completed_by) == ("completed", "invest-head"), (
                f"round {round_no}"
            )
            assert kinds == ["task_created", "task_completed"], f"round {round_no}"
