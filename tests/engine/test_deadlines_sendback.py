"""Working-day deadlines on human tasks, pausing the clock, and send-back (退回) (issue 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine import Conflict, Engine, Forbidden, InvalidInput
from tests.conftest import FIXTURES, actor

# 2026-09-18 10:00 in Beijing = 02:00 UTC (kunflow stores naive UTC)
T0 = datetime(2026, 9, 18, 2, 0, 0)


def _deploy(engine: Engine, name: str) -> None:
    engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


def _end_of_day_utc(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


def _to_review(engine, step):
    invest = actor(engine, "invest-clerk")
    inst = step().start("review_chain", invest, business_key="HZ-1")
    e = step()
    e.complete(_open(e, inst.id)["submit_application"].id, invest, {"project": "新材料"})
    return inst


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


def test_due_date_counts_working_days_over_the_national_day(engine, step):
    _deploy(engine, "review_chain")
    with time_machine.travel(T0, tick=False):
        inst = _to_review(engine, step)
        review = _open(step(), inst.id)["review_application"]
        # 20 working days from 2026-09-18 (not counted): 2026-10-22 (9/25–27, 10/1–7 off;
        # 9/20 and 10/10 are make-up workdays)
        assert review.due_at == _end_of_day_utc(2026, 10, 22)


def test_pausing_moves_the_due_date_by_the_working_days_paused(engine, step):
    _deploy(engine, "review_chain")
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        inst = _to_review(engine, step)
        review = _open(step(), inst.id)["review_application"]
        paused = step().pause_task(review.id, drc, reason="专家评审")
        assert paused.due_at == review.due_at
        with pytest.raises(Conflict):
            step().pause_task(review.id, drc)
        clock.shift(timedelta(days=7))  # 9/25 (holiday) .. : 9/21–9/24 = 4 working days + 9/20
        resumed = step().resume_task(review.id, drc)
        assert resumed.due_at > review.due_at
        e = step()
        pauses = e.list_task_pauses(review.id, drc)
        assert len(pauses) == 1 and pauses[0]["reason"] == "专家评审"
        assert pauses[0]["resumed_at"] is not None
        days = e.calendar.current().working_days_between(datetime(2026, 9, 18).date(),
                                                         datetime(2026, 9, 25).date())
        expected = e.calendar.current().add_working_days(datetime(2026, 10, 22).date(), days)
        assert resumed.due_at.date() == expected
        with pytest.raises(Conflict):
            e.resume_task(review.id, drc)


def test_pause_needs_the_diagram_to_allow_it(engine, step):
    _deploy(engine, "review_chain")
    invest = actor(engine, "invest-clerk")
    inst = step().start("review_chain", invest)
    submit = _open(step(), inst.id)["submit_application"]
    with pytest.raises(Conflict):
        step().pause_task(submit.id, invest)
    with pytest.raises(Forbidden):
        step().pause_task(submit.id, actor(engine, "drc-clerk"))


def test_send_back_reopens_the_earlier_step_with_its_data(engine, step):
    _deploy(engine, "review_chain")
    drc, invest = actor(engine, "drc-clerk"), actor(engine, "invest-clerk")
    inst = _to_review(engine, step)
    review = _open(step(), inst.id)["review_application"]
    with pytest.raises(InvalidInput):
        step().send_back(review.id, drc, "chain_started", "不允许的目标")
    with pytest.raises(InvalidInput):
        step().send_back(review.id, drc, "submit_application", "")
    step().send_back(review.id, drc, "submit_application", "材料不全，请补充环评批复")

    e = step()
    assert e.get_task(review.id, drc).state == "cancelled"
    tasks = _open(e, inst.id)
    assert set(tasks) == {"submit_application"}
    data = e.get_task(tasks["submit_application"].id, invest).data
    assert data["project"] == "新材料"
    assert data["send_back_reason"] == "材料不全，请补充环评批复"
    kinds = [ev.kind for ev in e.list_events(inst.id, actor(engine, "admin"))]
    assert "task_sent_back" in kinds

    e.complete(tasks["submit_application"].id, invest, {"eia": "已补充"})
    e = step()
    review2 = _open(e, inst.id)["review_application"]
    e.complete(review2.id, drc, {})
    assert step().get_instance(inst.id, drc).status == "completed"


def test_send_back_survives_a_long_history(engine, step):
    """The earlier task stays in the (compacted) tree however many rounds pass."""
    _deploy(engine, "review_chain")
    drc, invest = actor(engine, "drc-clerk"), actor(engine, "invest-clerk")
    inst = _to_review(engine, step)
    for round_no in range(5):
        review = _open(step(), inst.id)["review_application"]
        step().send_back(review.id, drc, "submit_application", f"第 {round_no} 次退回")
        e = step()
        e.complete(_open(e, inst.id)["submit_application"].id, invest, {"round": round_no})
    assert set(_open(step(), inst.id)) == {"review_application"}


def test_each_completion_of_a_sent_back_step_stays_in_its_completers_done_list(engine, step):
    """Send-back reopens the step under its own id (its URL stays); the completion it undoes is
    history, not rewritten: it stays in 已办 of whoever made it, with its time and the step's
    name, beside every later completion, and keeps the clock stops of its round."""
    _deploy(engine, "resubmit_chain")
    clerk, head = actor(engine, "invest-clerk"), actor(engine, "invest-head")
    drc, admin = actor(engine, "drc-clerk"), actor(engine, "admin")
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as clock:
        inst = step().start("resubmit_chain", clerk, business_key="HZ-R1")
        first = _open(step(), inst.id)["submit_application"]
        step().pause_task(first.id, clerk, reason="等待环评批复")
        clock.shift(timedelta(days=1))
        step().resume_task(first.id, clerk)
        step().complete(first.id, clerk, {"project": "新材料"})
        completions = [(T0 + timedelta(days=1), "invest-clerk")]
        # sent back after an hour, resubmitted 3 hours later by the head, then again (by the
        # clerk who submitted first) 5 hours after the second send-back
        for by, at in ((head, T0 + timedelta(days=1, hours=4)),
                       (clerk, T0 + timedelta(days=1, hours=10))):
            clock.shift(timedelta(hours=1))
            e = step()
            e.send_back(_open(e, inst.id)["review_application"].id, drc, "submit_application",
                        "请补充环评批复")
            clock.move_to(at.replace(tzinfo=UTC))
            e = step()
            reopened = _open(e, inst.id)["submit_application"]
            assert reopened.id == first.id  # the open step keeps its id
            e.complete(reopened.id, by, {"eia": "已补充"})
            completions.append((at, by.username))

    e = step()
    clerk_done = e.list_tasks(clerk, scope="done")
    assert [(t.name, t.element_id, t.completed_at, t.completed_by, t.state)
            for t in clerk_done.items] == [
        ("提交核准申请", "submit_application", when, "invest-clerk", "completed")
        for when, who in sorted(completions, reverse=True) if who == "invest-clerk"]
    assert clerk_done.total == 2 == e.list_tasks(clerk, scope="done", count_only=True).total
    newest, kept = clerk_done.items
    assert newest.id == first.id and kept.id != first.id
    assert e.get_task(kept.id, clerk).completed_at == completions[0][0]  # it opens, read-only
    assert [p["reason"] for p in e.list_task_pauses(kept.id, clerk)] == ["等待环评批复"]
    assert e.list_task_pauses(newest.id, clerk) == []  # each round's clock is its own
    head_done = e.list_tasks(head, scope="done")
    assert [(t.name, t.completed_at) for t in head_done.items] == [
        ("提交核准申请", completions[1][0])]
    assert head_done.total == 1
    assert e.list_tasks(drc, scope="done").total == 0  # the reviews sent back were cancelled
    steps = e.list_tasks(admin, scope="all", instance_id=inst.id, sort="created").items
    assert sorted((t.element_id, t.state, t.completed_by) for t in steps) == sorted([
        ("submit_application", "completed", "invest-clerk"),
        ("submit_application", "completed", "invest-head"),
        ("submit_application", "completed", "invest-clerk"),
        ("review_application", "cancelled", None),
        ("review_application", "cancelled", None),
        ("review_application", "ready", None)])
