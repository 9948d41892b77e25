"""Two interrupting boundary timers on one task that fall due in the same refresh: only the
earliest (on a tie, the first in document order) fires; the task is cancelled once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.conftest import actor
from tests.engine.boundary_support import (
    T0,
    deploy,
    events,
    head,
    incidents,
    open_tasks,
    waiting_timers,
)


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


# ------------------------------------------------------------------ competing interrupting timers


@pytest.mark.parametrize(
    ("first_limit", "second_limit", "winner"),
    [
        ("P12D", "P10D", "supervision_escalation"),  # the earlier due wins, not document order
        ("P10D", "P12D", "leaders_escalation"),
        ("P10D", "P10D", "leaders_escalation"),  # equal: the first in document order
    ],
)
def test_two_interrupting_timers_due_in_one_refresh_fire_once(
    engine, step, first_limit, second_limit, winner
):
    deploy(engine, "double_escalation")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("double_escalation", clerk,
                           data={"first_limit": first_limit, "second_limit": second_limit}).id
        review = open_tasks(step(), iid)["review_case"]
        clock.shift(timedelta(days=30))  # both are overdue by the time the scheduler runs
        assert step().fire_due_timers() == 1
        e = step()
        assert set(open_tasks(e, iid)) == {winner}
        assert incidents(e, iid) == []
        cancelled = [r.task_id for r in events(e, iid, "task_cancelled")]
        assert cancelled == [review.id]  # the review is cancelled once
        assert waiting_timers(e, iid) == []
        assert head(e, iid).next_due_at is None
        clock.shift(timedelta(days=30))
        assert step().fire_due_timers() == 0
        e = step()
        assert set(open_tasks(e, iid)) == {winner}
        who = "leaders-clerk" if winner == "leaders_escalation" else "supervision-clerk"
        e.complete(open_tasks(e, iid)[winner].id, actor(engine, who), {})
        assert head(step(), iid).status == "completed"


def test_interrupting_timers_due_apart_fire_at_their_own_time(engine, step):
    deploy(engine, "double_escalation")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        iid = step().start("double_escalation", clerk,
                           data={"first_limit": "P12D", "second_limit": "P10D"}).id
        clock.shift(timedelta(days=10, minutes=1))
        assert step().fire_due_timers() == 1
        assert set(open_tasks(step(), iid)) == {"supervision_escalation"}
        clock.shift(timedelta(days=5))
        assert step().fire_due_timers() == 0
        assert set(open_tasks(step(), iid)) == {"supervision_escalation"}


