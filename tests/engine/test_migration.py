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


def test_going_back_to_an_older_version_is_allowed_and_said_per_case(versions, clock):
    """A rollback (target older than the case's version) is a legitimate migration: the dry
    run says 回退到旧版本 for each such case, the audit event records it."""
    engine = versions
    admin = actor(engine, "admin")
    old = case_at(engine, "review", "MR-OLD")  # on v1
    deploy(engine, "migrate_review_v2")
    new = case_at(engine, "review", "MR-NEW")  # on v2
    report = engine.migrate_instances(admin, [new], 1, dry_run=True)
    (back,) = report.results
    assert back.ok and back.from_version == 2
    assert back.rollback and back.note == "回退到旧版本（v2 → v1）"
    forward = engine.migrate_instances(admin, [old], 2, dry_run=True).results[0]
    assert forward.ok and not forward.rollback and forward.note is None

    (done,) = engine.migrate_instances(admin, [new], 1).results
    assert done.ok and done.rollback
    assert engine.get_instance(new, admin).definition_version == 1
    (event,) = [e for e in engine.list_events(new, admin) if e.kind == "migrated"]
    assert event.data["rollback"] is True
    assert (event.data["from_version"], event.data["to_version"]) == (2, 1)
    engine.migrate_instances(admin, [old], 2)
    (event,) = [e for e in engine.list_events(old, admin) if e.kind == "migrated"]
    assert event.data["rollback"] is False


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


# ---------------------------------------------------------------- timers, multi-instance

def deploy_text(engine, filename: str, text: str, files=None):
    return engine.deploy(filename, text.encode("utf-8"), files, actor=actor(engine, "admin"))


def next_due(engine, iid):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.next_due_at)
                            .where(instance.c.id == iid)).scalar_one()


def test_waiting_timers_keep_their_due_time_unless_changed(engine, clock):
    from datetime import timedelta

    admin = actor(engine, "admin")
    v1 = (FIXTURES / "bpmn" / "deadline_timers.bpmn").read_text("utf-8")
    deploy_text(engine, "deadline_timers.bpmn", v1)
    iid = engine.start("deadline_timers", actor(engine, "emergency-clerk"), business_key="DT-1").id
    assert next_due(engine, iid) == T0 + timedelta(days=5)
    clock.shift(timedelta(days=2))
    # v2 renames the review: the timers on it are unchanged and keep their due time
    deploy_text(engine, "deadline_timers.bpmn",
                v1.replace('name="安全设施设计审查"', 'name="安全设施设计审查（新）"'))
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    assert next_due(engine, iid) == T0 + timedelta(days=5)
    assert open_task(engine, iid).name == "安全设施设计审查（新）"
    # v3 changes the reminder to 3 days: that timer starts again at the migration
    deploy_text(engine, "deadline_timers.bpmn", v1.replace('"P5D"', '"P3D"'))
    (result,) = engine.migrate_instances(admin, [iid], 3).results
    assert result.ok, result.reason
    assert next_due(engine, iid) == T0 + timedelta(days=5)  # 2 + 3 days
    clock.shift(timedelta(days=3, minutes=1))
    assert engine.fire_due_timers() == 1
    tasks = {t.element_id for t in engine.get_instance(iid, admin).tasks}
    assert tasks == {"review_design", "record_reminder"}


def mine_files():
    from web.provision import library_files

    ((path, files),) = [(p, f) for p, f in library_files(FIXTURES.parent.parent / "bpmn")
                        if p.stem == "mine_approval"]
    return path, files


def test_case_in_the_multi_instance_consultation_moves_unless_the_consultation_changed(
        engine, clock):
    from bench.tasklist import form_data

    admin = actor(engine, "admin")
    path, files = mine_files()
    v1 = path.read_text("utf-8")
    deploy_text(engine, path.name, v1, files)
    clerk = actor(engine, "natres-clerk")
    iid = engine.start("mine_approval", clerk, business_key="KS-1").id
    register = open_task(engine, iid)
    import random

    schema = engine.task_context(register.id, clerk).form
    engine.complete(register.id, clerk, form_data(schema, random.Random(1)))
    opinions = {t.department_code: t for t in engine.get_instance(iid, admin).tasks}
    assert len(opinions) == 4 and "eco" in opinions

    due = '<spiffworkflow:property name="due_working_days" value="20" />'
    deploy_text(engine, path.name, v1.replace(due, due.replace("20", "15"), 1), files)
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    assert ("give_consultation_opinion", "give_consultation_opinion") in result.moves
    after = {t.department_code: t for t in engine.get_instance(iid, admin).tasks}
    assert {d: t.id for d, t in after.items()} == {d: t.id for d, t in opinions.items()}
    eco = actor(engine, "eco-clerk")
    schema = engine.task_context(after["eco"].id, eco).form
    engine.complete(after["eco"].id, eco, form_data(schema, random.Random(2)))
    assert len(engine.get_instance(iid, admin).tasks) == 3

    # v3 changes the consultation's deadline: the running multi-instance refuses the move
    opinion_due = '<spiffworkflow:property name="due_working_days" value="5" />'
    assert opinion_due in v1
    deploy_text(engine, path.name, v1.replace(opinion_due, opinion_due.replace("5", "7"), 1),
                files)
    (result,) = engine.migrate_instances(admin, [iid], 3).results
    assert not result.ok and "多实例" in result.reason and "出具会商意见" in result.reason
    assert engine.get_instance(iid, admin).definition_version == 2


