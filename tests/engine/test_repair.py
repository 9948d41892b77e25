"""Repair of running cases by a process admin: incidents that say in Chinese what failed where,
with the failing step's data; retry after a fix; skip the failing step; move a token back or
forward, add one, cancel one; every refusal says why and changes nothing; every action is in
the case's audit log. Warm and cold engines (``rebuild``) where the stored state matters."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import Conflict, Engine, Forbidden, InvalidInput
from engine.model import incident, instance
from engine.persistence.store import Store
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 9, 1, 2, 0, 0)  # Tuesday 10:00 in Beijing, naive UTC


def _deploy(engine: Engine, name: str) -> None:
    engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))


def _open(engine: Engine, iid: int) -> dict:
    return {t.element_id: t for t in engine.get_instance(iid, actor(engine, "admin")).tasks}


def _events(engine: Engine, iid: int, kind: str) -> list:
    return [e for e in engine.list_events(iid, actor(engine, "admin")) if e.kind == kind]


def _row(engine: Engine, iid: int):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(instance.c.version, instance.c.status,
                                      instance.c.next_due_at)
                            .where(instance.c.id == iid)).one()


def _broken(engine: Engine, **start_data) -> int:
    """A failing_script case parked on its script (division by zero)."""
    _deploy(engine, "failing_script")
    clerk = actor(engine, "drc-clerk")
    inst = engine.start("failing_script", clerk, data={"total": 0, **start_data})
    engine.complete(_open(engine, inst.id)["enter_amounts"].id, clerk, {"amount": 5})
    assert engine.get_instance(inst.id, clerk).status == "incident"
    return inst.id


def _at(engine: Engine, element: str) -> int:
    """A repair_moves case whose token stands at ``element`` (register/review/approve)."""
    clerk, emergency = actor(engine, "drc-clerk"), actor(engine, "emergency-clerk")
    iid = engine.start("repair_moves", clerk, data={"amount": 3}).id
    for step, who in (("register_case", clerk), ("review_case", emergency)):
        if element == step:
            break
        engine.complete(_open(engine, iid)[step].id, who, {"done": step})
    assert list(_open(engine, iid)) == [element]
    return iid


@pytest.fixture
def moves(engine):
    _deploy(engine, "repair_moves")
    return engine


# ------------------------------------------------------------------ incidents


def test_incident_names_the_element_in_chinese_and_carries_the_failing_data(engine, rebuild):
    iid = _broken(engine, memo="备注" * 3000)
    (inc,) = rebuild().list_incidents(actor(engine, "supervisor"), instance_id=iid)
    assert inc.message.startswith("环节“计算占比”（compute_share）执行出错：除数为零")
    assert "ZeroDivisionError" in inc.message
    assert (inc.element_id, inc.element_name, inc.element_type) == (
        "compute_share", "计算占比", "ScriptTask")
    assert inc.process_key == "failing_script" and inc.definition_version == 1
    assert inc.business_key
    assert inc.data["amount"] == 5 and inc.data["total"] == 0
    # A large value is cut to the start of its JSON text, and the incident says so.
    assert inc.data_truncated and inc.data["memo"].endswith("…")
    assert len(inc.data["memo"]) < 3000


def test_listing_incidents_loads_each_parked_case_once(engine, monkeypatch):
    """A case with several open incidents (a parked case whose timer or message failed as
    well) is loaded once per list, not once per incident; each incident still carries the
    failing step's data."""
    first, second = _broken(engine), _broken(engine)
    admin = actor(engine, "admin")
    rows = engine.list_incidents(admin)
    with engine.db.begin() as conn:
        for row in rows * 2:  # two more open incidents on each case
            conn.execute(incident.insert().values(
                instance_id=row.instance_id, task_id=row.task_id, element_id=row.element_id,
                message=row.message, created_at=row.created_at))
    loads = []
    original = Store.load_workflow

    def counting(self, conn, head):
        loads.append(head.id)
        return original(self, conn, head)

    monkeypatch.setattr(Store, "load_workflow", counting)
    listed = engine.list_incidents(admin)
    assert len(listed) == 6
    assert all(i.data["amount"] == 5 and i.element_type == "ScriptTask" for i in listed)
    assert sorted(loads) == sorted([first, second])


