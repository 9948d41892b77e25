"""The engine operations that workflows/ and the ``kunflow`` command use instead of reading the
engine's tables (issue 10): closing, the access service, the next timer, counts by stage, the
messages of a name. On SQLite and PostgreSQL, each also answered by a freshly built engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine import SYSTEM, Access, InvalidInput, LoginPolicy, MessageInfo
from tests.conftest import FIXTURES, actor

T0 = datetime(2026, 3, 2, 1, 0)


def _deploy(engine, *names: str) -> None:
    for name in names:
        engine.deploy(f"{name}.bpmn", (FIXTURES / "bpmn" / f"{name}.bpmn").read_bytes(),
                      actor=actor(engine, "admin"))


def _complete_open(engine, iid: int, username: str, data: dict | None = None) -> None:
    (task,) = engine.get_instance(iid, SYSTEM).tasks
    engine.complete(task.id, actor(engine, username), data or {})


def test_a_closed_engine_connects_again_when_asked(engine):
    assert engine.get_user("admin") is not None
    engine.close()
    assert engine.get_user("admin").username == "admin"  # a new pool, the same database
    engine.close()
    engine.close()  # closing twice is harmless


def test_make_access_serves_sessions_on_the_engines_database(engine, rebuild):
    policy = LoginPolicy(free_failures=1)
    access = engine.make_access(policy=policy, session_idle=timedelta(minutes=5))
    assert isinstance(access, Access)
    assert access.policy is policy and access.session_idle == timedelta(minutes=5)
    sid = access.open_session("invest-clerk", "10.0.0.1", "pytest")
    # another engine's access on the same database sees the same session
    other = rebuild().make_access()
    assert other.session_user(sid).username == "invest-clerk"
    assert other.session_idle == timedelta(hours=8) and other.policy == LoginPolicy()


def test_next_timer_due_is_the_earliest_timer_of_a_running_instance(engine, rebuild):
    clerk = actor(engine, "natres-clerk")
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as clock:
        _deploy(engine, "reply_or_overdue")
        assert engine.next_timer_due() is None  # nothing waits
        first = engine.start("reply_or_overdue", clerk, business_key="ZR-1").id
        assert engine.next_timer_due() is None  # its user task has no timer
        _complete_open(engine, first, "natres-clerk", {"inquiry": "请于10日内复函"})
        assert engine.next_timer_due() == T0 + timedelta(days=10)

        clock.shift(timedelta(days=2))
        second = engine.start("reply_or_overdue", clerk, business_key="ZR-2").id
        _complete_open(engine, second, "natres-clerk", {"inquiry": "请于10日内复函"})
        assert rebuild().next_timer_due() == T0 + timedelta(days=10)  # the earlier one

        engine.suspend(first, SYSTEM)  # a suspended instance's timer does not count
        assert rebuild().next_timer_due() == T0 + timedelta(days=12)
        engine.terminate(second, SYSTEM)
        assert engine.next_timer_due() is None


def test_count_instances_by_stage_counts_every_status_of_one_process(engine, rebuild):
    clerk = actor(engine, "invest-clerk")
    assert engine.count_instances_by_stage("sample_review") == {}
    ids = [engine.start("sample_review", clerk, business_key=f"XM-{n}").id for n in range(3)]
    engine.start("sample_loop", clerk, business_key="XM-9")  # another process
    assert engine.count_instances_by_stage("sample_review") == {"线索登记": 3}
    _complete_open(engine, ids[0], "invest-clerk", {"project_name": "年产5万吨项目"})
    engine.terminate(ids[1], SYSTEM)  # still counted, at the stage it stood
    counts = rebuild().count_instances_by_stage("sample_review")
    assert counts == {"线索登记": 2, "项目研判": 1}
    assert engine.count_instances_by_stage("no_such_process") == {}
    with pytest.raises(InvalidInput):
        engine.count_instances_by_stage("")


def test_list_messages_newest_first_by_name_and_key(engine, rebuild):
    admin = actor(engine, "admin")
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as clock:
        engine.correlate_message("notice_a", "XM-1", {"subject": "一"}, actor=admin)
        clock.shift(timedelta(minutes=1))
        engine.correlate_message("notice_b", "XM-2", {"subject": "二"}, actor=admin)
        clock.shift(timedelta(minutes=1))
        engine.correlate_message("notice_a", "XM-2", None, actor=admin)
        engine.correlate_message("other", "XM-1", {"subject": "不列出"}, actor=admin)

    found = rebuild().list_messages(["notice_a", "notice_b"])
    assert [(m.name, m.correlation_key) for m in found] == [
        ("notice_a", "XM-2"), ("notice_b", "XM-2"), ("notice_a", "XM-1")]
    newest, _, oldest = found
    assert isinstance(newest, MessageInfo)
    assert newest.payload is None and oldest.payload == {"subject": "一"}
    assert oldest.created_at == T0 and oldest.source_instance_id is None
    assert oldest.delivered_at is None and oldest.delivered_to is None  # nobody waits for it
    assert [m.payload for m in engine.list_messages(("notice_a", "notice_b"),
                                                    correlation_key="XM-2")] == [
        None, {"subject": "二"}]
    assert [m.name for m in engine.list_messages(["notice_a", "notice_b"], limit=1)] == [
        "notice_a"]
    assert engine.list_messages([]) == []
    assert engine.list_messages(["notice_a"], correlation_key="XM-404") == []
    with pytest.raises(InvalidInput):
        engine.list_messages(["notice_a"], limit=0)


def test_list_messages_shows_who_threw_a_message_and_who_took_it(engine):
    _deploy(engine, "msg_wait", "msg_send")
    waiting = engine.start("msg_wait", actor(engine, "invest-clerk"), business_key="XM-7").id
    _complete_open(engine, waiting, "invest-clerk")
    sender = engine.start("msg_send", actor(engine, "emergency-clerk"), business_key="XM-7").id
    _complete_open(engine, sender, "emergency-clerk", {"approved": True, "licence": "L-1"})
    (thrown,) = engine.list_messages(["mine_result"], correlation_key="XM-7")
    assert thrown.source_instance_id == sender and thrown.delivered_to == waiting
    assert thrown.payload == {"approved": True, "licence": "L-1"}
    assert thrown.delivered_at is not None
