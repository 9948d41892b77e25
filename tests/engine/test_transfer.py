"""转办: the holder, a member or the head hands a task to a colleague or back to the queue,
with a reason; the receiver finds it first in 我的待办; other departments only where the diagram
allows it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from engine import Conflict, Forbidden, InvalidInput
from tests.conftest import FIXTURES
from tests.engine.handover_support import add_colleagues, notices_to

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


@pytest.fixture
def review(engine, people, open_tasks):
    """sample_review waiting at the three opinions; a second drc clerk exists."""
    add_colleagues(engine)
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-T-1", title="转办项目")
    (register,) = open_tasks(engine, inst.id).values()
    engine.complete(register.id, clerk, {"project_name": "转办项目"})
    return inst


def _ids(page):
    return [t.id for t in page.items]


def test_holder_hands_a_claimed_task_to_a_colleague(engine, people, review, open_tasks):
    task = open_tasks(engine, review.id)["opinion_drc"]
    clerk, colleague = people["drc-clerk"], people["drc-clerk2"]
    engine.claim(task.id, clerk)
    with time_machine.travel(T0, tick=False):
        moved = engine.transfer(task.id, clerk, "drc-clerk2", "本人出差，请代为出具意见")
    assert (moved.assignee, moved.state, moved.department_code) == (
        "drc-clerk2", "claimed", "drc")
    assert (moved.handed_by, moved.hand_reason) == ("drc-clerk", "本人出差，请代为出具意见")
    assert moved.handed_at == moved.claimed_at == T0.replace(tzinfo=None)
    assert _ids(engine.list_tasks(clerk, scope="mine")) == []
    # the receiver works it like their own claim
    done = engine.complete(task.id, colleague, {"opinion": "同意"})
    assert done.completed_by == "drc-clerk2"

    (event,) = [e for e in engine.list_events(review.id, people["admin"])
                if e.kind == "task_transferred"]
    assert (event.actor, event.task_id) == ("drc-clerk", task.id)
    assert event.data == {"from": "drc-clerk", "to": "drc-clerk2",
                          "reason": "本人出差，请代为出具意见", "department": "drc"}
    (sent,) = notices_to(engine, username="drc-clerk2")
    assert (sent.kind, sent.task_id, sent.instance_id, sent.sender) == (
        "transfer", task.id, review.id, "drc-clerk")
    assert "转办给您" in sent.subject and sent.body == "本人出差，请代为出具意见"


def test_handed_task_comes_first_in_my_list(engine, people, review, open_tasks):
    add_second = people["drc-clerk2"]
    inst2 = engine.start("sample_review", people["invest-clerk"], business_key="ZS-T-2")
    (register,) = open_tasks(engine, inst2.id).values()
    engine.complete(register.id, people["invest-clerk"], {})
    first = open_tasks(engine, review.id)["opinion_drc"]
    second = open_tasks(engine, inst2.id)["opinion_drc"]
    with time_machine.travel(T0, tick=False):
        engine.transfer(first.id, people["drc-head"], "drc-clerk2", "请优先办理")
    with time_machine.travel(T0.replace(hour=3), tick=False):
        # a later claim of one's own is newer, yet the hand-over stays on top
        engine.claim(second.id, add_second)
    assert _ids(engine.list_tasks(add_second, scope="mine")) == [first.id, second.id]
    # the explicit sorts keep their meaning
    assert _ids(engine.list_tasks(add_second, scope="mine", sort="-created")) == [
        second.id, first.id]


def test_back_to_the_department_queue(engine, people, review, open_tasks):
    task = open_tasks(engine, review.id)["opinion_drc"]
    clerk = people["drc-clerk"]
    with pytest.raises(InvalidInput):
        engine.transfer(task.id, clerk, None, "已在部门待办")
    engine.claim(task.id, clerk)
    back = engine.transfer(task.id, clerk, None, "不属于本人分管")
    assert (back.assignee, back.state, back.claimed_at, back.handed_by) == (
        None, "ready", None, "drc-clerk")
    assert task.id in _ids(engine.list_tasks(people["drc-clerk2"], scope="department"))
    (sent,) = notices_to(engine, department_code="drc")
    assert (sent.kind, sent.username, sent.task_id) == ("transfer", None, task.id)
    assert "退回部门待办" in sent.subject


def test_a_member_hands_an_unclaimed_task_and_the_head_any(engine, people, review, open_tasks):
    task = open_tasks(engine, review.id)["opinion_drc"]
    moved = engine.transfer(task.id, people["drc-clerk"], "drc-clerk2", "按分工由其办理")
    assert moved.assignee == "drc-clerk2"
    # a colleague's claim is not the clerk's to hand on; the head's it is
    with pytest.raises(Forbidden):
        engine.transfer(task.id, people["drc-clerk"], "drc-head", "抢办")
    again = engine.transfer(task.id, people["drc-head"], "drc-clerk", "调整分工")
    assert (again.assignee, again.handed_by) == ("drc-clerk", "drc-head")


def test_refusals(engine, people, review, open_tasks):
    task = open_tasks(engine, review.id)["opinion_drc"]
    clerk = people["drc-clerk"]
    engine.claim(task.id, clerk)
    with pytest.raises(Forbidden, match="本部门"):
        engine.transfer(task.id, clerk, "eco-clerk", "请生态环境分局办理")
    with pytest.raises(InvalidInput, match="reason"):
        engine.transfer(task.id, clerk, "drc-clerk2", "  ")
    with pytest.raises(InvalidInput):
        engine.transfer(task.id, clerk, "drc-clerk2", None)
    with pytest.raises(InvalidInput, match="最长"):
        engine.transfer(task.id, clerk, "drc-clerk2", "长" * 2001)
    with pytest.raises(InvalidInput, match="自己"):
        engine.transfer(task.id, clerk, "drc-clerk", "给自己")
    with pytest.raises(InvalidInput, match="停用"):
        engine.transfer(task.id, clerk, "drc-retired", "给已停用的人")
    with pytest.raises(InvalidInput, match="不存在"):
        engine.transfer(task.id, clerk, "nobody", "查无此人")
    # another department's user may not hand it, not even their head
    with pytest.raises(Forbidden):
        engine.transfer(task.id, people["eco-head"], "drc-clerk2", "越权")
    assert engine.get_task(task.id, clerk).assignee == "drc-clerk"
    assert [e for e in engine.list_events(review.id, people["admin"])
            if e.kind == "task_transferred"] == []
    # a completed task is not handed on
    engine.complete(task.id, clerk, {"opinion": "同意"})
    with pytest.raises(Conflict):
        engine.transfer(task.id, clerk, "drc-clerk2", "已办结")


def test_candidate_role_is_required_of_the_receiver(engine, people, open_tasks):
    admin = people["admin"]
    engine.deploy("transfer_review.bpmn",
                  (FIXTURES / "bpmn" / "transfer_review.bpmn").read_bytes(), actor=admin)
    add_colleagues(engine)
    clerk = people["emergency-clerk"]
    inst = engine.start("transfer_review", clerk, business_key="TR-1")
    (check,) = open_tasks(engine, inst.id).values()
    engine.complete(check.id, clerk, {})
    (sign,) = open_tasks(engine, inst.id).values()
    head = people["emergency-head"]
    with pytest.raises(InvalidInput, match="角色"):
        engine.transfer(sign.id, head, "emergency-clerk2", "请代签")
    # the head-role step may not leave the department, whatever the receiver's role
    with pytest.raises(Forbidden):
        engine.transfer(sign.id, head, "natres-head", "请代签")


def test_diagram_allows_a_cross_department_transfer(engine, people, open_tasks):
    admin = people["admin"]
    result = engine.deploy("transfer_review.bpmn",
                           (FIXTURES / "bpmn" / "transfer_review.bpmn").read_bytes(),
                           actor=admin)
    warned = [w for w in result.definition.warnings
              if w["rule"] == "kunflow/transfer-departments"]
    assert [w["element_id"] for w in warned] == ["check_site"]
    assert "区不存在局" in warned[0]["message"]
    clerk = people["emergency-clerk"]
    inst = engine.start("transfer_review", clerk, business_key="TR-2")
    (check,) = open_tasks(engine, inst.id).values()
    candidates = {u for u, _name, _dept in engine.transfer_candidates(check.id, clerk)}
    assert {"emergency-head", "natres-clerk", "natres-head"} <= candidates
    assert "drc-clerk" not in candidates and "emergency-clerk" not in candidates
    with pytest.raises(Forbidden):
        engine.transfer(check.id, clerk, "eco-clerk", "不在允许的部门")
    moved = engine.transfer(check.id, clerk, "natres-clerk", "现场位于自然资源分局管辖地块")
    assert (moved.assignee, moved.department_code) == ("natres-clerk", "natres")
    natres = people["natres-clerk"]
    assert engine.get_task(check.id, natres).assignee == "natres-clerk"
    assert [t.id for t in engine.list_tasks(natres, scope="mine").items] == [check.id]
    with pytest.raises(Forbidden):
        engine.get_task(check.id, clerk)  # it left the 区应急局
    engine.complete(check.id, natres, {})
    (sign,) = open_tasks(engine, inst.id).values()
    assert sign.department_code == "emergency"  # the next step routes by its lane again
    (event,) = [e for e in engine.list_events(inst.id, admin) if e.kind == "task_transferred"]
    assert event.data["department"] == "natres"


def test_reassign_keeps_working(engine, people, review, open_tasks):
    task = open_tasks(engine, review.id)["opinion_drc"]
    moved = engine.reassign(task.id, people["drc-head"], "drc-clerk2")
    assert (moved.assignee, moved.handed_by) == ("drc-clerk2", None)
