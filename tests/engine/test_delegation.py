"""委托: a stand-in sees and works the principal's tasks during the period (both names
recorded), not before, not after, not once revoked; who may set one, and for whom."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from engine import Forbidden, InvalidInput, UserInfo
from tests.engine.handover_support import add_colleagues, notices_to

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # Monday 2026-06-01, 10:00 in Beijing
DAY = date(2026, 6, 1)
OPINIONS = {"opinion_drc": "drc", "opinion_natres": "natres", "opinion_eco": "eco"}


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def review(engine, people, open_tasks, clock):
    add_colleagues(engine)
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-D-1", title="委托项目")
    (register,) = open_tasks(engine, inst.id).values()
    engine.complete(register.id, clerk, {"project_name": "委托项目"})
    return inst


def _to_sign(engine, people, open_tasks, review):
    for element_id, task in open_tasks(engine, review.id).items():
        engine.complete(task.id, people[f"{OPINIONS[element_id]}-clerk"], {})
    consolidate = open_tasks(engine, review.id)["consolidate_review"]
    engine.complete(consolidate.id, people["invest-clerk"], {"approved": True})
    return open_tasks(engine, review.id)["sign_agreement"]


def test_stand_in_claims_and_completes_during_the_period(engine, people, review, open_tasks,
                                                         clock):
    sign = _to_sign(engine, people, open_tasks, review)  # head role: the clerk cannot
    head, clerk = people["invest-head"], people["invest-clerk"]
    with pytest.raises(Forbidden):
        engine.claim(sign.id, clerk)
    d = engine.set_delegation(head, "invest-head", "invest-clerk", DAY, DAY + timedelta(days=4),
                              "外出学习")
    assert (d.username, d.deputy, d.created_by, d.status(DAY)) == (
        "invest-head", "invest-clerk", "invest-head", "active")
    (sent,) = notices_to(engine, username="invest-clerk")
    assert (sent.kind, sent.sender, sent.body) == ("delegation", "invest-head", "外出学习")

    listed = engine.list_tasks(clerk, scope="delegated")
    assert [(t.id, t.on_behalf_of) for t in listed.items] == [(sign.id, "invest-head")]
    claimed = engine.claim(sign.id, clerk)
    assert (claimed.assignee, claimed.on_behalf_of) == ("invest-clerk", "invest-head")
    assert [t.id for t in engine.list_tasks(clerk, scope="mine").items] == [sign.id]
    done = engine.complete(sign.id, clerk, {"signed": True})
    assert (done.completed_by, done.on_behalf_of) == ("invest-clerk", "invest-head")
    stored = engine.get_task(sign.id, head)
    assert (stored.state, stored.completed_by, stored.on_behalf_of) == (
        "completed", "invest-clerk", "invest-head")
    events = {e.kind: e for e in engine.list_events(review.id, people["admin"])
              if e.task_id == sign.id}
    assert events["task_claimed"].data["on_behalf_of"] == "invest-head"
    assert events["task_completed"].actor == "invest-clerk"
    assert events["task_completed"].data == {"signed": True, "on_behalf_of": "invest-head"}


def test_stand_in_completes_a_task_the_principal_claimed(engine, people, review, open_tasks,
                                                         clock):
    task = open_tasks(engine, review.id)["opinion_drc"]
    principal, deputy = people["drc-clerk"], people["drc-clerk2"]
    engine.claim(task.id, principal)
    with pytest.raises(Exception, match="认领"):  # a colleague's claim, no 委托 yet
        engine.complete(task.id, deputy, {})
    engine.set_delegation(principal, "drc-clerk", "drc-clerk2", DAY, DAY)
    # another case's unclaimed drc task is in the deputy's own queue, not among the 代办
    other = engine.start("sample_review", people["invest-clerk"], business_key="ZS-D-2")
    (register,) = open_tasks(engine, other.id).values()
    engine.complete(register.id, people["invest-clerk"], {})
    assert "opinion_drc" in open_tasks(engine, other.id)
    assert [t.id for t in engine.list_tasks(deputy, scope="delegated").items] == [task.id]
    done = engine.complete(task.id, deputy, {"opinion": "同意"})
    assert (done.completed_by, done.on_behalf_of) == ("drc-clerk2", "drc-clerk")


@pytest.mark.parametrize("when", ["before", "after", "revoked"])
def test_outside_the_period_the_stand_in_is_refused(engine, people, review, open_tasks, clock,
                                                    when):
    sign = _to_sign(engine, people, open_tasks, review)
    head, clerk = people["invest-head"], people["invest-clerk"]
    start = DAY + timedelta(days=2)
    d = engine.set_delegation(head, "invest-head", "invest-clerk", start,
                              start + timedelta(days=2))
    if when == "after":
        clock.move_to(T0 + timedelta(days=5))
    elif when == "revoked":
        clock.move_to(T0 + timedelta(days=3))
        assert [t.id for t in engine.list_tasks(clerk, scope="delegated").items] == [sign.id]
        revoked = engine.revoke_delegation(head, d.id)
        assert revoked.revoked_by == "invest-head" and revoked.status(DAY) == "revoked"
    assert engine.list_tasks(clerk, scope="delegated").total == 0
    with pytest.raises(Forbidden):
        engine.claim(sign.id, clerk)
    with pytest.raises(Forbidden):
        engine.complete(sign.id, clerk, {"signed": True})


def test_stand_in_sees_the_principals_department_only_during_the_period(
        engine, people, review, open_tasks, clock):
    task = open_tasks(engine, review.id)["opinion_drc"]
    engine.set_delegation(people["drc-head"], "drc-clerk", "drc-clerk2", DAY,
                          DAY + timedelta(days=1))
    # the deputy moves to another department meanwhile: they see drc's task for the period
    engine.sync_org([], [UserInfo("drc-clerk2", "钱晓明", "eco", ("caseworker",))])
    moved = engine.get_user("drc-clerk2").actor()
    assert engine.get_task(task.id, moved).element_id == "opinion_drc"
    clock.move_to(T0 + timedelta(days=2))
    with pytest.raises(Forbidden):
        engine.get_task(task.id, moved)


def test_who_may_set_a_delegation(engine, people, review, clock):
    head, clerk, other = people["drc-head"], people["drc-clerk"], people["drc-clerk2"]
    # a member cannot set one for a colleague, nor a head of another department
    with pytest.raises(Forbidden):
        engine.set_delegation(clerk, "drc-clerk2", "drc-clerk", DAY, DAY)
    with pytest.raises(Forbidden):
        engine.set_delegation(people["eco-head"], "drc-clerk", "drc-clerk2", DAY, DAY)
    # the head sets one for a member; an administrator may too
    by_head = engine.set_delegation(head, "drc-clerk", "drc-clerk2", DAY, DAY + timedelta(1))
    assert by_head.created_by == "drc-head"
    by_admin = engine.set_delegation(people["admin"], "drc-clerk2", "drc-head", DAY, DAY)
    assert by_admin.deputy == "drc-head"
    # the member sees theirs (as principal and as deputy), the head the department's
    assert {d.id for d in engine.list_delegations(clerk)} == {by_head.id}
    assert {d.id for d in engine.list_delegations(other)} == {by_head.id, by_admin.id}
    assert {d.id for d in engine.list_delegations(head)} == {by_head.id, by_admin.id}
    assert engine.list_delegations(people["eco-clerk"]) == []
    with pytest.raises(Forbidden):
        engine.list_delegations(clerk, username="drc-clerk2")
    with pytest.raises(Forbidden):
        engine.revoke_delegation(people["eco-clerk"], by_head.id)


def test_delegation_rules(engine, people, review, clock):
    clerk = people["drc-clerk"]
    cases = [
        (("drc-clerk", "drc-clerk", DAY, DAY), "本人"),
        (("drc-clerk", "eco-clerk", DAY, DAY), "同一部门"),
        (("drc-clerk", "drc-retired", DAY, DAY), "停用"),
        (("drc-clerk", "drc-clerk2", DAY, DAY - timedelta(1)), "早于"),
        (("drc-clerk", "drc-clerk2", DAY, DAY + timedelta(366)), "366"),
        (("drc-clerk", "drc-clerk2", "2026-13-01", DAY), "日期"),
        (("drc-clerk", "drc-clerk2", DAY - timedelta(5), DAY - timedelta(1)), "已过"),
    ]
    for args, message in cases:
        with pytest.raises(InvalidInput, match=message):
            engine.set_delegation(clerk, *args)
    first = engine.set_delegation(clerk, "drc-clerk", "drc-clerk2", "2026-06-01", "2026-06-10")
    assert (first.starts_on, first.ends_on) == (DAY, date(2026, 6, 10))
    with pytest.raises(InvalidInput, match="重叠"):
        engine.set_delegation(clerk, "drc-clerk", "drc-head", "2026-06-10", "2026-06-12")
    # after a revoke the period is free again
    engine.revoke_delegation(clerk, first.id)
    again = engine.set_delegation(clerk, "drc-clerk", "drc-head", "2026-06-10", "2026-06-12")
    assert again.deputy == "drc-head"


def test_an_inactive_principal_has_no_stand_in(engine, people, review, open_tasks, clock):
    sign = _to_sign(engine, people, open_tasks, review)
    engine.set_delegation(people["invest-head"], "invest-head", "invest-clerk", DAY, DAY)
    assert engine.list_tasks(people["invest-clerk"], scope="delegated").total == 1
    engine.sync_org([], [UserInfo("invest-head", "郭文斌", "invest", ("caseworker", "head"),
                                  active=False)])
    assert engine.list_tasks(people["invest-clerk"], scope="delegated").total == 0
    with pytest.raises(Forbidden):
        engine.claim(sign.id, people["invest-clerk"])


def test_stand_in_attaches_files_and_is_offered_the_task_only_during_the_period(
        engine, people, review, open_tasks, clock):
    sign = _to_sign(engine, people, open_tasks, review)  # head role: the clerk cannot
    head, clerk = people["invest-head"], people["invest-clerk"]
    with pytest.raises(Forbidden):
        engine.check_can_attach(clerk, task_id=sign.id)
    assert engine.task_context(sign.id, clerk).can_work is False
    engine.set_delegation(head, "invest-head", "invest-clerk", DAY + timedelta(days=1),
                          DAY + timedelta(days=2))
    with pytest.raises(Forbidden):  # the period has not begun
        engine.check_can_attach(clerk, task_id=sign.id)
    clock.move_to(T0 + timedelta(days=1))
    engine.check_can_attach(clerk, task_id=sign.id)
    assert engine.task_context(sign.id, clerk).can_work is True
    clock.move_to(T0 + timedelta(days=3))  # the period is over
    assert engine.task_context(sign.id, clerk).can_work is False
    with pytest.raises(Forbidden):
        engine.check_can_attach(clerk, task_id=sign.id)
