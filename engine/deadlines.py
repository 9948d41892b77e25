"""Deadlines: when a human task falls due, moving a time by working days, and the one
traffic-light rule (red / yellow / green) that the task lists, their filter and the pages share.

Due rules come from the task's typed info (``definitions.TaskSpecInfo``): ``due_working_days``
(working days, due at the end of that day, China's calendar), ``due_days`` (calendar days, due
at the end of the n-th day after the task opened, 23:59:59 China time: statutory limits given in
日), ``due_hours`` (clock hours) or
``due_expression`` (a number of working days, a date/time, or a date: due at the end of that
day, 23:59:59 China time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from .calendar import date_only, end_of_local_day
from .clock import local_day, naive_utc, utcnow
from .context import Context
from .definitions import TaskSpecInfo
from .errors import InvalidInput
from .model import task
from .sandbox import ScriptViolation

LIGHTS = ("red", "yellow", "green")


def deadline_of(ctx: Context, info: TaskSpecInfo, spiff_task, now: datetime, conn,
                code: bool = True) -> tuple[datetime | None, bool]:
    """(due time, provisional) of a task with ``info``'s due rule; ``due_expression`` is
    evaluated in the data of ``spiff_task`` (the task itself, or a boundary event of it: the
    same data), unless ``code`` is False. ``provisional``: counted over a year without
    official holiday data."""
    value = None
    if code and info.due_expression:
        try:
            value = ctx.script_engine.evaluate(spiff_task, info.due_expression)
        except ScriptViolation:
            raise  # refused, too slow, too big: an incident
        except Exception:  # a failing deadline expression leaves the task without one
            value = None
    elif info.due_working_days:
        value = info.due_working_days
    elif info.due_days:
        return calendar_days_due(info.due_days, now)
    elif info.due_hours is not None:
        try:
            return now + timedelta(hours=info.due_hours), False
        except ValueError:
            return None, False
    return due_at(ctx, value, now, conn)


def calendar_days_due(days, now: datetime) -> tuple[datetime | None, bool]:
    """(due time, False) of a limit of ``days`` calendar days counted from ``now``: the end
    (23:59:59 China time) of the n-th calendar day after the China day of ``now``, holidays and
    weekends included; no deadline when ``days`` is not a whole number."""
    text = str(days).strip()
    if isinstance(days, float) and days.is_integer():
        text = str(int(days))
    if isinstance(days, bool) or not text.isdigit():
        return None, False
    return end_of_local_day(local_day(now) + timedelta(days=int(text))), False


def due_at(ctx: Context, value, now: datetime, conn) -> tuple[datetime | None, bool]:
    """A deadline value as (due time, provisional): a number of working days from ``now``, a
    date (the end of that day, China time) or a date and time; anything else: no deadline."""
    if value is None or isinstance(value, bool):
        return None, False
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        deadline = ctx.calendar.current(conn).deadline(now, int(value))
        return deadline.due_at, deadline.provisional
    day = date_only(value)
    if day is not None:  # a date without a time: due at the end of that day, China time
        return end_of_local_day(day), False
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None, False
    if isinstance(value, datetime):
        return naive_utc(value), False
    return None, False


def shift_working_days(cal, moment: datetime, days: int) -> datetime:
    """``moment`` moved to the same time of day ``days`` working days later (earlier if
    negative), counted on the China calendar day of ``moment``."""
    day = local_day(moment)
    return moment + (cal.add_working_days(day, days) - day)


# ---------------------------------------------------------------- traffic light


def light_bounds(ctx: Context) -> tuple[datetime, datetime]:
    """(now, end of the next working day's window): a task due before ``now`` is red,
    before the second bound yellow, else green."""
    now = utcnow()
    with ctx.uow(readonly=True) as uow:
        cal = ctx.calendar.current(uow.conn)
    return now, cal.due_at(now, 1)


def traffic_light(due_at: datetime | None, bounds: tuple[datetime, datetime]) -> str | None:
    """``red`` (overdue), ``yellow`` (due within one working day) or ``green`` (later) for an
    open task due at ``due_at``, given ``light_bounds``; None without a deadline (which the
    ``green`` filter of a task list includes)."""
    if due_at is None:
        return None
    now, soon = bounds
    if due_at < now:
        return "red"
    return "yellow" if due_at < soon else "green"


def light_clause(ctx: Context, light: str):
    """The task-list filter of one light, by the same rule as ``traffic_light``."""
    if light not in LIGHTS:
        raise InvalidInput("light 只能是 red、yellow 或 green")
    now, soon = light_bounds(ctx)
    if light == "red":
        return task.c.due_at < now
    if light == "yellow":
        return sa.and_(task.c.due_at >= now, task.c.due_at < soon)
    return sa.or_(task.c.due_at.is_(None), task.c.due_at >= soon)
