"""Send-back (退回) across boundary timers: the sender's dropped timers leave nothing behind,
the reopened task waits on fresh timers of its own (warm and cold, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from engine.model import instance
from engine.serialization import dump_state
from tests.conftest import actor
from tests.engine.boundary_support import (
    T0,
    deploy,
    head,
    incidents,
    open_tasks,
    stored_workflow,
    waiting_timers,
)


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


# ------------------------------------------------------------------ send-back and timers


def test_send_back_from_a_task_with_a_waiting_timer_leaves_no_orphan(engine, step):
    """退回 drops the review's waiting 10-day escalation for good, and the reopened submission
    gets its 3-day reminder again, counted from the send-back."""
    deploy(engine, "sendback_timers")
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("sendback_timers", invest, business_key="SB-1").id
        e = step()
        e.complete(open_tasks(e, iid)["submit_application"].id, invest, {"project": "新材料"})
        assert head(step(), iid).next_due_at == T0 + timedelta(days=10)

        clock.shift(timedelta(days=1))
        e = step()
        e.send_back(open_tasks(e, iid)["review_application"].id, drc, "submit_application", "补充材料")
        e = step()
        assert incidents(e, iid) == []
        row = head(e, iid)
        assert row.status == "running"
        assert set(open_tasks(e, iid)) == {"submit_application"}
        # a fresh reminder: three days from the send-back, not from the first submission
        fresh = T0 + timedelta(days=4)
        assert row.next_due_at == fresh
        assert waiting_timers(e, iid) == [("submit_reminder", fresh, True)]

        # the reminder fires once, on time, and nothing else happens
        clock.shift(timedelta(days=3, minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        assert set(open_tasks(e, iid)) == {"submit_application", "urge_submission"}
        assert incidents(e, iid) == []

        # past the dropped review's 10-day due time: no escalation, no incident
        clock.shift(timedelta(days=8))
        step().fire_due_timers()
        e = step()
        assert set(open_tasks(e, iid)) == {"submit_application", "urge_submission"}
        assert head(e, iid).status == "running" and incidents(e, iid) == []

        e.complete(open_tasks(e, iid)["urge_submission"].id, actor(engine, "supervision-clerk"), {})
        e = step()
        e.complete(open_tasks(e, iid)["submit_application"].id, invest, {"eia": "已补充"})
        # the review opens again with a fresh 10-day escalation
        assert head(step(), iid).next_due_at == T0 + timedelta(days=22, minutes=1)
        e = step()
        e.complete(open_tasks(e, iid)["review_application"].id, drc, {})
        assert head(step(), iid).status == "completed"


@pytest.mark.parametrize("urged", [True, False], ids=["urging-done", "urging-open"])
def test_send_back_to_a_task_whose_reminder_already_fired(engine, step, urged):
    """The submission's reminder fired (督查室 urged) before it was submitted; the review then
    sends the case back: no duplicate task, a fresh reminder on the reopened submission."""
    deploy(engine, "sendback_timers")
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    supervision = actor(engine, "supervision-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("sendback_timers", invest, business_key="SB-2").id
        clock.shift(timedelta(days=3, minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        urge = open_tasks(e, iid)["urge_submission"]
        if urged:
            e.complete(urge.id, supervision, {"note": "已电话催办"})
        e = step()
        first = open_tasks(e, iid)["submit_application"]
        e.complete(first.id, invest, {"project": "新材料"})

        clock.shift(timedelta(days=1))
        e = step()
        e.send_back(open_tasks(e, iid)["review_application"].id, drc, "submit_application", "补充材料")
        e = step()
        assert incidents(e, iid) == [] and head(e, iid).status == "running"
        tasks = open_tasks(e, iid)
        assert set(tasks) == {"submit_application"}
        assert tasks["submit_application"].id == first.id  # the reopened task keeps its id
        if urged:
            assert e.get_task(urge.id, supervision).state == "completed"
        else:  # the urging of the withdrawn submission is void
            assert e.get_task(urge.id, supervision).state == "cancelled"
        fresh = T0 + timedelta(days=7, minutes=1)
        assert head(e, iid).next_due_at == fresh
        assert waiting_timers(e, iid) == [("submit_reminder", fresh, True)]

        clock.shift(timedelta(days=3, minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        tasks = open_tasks(e, iid)
        assert set(tasks) == {"submit_application", "urge_submission"}
        assert tasks["urge_submission"].id != urge.id
        e.complete(tasks["urge_submission"].id, supervision, {})
        e = step()
        e.complete(open_tasks(e, iid)["submit_application"].id, invest, {"eia": "已补充"})
        e = step()
        e.complete(open_tasks(e, iid)["review_application"].id, drc, {})
        assert head(step(), iid).status == "completed"


def test_send_back_twice_keeps_one_fresh_timer(engine, step):
    deploy(engine, "sendback_timers")
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("sendback_timers", invest).id
        for n in range(3):
            e = step()
            e.complete(open_tasks(e, iid)["submit_application"].id, invest, {"round": n})
            clock.shift(timedelta(hours=5))
            e = step()
            e.send_back(open_tasks(e, iid)["review_application"].id, drc, "submit_application",
                        f"第 {n + 1} 次退回")
        e = step()
        now = T0 + timedelta(hours=15)
        assert waiting_timers(e, iid) == [("submit_reminder", now + timedelta(days=3), True)]
        assert head(e, iid).next_due_at == now + timedelta(days=3)
        assert incidents(e, iid) == []


def test_send_back_repairs_a_tree_compacted_before_splits_kept_their_events(engine, rebuild):
    """Instances saved by an older compaction lost the fired reminder between the split and
    the urging that followed it; a send-back still gives one fresh reminder and no duplicate."""
    deploy(engine, "sendback_timers")
    invest, drc = actor(engine, "invest-clerk"), actor(engine, "drc-clerk")
    supervision = actor(engine, "supervision-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = engine.start("sendback_timers", invest).id
        clock.shift(timedelta(days=3, minutes=1))
        engine.fire_due_timers()
        engine.complete(open_tasks(engine, iid)["urge_submission"].id, supervision, {})
        engine.complete(open_tasks(engine, iid)["submit_application"].id, invest, {})

        # what the older compaction left: the fired reminder spliced out of the split
        wf = stored_workflow(engine, iid)
        (reminder,) = [t for t in wf.tasks.values() if t.task_spec.bpmn_id == "submit_reminder"]
        split = reminder.parent
        (successor,) = reminder.children
        split._children[split._children.index(reminder.id)] = successor.id
        successor._parent = split.id
        del wf.tasks[reminder.id]
        with engine.db.begin() as conn:
            conn.execute(instance.update().where(instance.c.id == iid)
                         .values(state_json=dump_state(wf)))

        e = rebuild()
        clock.shift(timedelta(days=1))
        e.send_back(open_tasks(e, iid)["review_application"].id, drc, "submit_application", "补充")
        e = rebuild()
        assert incidents(e, iid) == [] and set(open_tasks(e, iid)) == {"submit_application"}
        fresh = T0 + timedelta(days=7, minutes=1)
        assert waiting_timers(e, iid) == [("submit_reminder", fresh, True)]
        assert head(e, iid).next_due_at == fresh
