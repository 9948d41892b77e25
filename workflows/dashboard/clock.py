"""The "who holds it" clock (谁在办、用了几天): for every parallel approval of a project (tasks of
one stage open at the same time, e.g. 前期手续's 环评 / 能评 / 安全 / 水保), each department's
working days used against its limit, with the stopped clock (补正, expert review) shown and not
counted.

The limit is the task's own deadline: working days from its arrival to its due day, less the
working days its clock was stopped (a resume moves the due time by the stopped days, so the
original limit is what remains). Used: working days from arrival to completion (or today), less
the stopped days. Both on the engine's working-day calendar, counted on China days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from engine import READ_TABLES, local_day

# The engine's task rows, as plain table clauses (its model module is not public).
task_rows = READ_TABLES.task
task_pause_rows = READ_TABLES.task_pause


@dataclass(frozen=True)
class Pause:
    start: date
    end: date | None  # None: still stopped
    reason: str | None
    working_days: int


@dataclass(frozen=True)
class ClockRow:
    task_id: str
    name: str
    department_code: str | None
    assignee: str | None
    state: str
    arrived: date
    due: date
    completed: date | None
    limit_days: int
    used_days: int
    paused_days: int
    pauses: tuple[Pause, ...]

    @property
    def over(self) -> bool:
        return self.used_days > self.limit_days

    @property
    def open(self) -> bool:
        return self.completed is None


@dataclass(frozen=True)
class ClockGroup:
    stage: str | None
    rows: tuple[ClockRow, ...]

    @property
    def open(self) -> bool:
        return any(r.open for r in self.rows)

    @property
    def parallel(self) -> bool:
        return len(self.rows) > 1


def _pause_days(calendar, start: datetime, end: datetime | None, now: datetime) -> int:
    # as the engine counts a stop when the task resumes (engine/commands/tasks.py)
    return max(0, calendar.working_days_between(local_day(start), local_day(end or now)))


def clock_row(calendar, task: dict, pauses: list[dict], now: datetime) -> ClockRow:
    """One task's clock (``task``: a task row with a due time; ``pauses``: its task_pause rows)."""
    arrived = local_day(task["created_at"])
    end = task["completed_at"] or now
    shown = tuple(
        Pause(local_day(p["paused_at"]), local_day(p["resumed_at"]) if p["resumed_at"] else None,
              p["reason"], _pause_days(calendar, p["paused_at"], p["resumed_at"], now))
        for p in pauses)
    stopped_before_due = sum(p.working_days for p, raw in zip(shown, pauses, strict=True)
                             if raw["resumed_at"] is not None)
    stopped = sum(p.working_days for p in shown)
    limit = calendar.working_days_between(arrived, local_day(task["due_at"])) - stopped_before_due
    used = calendar.working_days_between(arrived, local_day(end)) - stopped
    return ClockRow(task["id"], task["name"] or task["element_id"], task["department_code"],
                    task["assignee"], task["state"], arrived, local_day(task["due_at"]),
                    local_day(task["completed_at"]) if task["completed_at"] else None,
                    max(0, limit), max(0, used), stopped, shown)


def group_parallel(tasks: list[dict], now: datetime) -> list[list[dict]]:
    """Tasks of one stage whose open periods overlap, as groups (in arrival order)."""
    by_stage: dict[str | None, list[dict]] = {}
    for t in sorted(tasks, key=lambda t: (t["created_at"], t["id"])):
        by_stage.setdefault(t["stage"], []).append(t)
    groups = []
    for same_stage in by_stage.values():
        current: list[dict] = []
        reach = None
        for t in same_stage:
            end = t["completed_at"] or now
            if current and t["created_at"] <= reach:
                current.append(t)
                reach = max(reach, end)
            else:
                if current:
                    groups.append(current)
                current, reach = [t], end
        if current:
            groups.append(current)
    return groups


def project_clocks(conn, calendar, instance_id: int, now: datetime) -> list[ClockGroup]:
    """The clocks of a project: every parallel approval, every open step with a deadline and
    every step whose clock was stopped; open ones first, then the most recent."""
    t = task_rows.c
    tasks = [dict(r) for r in conn.execute(
        sa.select(t.id, t.element_id, t.name, t.department_code, t.assignee, t.state,
                  t.created_at, t.due_at, t.completed_at, t.stage)
        .where(t.instance_id == instance_id, t.due_at.is_not(None), t.state != "cancelled")
    ).mappings()]
    if not tasks:
        return []
    p = task_pause_rows.c
    pauses: dict[str, list[dict]] = {}
    for r in conn.execute(
        sa.select(p.task_id, p.paused_at, p.resumed_at, p.reason)
        .where(p.task_id.in_([x["id"] for x in tasks])).order_by(p.paused_at)
    ).mappings():
        pauses.setdefault(r["task_id"], []).append(dict(r))
    groups = []
    for members in group_parallel(tasks, now):
        group = ClockGroup(members[0]["stage"], tuple(
            clock_row(calendar, m, pauses.get(m["id"], []), now) for m in members))
        # single finished steps only when their clock was stopped (the pause is the story)
        if group.parallel or group.open or any(r.pauses for r in group.rows):
            groups.append(group)
    groups.sort(key=lambda g: (not g.open, -max(r.arrived.toordinal() for r in g.rows)))
    return groups
