"""Diagram code reads the instance's business key through ``business_key()``; it cannot change
it, and submitted data cannot hide it (warm and cold, SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine import InvalidInput
from engine.model import instance
from tests.conftest import actor
from tests.engine.boundary_support import deploy, incidents, open_tasks


@pytest.fixture(params=["warm", "cold"])
def step(request, engine, rebuild):
    return (lambda: engine) if request.param == "warm" else rebuild


def _row_key(engine, iid):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.business_key)
                            .where(instance.c.id == iid)).scalar_one()


@pytest.mark.parametrize(
    ("key", "review", "reviewer"),
    [("HZ-2026-07", "ratify_review", "drc-clerk"), ("XM-2026-07", "other_review", "invest-clerk"),
     (None, "other_review", "invest-clerk")],
)
def test_scripts_and_conditions_read_the_business_key(engine, step, key, review, reviewer):
    deploy(engine, "business_key_child")
    deploy(engine, "business_key_route")
    invest, admin = actor(engine, "invest-clerk"), actor(engine, "admin")
    iid = step().start("business_key_route", invest, business_key=key).id
    if key is None:  # started without a key, the case got one (engine/commands/start.py)
        key = _row_key(engine, iid)
        assert re.fullmatch(r"BKR-\d{8}-[0-9A-F]{4}", key), key
    e = step()
    tasks = open_tasks(e, iid)
    assert set(tasks) == {review}  # the gateway's condition saw the key
    data = e.get_task(tasks[review].id, admin).data
    assert data["key_at_start"] == key
    assert data["key_in_script"] == "HACKED"  # a local name inside that one script …
    assert "business_key" not in data  # … that is not kept in the task data
    assert _row_key(e, iid) == key

    e.complete(tasks[review].id, actor(engine, reviewer), {"opinion": "同意"})
    e = step()
    child = e.list_instances(admin, process_key="business_key_child").items[0]
    assert child.business_key == key
    (child_task,) = open_tasks(e, child.id).values()
    assert e.get_task(child_task.id, admin).data["key_in_child"] == key
    e.complete(child_task.id, actor(engine, "emergency-clerk"), {})

    e = step()
    final = e.get_instance(iid, admin, with_data=True)
    assert final.status == "completed" and incidents(e, iid) == []
    assert final.data["key_after_review"] == key
    assert final.data["key_in_child"] == key
    assert final.business_key == key


def test_submitted_data_cannot_take_the_helpers_name(engine, step):
    deploy(engine, "business_key_child")
    deploy(engine, "business_key_route")
    invest = actor(engine, "invest-clerk")
    with pytest.raises(InvalidInput) as refused:
        step().start("business_key_route", invest, business_key="HZ-1",
                     data={"business_key": "XM-1"})
    assert set(refused.value.details) == {"business_key"}
    iid = step().start("business_key_route", invest, business_key="HZ-1").id
    e = step()
    review = open_tasks(e, iid)["ratify_review"]
    with pytest.raises(InvalidInput) as refused:
        e.complete(review.id, actor(engine, "drc-clerk"), {"business_key": "XM-1", "now": 1})
    assert set(refused.value.details) == {"business_key", "now"}
    assert _row_key(step(), iid) == "HZ-1"
    assert open_tasks(step(), iid)["ratify_review"].state == "ready"
