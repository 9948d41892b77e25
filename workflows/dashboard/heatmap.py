"""流程热力图 (heatmap): per element of a process, how many tasks were completed over the period
and their median / 80th-percentile working days (from the histogram ``dash_task_stat``), and
how many are open now (the engine's ``task`` rows, read from the index on process, state and
element). The page colours the newest version's diagram by the medians.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine import OPEN_STATES, Engine, NotFound, local_day, utcnow

from .departments import (
    DEFAULT_MONTHS,
    bucket_percentile,
    in_scope,
    month_window,
    newest_definitions,
    task_names,
    task_rows,
)
from .tables import dash_task_stat


@dataclass(frozen=True)
class ProcessEntry:
    key: str
    name: str
    version: int
    completed: int  # tasks completed in the period (in scope)
    open_now: int


@dataclass(frozen=True)
class ElementFigures:
    element_id: str
    name: str
    count: int  # completed in the period
    median_days: int | None
    p80_days: int | None
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class Heatmap:
    process_key: str
    process_name: str
    version: int
    months: tuple[str, ...]
    elements: tuple[ElementFigures, ...]  # slowest median first, then the open-only ones

    @property
    def has_data(self) -> bool:
        return any(e.count or e.open_now for e in self.elements)


def process_list(engine: Engine, departments=None, *, months: int = DEFAULT_MONTHS,
                 now: datetime | None = None) -> list[ProcessEntry]:
    """The newest definition of every process with its completed and open task counts."""
    now = now or utcnow()
    window = month_window(months, local_day(now))
    s, t = dash_task_stat.c, task_rows.c
    with engine.unit_of_work(readonly=True) as uow:
        definitions = list(newest_definitions(uow.conn).values())
        completed = dict(uow.conn.execute(
            sa.select(s.process_key, sa.func.sum(s.count))
            .where(s.month >= window[0], s.month <= window[-1],
                   in_scope(s.department_code, departments))
            .group_by(s.process_key)
        ).all())
        open_now = dict(uow.conn.execute(
            sa.select(t.process_key, sa.func.count())
            # naming the keys lets the index (process, state, ...) be searched, not scanned
            .where(t.process_key.in_(sorted({d.key for d in definitions})),
                   t.state.in_(OPEN_STATES), in_scope(t.department_code, departments))
            .group_by(t.process_key)
        ).all())
    return [
        ProcessEntry(key=d.key, name=d.name or d.key, version=d.version,
                     completed=int(completed.get(d.key) or 0), open_now=int(open_now.get(d.key) or 0))
        for d in definitions
    ]


def process_heatmap(engine: Engine, key: str, departments=None, *, months: int = DEFAULT_MONTHS,
                    now: datetime | None = None) -> Heatmap:
    """The figures of ``key``'s elements; NotFound for an unknown key."""
    now = now or utcnow()
    window = month_window(months, local_day(now))
    s, t = dash_task_stat.c, task_rows.c
    with engine.unit_of_work(readonly=True) as uow:
        definition = newest_definitions(uow.conn, {key}).get(key)
        if definition is None:
            raise NotFound(f"流程 {key} 不存在")
        buckets: dict = defaultdict(list)
        for element_id, days, count in uow.conn.execute(
            sa.select(s.element_id, s.days, sa.func.sum(s.count))
            .where(s.process_key == key, s.month >= window[0], s.month <= window[-1],
                   in_scope(s.department_code, departments))
            .group_by(s.element_id, s.days)
        ):
            buckets[element_id].append((days, int(count or 0)))
        overdue = sa.func.sum(sa.case((t.due_at < now, 1), else_=0))
        open_now: dict = defaultdict(lambda: (0, 0))
        # grouped by state too: the index's own order, no sort of the open tasks
        for _state, element_id, n, late in uow.conn.execute(
            sa.select(t.state, t.element_id, sa.func.count(), overdue)
            .where(t.process_key == key, t.state.in_(OPEN_STATES),
                   in_scope(t.department_code, departments))
            .group_by(t.state, t.element_id)
        ):
            had, had_late = open_now[element_id]
            open_now[element_id] = (had + n, had_late + int(late or 0))
    process_name, names = task_names(engine, [definition])[key]
    elements = [
        ElementFigures(
            element_id=element_id, name=names.get(element_id, element_id),
            count=sum(c for _, c in buckets.get(element_id, ())),
            median_days=bucket_percentile(buckets.get(element_id, ()), 50),
            p80_days=bucket_percentile(buckets.get(element_id, ()), 80),
            open_now=open_now.get(element_id, (0, 0))[0],
            overdue_now=open_now.get(element_id, (0, 0))[1],
        )
        for element_id in set(buckets) | set(open_now)
    ]
    elements.sort(key=lambda e: (e.median_days is None, -(e.median_days or 0),
                                 -(e.p80_days or 0), -e.count, -e.open_now, e.element_id))
    return Heatmap(process_key=key, process_name=process_name, version=definition.version,
                   months=window, elements=tuple(elements))
