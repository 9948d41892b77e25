"""The notice inbox (engine/queries/notices.py) and the deadline reminders (engine/reminders.py):
who sees a notice (its user; every member of its department; nobody else), read marks kept per
user, mark all read, one notice per dedup key; a reminder one working day before a due time
(over a weekend too), none two working days before, an overdue one after, each written once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from engine import InvalidInput, NotFound, post_notice
from tests.conftest import actor

# A one-step process: 区应急局 reviews within 3 working days.
REMINDED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="reminded_defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="reminded" name="测试：到期提醒" isExecutable="true">
    <bpmn:laneSet id="reminded_lanes">
      <bpmn:lane id="lane_emergency" name="区应急局">
        <bpmn:flowNodeRef>r_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review_hazard</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>r_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="r_start"><bpmn:outgoing>r1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review_hazard" name="隐患审查">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="due_working_days" value="3" />
          <spiffworkflow:property name="pausable" value="true" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="r_end"><bpmn:incoming>r2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="r_start" targetRef="review_hazard" />
    <bpmn:sequenceFlow id="r2" sourceRef="review_hazard" targetRef="r_end" />
  </bpmn:process>
</bpmn:definitions>
"""

# Naive UTC; China time is 8 hours ahead. Wednesday 2026-06-03 09:00 China time: the task is
# due at the end of its third working day, Monday 2026-06-08 23:59:59 (Thu, Fri, Mon).
STARTED = datetime(2026, 6, 3, 1, 0)
THURSDAY_END = datetime(2026, 6, 4, 15, 59)  # Thursday 23:59 China: two working days before
FRIDAY_START = datetime(2026, 6, 4, 16, 0)  # Friday 00:00 China: one working day before
TUESDAY = datetime(2026, 6, 9, 2, 0)  # Tuesday 10:00 China: past due


def _notice(engine, **fields) -> int | None:
    with engine.unit_of_work() as uow:
        made = post_notice(uow.conn, now=datetime(2026, 6, 1, 2), **fields)
        uow.commit()
    return made


def _subjects(engine, who, **options) -> list[str]:
    return [n.subject for n in engine.list_notices(actor(engine, who), **options).items]


def test_a_department_notice_is_seen_by_each_member_and_never_by_another_department(engine):
    _notice(engine, kind="notice", subject="审批结果", department_code="drc")
    _notice(engine, kind="transfer", subject="转办给你", username="drc-head")
    _notice(engine, kind="urge", subject="催办住建", department_code="housing")
    assert _subjects(engine, "drc-clerk") == ["审批结果"]
    assert _subjects(engine, "drc-head") == ["转办给你", "审批结果"]  # newest first
    assert _subjects(engine, "miit-clerk") == []
    assert engine.unread_notice_count(actor(engine, "drc-head")) == 2
    other = engine.list_notices(actor(engine, "miit-clerk")).total
    assert other == 0


def test_read_marks_are_per_user_and_another_users_notice_is_not_found(engine):
    dept = _notice(engine, kind="notice", subject="审批结果", department_code="drc")
    personal = _notice(engine, kind="consult", subject="请提意见", username="drc-head")
    clerk, head = actor(engine, "drc-clerk"), actor(engine, "drc-head")

    read = engine.mark_notice_read(clerk, dept)
    assert read.read_at is not None and read.subject == "审批结果"
    assert engine.unread_notice_count(clerk) == 0
    assert engine.unread_notice_count(head) == 2  # the clerk's reading is the clerk's only
    assert _subjects(engine, "drc-head", unread=True) == ["请提意见", "审批结果"]
    assert _subjects(engine, "drc-clerk", unread=True) == []

    with pytest.raises(NotFound):
        engine.mark_notice_read(clerk, personal)  # the head's own notice
    with pytest.raises(NotFound):
        engine.get_notice(actor(engine, "miit-clerk"), dept)
    assert engine.mark_notices_read(clerk, [personal, dept]) == 0  # not theirs / already read
    assert engine.unread_notice_count(head) == 2


def test_mark_all_read_marks_only_the_actors_notices_and_a_kind_filters(engine):
    for n in range(3):
        _notice(engine, kind="notice", subject=f"通报{n}", department_code="drc")
    _notice(engine, kind="overdue", subject="已逾期：审查", username="drc-clerk")
    clerk = actor(engine, "drc-clerk")
    assert _subjects(engine, "drc-clerk", kind="overdue") == ["已逾期：审查"]
    assert engine.mark_all_notices_read(clerk) == 4
    assert engine.mark_all_notices_read(clerk) == 0
    assert engine.unread_notice_count(clerk) == 0
    assert engine.unread_notice_count(actor(engine, "drc-head")) == 3
    page = engine.list_notices(clerk, limit=2, offset=2)
    assert (page.total, [n.subject for n in page.items]) == (4, ["通报1", "通报0"])
    assert all(n.read_at is not None for n in page.items)


def test_a_dedup_key_writes_a_notice_once(engine):
    first = _notice(engine, kind="urge", subject="催办", department_code="drc", dedup_key="u:1")
    again = _notice(engine, kind="urge", subject="催办", department_code="drc", dedup_key="u:1")
    assert first is not None and again is None
    assert _subjects(engine, "drc-clerk") == ["催办"]


