"""A deadline or timer given as a date without a time ("2026-12-01") means the end of that day,
23:59:59 China time, like a working-day deadline (engine/calendar.py's due_at) — not midnight
UTC (08:00 in China). Warm and cold engines."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Engine
from engine.model import instance
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 11, 20, 2, 0)  # naive UTC, 10:00 in China
END_OF_DEC_1 = datetime(2026, 12, 1, 15, 59, 59)  # 23:59:59 on Dec 1 in China, naive UTC


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    if request.param == "warm":
        return lambda: engine
    return rebuild


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


def _next_due(engine: Engine, iid: int):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.next_due_at)
                            .where(instance.c.id == iid)).scalar_one()


def test_date_only_deadline_and_timer_mean_the_end_of_that_day(engine, step):
    engine.deploy("date_only_due.bpmn", (FIXTURES / "bpmn" / "date_only_due.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        inst = step().start("date_only_due", clerk, data={"deadline_day": "2026-12-01"})
        e = step()
        review = _open(e, inst.id)["review_report"]
        assert review.due_at == END_OF_DEC_1
        assert _next_due(e, inst.id) == END_OF_DEC_1

        clock.move_to(datetime(2026, 12, 1, 10, 0))  # 18:00 on the due day: not overdue yet
        assert step().fire_due_timers() == 0
        assert set(_open(step(), inst.id)) == {"review_report"}

        clock.move_to(END_OF_DEC_1 + timedelta(seconds=2))
        assert step().fire_due_timers() == 1
        assert set(_open(step(), inst.id)) == {"urge_report"}


def test_due_expression_date_from_a_calendar_helper(engine, step):
    """``add_working_days`` answers a date: the task is due at the end of it."""
    bpmn = (FIXTURES / "bpmn" / "date_only_due.bpmn").read_bytes().replace(
        b'value="deadline_day"', b'value="add_working_days(deadline_day, 0)"')
    engine.deploy("date_only_due.bpmn", bpmn, actor=actor(engine, "admin"))
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False):
        inst = step().start("date_only_due", clerk, data={"deadline_day": "2026-12-05"})
        review = _open(step(), inst.id)["review_report"]
        # Saturday Dec 5 -> Monday Dec 7, end of the day in China
        assert review.due_at == datetime(2026, 12, 7, 15, 59, 59)