def test_retry_after_fixing_the_data_is_audited(engine):
    iid = _broken(engine)
    admin = actor(engine, "admin")
    fixed = engine.retry_incident(iid, admin, data={"total": 20})
    assert fixed.status == "running"
    assert [t.element_id for t in fixed.tasks] == ["check_share"]
    assert engine.list_incidents(admin, instance_id=iid) == []
    (retried,) = _events(engine, iid, "incident_retried")
    assert retried.actor == "admin" and retried.data == {"data": {"total": 20}}


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_skip_completes_the_failing_step_without_running_it(engine, rebuild, cold):
    iid = _broken(engine)
    admin, clerk = actor(engine, "admin"), actor(engine, "drc-clerk")
    eng = rebuild() if cold else engine
    info = eng.skip_incident(iid, admin, "占比由人工核定", data={"share": 0.5})
    assert info.status == "running"
    (check,) = info.tasks
    assert check.element_id == "check_share" and check.department_code == "drc"
    assert eng.get_task(check.id, clerk).data["share"] == 0.5  # the given result, not computed
    assert eng.list_incidents(admin, instance_id=iid) == []
    (resolved,) = eng.list_incidents(admin, instance_id=iid, open_only=False)
    assert resolved.resolved_by == "admin" and resolved.resolved_at is not None
    (skipped,) = _events(eng, iid, "incident_skipped")
    assert skipped.actor == "admin"
    assert skipped.data == {"elements": ["compute_share"], "reason": "占比由人工核定",
                            "data": {"share": 0.5}}
    eng.complete(check.id, clerk, {})
    assert eng.get_instance(iid, admin).status == "completed"


def test_skip_is_refused_without_reason_rights_or_incident(engine):
    iid = _broken(engine)
    admin = actor(engine, "admin")
    version = _row(engine, iid).version
    with pytest.raises(Forbidden):
        engine.skip_incident(iid, actor(engine, "supervisor"), "跳过")
    with pytest.raises(InvalidInput):
        engine.skip_incident(iid, admin, "")
    with pytest.raises(InvalidInput):
        engine.skip_incident(iid, admin, "跳过", data=[1])  # type: ignore[arg-type]
    assert _row(engine, iid).version == version
    assert _events(engine, iid, "incident_skipped") == []
    running = engine.start("sample_review", actor(engine, "invest-clerk"))
    with pytest.raises(Conflict):
        engine.skip_incident(running.id, admin, "跳过")


# ------------------------------------------------------------------ tokens


def test_tokens_show_active_elements_and_possible_targets(moves):
    admin = actor(moves, "admin")
    iid = _at(moves, "review_case")
    view = moves.instance_tokens(iid, admin)
    assert view.status == "running"
    assert [(t.element_id, t.name, t.element_type, t.state) for t in view.active] == [
        ("review_case", "安全审查", "UserTask", "ready")]
    targets = {t.element_id: t.element_type for t in view.targets}
    assert targets["register_case"] == "UserTask" and targets["compute_total"] == "ScriptTask"
    assert targets["archive_case"] == "SubProcess" and targets["moves_finished"] == "EndEvent"
    # Start and boundary events hold no token; the sub-process's inside is not running.
    assert not {"moves_started", "review_timeout", "file_papers", "f1"} & set(targets)
    with pytest.raises(Forbidden):
        moves.instance_tokens(iid, actor(moves, "emergency-clerk"))


def test_move_back_to_an_earlier_task_reopens_it_in_its_department(moves, rebuild):
    admin, emergency = actor(moves, "admin"), actor(moves, "emergency-clerk")
    with time_machine.travel(T0, tick=False):
        iid = _at(moves, "approve_case")
        approve = _open(moves, iid)["approve_case"]
        eng = rebuild()
        info = eng.move_token(iid, admin, ["approve_case"], "review_case", "审查意见有误，重审")
    assert [t.element_id for t in info.tasks] == ["review_case"]
    review = info.tasks[0]
    assert review.department_code == "emergency" and review.state == "ready"
    assert review.due_at is not None
    queue = eng.list_tasks(emergency, scope="department").items
    assert [t.id for t in queue] == [review.id]
    assert eng.get_task(approve.id, admin).state == "cancelled"
    assert _row(eng, iid).next_due_at == T0 + timedelta(days=30)  # its deadline timer again
    (moved,) = _events(eng, iid, "token_moved")
    assert moved.actor == "admin"
    assert moved.data["cancelled"] == ["approve_case"]
    assert moved.data["activated"] == "review_case"
    assert moved.data["reason"] == "审查意见有误，重审"
    assert moved.data["how"] == "reset"  # SpiffWorkflow's reset to the task the token passed
    # The case goes on from there.
    eng.complete(review.id, emergency, {"ok": True})
    assert list(_open(eng, iid)) == ["approve_case"]


