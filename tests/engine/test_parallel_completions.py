"""Departments working on one case at the same moment (并联审批) never make each other retry.

Commands on one instance are serialised (SQLite queues writers; on PostgreSQL the unit of work
locks the instance row first, a called process's caller before it), so a completion or claim
fails only for a reason its user must see: the task was completed, claimed by someone else or
cancelled. Every race is released by a barrier and repeated over several fresh cases; half of
the racers go through a second Engine on the same database (another node, its own cache).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
import time_machine

from engine import Conflict, Engine
from engine.model import instance
from tests.conftest import FIXTURES, PG_AVAILABLE, PG_URL

ROUNDS = 5
T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC
DEPARTMENTS = ("drc", "natres", "eco", "agri", "emergency", "housing")
OPINIONS = tuple(f"opinion_{code}" for code in DEPARTMENTS)


def _at_once(*calls, timeout: float = 120.0) -> list:
    """Run the callables in threads released together; ``[(outcome, value)]`` in call order,
    outcome "ok" (value: the result) or "error" (value: the exception)."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = ("ok", fn())
        except BaseException as exc:  # every outcome is asserted on by the caller
            results[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True)
               for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results


@pytest.fixture
def deploy(engine, people):
    def run(*stems: str) -> None:
        for stem in stems:
            engine.deploy(f"{stem}.bpmn", (FIXTURES / "bpmn" / f"{stem}.bpmn").read_bytes(),
                          actor=people["admin"])

    return run


def _opinions_open(engine, people, open_tasks, nodes, round_no) -> tuple[int, dict]:
    """A fresh case past registration, its six opinions open and cached by both nodes."""
    invest = people["invest-clerk"]
    iid = engine.start("parallel_six", invest, business_key=f"BL-{round_no}").id
    (register,) = open_tasks(engine, iid).values()
    engine.complete(register.id, invest, {"project": f"并联审批 {round_no}"})
    tasks = open_tasks(engine, iid)
    assert set(tasks) == set(OPINIONS)
    for node in nodes:  # both nodes hold the workflow at the same version
        assert node.get_task(tasks["opinion_drc"].id, people["drc-clerk"]).data is not None
    return iid, tasks


def _version(engine: Engine, iid: int) -> int:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.version).where(instance.c.id == iid)).scalar_one()


def test_six_departments_complete_their_opinions_at_the_same_moment(
    engine, second_node, deploy, people, open_tasks
):
    deploy("parallel_six")
    admin, nodes = people["admin"], (engine, second_node)
    for round_no in range(ROUNDS):
        iid, tasks = _opinions_open(engine, people, open_tasks, nodes, round_no)
        results = _at_once(*(
            partial(nodes[i % 2].complete, tasks[f"opinion_{code}"].id, people[f"{code}-clerk"],
                    {f"opinion_{code}": f"{code} 同意"})
            for i, code in enumerate(DEPARTMENTS)
        ))
        assert [r[0] for r in results] == ["ok"] * 6, f"round {round_no}: {results}"

        # The join fired once: one consolidation task, with every department's opinion.
        open_now = open_tasks(engine, iid)
        assert set(open_now) == {"consolidate_opinions"}, f"round {round_no}"
        events = engine.list_events(iid, admin)
        created = Counter(e.data["element_id"] for e in events if e.kind == "task_created")
        assert created == Counter(register_case=1, consolidate_opinions=1,
                                  **dict.fromkeys(OPINIONS, 1)), f"round {round_no}"
        completed = Counter(e.task_id for e in events if e.kind == "task_completed")
        assert [completed[tasks[o].id] for o in OPINIONS] == [1] * 6, f"round {round_no}"
        assert sum(completed.values()) == 7, f"round {round_no}"
        consolidate = open_now["consolidate_opinions"]
        data = engine.get_task(consolidate.id, admin).data
        assert {o: data[o] for o in OPINIONS} == {
            f"opinion_{code}": f"{code} 同意" for code in DEPARTMENTS
        }, f"round {round_no}"
        # One version step per command: start, registration, six opinions.
        assert _version(engine, iid) == 8, f"round {round_no}"

        # Either node carries on after the other's writes.
        second_node.complete(consolidate.id, people["invest-clerk"], {"summary": "同意"})
        assert engine.get_instance(iid, admin).status == "completed"


