"""加签: the holder of a task asks other departments or users for an opinion before completing
it; the asked side answers through its own engine task (task lists, claim, deadline in working
days, authorisation), the requester may withdraw, and the task waits for the answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Conflict, Engine, Forbidden, InvalidInput
from engine.model import consult, event, notice
from tests.conftest import FIXTURES, actor

# Friday 2026-11-20, 10:00 in Beijing (02:00 UTC); the next three working days are Mon 23,
# Tue 24 and Wed 25 (the weekend in between does not count).
T0 = datetime(2026, 11, 20, 2, 0, 0)


def _end_of_day_utc(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59) - timedelta(hours=8)


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


@pytest.fixture
def review(engine):
    """A case at 核准审查 (区发改委), claimed by drc-clerk."""
    engine.deploy("review_chain.bpmn", (FIXTURES / "bpmn" / "review_chain.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    invest = actor(engine, "invest-clerk")
    with time_machine.travel(T0, tick=False):
        inst = engine.start("review_chain", invest, business_key="JQ-1", title="新材料项目")
        engine.complete(_open(engine, inst.id)["submit_application"].id, invest,
                        {"project": "新材料"})
        task = _open(engine, inst.id)["review_application"]
        engine.claim(task.id, actor(engine, "drc-clerk"))
    return task


def _events(engine, kind):
    with engine.db.connect() as conn:
        return [(r.task_id, r.actor, json.loads(r.data_json) if r.data_json else None)
                for r in conn.execute(sa.select(event).where(event.c.kind == kind)
                                      .order_by(event.c.id))]


def _notices(engine, kind):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(notice).where(notice.c.kind == kind)
                            .order_by(notice.c.id)).all()


def test_holder_asks_departments_and_users_each_get_a_task_due_in_working_days(
        engine, review, step):
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False):
        asked = step().ask_opinion(review.id, drc, "请就用地情况提出意见", departments=["区自然资源分局"],
                                   users=["emergency-head"], due_days=3)
    assert [(c.asked_department, c.asked_user, c.status) for c in asked] == [
        ("natres", None, "open"), ("emergency", "emergency-head", "open")]
    due = _end_of_day_utc(2026, 11, 25)  # Fri + 3 working days, the weekend not counted
    assert all(c.due_at == due for c in asked)
    e = step()
    natres_task = e.get_task(asked[0].task_id, actor(e, "natres-clerk"))
    assert natres_task.parent_task_id == review.id
    assert natres_task.name == "加签：核准审查" and natres_task.element_id == "review_application__consult"
    assert (natres_task.state, natres_task.assignee, natres_task.department_code) == (
        "ready", None, "natres")
    assert natres_task.due_at == due
    # the department's queue, and the asked user's own list
    queue = e.list_tasks(actor(e, "natres-clerk"), scope="department", state="ready")
    assert [t.id for t in queue.items] == [asked[0].task_id]
    mine = e.list_tasks(actor(e, "emergency-head"), scope="mine")
    assert [(t.id, t.state) for t in mine.items] == [(asked[1].task_id, "claimed")]
    assert [c.task_id for c in e.waiting_opinions(actor(e, "natres-clerk"))] == [
        asked[0].task_id]
    # the event on the case and a notice to each asked party
    kinds = [(d["asked"], d["question"]) for _t, _a, d in _events(e, "consult_asked")]
    assert kinds == [({"department": "natres", "user": None}, "请就用地情况提出意见"),
                     ({"department": "emergency", "user": "emergency-head"}, "请就用地情况提出意见")]
    sent = [(n.department_code, n.username, n.task_id) for n in _notices(e, "consult")]
    assert sent == [("natres", None, asked[0].task_id),
                    ("emergency", "emergency-head", asked[1].task_id)]


def test_asking_is_checked(engine, review):
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False):
        with pytest.raises(Forbidden):  # a colleague who does not hold the task
            engine.ask_opinion(review.id, actor(engine, "drc-head"), "意见？", ["natres"])
        with pytest.raises(Forbidden):  # another department
            engine.ask_opinion(review.id, actor(engine, "natres-clerk"), "意见？", ["natres"])
        for kwargs in ({"departments": ["不存在的局"]}, {"users": ["nobody"]},
                       {"users": ["drc-clerk"]}, {}, {"departments": ["natres"], "due_days": 0},
                       {"departments": ["natres"], "due_days": 31}):
            with pytest.raises(InvalidInput):
                engine.ask_opinion(review.id, drc, "意见？", **kwargs)
        with pytest.raises(InvalidInput):
            engine.ask_opinion(review.id, drc, "  ", ["natres"])
        engine.ask_opinion(review.id, drc, "意见？", ["natres"])
        with pytest.raises(InvalidInput, match="尚未答复"):  # not the same department twice
            engine.ask_opinion(review.id, drc, "再问", ["natres"])


def test_answer_completes_the_asked_task_and_the_holder_can_then_complete(engine, review, step):
    drc, natres = actor(engine, "drc-clerk"), actor(engine, "natres-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        [asked] = engine.ask_opinion(review.id, drc, "用地是否符合规划？", ["natres"])
        with pytest.raises(Conflict, match="尚有加签意见未答复"):  # 前加签: answers first
            step().complete(review.id, drc, {})
        with pytest.raises(Forbidden):  # another department cannot answer
            step().complete(asked.task_id, actor(engine, "emergency-clerk"), {"opinion": "同意"})
        step().claim(asked.task_id, natres)
        with pytest.raises(InvalidInput):  # an opinion is required
            step().complete(asked.task_id, natres, {})
        clock.shift(timedelta(hours=2))
        done = step().complete(asked.task_id, natres, {"opinion": "符合规划，同意。"})
        assert (done.state, done.completed_by) == ("completed", "natres-clerk")
        e = step()
        [info] = e.list_opinions(review.id, drc)
        assert (info.status, info.answer, info.answered_by) == (
            "answered", "符合规划，同意。", "natres-clerk")
        assert info.answered_at == T0 + timedelta(hours=2)
        # the asked side sees its own request
        [own] = e.list_opinions(asked.task_id, natres)
        assert own.question == "用地是否符合规划？" and own.requested_by == "drc-clerk"
        [(tid, who, data)] = _events(e, "consult_answered")
        assert (tid, who, data["opinion"]) == (asked.task_id, "natres-clerk", "符合规划，同意。")
        [answer_notice] = _notices(e, "answer")
        assert (answer_notice.username, answer_notice.task_id) == ("drc-clerk", review.id)
        with pytest.raises(Conflict):  # answered once
            e.answer_opinion(asked.task_id, natres, "再答")
        e.complete(review.id, drc, {})
    assert _open(engine, review.instance_id) == {}


def test_answer_opinion_with_agree_and_by_a_named_user(engine, review):
    drc, head = actor(engine, "drc-clerk"), actor(engine, "emergency-head")
    with time_machine.travel(T0, tick=False):
        [asked] = engine.ask_opinion(review.id, drc, "安全意见？", users=["emergency-head"])
        with pytest.raises(Conflict):  # assigned to the head: a colleague cannot answer
            engine.answer_opinion(asked.task_id, actor(engine, "emergency-clerk"), "同意")
        with pytest.raises(InvalidInput):
            engine.answer_opinion(asked.task_id, head, "x" * 4001)
        info = engine.answer_opinion(asked.task_id, head, "不同意，需补充安全评价", agree=False)
    assert (info.status, info.agree) == ("answered", False)
    assert engine.list_opinions(review.id, drc)[0].agree is False


def test_withdraw_cancels_the_request(engine, review, step):
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False):
        [asked] = engine.ask_opinion(review.id, drc, "意见？", ["natres"])
        with pytest.raises(Forbidden):  # an outsider
            step().withdraw_opinion(asked.task_id, actor(engine, "emergency-clerk"))
        with pytest.raises(Forbidden):  # even the asked side
            step().withdraw_opinion(asked.task_id, actor(engine, "natres-clerk"))
        info = step().withdraw_opinion(asked.task_id, drc, "已不需要")
        assert (info.status, info.withdrawn_by) == ("withdrawn", "drc-clerk")
        e = step()
        assert e.get_task(asked.task_id, actor(e, "natres-clerk")).state == "cancelled"
        assert e.list_tasks(actor(e, "natres-clerk"), scope="department").total == 0
        with pytest.raises(Conflict):
            e.withdraw_opinion(asked.task_id, drc)
        with pytest.raises(Conflict):
            e.complete(asked.task_id, actor(e, "natres-clerk"), {"opinion": "迟到的意见"})
        [(_tid, _who, data)] = _events(e, "consult_withdrawn")
        assert data["reason"] == "已不需要"
        # asking the same department again is allowed once the earlier request is closed
        [again] = e.ask_opinion(review.id, drc, "再次征求", ["natres"])
        assert [c.status for c in e.list_opinions(review.id, drc)] in (
            ["withdrawn", "open"], ["open", "withdrawn"])
        # the head of the asked-on task's department may withdraw as well
        assert e.withdraw_opinion(again.task_id, actor(e, "drc-head")).status == "withdrawn"
        e.complete(review.id, drc, {})


def test_send_back_of_the_asked_on_task_cancels_its_requests(engine, review):
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False):
        [asked] = engine.ask_opinion(review.id, drc, "意见？", ["natres"])
        engine.send_back(review.id, drc, "submit_application", "材料不全")
        [info] = engine.list_opinions(review.id, actor(engine, "admin"))
        assert info.status == "cancelled"
        assert engine.get_task(asked.task_id, actor(engine, "natres-clerk")).state == "cancelled"


def test_terminating_the_case_cancels_the_requests(engine, review):
    drc = actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False):
        [asked] = engine.ask_opinion(review.id, drc, "意见？", ["natres"])
        engine.terminate(review.instance_id, actor(engine, "admin"), "撤案")
        assert engine.get_task(asked.task_id, actor(engine, "natres-clerk")).state == "cancelled"
        with pytest.raises(Conflict):
            engine.answer_opinion(asked.task_id, actor(engine, "natres-clerk"), "同意")


def test_asked_task_is_worked_like_any_task(engine, review):
    drc, natres = actor(engine, "drc-clerk"), actor(engine, "natres-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        [asked] = engine.ask_opinion(review.id, drc, "意见？", ["natres"], due_days=1)
        engine.claim(asked.task_id, natres)
        engine.unclaim(asked.task_id, natres)
        engine.reassign(asked.task_id, actor(engine, "natres-head"), "natres-clerk")
        with pytest.raises(Forbidden):  # the head may hand it inside the department only
            engine.reassign(asked.task_id, actor(engine, "drc-head"), "drc-clerk")
        clock.shift(timedelta(days=5))  # past its one working day: red in the lists
        red = engine.list_tasks(natres, scope="mine", light="red")
        assert [t.id for t in red.items] == [asked.task_id]
        # the asked side sees the asked-on task's data, read only, and not the task itself
        ctx = engine.asked_context(asked.task_id, natres)
        assert ctx.parent_name == "核准审查" and ctx.parent_data["project"] == "新材料"
        with pytest.raises(Forbidden):
            engine.get_task(review.id, natres)
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(consult)).scalar_one() == 1
