"""A failing service task becomes an incident that names the operation and the handler's own
error (SpiffWorkflow 3.2's call_service wraps it with an undefined name), and a retry after the
fix runs the handler again. Warm and cold engines."""

from __future__ import annotations

import pytest

from engine import Engine
from tests.conftest import FIXTURES, actor


def check_account(data, account=None):
    if not (account or {}).get("number"):
        raise ValueError("账目缺少编号")
    return {"number": account["number"], "ok": True}


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    """``step()`` gives the engine for the next step (the same, or a new one each time), with
    the fixture's handler registered."""
    engine.services.register("check_account", check_account)
    if request.param == "warm":
        return lambda: engine

    def cold() -> Engine:
        eng = rebuild()
        eng.services.register("check_account", check_account)
        return eng

    return cold


def _open(engine: Engine, iid: int):
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


def test_failed_service_task_incident_names_operation_and_error(engine, step):
    engine.deploy("failing_service.bpmn",
                  (FIXTURES / "bpmn" / "failing_service.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    clerk, admin = actor(engine, "drc-clerk"), actor(engine, "admin")
    inst = step().start("failing_service", clerk)
    e = step()
    e.complete(_open(e, inst.id)["enter_account"].id, clerk, {"account": {"name": "台账"}})

    e = step()
    assert e.get_instance(inst.id, admin).status == "incident"
    (inc,) = e.list_incidents(admin, instance_id=inst.id)
    assert inc["element_id"] == "verify_account"
    assert "check_account" in inc["message"]
    assert "账目缺少编号" in inc["message"]
    assert "ValueError" in inc["message"]
    assert "NameError" not in inc["message"]

    fixed = step().retry_incident(inst.id, admin,
                                  data={"account": {"name": "台账", "number": "ZM-7"}})
    assert fixed.status == "running"
    e = step()
    review = _open(e, inst.id)["review_account"]
    assert e.get_task(review.id, clerk).data["checked"] == {"number": "ZM-7", "ok": True}
    assert e.list_incidents(admin, instance_id=inst.id) == []
