"""The functions diagram code may call besides its task data (scripts, conditions, timer,
assignee, department and deadline expressions): ``now``, ``department_code``,
``departments_of_kind``, ``task_due`` and the working-day calendar. ``business_key()`` comes with the script engine (engine/scripting.py).

The facade builds them once, over the shared context, and hands them to the script engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from .clock import CHINA_TZ, to_local, utcnow
from .context import Context
from .deadlines import calendar_days_due, deadline_of, shift_working_days
from .definitions import TaskSpecInfo
from .scripting import current_task
from .timers import DUE_OFFSET, attached_task


def helpers(ctx: Context) -> dict:
    """Every helper by the name diagram code calls it."""

    def now():
        return utcnow().isoformat() + "Z"

    def department_code(name):
        return ctx.directory().get(name)

    def departments_of_kind(kind):
        """The codes of the departments of ``kind`` in the org chart (a dotted kind counts
        under each group it names: ``routing.kind_groups``), sorted; a new list each call, so
        code may keep or change it. Unknown kind: an empty list."""
        return list(ctx.department_kinds().get(str(kind).strip(), ()))

    def task_due(working_days=0):
        """For boundary timers: the due time of the task the timer is attached to (its
        ``due_working_days`` / ``due_days`` / ``due_hours`` / ``due_expression``), moved by
        ``working_days`` working days (negative: before), ISO 8601 UTC. Such a timer
        follows the task's deadline when its clock is paused and resumed."""
        timer = current_task()
        target = attached_task(timer)
        if target is None:
            raise ValueError("task_due() 只能用于任务边界事件的定时器")
        info = TaskSpecInfo.of_spec(target.task_spec)
        due, _ = deadline_of(ctx, info, timer, utcnow(), None)
        if due is None:
            raise ValueError(f"任务 {target.task_spec.bpmn_id} 没有办理时限"
                             "（due_working_days / due_days / due_hours / due_expression）")
        offset = int(working_days)
        timer.internal_data[DUE_OFFSET] = offset
        if offset:
            due = shift_working_days(ctx.calendar.current(), due, offset)
        return due.isoformat() + "+00:00"

    return {"now": now, "department_code": department_code,
            "departments_of_kind": departments_of_kind, "task_due": task_due,
            **calendar_helpers(ctx)}


def calendar_helpers(ctx: Context) -> dict:
    """The working-day calendar for diagram code (dates as ISO text)."""
    calendar = ctx.calendar

    def add_working_days(start, days):
        """The date ``days`` working days after ``start`` (ISO date), as an ISO date."""
        return calendar.current().add_working_days(date.fromisoformat(str(start)[:10]),
                                                   int(days)).isoformat()

    def working_days_between(start, end):
        return calendar.current().working_days_between(
            date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10]))

    def due_in_working_days(days):
        """For timers: the end of the ``days``-th working day from now, ISO 8601 UTC."""
        due = calendar.current().due_at(utcnow(), int(days))
        return due.isoformat() + "+00:00"

    def due_in_days(days):
        """For deadlines and timers given in calendar days (statutory limits in 日): the end of
        the ``days``-th calendar day from now (23:59:59 China time), ISO 8601 UTC."""
        due, _ = calendar_days_due(days, utcnow())
        if due is None:
            raise ValueError(f"due_in_days() 需要非负整数天数，得到 {days!r}")
        return due.isoformat() + "+00:00"

    def is_workday(day):
        return calendar.current().is_workday(date.fromisoformat(str(day)[:10]))

    def next_month_day(day=1, hour=0):
        """For monthly timers (督查 reports from the 1st): ``day`` of next month at ``hour``
        o'clock China time, ISO 8601 UTC. ISO cycles (``R/…/P1M``) cannot do this: the
        library turns P1M into a fixed number of days and drifts off the 1st."""
        local = to_local(utcnow())
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        target = datetime(year, month, int(day), int(hour), tzinfo=CHINA_TZ)
        return target.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"

    return {
        "add_working_days": add_working_days,
        "working_days_between": working_days_between,
        "due_in_working_days": due_in_working_days,
        "due_in_days": due_in_days,
        "is_workday": is_workday,
        "next_month_day": next_month_day,
    }
