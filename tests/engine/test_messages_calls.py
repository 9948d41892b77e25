"""Messages between instances, correlated by name and project code; call activities that run
the called process as its own linked instance (issue 3). Each also with cold engines."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import Engine
from engine.model import instance, message
from tests.conftest import FIXTURES, actor


def _deploy(engine: Engine, *names: str) -> None:
    for name in names:
        engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                      actor=actor(engine, "admin"))


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    """``step()`` gives the engine for the next step: the same one, or a new one each time."""
    if request.param == "warm":
        return lambda: engine
    return rebuild


def test_message_resumes_only_the_instance_with_the_same_key(engine, step):
    _deploy(engine, "msg_wait", "msg_send")
    invest, emergency = actor(engine, "invest-clerk"), actor(engine, "emergency-clerk")
    waiting = {}
    for code in ("XM-001", "XM-002"):
        inst = step().start("msg_wait", invest, business_key=code)
        e = step()
        e.complete(_open(e, inst.id)["prepare_project"].id, invest, {})
        waiting[code] = inst.id
        assert _open(step(), inst.id) == {}  # waiting for the message: no human task

    sender = step().start("msg_send", emergency, business_key="XM-002")
    e = step()
    e.complete(_open(e, sender.id)["decide_mine"].id, emergency,
               {"approved": True, "licence": "安许-2026-17"})

    e = step()
    assert _open(e, waiting["XM-001"]) == {}  # other project untouched
    tasks = _open(e, waiting["XM-002"])
    assert set(tasks) == {"use_mine_result"}
    data = e.get_task(tasks["use_mine_result"].id, invest).data
    assert data["mine_result"] == {"approved": True, "licence": "安许-2026-17"}
    assert e.get_instance(sender.id, emergency).status == "completed"


def test_message_without_catcher_waits_until_one_appears(engine, step):
    _deploy(engine, "msg_wait", "msg_send")
    invest, emergency = actor(engine, "invest-clerk"), actor(engine, "emergency-clerk")
    sender = step().start("msg_send", emergency, business_key="XM-009")
    e = step()
    e.complete(_open(e, sender.id)["decide_mine"].id, emergency,
               {"approved": False, "licence": None})
    with engine.db.connect() as conn:
        pending = conn.execute(sa.select(message).where(message.c.delivered_at.is_(None))).all()
    assert [(m.name, m.correlation_key) for m in pending] == [("mine_result", "XM-009")]

    inst = step().start("msg_wait", invest, business_key="XM-009")
    e = step()
    e.complete(_open(e, inst.id)["prepare_project"].id, invest, {})
    e = step()
    tasks = _open(e, inst.id)
    assert set(tasks) == {"use_mine_result"}  # delivered as soon as the catcher appeared
    assert e.get_task(tasks["use_mine_result"].id, invest).data["mine_result"]["approved"] is False
    with engine.db.connect() as conn:
        row = conn.execute(sa.select(message)).one()
    assert row.delivered_to == inst.id


def test_external_message_through_the_engine(engine, step):
    _deploy(engine, "msg_wait")
    invest = actor(engine, "invest-clerk")
    inst = step().start("msg_wait", invest, business_key="XM-100")
    e = step()
    e.complete(_open(e, inst.id)["prepare_project"].id, invest, {})
    outcome = step().correlate_message("mine_result", "XM-100", {"approved": True},
                                       actor=actor(engine, "admin"))
    assert outcome == {"status": "delivered", "instance_id": inst.id}
    outcome = step().correlate_message("mine_result", "XM-404", {"approved": True})
    assert outcome["status"] == "waiting"


def test_call_activity_runs_child_instance_and_parent_continues(engine, step):
    _deploy(engine, "call_child", "call_parent")
    invest, emergency = actor(engine, "invest-clerk"), actor(engine, "emergency-clerk")
    parent = step().start("call_parent", invest, business_key="KS-001", title="某铁矿项目")
    e = step()
    e.complete(_open(e, parent.id)["register_mine_project"].id, invest, {"mine": "某铁矿"})

    with engine.db.connect() as conn:
        child_row = conn.execute(
            sa.select(instance).where(instance.c.parent_instance_id == parent.id)).one()
    assert child_row.process_key == "call_child"
    assert child_row.business_key == "KS-001" and child_row.title == "某铁矿项目"
    e = step()
    assert _open(e, parent.id) == {}
    child_tasks = _open(e, child_row.id)
    review = child_tasks["review_safety_design"]
    assert review.department_code == "emergency"
    assert e.get_task(review.id, emergency).data["mine"] == "某铁矿"  # input copied

    e = step()
    e.complete(review.id, emergency, {"design_approved": True})
    e = step()
    assert e.get_instance(child_row.id, emergency).status == "completed"
    tasks = _open(e, parent.id)
    assert set(tasks) == {"after_mine_approval"}
    data = e.get_task(tasks["after_mine_approval"].id, invest).data
    assert data["design_approved"] is True and data["mine"] == "某铁矿"
    e.complete(tasks["after_mine_approval"].id, invest, {})
    assert step().get_instance(parent.id, invest).status == "completed"