def test_six_departments_claim_their_tasks_at_the_same_moment(
    engine, second_node, deploy, people, open_tasks
):
    deploy("parallel_six")
    admin, nodes = people["admin"], (engine, second_node)
    for round_no in range(ROUNDS):
        iid, tasks = _opinions_open(engine, people, open_tasks, nodes, round_no)
        results = _at_once(*(
            partial(nodes[i % 2].claim, tasks[f"opinion_{code}"].id, people[f"{code}-clerk"])
            for i, code in enumerate(DEPARTMENTS)
        ))
        assert [r[0] for r in results] == ["ok"] * 6, f"round {round_no}: {results}"
        claimed = {t.element_id: t.assignee for t in open_tasks(engine, iid).values()}
        assert claimed == {f"opinion_{code}": f"{code}-clerk" for code in DEPARTMENTS}
        claims = [e for e in engine.list_events(iid, admin) if e.kind == "task_claimed"]
        assert len(claims) == 6
        assert _version(engine, iid) == 8, f"round {round_no}"


def test_two_colleagues_claiming_one_task_the_loser_is_told_who_has_it(
    engine, second_node, deploy, people, open_tasks
):
    """This 409 stays, and says why: the task is someone else's now."""
    deploy("parallel_six")
    clerk, head = people["drc-clerk"], people["drc-head"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        iid, tasks = _opinions_open(engine, people, open_tasks, nodes, round_no)
        drc = tasks["opinion_drc"].id
        users = (clerk, head) if round_no % 2 else (head, clerk)
        results = _at_once(partial(nodes[0].claim, drc, users[0]),
                           partial(nodes[1].claim, drc, users[1]))
        outcomes = [r[0] for r in results]
        assert sorted(outcomes) == ["error", "ok"], f"round {round_no}: {results}"
        w = outcomes.index("ok")
        loser = results[1 - w][1]
        assert isinstance(loser, Conflict), f"round {round_no}: {loser!r}"
        assert loser.message == f"任务已被 {users[w].username} 认领", f"round {round_no}"
        assert open_tasks(engine, iid)["opinion_drc"].assignee == users[w].username


def test_two_colleagues_completing_one_task_the_loser_is_told_it_is_done(
    engine, second_node, deploy, people, open_tasks
):
    deploy("parallel_six")
    admin, clerk, head = people["admin"], people["eco-clerk"], people["eco-head"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        iid, tasks = _opinions_open(engine, people, open_tasks, nodes, round_no)
        eco = tasks["opinion_eco"].id
        results = _at_once(partial(nodes[0].complete, eco, clerk, {"opinion_eco": "clerk"}),
                           partial(nodes[1].complete, eco, head, {"opinion_eco": "head"}))
        outcomes = [r[0] for r in results]
        assert sorted(outcomes) == ["error", "ok"], f"round {round_no}: {results}"
        loser = results[outcomes.index("error")][1]
        assert isinstance(loser, Conflict), f"round {round_no}: {loser!r}"
        assert loser.message == "任务已办结或已取消", f"round {round_no}"
        done = [e for e in engine.list_events(iid, admin)
                if e.kind == "task_completed" and e.task_id == eco]
        assert len(done) == 1


def _called(engine: Engine, parent_id: int) -> int:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.id)
                            .where(instance.c.parent_instance_id == parent_id)).scalar_one()