def test_move_forward_to_a_later_task_routes_and_times_it(moves, rebuild):
    admin, emergency = actor(moves, "admin"), actor(moves, "emergency-clerk")
    with time_machine.travel(T0, tick=False):
        normal = _at(moves, "review_case")
        iid = _at(moves, "register_case")
        register = _open(moves, iid)["register_case"]
        info = rebuild().move_token(iid, admin, ["register_case"], "review_case", "材料已线下登记")
    (review,) = info.tasks
    assert review.element_id == "review_case" and review.department_code == "emergency"
    assert review.due_at == _open(moves, normal)["review_case"].due_at  # the same deadline
    assert review.id in {t.id for t in moves.list_tasks(emergency, scope="department").items}
    assert moves.get_task(register.id, admin).state == "cancelled"
    assert _row(moves, iid).next_due_at == T0 + timedelta(days=30)  # boundary timer waits
    view = moves.instance_tokens(iid, admin)
    assert [t.element_id for t in view.active] == ["review_case"]
    (moved,) = _events(moves, iid, "token_moved")
    assert moved.data["how"] == "created"
    moves.complete(review.id, emergency, {})
    assert list(_open(moves, iid)) == ["approve_case"]


def test_add_a_token_then_cancel_it(moves):
    admin = actor(moves, "admin")
    iid = _at(moves, "review_case")
    info = moves.move_token(iid, admin, [], "approve_case", "审批提前并行")
    assert sorted(t.element_id for t in info.tasks) == ["approve_case", "review_case"]
    approve = next(t for t in info.tasks if t.element_id == "approve_case")
    assert approve.department_code == "drc"
    info = moves.move_token(iid, admin, ["approve_case"], None, "取消并行审批")
    assert [t.element_id for t in info.tasks] == ["review_case"]
    assert moves.get_task(approve.id, admin).state == "cancelled"
    kinds = [(e.data["cancelled"], e.data["activated"]) for e in _events(moves, iid, "token_moved")]
    assert kinds == [([], "approve_case"), (["approve_case"], None)]


def test_moving_the_failing_step_away_resolves_its_incident(engine):
    iid = _broken(engine)
    admin = actor(engine, "admin")
    view = engine.instance_tokens(iid, admin)
    assert view.status == "incident"
    assert [(t.element_id, t.element_type, t.state) for t in view.active] == [
        ("compute_share", "ScriptTask", "error")]
    with pytest.raises(Conflict, match="故障"):  # the failing step must go with the move
        engine.move_token(iid, admin, [], "check_share", "先核对")
    info = engine.move_token(iid, admin, ["compute_share"], "check_share", "占比人工计算")
    assert info.status == "running"
    assert [t.element_id for t in info.tasks] == ["check_share"]
    assert engine.list_incidents(admin, instance_id=iid) == []
    (resolved,) = engine.list_incidents(admin, instance_id=iid, open_only=False)
    assert resolved.resolved_by == "admin"


@pytest.mark.parametrize(("cancel", "activate", "error", "words"), [
    (["review_case"], "moves_started", InvalidInput, "开始事件"),
    (["review_case"], "f4", InvalidInput, "顺序流"),
    (["review_case"], "review_timeout", InvalidInput, "边界事件"),
    (["review_case"], "lane_drc", InvalidInput, "泳道"),
    (["review_case"], "file_papers", InvalidInput, "同一（子）流程"),
    ([], "file_papers", InvalidInput, "没有运行"),
    (["review_case"], "no_such_element", InvalidInput, "没有标识"),
    ([], "review_case", InvalidInput, "已有活动令牌"),
    (["review_case", "review_case"], "approve_case", InvalidInput, "重复"),
    (["approve_case"], "review_case", Conflict, "没有活动令牌"),
    (["review_case"], None, InvalidInput, "没有任何活动环节"),
    ([], None, InvalidInput, "请指定"),
])
def test_refused_moves_say_why_and_change_nothing(moves, cancel, activate, error, words):
    iid = _at(moves, "review_case")
    before = _row(moves, iid)
    with pytest.raises(error, match=words):
        moves.move_token(iid, actor(moves, "admin"), cancel, activate, "试移动")
    assert _row(moves, iid) == before
    assert list(_open(moves, iid)) == ["review_case"]
    assert _events(moves, iid, "token_moved") == []


