"""Helpers of the boundary-timer tests: deploy a fixture, open tasks, the instance head,
incidents, events, and the timers a workflow's event manager waits for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine import Engine
from engine.model import event, incident, instance
from engine.serialization import load_state
from engine.timers import timer_due
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 9, 1, 2, 0, 0)  # naive UTC (10:00 in Beijing), a Tuesday


def deploy(engine: Engine, name: str) -> None:
    engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))


def open_tasks(engine: Engine, iid: int):
    tasks = {}
    for t in engine.get_instance(iid, actor(engine, "admin")).tasks:
        assert t.element_id not in tasks, f"two open {t.element_id} tasks"
        tasks[t.element_id] = t
    return tasks


def head(engine: Engine, iid: int):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.status, instance.c.next_due_at, instance.c.version)
                            .where(instance.c.id == iid)).one()


def incidents(engine: Engine, iid: int) -> list[str]:
    with engine.db.connect() as conn:
        return [r.message for r in conn.execute(
            sa.select(incident.c.message).where(incident.c.instance_id == iid))]


def events(engine: Engine, iid: int, kind: str) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(event.c.task_id, event.c.data_json)
                            .where(event.c.instance_id == iid, event.c.kind == kind)
                            .order_by(event.c.id)).all()


def stored_workflow(engine: Engine, iid: int):
    """The workflow as stored in the instance row (not the live object)."""
    with engine.db.connect() as conn:
        st = conn.execute(sa.select(instance.c.state_json, instance.c.serializer_version,
                                    instance.c.definition_id)
                          .where(instance.c.id == iid)).one()
    loaded = engine.spec(st.definition_id)
    return load_state(st.state_json, st.serializer_version, loaded.spec, loaded.subprocess_specs)


def workflow(engine: Engine, iid: int):
    """The live object when this engine caches it (a warm engine), else the stored state."""
    version = head(engine, iid).version
    wf = engine.live.checkout(iid, version)
    if wf is None:
        return stored_workflow(engine, iid)
    engine.live.checkin(iid, version, wf)
    return wf


def waiting_timers(engine: Engine, iid: int) -> list[tuple[str, datetime | None, bool]]:
    """(element id, due, task still in the tree) of every task the event manager waits for."""
    wf = workflow(engine, iid)
    out = [(t.task_spec.bpmn_id, timer_due(t), t.workflow.tasks.get(t.id) is t)
           for t in wf.event_manager.tasks.values()]
    return sorted(out, key=lambda x: x[0])
