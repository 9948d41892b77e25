"""``due_days``: a limit given in calendar days (statutory limits in 日, e.g. 安全生产许可 45 日)
is due at the end (23:59:59 China time) of the n-th calendar day after the task opened —
weekends and holidays count, and a last day on a rest day is not moved. A boundary timer on
``task_due()`` follows it. Warm and cold engines."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import Engine
from engine.deadlines import calendar_days_due
from engine.definitions import TaskSpecInfo
from tests.conftest import FIXTURES, actor


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    if request.param == "warm":
        return lambda: engine
    return rebuild


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


def _diagram(days: str) -> bytes:
    return (FIXTURES / "bpmn" / "date_only_due.bpmn").read_bytes().replace(
        b'name="due_expression" value="deadline_day"', f'name="due_days" value="{days}"'.encode()
    ).replace(b">deadline_day</bpmn:timeDate>", b">task_due()</bpmn:timeDate>")


@pytest.mark.parametrize(("opened", "days", "due"), [
    # Fri 25 Sep 2026 10:00 China; 45 calendar days across the National Day holiday: Mon 9 Nov
    (datetime(2026, 9, 25, 2, 0), "45", datetime(2026, 11, 9, 15, 59, 59)),
    # Fri 20 Nov 2026; 2 calendar days: Sunday 22 Nov, not moved to Monday
    (datetime(2026, 11, 20, 2, 0), "2", datetime(2026, 11, 22, 15, 59, 59)),
    # 23:30 China on Fri 20 Nov (15:30 UTC): counted from the China day, not the UTC day
    (datetime(2026, 11, 20, 15, 30), "1", datetime(2026, 11, 21, 15, 59, 59)),
])
def test_calendar_day_limit_and_its_timer(engine, step, opened, days, due):
    engine.deploy("date_only_due.bpmn", _diagram(days), actor=actor(engine, "admin"))
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(opened, tick=False) as clock:
        inst = step().start("date_only_due", clerk, data={"deadline_day": "2099-01-01"})
        assert _open(step(), inst.id)["review_report"].due_at == due

        clock.move_to(due - timedelta(minutes=1))
        assert step().fire_due_timers() == 0
        assert set(_open(step(), inst.id)) == {"review_report"}

        clock.move_to(due + timedelta(seconds=2))
        assert step().fire_due_timers() == 1
        assert set(_open(step(), inst.id)) == {"urge_report"}


def test_working_days_win_over_calendar_days_and_bad_values_give_no_deadline():
    info = TaskSpecInfo.of("t", None, None, {"due_days": "45", "due_working_days": "1"})
    assert info.due_working_days == "1" and info.due_days == "45"
    now = datetime(2026, 11, 20, 2, 0)
    assert calendar_days_due("0", now) == (datetime(2026, 11, 20, 15, 59, 59), False)
    assert calendar_days_due(" 3 ", now) == (datetime(2026, 11, 23, 15, 59, 59), False)
    assert calendar_days_due("4.5", now) == (None, False)
    assert calendar_days_due("-1", now) == (None, False)


def test_due_in_days_in_a_due_expression(engine, step):
    """``due_in_days(limit)`` for a limit in 日 that comes from data (环评 60 日 / 30 日)."""
    bpmn = (FIXTURES / "bpmn" / "date_only_due.bpmn").read_bytes().replace(
        b'name="due_expression" value="deadline_day"',
        b'name="due_expression" value="due_in_days(limit_days)"')
    engine.deploy("date_only_due.bpmn", bpmn, actor=actor(engine, "admin"))
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(datetime(2026, 9, 25, 2, 0), tick=False):
        inst = step().start("date_only_due", clerk,
                            data={"deadline_day": "2099-01-01", "limit_days": 30})
        # Fri 25 Sep + 30 calendar days = Sun 25 Oct, end of the day in China
        assert _open(step(), inst.id)["review_report"].due_at == datetime(2026, 10, 25, 15, 59, 59)
