"""Timers advanced by the scheduler command, and incidents with retry (issue 3)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
import time_machine

from engine import Engine
from engine.model import event, instance
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC


def _deploy(engine: Engine, name: str) -> None:
    engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))


def _open(engine: Engine, iid: int, who: str = "admin"):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, who)).tasks}


def _events(engine: Engine, iid: int, kind: str) -> int:
    with engine.db.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(event)
            .where(event.c.instance_id == iid, event.c.kind == kind)
        ).scalar_one()


def test_reminder_keeps_task_and_escalation_interrupts(engine, rebuild):
    _deploy(engine, "deadline_timers")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        inst = engine.start("deadline_timers", clerk, business_key="MINE-1")
        head = engine.get_instance(inst.id, clerk)
        assert set(_open(engine, inst.id)) == {"review_design"}
        with engine.db.connect() as conn:
            due = conn.execute(sa.select(instance.c.next_due_at)
                               .where(instance.c.id == inst.id)).scalar_one()
        assert due == T0 + timedelta(days=5)
        assert engine.fire_due_timers() == 0  # nothing due yet

        clock.shift(timedelta(days=5, minutes=1))
        engine = rebuild()
        assert engine.fire_due_timers() == 1
        tasks = _open(engine, inst.id)
        # the reminder put an urging task in 督查室's queue and did not take the review away
        assert set(tasks) == {"review_design", "record_reminder"}
        assert tasks["record_reminder"].department_code == "supervision"
        engine.complete(tasks["record_reminder"].id, actor(engine, "supervision-clerk"), {})
        assert _events(engine, inst.id, "timer_fired") == 1
        assert engine.fire_due_timers() == 0

        clock.shift(timedelta(days=15))
        assert engine.fire_due_timers() == 1
        tasks = _open(engine, inst.id)
        assert set(tasks) == {"escalate_overdue"}
        assert tasks["escalate_overdue"].department_code == "leaders"
        leader = actor(engine, "leaders-clerk")
        engine.complete(tasks["escalate_overdue"].id, leader, {"decision": "约谈"})
        assert engine.get_instance(inst.id, clerk).status == "completed"
        assert head.status == "running"


def test_completing_in_time_clears_the_timers(engine):
    _deploy(engine, "deadline_timers")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        inst = engine.start("deadline_timers", clerk)
        task = _open(engine, inst.id)["review_design"]
        engine.complete(task.id, clerk, {"opinion": "通过"})
        with engine.db.connect() as conn:
            row = conn.execute(sa.select(instance.c.status, instance.c.next_due_at)
                               .where(instance.c.id == inst.id)).one()
        assert row.status == "completed" and row.next_due_at is None
        clock.shift(timedelta(days=30))
        assert engine.fire_due_timers() == 0


def test_timer_due_while_stopped_fires_on_first_run(engine, rebuild):
    """The service was down when the timer fell due: the first scheduler pass fires it."""
    _deploy(engine, "deadline_timers")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        inst = engine.start("deadline_timers", clerk)
        clock.shift(timedelta(days=40))  # "downtime" past both timers
        restarted = rebuild()
        assert restarted.fire_due_timers() >= 1
        # both fell due during the downtime: the reminder went out, the review was escalated
        assert set(_open(restarted, inst.id)) == {"escalate_overdue", "record_reminder"}


def test_two_schedulers_never_fire_the_same_timer_twice(engine, rebuild):
    _deploy(engine, "deadline_timers")
    clerk = actor(engine, "emergency-clerk")
    with time_machine.travel(T0, tick=False) as clock:
        ids = [engine.start("deadline_timers", clerk).id for _ in range(30)]
        clock.shift(timedelta(days=5, minutes=1))
        nodes = [rebuild(), rebuild()]
        barrier = threading.Barrier(2)
        counts, errors = [0, 0], []

        def run(i):
            try:
                barrier.wait()
                counts[i] = nodes[i].fire_due_timers()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sum(counts) == 30
        for iid in ids:
            assert _events(engine, iid, "timer_fired") == 1


def test_failing_script_creates_incident_and_retry_completes(engine, rebuild):
    _deploy(engine, "failing_script")
    clerk = actor(engine, "drc-clerk")
    admin = actor(engine, "admin")
    inst = engine.start("failing_script", clerk, data={"total": 0})
    enter = _open(engine, inst.id)["enter_amounts"]
    engine.complete(enter.id, clerk, {"amount": 5})  # the caseworker's work is kept

    broken = engine.get_instance(inst.id, admin)
    assert broken.status == "incident"
    assert broken.tasks == ()
    (inc,) = engine.list_incidents(admin, instance_id=inst.id)
    assert inc["element_id"] == "compute_share"
    assert "ZeroDivisionError" in inc["message"] or "division" in inc["message"]
    assert engine.get_task(enter.id, clerk).state == "completed"

    engine = rebuild()  # the stored state is the last good one
    again = engine.retry_incident(inst.id, admin)  # same data: fails again
    assert again.status == "incident"
    fixed = engine.retry_incident(inst.id, admin, data={"total": 20})
    assert fixed.status == "running"
    check = _open(engine, inst.id)["check_share"]
    assert engine.get_task(check.id, clerk).data["share"] == 0.25
    assert engine.list_incidents(admin, instance_id=inst.id) == []
    engine.complete(check.id, clerk, {})
    assert engine.get_instance(inst.id, admin).status == "completed"


def test_script_sandbox_refuses_imports_and_dunders(engine):
    from engine.scripting import ScriptRejected, check_code

    for bad in ("import os", "x = ().__class__", "__import__('os')", "open.__name__"):
        try:
            check_code(bad)
        except ScriptRejected:
            continue
        raise AssertionError(f"accepted: {bad}")
    check_code("share = round(amount / total, 2)")


def test_monthly_cycle_fires_on_the_first_of_each_month(engine, rebuild):
    """A report round opens on the 1st of every month, China time, for 12 months (no drift)."""
    _deploy(engine, "monthly_cycle")
    sup = actor(engine, "supervision-clerk")
    start = datetime(2026, 2, 15, 2, 0)  # Feb 15, 10:00 Beijing
    with time_machine.travel(start, tick=False) as clock:
        inst = engine.start("monthly_cycle", sup)
        opened = []
        for month in range(12):
            with engine.db.connect() as conn:
                due = conn.execute(sa.select(instance.c.next_due_at)
                                   .where(instance.c.id == inst.id)).scalar_one()
            local = due + timedelta(hours=8)
            assert (local.day, local.hour, local.minute) == (1, 0, 0), local
            clock.move_to(due + timedelta(seconds=1))
            node = rebuild() if month % 3 == 0 else engine
            assert node.fire_due_timers() == 1
            assert node.fire_due_timers() == 0
            rounds = [t for t in _open(node, inst.id).values()
                      if t.element_id == "open_monthly_round"]
            assert len(rounds) == 1  # last month's was completed below
            node.complete(rounds[0].id, sup, {"month": local.strftime("%Y-%m")})
            opened.append(local.strftime("%Y-%m"))
        assert opened == [f"{2026 + (m + 2) // 12}-{(m + 2) % 12 + 1:02d}" for m in range(12)]
