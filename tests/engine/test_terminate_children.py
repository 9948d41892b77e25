"""Ending a case ends the called processes it is still running: Engine.terminate and a terminate
end event terminate the linked child instances (and theirs), each with an event, their open
tasks cancelled, in the same transaction. Warm and cold engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import Conflict, Engine
from engine.model import event, instance, task
from tests.conftest import FIXTURES, actor


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    if request.param == "warm":
        return lambda: engine
    return rebuild


def _deploy(engine: Engine) -> None:
    for name in ("call_child", "call_middle", "call_terminate"):
        engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                      actor=actor(engine, "admin"))


def _descendants(engine: Engine, iid: int) -> list:
    with engine.db.connect() as conn:
        middle = conn.execute(sa.select(instance).where(instance.c.parent_instance_id == iid)).one()
        child = conn.execute(
            sa.select(instance).where(instance.c.parent_instance_id == middle.id)).one()
    return [middle, child]


def _state(engine: Engine, iid: int):
    with engine.db.connect() as conn:
        row = conn.execute(sa.select(instance.c.status, instance.c.ended_at,
                                     instance.c.next_due_at).where(instance.c.id == iid)).one()
        kinds = [k for (k,) in conn.execute(sa.select(event.c.kind).where(
            event.c.instance_id == iid).order_by(event.c.id))]
        tasks = dict(conn.execute(sa.select(task.c.element_id, task.c.state)
                                  .where(task.c.instance_id == iid)).all())
    return row, kinds, tasks


def _start(engine: Engine, step) -> tuple[int, list]:
    _deploy(engine)
    inst = step().start("call_terminate", actor(engine, "invest-clerk"), business_key="KS-9")
    middle, child = _descendants(step(), inst.id)
    assert middle.status == child.status == "running"
    assert _state(step(), child.id)[2] == {"review_safety_design": "ready"}
    return inst.id, [middle.id, child.id]


def _assert_terminated(engine: Engine, ids: list) -> None:
    for iid in ids:
        row, kinds, tasks = _state(engine, iid)
        assert row.status == "terminated" and row.ended_at is not None, iid
        assert "instance_terminated" in kinds
        assert all(s == "cancelled" for s in tasks.values()), tasks
    child_tasks = _state(engine, ids[-1])[1]
    assert child_tasks.count("task_cancelled") == 1


def test_engine_terminate_ends_running_children(engine, step):
    iid, children = _start(engine, step)
    step().terminate(iid, actor(engine, "admin"), reason="项目撤销")
    e = step()
    assert e.get_instance(iid, actor(e, "admin")).status == "terminated"
    _assert_terminated(e, children)
    with e.db.connect() as conn:
        review = conn.execute(sa.select(task.c.id)
                              .where(task.c.instance_id == children[-1])).scalar_one()
    with pytest.raises(Conflict):  # the child's task can no longer be done
        e.complete(review, actor(e, "emergency-clerk"), {"design_approved": True})


def test_terminate_end_event_ends_running_children(engine, step):
    iid, children = _start(engine, step)
    e = step()
    (stop,) = [t for t in e.get_instance(iid, actor(e, "admin")).tasks
               if t.element_id == "stop_case"]
    e.complete(stop.id, actor(e, "invest-clerk"), {})
    e = step()
    assert e.get_instance(iid, actor(e, "admin")).status in ("completed", "terminated")
    _assert_terminated(e, children)
