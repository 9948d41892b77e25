"""Pausing a task's deadline clock holds the boundary timers defined relative to its due time;
resuming moves them with the due date (warm and cold, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine

from tests.conftest import actor
from tests.engine.boundary_support import (
    T0,
    deploy,
    head,
    incidents,
    open_tasks,
    waiting_timers,
)


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


def _local(moment: datetime) -> date:
    return (moment + timedelta(hours=8)).date()


def _shifted(engine, moment: datetime, days: int) -> datetime:
    day = _local(moment)
    return moment + (engine.calendar.current().add_working_days(day, days) - day)


def _timers(engine, iid) -> dict:
    return {element: due for element, due, in_tree in waiting_timers(engine, iid) if in_tree}


def test_an_escalation_at_task_due_waits_out_the_pause_and_moves_with_the_deadline(engine, step):
    deploy(engine, "paused_deadline")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("paused_deadline", clerk, data={"limit_days": 10}).id
        review = open_tasks(step(), iid)["review_design"]
        due0 = review.due_at
        assert due0 == engine.calendar.current().due_at(T0, 20)
        # task_due() is the task's own due time
        assert _timers(step(), iid) == {"design_overdue": due0,
                                        "design_reminder": T0 + timedelta(days=5)}

        clock.shift(timedelta(days=1))
        paused_at = T0 + timedelta(days=1)
        step().pause_task(review.id, clerk, reason="专家评审")
        e = step()
        assert head(e, iid).next_due_at == T0 + timedelta(days=5)  # the reminder still runs

        clock.shift(timedelta(days=4, minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        assert set(open_tasks(e, iid)) == {"review_design", "urge_design"}
        e.complete(open_tasks(e, iid)["urge_design"].id, actor(engine, "supervision-clerk"), {})
        assert head(step(), iid).next_due_at is None  # the escalation is held

        # the original deadline passes while the clock stands still: no escalation
        clock.move_to(due0 + timedelta(days=2))
        assert step().fire_due_timers() == 0
        assert set(open_tasks(step(), iid)) == {"review_design"}

        now = due0 + timedelta(days=2)
        resumed = step().resume_task(review.id, clerk)
        paused_days = engine.calendar.current().working_days_between(_local(paused_at),
                                                                     _local(now))
        due1 = _shifted(engine, due0, paused_days)
        assert paused_days > 10 and resumed.due_at == due1
        e = step()
        assert _timers(e, iid) == {"design_overdue": due1}
        assert head(e, iid).next_due_at == due1

        clock.move_to(due1 - timedelta(minutes=1))
        assert step().fire_due_timers() == 0
        clock.move_to(due1 + timedelta(minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        assert set(open_tasks(e, iid)) == {"escalate_design"}
        assert e.get_task(review.id, clerk).state == "cancelled"
        assert incidents(e, iid) == []


def test_a_timer_at_the_deadline_and_one_before_it_follow_pauses(engine, step):
    """``due_in_working_days(limit_days)`` on a task due in ``limit_days`` falls due at the
    deadline: it follows; ``task_due(-2)`` stays two working days before the new deadline."""
    deploy(engine, "paused_deadline")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("paused_deadline", clerk, data={"limit_days": 10}).id
        e = step()
        e.complete(open_tasks(e, iid)["review_design"].id, clerk, {})
        review = open_tasks(step(), iid)["review_safety"]
        due0 = review.due_at
        assert due0 == engine.calendar.current().due_at(T0, 10)
        assert _timers(step(), iid) == {"safety_overdue": due0,
                                        "safety_warning": _shifted(engine, due0, -2)}

        for pause_days in (3, 6):  # two pauses: each moves the deadline and the timers again
            clock.shift(timedelta(days=1))
            before = open_tasks(step(), iid)["review_safety"].due_at
            start = datetime.now().replace(tzinfo=None)
            step().pause_task(review.id, clerk, reason="听证")
            assert head(step(), iid).next_due_at is None
            clock.shift(timedelta(days=pause_days))
            resumed = step().resume_task(review.id, clerk)
            days = engine.calendar.current().working_days_between(
                _local(start), _local(start + timedelta(days=pause_days)))
            assert resumed.due_at == _shifted(engine, before, days) > before
            e = step()
            assert _timers(e, iid) == {"safety_overdue": resumed.due_at,
                                       "safety_warning": _shifted(engine, resumed.due_at, -2)}
            assert head(e, iid).next_due_at == _shifted(engine, resumed.due_at, -2)

        due = resumed.due_at
        clock.move_to(_shifted(engine, due, -2) + timedelta(minutes=1))
        assert step().fire_due_timers() == 1
        assert set(open_tasks(step(), iid)) == {"review_safety", "warn_safety"}
        clock.move_to(due + timedelta(minutes=1))
        assert step().fire_due_timers() == 1
        e = step()
        assert set(open_tasks(e, iid)) == {"warn_safety", "escalate_safety"}
        assert incidents(e, iid) == []