def test_bad_input_is_refused_in_chinese(engine):
    clerk = actor(engine, "drc-clerk")
    with pytest.raises(InvalidInput, match="kind"):
        engine.list_notices(clerk, kind="spam")
    with pytest.raises(InvalidInput, match="limit"):
        engine.list_notices(clerk, limit=0)
    with pytest.raises(InvalidInput, match="通知 id"):
        engine.mark_notices_read(clerk, ["x"])


def test_a_notice_links_to_its_task_else_its_case_else_its_link(engine):
    _notice(engine, kind="urge", subject="a", department_code="drc", link="/ledger/rows/3")
    _notice(engine, kind="urge", subject="b", department_code="drc", instance_id=7)
    _notice(engine, kind="urge", subject="c", department_code="drc", instance_id=7, task_id="t1")
    targets = [n.target for n in engine.list_notices(actor(engine, "drc-clerk")).items]
    assert targets == ["/tasks/t1", "/cases/7", "/ledger/rows/3"]


# ---------------------------------------------------------------- deadline reminders


@pytest.fixture
def reminded(engine):
    engine.deploy("reminded.bpmn", REMINDED.encode(), actor=actor(engine, "admin"))
    with time_machine.travel(STARTED, tick=False) as clock:
        inst = engine.start("reminded", actor(engine, "emergency-clerk"), business_key="YH-1",
                            title="某矿隐患")
        (task,) = engine.list_tasks(actor(engine, "emergency-clerk"), instance_id=inst.id).items
        assert task.due_at == datetime(2026, 6, 8, 15, 59, 59)  # Monday 23:59:59 China
        yield clock, task


def _reminders(engine, who) -> list[tuple[str, str | None]]:
    return [(n.kind, n.task_id) for n in engine.list_notices(actor(engine, who)).items]


def test_a_reminder_comes_one_working_day_before_the_due_time_over_a_weekend(engine, reminded):
    clock, task = reminded
    clock.move_to(THURSDAY_END)
    assert engine.send_deadline_reminders() == 0  # two working days before: nothing
    clock.move_to(FRIDAY_START)
    assert engine.send_deadline_reminders() == 1  # Friday, one working day before Monday
    assert engine.send_deadline_reminders() == 0  # not twice
    clock.move_to(datetime(2026, 6, 8, 2))
    assert engine.send_deadline_reminders() == 0  # still the same due time: reminded already
    (notice,) = engine.list_notices(actor(engine, "emergency-head")).items
    assert (notice.kind, notice.task_id, notice.department_code, notice.username) == (
        "due_soon", task.id, "emergency", None)
    assert notice.subject == "即将到期：隐患审查"
    assert "2026-06-08 23:59" in notice.body
    assert (notice.business_key, notice.title, notice.target) == (
        "YH-1", "某矿隐患", f"/tasks/{task.id}")
    assert _reminders(engine, "drc-clerk") == []

    clock.move_to(TUESDAY)
    assert engine.send_deadline_reminders() == 1
    assert engine.send_deadline_reminders() == 0
    assert _reminders(engine, "emergency-clerk") == [("overdue", task.id), ("due_soon", task.id)]


def test_a_claimed_tasks_reminder_goes_to_its_assignee_only(engine, reminded):
    clock, task = reminded
    engine.claim(task.id, actor(engine, "emergency-head"))
    clock.move_to(TUESDAY)
    assert engine.send_deadline_reminders() == 1  # overdue only: it was never due soon before
    assert _reminders(engine, "emergency-head") == [("overdue", task.id)]
    assert _reminders(engine, "emergency-clerk") == []


def test_a_paused_task_is_not_reminded_and_a_moved_deadline_reminds_again(engine, reminded):
    clock, task = reminded
    clerk = actor(engine, "emergency-clerk")
    clock.move_to(FRIDAY_START)
    assert engine.send_deadline_reminders() == 1
    engine.pause_task(task.id, clerk, reason="专家评审")
    clock.move_to(TUESDAY)
    assert engine.send_deadline_reminders() == 0  # the clock stands still
    resumed = engine.resume_task(task.id, clerk)
    assert resumed.due_at > TUESDAY
    clock.move_to(resumed.due_at + timedelta(minutes=1))
    assert engine.send_deadline_reminders() == 1
    kinds = [k for k, _ in _reminders(engine, "emergency-clerk")]
    assert kinds == ["overdue", "due_soon"]


def test_a_round_is_bounded_and_takes_the_oldest_due_first(engine, reminded):
    clock, first = reminded
    clock.move_to(STARTED + timedelta(days=1))
    engine.start("reminded", actor(engine, "emergency-clerk"))
    clock.move_to(TUESDAY + timedelta(days=2))
    assert engine.send_deadline_reminders(limit=1) == 1
    assert _reminders(engine, "emergency-clerk") == [("overdue", first.id)]
    assert engine.send_deadline_reminders(limit=1) == 1
    assert engine.send_deadline_reminders(limit=1) == 0
    tasks = {t for _, t in _reminders(engine, "emergency-clerk")}
    assert len(tasks) == 2
