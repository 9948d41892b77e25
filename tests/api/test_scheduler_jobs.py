"""The scheduler's timer job works off a backlog in one run: rounds of ``TIMER_ROUND`` until a
round is not full (10,000 timers due at once are not left at 200 per interval), within its
time budget."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from tests.conftest import FIXTURES, actor
from web import scheduler

T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC


def _due_cases(engine, count: int) -> None:
    engine.deploy("deadline_timers.bpmn",
                  (FIXTURES / "bpmn" / "deadline_timers.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    clerk = actor(engine, "emergency-clerk")
    for _ in range(count):
        engine.start("deadline_timers", clerk)


def test_one_run_fires_every_due_timer_in_rounds(engine, monkeypatch):
    monkeypatch.setattr(scheduler, "TIMER_ROUND", 3)
    with time_machine.travel(T0, tick=False) as clock:
        _due_cases(engine, 7)
        clock.shift(timedelta(days=6))  # the 5-day reminder of every case is due
        calls = []
        real = engine.fire_due_timers
        monkeypatch.setattr(engine, "fire_due_timers",
                            lambda limit: calls.append(limit) or real(limit=limit))
        assert scheduler.fire_timers(engine) == 7
        assert calls == [3, 3, 3]  # 3 + 3 + 1: the last round was not full
        assert scheduler.fire_timers(engine) == 0


def test_a_run_stops_at_its_budget_and_the_next_goes_on(engine, monkeypatch):
    monkeypatch.setattr(scheduler, "TIMER_ROUND", 3)
    with time_machine.travel(T0, tick=False) as clock:
        _due_cases(engine, 7)
        clock.shift(timedelta(days=6))
        assert scheduler.fire_timers(engine, budget=0) == 3  # one round, then out of time
        assert scheduler.fire_timers(engine) == 4
