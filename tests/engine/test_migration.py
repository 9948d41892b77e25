"""Migrating running cases to another version (issue 11, area 4), and batch suspend / resume /
terminate. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from engine import SYSTEM, Forbidden, InvalidInput, NotFound
from engine.model import instance, task
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 3, 2, 1, 0)  # a Monday, 09:00 in Beijing


@pytest.fixture
def clock():
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as traveller:
        yield traveller


def deploy(engine, stem: str, comment=None):
    return engine.deploy("migrate_review.bpmn",
                         (FIXTURES / "bpmn" / f"{stem}.bpmn").read_bytes(),
                         actor=actor(engine, "admin"))


def open_task(engine, iid):
    (t,) = engine.get_instance(iid, SYSTEM).tasks
    return t


def case_at(engine, element: str, key: str) -> int:
    """A case of version 1 waiting at ``element`` (submit, review or check)."""
    iid = engine.start("migrate_review", actor(engine, "invest-clerk"), business_key=key).id
    order = ["submit", "review", "check"]
    users = {"submit": "invest-clerk", "review": "drc-clerk", "check": "drc-clerk"}
    for step in order[: order.index(element)]:
        t = open_task(engine, iid)
        assert t.element_id == step
        engine.complete(t.id, actor(engine, users[step]), {})
    assert open_task(engine, iid).element_id == element
    return iid


def snapshot(engine, iid):
    with engine.db.connect() as conn:
        head = conn.execute(sa.select(instance.c.definition_id, instance.c.version,
                                      instance.c.state_json, instance.c.stage)
                            .where(instance.c.id == iid)).one()
        tasks = conn.execute(sa.select(task).where(task.c.instance_id == iid)
                             .order_by(task.c.id)).all()
    return tuple(head), [tuple(r) for r in tasks]


@pytest.fixture
def versions(engine, clock):
    deploy(engine, "migrate_review_v1")
    return engine


def test_case_waiting_at_a_kept_task_moves_and_completes_on_v2(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    iid = case_at(engine, "review", "MR-1")
    before = open_task(engine, iid)
    assert before.department_code == "drc" and before.stage == "审查"
    deploy(engine, "migrate_review_v2")
    report = engine.migrate_instances(admin, [iid], 2)
    assert report.process_key == "migrate_review" and report.target_version == 2
    assert (report.ok_count, report.refused_count) == (1, 0)
    (result,) = report.results
    assert result.ok and result.reason is None and result.business_key == "MR-1"
    assert ("review", "review") in result.moves and result.from_version == 1

    info = engine.get_instance(iid, admin)
    assert info.definition_version == 2 and info.status == "running"
    assert info.stage == "安全审查"
    (moved,) = info.tasks
    # the same task (its URL stays), re-derived from v2: name, the 区应急局 lane's department,
    # its stage, a deadline of 10 working days counted from its arrival
    assert moved.id == before.id
    assert moved.name == "安全审查" and moved.lane == "区应急局"
    assert moved.department_code == "emergency" and moved.stage == "安全审查"
    assert moved.due_at is not None and moved.due_at < before.due_at
    queue = engine.list_tasks(actor(engine, "emergency-clerk"), scope="department")
    assert moved.id in {t.id for t in queue.items}
    assert moved.id not in {t.id for t in engine.list_tasks(
        actor(engine, "drc-clerk"), scope="department").items}

    # it goes on along v2: the joint check, then the end
    engine.complete(moved.id, actor(engine, "emergency-clerk"), {})
    nxt = open_task(engine, iid)
    assert nxt.element_id == "joint_check" and nxt.department_code == "emergency"
    engine.complete(nxt.id, actor(engine, "emergency-clerk"), {})
    assert engine.get_instance(iid, admin).status == "completed"

    events = [e for e in engine.list_events(iid, admin) if e.kind == "migrated"]
    assert len(events) == 1 and events[0].actor == "admin"
    assert events[0].data["from_version"] == 1 and events[0].data["to_version"] == 2
    assert ["review", "review"] in events[0].data["moves"]
    assert events[0].data["mapping"] == {}


def test_case_whose_task_v2_removed_is_refused_unless_mapped(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    iid = case_at(engine, "check", "MR-2")
    deploy(engine, "migrate_review_v2")
    before = snapshot(engine, iid)
    report = engine.migrate_instances(admin, [iid], 2)
    (result,) = report.results
    assert not result.ok and (report.ok_count, report.refused_count) == (0, 1)
    assert "复核" in result.reason and "没有对应节点" in result.reason
    assert snapshot(engine, iid) == before  # nothing moved
    assert engine.get_instance(iid, admin).definition_version == 1
    assert not [e for e in engine.list_events(iid, admin) if e.kind == "migrated"]

    # mapped to the new joint check, it moves: same task, new element and department
    old = open_task(engine, iid)
    report = engine.migrate_instances(admin, [iid], 2, mapping={"check": "joint_check"})
    (result,) = report.results
    assert result.ok, result.reason
    assert ("check", "joint_check") in result.moves
    moved = open_task(engine, iid)
    assert moved.id == old.id and moved.element_id == "joint_check"
    assert moved.name == "会商复核" and moved.department_code == "emergency"
    event = [e for e in engine.list_events(iid, admin) if e.kind == "migrated"][0]
    assert event.data["mapping"] == {"check": "joint_check"}
    engine.complete(moved.id, actor(engine, "emergency-clerk"), {})
    assert engine.get_instance(iid, admin).status == "completed"


def test_a_claimed_task_whose_department_changes_goes_back_to_the_queue(versions, clock):
    engine = versions
    iid = case_at(engine, "review", "MR-3")
    t = open_task(engine, iid)
    engine.claim(t.id, actor(engine, "drc-clerk"))
    assert open_task(engine, iid).assignee == "drc-clerk"
    deploy(engine, "migrate_review_v2")
    assert engine.migrate_instances(actor(engine, "admin"), [iid], 2).ok_count == 1
    moved = open_task(engine, iid)
    assert moved.department_code == "emergency"
    assert moved.assignee is None and moved.state == "ready"


def test_dry_run_changes_nothing(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    kept = case_at(engine, "review", "MR-4")
    removed = case_at(engine, "check", "MR-5")
    deploy(engine, "migrate_review_v2")
    before = {iid: snapshot(engine, iid) for iid in (kept, removed)}
    with engine.db.connect() as conn:
        events_before = conn.execute(sa.text("select count(*) from event")).scalar_one()
    report = engine.migrate_instances(admin, [kept, removed], 2, dry_run=True)
    assert report.dry_run and (report.ok_count, report.refused_count) == (1, 1)
    ok, refused = report.results
    assert ok.instance_id == kept and ok.ok and ("review", "review") in ok.moves
    assert refused.instance_id == removed and not refused.ok and "复核" in refused.reason
    assert {iid: snapshot(engine, iid) for iid in (kept, removed)} == before
    with engine.db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from event")).scalar_one() == events_before
    # and the real run afterwards still works (the live cache was left consistent)
    assert engine.migrate_instances(admin, [kept], 2).ok_count == 1


def test_refusals_status_other_version_and_permissions(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    done = case_at(engine, "review", "MR-6")
    engine.terminate(done, admin, "撤回申请")
    suspended = case_at(engine, "review", "MR-7")
    engine.suspend(suspended, admin, "等待补正")
    deploy(engine, "migrate_review_v2")
    report = engine.migrate_instances(admin, [done, suspended, 999999], 2)
    by_id = {r.instance_id: r for r in report.results}
    assert not by_id[done].ok and "已终止" in by_id[done].reason
    assert by_id[suspended].ok  # a suspended case moves and stays suspended
    info = engine.get_instance(suspended, admin)
    assert info.status == "suspended" and info.definition_version == 2
    assert info.tasks[0].department_code == "emergency"
    assert not by_id[999999].ok and "不存在" in by_id[999999].reason
    # again: already on the target
    (again,) = engine.migrate_instances(admin, [suspended], 2).results
    assert not again.ok and "已在版本 2" in again.reason

    with pytest.raises(NotFound):
        engine.migrate_instances(admin, [suspended], 7)
    with pytest.raises(InvalidInput):
        engine.migrate_instances(admin, [suspended], 1, mapping={"check": "nowhere"})
    with pytest.raises(InvalidInput):
        engine.migrate_instances(admin, [], 2)
    with pytest.raises(Forbidden):
        engine.migrate_instances(actor(engine, "drc-head"), [suspended], 1)
    with pytest.raises(Forbidden):
        engine.batch_instances(actor(engine, "drc-head"), "suspend", [suspended], "原因")


def test_batch_suspend_resume_terminate_with_a_reason(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    a, b = case_at(engine, "review", "MR-8"), case_at(engine, "submit", "MR-9")
    with pytest.raises(InvalidInput):
        engine.batch_instances(admin, "suspend", [a, b], "  ")
    with pytest.raises(InvalidInput):
        engine.batch_instances(admin, "delete", [a, b], "原因")
    report = engine.batch_instances(admin, "suspend", [a, b], "年度检查暂停")
    assert report.ok_count == 2 and all(r.status == "suspended" for r in report.results)
    # suspending again fails per case, with the reason, and stops nothing else
    report = engine.batch_instances(admin, "suspend", [a], "再次挂起")
    (r,) = report.results
    assert not r.ok and r.status == "suspended" and r.reason
    assert engine.batch_instances(admin, "resume", [a], "恢复办理").ok_count == 1
    report = engine.batch_instances(admin, "terminate", [a, b], "项目撤销")
    assert [r.status for r in report.results] == ["terminated", "terminated"]
    kinds = [(e.kind, (e.data or {}).get("reason")) for e in engine.list_events(b, admin)]
    assert ("instance_suspended", "年度检查暂停") in kinds
    assert ("instance_terminated", "项目撤销") in kinds


def test_instance_filters_version_department_and_all_matching(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    at_review = case_at(engine, "review", "MR-10")
    at_submit = case_at(engine, "submit", "MR-11")
    deploy(engine, "migrate_review_v2")
    on_v2 = case_at(engine, "review", "MR-12")
    page = engine.list_instances(admin, process_key="migrate_review", version=1)
    assert {i.id for i in page.items} == {at_review, at_submit}
    page = engine.list_instances(admin, process_key="migrate_review", department="drc")
    assert {i.id for i in page.items} == {at_review}
    page = engine.list_instances(admin, business_key_contains="R-1")
    assert {i.id for i in page.items} == {at_review, at_submit, on_v2}
    ids = engine.select_instance_ids(admin, process_key="migrate_review", version=1,
                                     status="running")
    assert ids == [at_review, at_submit]
    with pytest.raises(Forbidden):
        engine.select_instance_ids(actor(engine, "drc-clerk"), process_key="migrate_review")