# ---------------------------------------------------------------- sub-processes, calls, history

def test_case_inside_an_embedded_subprocess_moves_unless_the_subprocess_changed(engine, clock):
    admin, clerk = actor(engine, "admin"), actor(engine, "supervision-clerk")
    v1 = (FIXTURES / "bpmn" / "subprocess_rounds.bpmn").read_text("utf-8")
    deploy_text(engine, "subprocess_rounds.bpmn", v1)
    iid = engine.start("subprocess_rounds", clerk, data={"rounds": 2, "done": 0, "total": 0,
                                                         "items": [1, 2]}).id
    record = open_task(engine, iid)
    assert record.element_id == "record_round"
    # v2 changes only the top level (the gateway's name): the sub-process is the same
    deploy_text(engine, "subprocess_rounds.bpmn",
                v1.replace('<bpmn:exclusiveGateway id="open_round">',
                           '<bpmn:exclusiveGateway id="open_round" name="开始一轮">'))
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    assert ("run_round", "run_round") in result.moves
    moved = open_task(engine, iid)
    assert moved.id == record.id and moved.element_id == "record_round"
    # v3 renames the task inside the sub-process: a case inside it stays
    deploy_text(engine, "subprocess_rounds.bpmn",
                v1.replace('name="登记本轮"', 'name="登记本轮（新）"'))
    (result,) = engine.migrate_instances(admin, [iid], 3).results
    assert not result.ok and "子流程" in result.reason and "本轮办理" in result.reason
    # on v2 it runs to its end
    for n in (1, 2):
        t = open_task(engine, iid)
        engine.complete(t.id, clerk, {"amount": n, "note": f"第{n}轮"})
    done = engine.get_instance(iid, admin, with_data=True)
    assert done.status == "completed" and done.data["done"] == 2


def test_caller_waiting_on_a_called_process_moves_and_the_child_still_returns(engine, clock):
    admin, invest = actor(engine, "admin"), actor(engine, "invest-clerk")
    child = (FIXTURES / "bpmn" / "call_child.bpmn").read_text("utf-8")
    parent = (FIXTURES / "bpmn" / "call_parent.bpmn").read_text("utf-8")
    deploy_text(engine, "call_child.bpmn", child)
    deploy_text(engine, "call_parent.bpmn", parent)
    iid = engine.start("call_parent", invest, business_key="CP-1").id
    engine.complete(open_task(engine, iid).id, invest, {})
    (kid,) = engine.related_cases(iid, admin).children
    # v2 renames the follow-up task; the call activity itself is unchanged
    deploy_text(engine, "call_parent.bpmn", parent.replace('name="审批后续"', 'name="审批后续办理"'))
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    assert ("run_mine_approval", "run_mine_approval") in result.moves
    assert engine.get_instance(kid.id, admin).definition_version == 1  # the child is its own
    # the child ends: the caller goes on along v2
    while (tasks := engine.get_instance(kid.id, admin).tasks):
        engine.complete(tasks[0].id, actor(engine, "emergency-clerk"), {})
    after = open_task(engine, iid)
    assert after.element_id == "after_mine_approval" and after.name == "审批后续办理"
    # v3 calls another process: a caller waiting in the call is refused
    iid2 = engine.start("call_parent", invest, business_key="CP-2").id
    engine.complete(open_task(engine, iid2).id, invest, {})
    deploy_text(engine, "call_parent.bpmn",
                parent.replace('calledElement="call_child"', 'calledElement="call_middle"'))
    (result,) = engine.migrate_instances(admin, [iid2], 3).results
    assert not result.ok and "调用活动" in result.reason and "非煤矿山审批" in result.reason


