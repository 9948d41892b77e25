"""An application's read models see every save in its own transaction: the tasks a step opened
and closed, the case's data and status; an observer that fails rolls the command back."""

from __future__ import annotations

import pytest

from engine import EngineError


@pytest.fixture
def seen(engine):
    saved = []

    def observe(conn, step):
        saved.append(step)

    engine.add_read_model(observe)
    engine.add_read_model(observe)  # twice changes nothing
    yield saved
    engine.context.read_models.remove(observe)


def test_observer_sees_opened_and_closed_tasks_and_the_data(engine, people, open_tasks, seen):
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-OBS-1")
    (register,) = open_tasks(engine, inst.id).values()
    assert len(seen) == 1
    first = seen[0]
    assert (first.instance_id, first.process_key, first.business_key) == (
        inst.id, "sample_review", "ZS-OBS-1")
    assert first.opened == (register.id,) and first.closed == ()
    engine.complete(register.id, clerk, {"project_name": "观察项目"})
    last = seen[-1]
    assert last.closed == (register.id,)
    assert set(last.opened) == {t.id for t in open_tasks(engine, inst.id).values()}
    assert last.data["project_name"] == "观察项目"
    with pytest.raises(TypeError):
        last.data["project_name"] = "改"  # read only


def test_a_failing_observer_rolls_the_command_back(engine, people, open_tasks):
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-OBS-2")
    (register,) = open_tasks(engine, inst.id).values()

    def fail(conn, step):
        raise RuntimeError("read model broken")

    engine.add_read_model(fail)
    try:
        with pytest.raises((RuntimeError, EngineError)):
            engine.complete(register.id, clerk, {"project_name": "x"})
    finally:
        engine.context.read_models.remove(fail)
    assert {t.id for t in open_tasks(engine, inst.id).values()} == {register.id}


def test_terminate_tells_the_observer_which_tasks_it_cancelled(engine, people, open_tasks,
                                                                seen):
    clerk = people["invest-clerk"]
    inst = engine.start("sample_review", clerk, business_key="ZS-OBS-3")
    (register,) = open_tasks(engine, inst.id).values()
    engine.terminate(inst.id, people["admin"], reason="测试")
    last = seen[-1]
    assert (last.status, last.data, last.closed) == ("terminated", None, (register.id,))