def test_moves_need_an_admin_a_reason_and_a_running_case(moves):
    admin = actor(moves, "admin")
    iid = _at(moves, "review_case")
    with pytest.raises(Forbidden):
        moves.move_token(iid, actor(moves, "emergency-head"), ["review_case"], "approve_case",
                         "越权")
    with pytest.raises(InvalidInput):
        moves.move_token(iid, admin, ["review_case"], "approve_case", "")
    moves.terminate(iid, admin, "撤案")
    with pytest.raises(Conflict, match="已终止"):
        moves.move_token(iid, admin, [], "approve_case", "恢复")
    done = _at(moves, "approve_case")
    moves.complete(_open(moves, done)["approve_case"].id, actor(moves, "drc-clerk"), {})
    moves.complete(_open(moves, done)["file_papers"].id, actor(moves, "drc-clerk"), {})
    assert moves.get_instance(done, admin).status == "completed"
    with pytest.raises(Conflict, match="已办结"):
        moves.move_token(done, admin, [], "approve_case", "重开")
    assert moves.instance_tokens(done, admin).active == ()


def test_moves_and_skips_on_a_suspended_case_are_refused_until_it_is_resumed(moves):
    """A suspended case runs nothing (tasks, timers): a move would run the automatic steps
    after its target (here the script compute_total), so it is refused, not held."""
    admin = actor(moves, "admin")
    iid = _at(moves, "review_case")
    moves.suspend(iid, admin, "暂停核查")
    before = _row(moves, iid)
    with pytest.raises(Conflict, match="实例已挂起，请先恢复后再调整环节"):
        moves.move_token(iid, admin, ["review_case"], "compute_total", "重新计算")
    with pytest.raises(Conflict, match="实例已挂起，请先恢复后再调整环节"):
        moves.move_token(iid, admin, [], "approve_case", "加一个令牌")
    with pytest.raises(Conflict, match="实例已挂起，请先恢复后再调整环节"):
        moves.skip_incident(iid, admin, "跳过")
    assert _row(moves, iid) == before
    assert list(_open(moves, iid)) == ["review_case"]
    assert _events(moves, iid, "token_moved") == []
    moves.resume(iid, admin, "核查结束")
    info = moves.move_token(iid, admin, ["review_case"], "approve_case", "直接审批")
    assert info.status == "running"
    assert [t.element_id for t in info.tasks] == ["approve_case"]


def test_parallel_branch_restarted_alone_and_the_join_still_waits_for_both(engine):
    _deploy(engine, "repair_parallel")
    admin, clerk = actor(engine, "admin"), actor(engine, "drc-clerk")
    emergency = actor(engine, "emergency-clerk")
    iid = engine.start("repair_parallel", clerk).id
    opinion = _open(engine, iid)["drc_opinion"]
    view = engine.instance_tokens(iid, admin)
    assert sorted(t.element_id for t in view.active) == ["drc_opinion", "safety_opinion"]
    assert "merge" not in {t.element_id for t in view.targets}
    with pytest.raises(InvalidInput, match="汇聚网关"):
        engine.move_token(iid, admin, ["drc_opinion"], "merge", "直接汇聚")
    # The same element cancelled and activated: its branch starts again, the other goes on.
    info = engine.move_token(iid, admin, ["drc_opinion"], "drc_opinion", "意见作废，重新出具")
    assert sorted(t.element_id for t in info.tasks) == ["drc_opinion", "safety_opinion"]
    again = _open(engine, iid)["drc_opinion"]
    assert again.id != opinion.id and engine.get_task(opinion.id, admin).state == "cancelled"
    engine.complete(again.id, clerk, {"drc": "同意"})
    assert list(_open(engine, iid)) == ["safety_opinion"]  # the join waits for the other
    engine.complete(_open(engine, iid)["safety_opinion"].id, emergency, {"safety": "同意"})
    decide = _open(engine, iid)["decide"]
    data = engine.get_task(decide.id, clerk).data
    assert (data["drc"], data["safety"]) == ("同意", "同意")  # both branches' data merged


def test_a_case_stopped_on_an_incident_can_be_terminated_and_its_incidents_close(engine):
    with time_machine.travel(T0, tick=False):
        iid = _broken(engine)
        admin = actor(engine, "admin")
        assert engine.list_incidents(admin, instance_id=iid, open_only=True)
        info = engine.terminate(iid, admin, reason="申报材料作废，本案终止")
        assert info.status == "terminated"
        assert engine.list_incidents(admin, instance_id=iid, open_only=True) == []
        assert [e.data for e in _events(engine, iid, "instance_terminated")] == [
            {"reason": "申报材料作废，本案终止"}]
        with pytest.raises(Conflict, match="已终止"):
            engine.terminate(iid, admin, reason="再次终止")