def test_a_finished_step_that_v2_removed_is_spliced_out_of_the_history(versions, clock):
    engine = versions
    admin = actor(engine, "admin")
    iid = case_at(engine, "review", "MR-H")
    v1 = (FIXTURES / "bpmn" / "migrate_review_v1.bpmn").read_text("utf-8")
    # v2 drops the submission: the case already passed it
    v2 = (v1.replace('<bpmn:flowNodeRef>submit</bpmn:flowNodeRef>', '')
          .replace('<bpmn:userTask id="submit" name="提交申请">\n'
                   '      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>\n'
                   '    </bpmn:userTask>\n', '')
          .replace('<bpmn:sequenceFlow id="f2" sourceRef="submit" targetRef="review" />\n', '')
          .replace('targetRef="submit"', 'targetRef="review"')
          .replace('<bpmn:incoming>f2</bpmn:incoming>', '<bpmn:incoming>f1</bpmn:incoming>'))
    assert 'id="submit"' not in v2
    deploy_text(engine, "migrate_review.bpmn", v2)
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    engine.live.clear()  # from the stored state: every task has a spec of v2
    t = open_task(engine, iid)
    assert t.element_id == "review"
    engine.complete(t.id, actor(engine, "drc-clerk"), {})
    engine.complete(open_task(engine, iid).id, actor(engine, "drc-clerk"), {})
    assert engine.get_instance(iid, admin).status == "completed"
    done = [x for x in engine.case_tasks(iid, admin) if x.element_id == "submit"]
    assert len(done) == 1 and done[0].state == "completed"  # the history rows stay


def test_a_suspended_case_keeps_its_timers_through_the_migration(engine, clock):
    from datetime import timedelta

    admin = actor(engine, "admin")
    v1 = (FIXTURES / "bpmn" / "deadline_timers.bpmn").read_text("utf-8")
    deploy_text(engine, "deadline_timers.bpmn", v1)
    iid = engine.start("deadline_timers", actor(engine, "emergency-clerk"), business_key="DT-2").id
    engine.suspend(iid, admin, "等待材料")
    due = next_due(engine, iid)
    deploy_text(engine, "deadline_timers.bpmn",
                v1.replace('name="安全设施设计审查"', 'name="安全设施设计审查（新）"'))
    assert engine.migrate_instances(admin, [iid], 2).ok_count == 1
    assert engine.get_instance(iid, admin).status == "suspended"
    assert next_due(engine, iid) == due == T0 + timedelta(days=5)
    engine.resume(iid, admin, "材料已补")
    clock.shift(timedelta(days=5, minutes=1))
    assert engine.fire_due_timers() == 1
    tasks = {t.element_id for t in engine.get_instance(iid, admin).tasks}
    assert tasks == {"review_design", "record_reminder"}


@pytest.mark.parametrize("stem", ["inclusive_review", "parallel_opinions"])
def test_a_join_waiting_for_the_other_branches_moves_and_merges_them(engine, clock, stem):
    admin, invest = actor(engine, "admin"), actor(engine, "invest-clerk")
    v1 = (FIXTURES / "bpmn" / f"{stem}.bpmn").read_text("utf-8")
    deploy_text(engine, f"{stem}.bpmn", v1)
    if stem == "inclusive_review":
        iid = engine.start(stem, invest).id
        engine.complete(open_task(engine, iid).id, invest,
                        {"needs_land": True, "needs_eia": False, "needs_safety": True})
        final = "consolidate_review"
    else:
        iid = engine.start(stem, actor(engine, "drc-clerk"),
                           data={"departments": ["natres", "emergency"]}).id
        final = "consolidate_opinions"
    tasks = engine.get_instance(iid, admin).tasks
    assert len(tasks) == 2
    first, second = tasks
    engine.complete(first.id, actor(engine, f"{first.department_code}-clerk"),
                    {"opinion": "同意", f"{first.element_id}_a": "甲"})
    # v2 renames the final step: the join and the branches are unchanged
    deploy_text(engine, f"{stem}.bpmn", v1.replace('<bpmn:userTask id="' + final + '" name="',
                                                   '<bpmn:userTask id="' + final + '" name="新'))
    (result,) = engine.migrate_instances(admin, [iid], 2).results
    assert result.ok, result.reason
    if stem == "inclusive_review":
        assert ("review_join", "review_join") in result.moves  # the join waits
    engine.live.clear()
    (left,) = engine.get_instance(iid, admin).tasks
    assert left.id == second.id
    engine.complete(left.id, actor(engine, f"{left.department_code}-clerk"),
                    {"opinion": "有条件同意", f"{left.element_id}_b": "乙"})
    (last,) = engine.get_instance(iid, admin).tasks
    assert last.element_id == final and last.name.startswith("新")
    data = engine.get_task(last.id, admin).data
    if stem == "inclusive_review":  # the branches' own fields, merged by the join
        assert data[f"{first.element_id}_a"] == "甲"
        assert data[f"{left.element_id}_b"] == "乙"