def test_a_called_process_ending_while_its_caller_is_worked_on(
    engine, second_node, deploy, people, open_tasks
):
    """The child's last step resumes its caller in the same transaction, while a clerk
    completes a parallel step of the caller: both succeed, the caller's join fires once."""
    deploy("call_child", "call_beside_task")
    admin, invest = people["admin"], people["invest-clerk"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        iid = engine.start("call_beside_task", invest, business_key=f"KS-{round_no}").id
        child = _called(engine, iid)
        review = open_tasks(engine, child)["review_safety_design"].id
        prepare = open_tasks(engine, iid)["prepare_materials"].id
        order = nodes if round_no % 2 else nodes[::-1]
        results = _at_once(
            partial(order[0].complete, review, people["emergency-clerk"], {"approved": True}),
            partial(order[1].complete, prepare, invest, {"materials": "齐全"}),
        )
        assert [r[0] for r in results] == ["ok", "ok"], f"round {round_no}: {results}"
        assert engine.get_instance(child, admin).status == "completed"
        assert set(open_tasks(engine, iid)) == {"decide_case"}, f"round {round_no}"
        kinds = Counter(e.kind for e in engine.list_events(iid, admin))
        assert kinds["call_completed"] == 1 and kinds["task_completed"] == 1
        created = Counter(e.data["element_id"] for e in engine.list_events(iid, admin)
                          if e.kind == "task_created")
        assert created == Counter(prepare_materials=1, decide_case=1), f"round {round_no}"


def test_a_grandchild_ending_while_the_case_is_stopped(
    engine, second_node, deploy, people, open_tasks
):
    """Lock order: the grandchild's completion resumes its callers (child -> caller), the
    terminate end event of the case ends its called processes (caller -> child). Both lock the
    case first, so they queue: either both succeed, or the case stops first and the review is
    refused because its task was cancelled; never a deadlock, never a retry message."""
    deploy("call_child", "call_middle", "call_terminate")
    admin, invest = people["admin"], people["invest-clerk"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS * 2):
        iid = engine.start("call_terminate", invest, business_key=f"KS-{round_no}").id
        middle = _called(engine, iid)
        grandchild = _called(engine, middle)
        review = open_tasks(engine, grandchild)["review_safety_design"].id
        stop = open_tasks(engine, iid)["stop_case"].id
        order = nodes if round_no % 2 else nodes[::-1]
        results = _at_once(
            partial(order[0].complete, review, people["emergency-clerk"], {"approved": True}),
            partial(order[1].complete, stop, invest, {}),
        )
        assert results[1][0] == "ok", f"round {round_no}: {results}"
        if results[0][0] == "ok":
            statuses = {engine.get_instance(i, admin).status for i in (middle, grandchild)}
            assert statuses == {"completed"}, f"round {round_no}"
        else:
            exc = results[0][1]
            assert isinstance(exc, Conflict), f"round {round_no}: {exc!r}"
            assert exc.message == "任务已办结或已取消", f"round {round_no}"
            statuses = {engine.get_instance(i, admin).status for i in (middle, grandchild)}
            assert statuses == {"terminated"}, f"round {round_no}"
        assert engine.get_instance(iid, admin).status in ("completed", "terminated")


def test_two_cases_writing_to_each_other_at_the_same_moment(
    engine, second_node, deploy, people, open_tasks
):
    """Two top-level cases of one project each send the other a message: each command holds
    its own case and then needs the other's, the one order no lock rule can fix in advance.
    PostgreSQL breaks the deadlock by rolling one command back; the engine runs it again, so
    both clerks succeed and each case receives the other's letter once."""
    deploy("msg_cross_a", "msg_cross_b")
    admin, invest = people["admin"], people["invest-clerk"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        key = f"XM-{round_no}"
        cases = [engine.start(f"msg_cross_{side}", invest, business_key=key).id
                 for side in "ab"]
        letters = [open_tasks(engine, iid)["write_letter"].id for iid in cases]
        results = _at_once(*(partial(nodes[i].complete, letters[i], invest, {"text": side})
                             for i, side in enumerate("ab")))
        assert [r[0] for r in results] == ["ok", "ok"], f"round {round_no}: {results}"
        for iid, side, sender in zip(cases, "ab", "ba", strict=True):
            assert set(open_tasks(engine, iid)) == {"file_letters"}, f"round {round_no}"
            received = [e.data for e in engine.list_events(iid, admin)
                        if e.kind == "message_received"]
            assert received == [{"name": f"letter_to_{side}", "payload": {"from": sender}}], (
                f"round {round_no}")


@pytest.mark.parametrize("db_url", [pytest.param(
    "postgresql", marks=pytest.mark.skipif(not PG_AVAILABLE, reason=f"no PostgreSQL at {PG_URL}")
)], indirect=True)
def test_a_called_processs_timer_waits_while_its_caller_is_in_use(
    engine, deploy, people, open_tasks
):
    """Row locks on PostgreSQL: the scheduler never waits for a lock (it claims due instances
    with SKIP LOCKED), and a called process's timer may resume its caller, so it is fired only
    with the caller locked too. While a command holds the caller, the called process is left
    to the next run instead of being locked out of order (callers first)."""
    deploy("timer_child", "call_timer_child")
    with time_machine.travel(T0, tick=False) as clock:
        iid = engine.start("call_timer_child", people["invest-clerk"], business_key="GJ-1").id
        child = _called(engine, iid)
        clock.shift(timedelta(hours=1, minutes=1))
        with engine.db.connect() as busy:  # a command in progress on the case
            busy.execute(sa.select(instance.c.id).where(instance.c.id == iid).with_for_update())
            assert engine.fire_due_timers() == 0
            assert open_tasks(engine, child) == {}
            busy.rollback()
        assert engine.fire_due_timers() == 1
        assert set(open_tasks(engine, child)) == {"follow_up"}
        assert engine.fire_due_timers() == 0


def test_two_admins_deploying_one_process_at_the_same_moment_take_turns(
    engine, second_node, people
):
    """Each deploy stores its own version (no duplicate-key error), in the order they ran."""
    source = (FIXTURES / "bpmn" / "review_chain.bpmn").read_text(encoding="utf-8")
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        variants = [
            source.replace("</bpmn:definitions>", f"<!-- round {round_no} admin {i} -->\n"
                           "</bpmn:definitions>").encode("utf-8")
            for i in range(2)
        ]
        results = _at_once(*(
            partial(nodes[i].deploy, "review_chain.bpmn", variants[i], actor=people["admin"])
            for i in range(2)
        ))
        assert [r[0] for r in results] == ["ok", "ok"], f"round {round_no}: {results}"
        versions = sorted(r[1].definition.version for r in results)
        assert versions == [2 * round_no + 1, 2 * round_no + 2], f"round {round_no}"
    stored = sorted(d.version for d in engine.list_definition_versions("review_chain"))
    assert stored == list(range(1, 2 * ROUNDS + 1))


def test_a_waiting_message_goes_to_one_of_two_catchers_that_appear_at_once(
    engine, second_node, people, open_tasks
):
    """A message published before anyone waits for it is delivered once, even when two cases
    with the same key reach the catch event at the same moment."""
    for stem in ("msg_wait", "msg_send"):
        engine.deploy(f"{stem}.bpmn", (FIXTURES / "bpmn" / f"{stem}.bpmn").read_bytes(),
                      actor=people["admin"])
    invest = people["invest-clerk"]
    nodes = (engine, second_node)
    for round_no in range(ROUNDS):
        key = f"XM-R{round_no}"
        waiting = []
        for _ in range(2):
            iid = engine.start("msg_wait", invest, business_key=key).id
            (prepare,) = open_tasks(engine, iid).values()
            waiting.append((iid, prepare.id))
        outcome = engine.correlate_message("mine_result", key, {"approved": True},
                                           actor=people["admin"])
        assert outcome["status"] == "waiting", f"round {round_no}"
        results = _at_once(*(
            partial(nodes[i].complete, task_id, invest, {})
            for i, (_, task_id) in enumerate(waiting)
        ))
        assert [r[0] for r in results] == ["ok", "ok"], f"round {round_no}: {results}"
        got = [set(open_tasks(engine, iid)) for iid, _ in waiting]
        assert sorted(map(sorted, got)) == [[], ["use_mine_result"]], f"round {round_no}: {got}"
