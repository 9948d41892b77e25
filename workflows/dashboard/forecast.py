"""Completion forecast of a project's remaining stages, from the dwell times of past cases.

Each closed ``dash_stage_span`` says how many working days one project spent in one stage. Per
stage and project type the median and the 10th..90th percentiles of those days give the
expected duration and an 80 % interval; with fewer than ``MIN_SAMPLES`` spans of the project's
own type the spans of every type are used. The durations are added on the working-day calendar:
the current stage from its entry (never earlier than today), each later stage from the
expected end of the one before. 投产 is expected when 竣工验收 ends.

The statistics change slowly (a span closes when a project changes stage), so they are cached
per database for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from workflows.lifecycle import STAGES

from .tables import dash_stage_span

MIN_SAMPLES = 5
CACHE_SECONDS = 300.0
ALL_TYPES = "*"
# Forecasts run to 运营/达产; 退出 is an exit, not a step every project takes.
LAST_FORECAST_STAGE = 12
PRODUCTION_STAGE = 11  # 投产: entered when 竣工验收 (10) ends
METHOD = (
    "预测方法：按同类项目（同阶段、同项目类型，样本不足 5 个时用全部类型）已走完各阶段实际用时的"
    "中位数逐段累加工作日，区间为第 10 至第 90 百分位（约 80% 的项目落在其中）。"
)


@dataclass(frozen=True)
class DwellStats:
    """Working days spent in one stage by past projects of one type (or of all types)."""

    stage_number: int
    project_type: str  # ALL_TYPES when the fallback to every type was used
    samples: int
    median: float
    low: float  # 10th percentile
    high: float  # 90th percentile


def percentile(values: list[int], p: float) -> float:
    """Linear interpolation between closest ranks (NumPy's default) of sorted ``values``."""
    if not values:
        raise ValueError("no values")
    pos = p * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _stats_of(stage_number: int, project_type: str, values: list[int]) -> DwellStats:
    values.sort()
    return DwellStats(stage_number, project_type, len(values), percentile(values, 0.5),
                      percentile(values, 0.1), percentile(values, 0.9))


class StageStatistics:
    """Dwell statistics per (stage number, project type), with the all-types fallback."""

    def __init__(self, histogram: list[tuple[int, str, int, int]]):
        by_type: dict[tuple[int, str], list[int]] = {}
        by_stage: dict[int, list[int]] = {}
        for stage_number, project_type, days, count in histogram:
            by_type.setdefault((stage_number, project_type), []).extend([days] * count)
            by_stage.setdefault(stage_number, []).extend([days] * count)
        self._typed = {k: _stats_of(k[0], k[1], v) for k, v in by_type.items()}
        self._all = {k: _stats_of(k, ALL_TYPES, v) for k, v in by_stage.items()}
        self._paths: dict[tuple[str | None, int], tuple[int, int] | None] = {}

    def production_path(self, project_type: str | None, stage_number: int):
        """(median working days of ``stage_number``, the medians of the stages after it up to
        竣工验收 added up), or None when one of them has no statistics; memoised."""
        key = (project_type, stage_number)
        if key not in self._paths:
            days = [self.for_stage(n, project_type) for n in range(stage_number,
                                                                    PRODUCTION_STAGE)]
            self._paths[key] = None if not days or any(d is None for d in days) else (
                round(days[0].median), sum(round(d.median) for d in days[1:]))
        return self._paths[key]

    def for_stage(self, stage_number: int, project_type: str | None) -> DwellStats | None:
        """The project type's statistics when it has ``MIN_SAMPLES`` spans, else every type's
        (None when no project has left the stage yet)."""
        own = self._typed.get((stage_number, project_type or "unknown"))
        if own is not None and own.samples >= MIN_SAMPLES:
            return own
        return self._all.get(stage_number)


def read_statistics(conn) -> StageStatistics:
    """The histogram of closed spans, one GROUP BY over ``dash_stage_span``."""
    s = dash_stage_span.c
    rows = conn.execute(
        sa.select(s.stage_number, s.project_type, s.working_days, sa.func.count())
        .where(s.working_days.is_not(None))
        .group_by(s.stage_number, s.project_type, s.working_days)
    ).all()
    return StageStatistics([(int(a), str(b), max(0, int(c)), int(n)) for a, b, c, n in rows])


_cache: dict[str, tuple[float, StageStatistics]] = {}
_cache_lock = threading.Lock()


def statistics(engine, conn) -> StageStatistics:
    """``read_statistics``, cached for ``CACHE_SECONDS`` per database."""
    key = engine.database_url
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    stats = read_statistics(conn)
    with _cache_lock:
        _cache[key] = (now, stats)
    return stats


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _derived.clear()


_derived: dict[tuple, tuple[float, object]] = {}


def cached(engine, key: tuple, compute):
    """``compute()``, kept for ``CACHE_SECONDS`` per database and ``key`` (figures derived from
    the forecast, which moves only when a project changes stage)."""
    full = (engine.database_url, *key)
    now = time.monotonic()
    with _cache_lock:
        hit = _derived.get(full)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = compute()
    with _cache_lock:
        _derived[full] = (now, value)
    return value


class WorkingDayIndex:
    """Working days as consecutive numbers, so that durations add up as integers: the index of
    a day is the count of working days from a fixed origin up to and including it. Memoised per
    day and per year (a few thousand projects share a few hundred days)."""

    ORIGIN = date(1999, 12, 31)

    def __init__(self, calendar):
        self.calendar = calendar  # engine.WorkCalendar
        self._years: dict[int, int] = {}
        self._days: dict[date, int] = {}

    def _year_base(self, year: int) -> int:
        base = self._years.get(year)
        if base is None:
            base = self.calendar.working_days_between(self.ORIGIN, date(year - 1, 12, 31))
            self._years[year] = base
        return base

    def index(self, day: date) -> int:
        found = self._days.get(day)
        if found is None:
            found = self._year_base(day.year) + self.calendar.working_days_between(
                date(day.year - 1, 12, 31), day)
            self._days[day] = found
        return found

    def day_at(self, index: int, today: date) -> date:
        """The working day with ``index`` (today when that lies at or before today)."""
        ahead = index - self.index(today)
        if ahead <= 0:
            return today
        return self.calendar.add_working_days(today, ahead)


@dataclass(frozen=True)
class StageForecast:
    stage_number: int
    stage: str
    current: bool
    stats: DwellStats | None  # None: no past project has left this stage yet
    expected_end: date | None
    earliest_end: date | None
    latest_end: date | None


@dataclass(frozen=True)
class ProjectForecast:
    stages: tuple[StageForecast, ...]
    production: date | None  # expected entry into 投产
    production_earliest: date | None
    production_latest: date | None
    planned_production: date | None
    late: bool  # the expected 投产 passes the agreed date
    method: str = METHOD


def _durations(stats: StageStatistics, project_type, stage_number) -> tuple[int, int, int] | None:
    found = stats.for_stage(stage_number, project_type)
    if found is None:
        return None
    return round(found.median), math.floor(found.low), math.ceil(found.high)


def _ends(stats, project_type, stage_number, entered: date, today: date, index: WorkingDayIndex):
    """Index of the expected, earliest and latest end of the stages from ``stage_number`` up to
    ``LAST_FORECAST_STAGE``: a generator of (stage number, durations or None, (mid, lo, hi))."""
    start, now = index.index(entered), index.index(today)
    mid = lo = hi = None
    for number in range(stage_number, LAST_FORECAST_STAGE + 1):
        days = _durations(stats, project_type, number)
        if days is None or (number > stage_number and mid is None):
            mid = lo = hi = None
        elif number == stage_number:
            mid, lo, hi = (max(now, start + d) for d in days)
        else:
            mid, lo, hi = mid + days[0], lo + days[1], hi + days[2]
        yield number, days, (mid, lo, hi)


def forecast_project(stats: StageStatistics, index: WorkingDayIndex, *, project_type: str | None,
                     stage_number: int | None, entered: date | None, today: date,
                     planned_production: date | None,
                     actual_production: date | None) -> ProjectForecast:
    """The forecast of one project standing in ``stage_number`` since ``entered``."""
    if stage_number is None or entered is None or stage_number > LAST_FORECAST_STAGE:
        return ProjectForecast((), None, None, None, planned_production, False)
    rows = []
    production = None
    for number, _days, (mid, lo, hi) in _ends(stats, project_type, stage_number, entered,
                                              today, index):
        dates = tuple(None if i is None else index.day_at(i, today) for i in (mid, lo, hi))
        rows.append(StageForecast(number, STAGES[number - 1].name, number == stage_number,
                                  stats.for_stage(number, project_type), *dates))
        if number == PRODUCTION_STAGE - 1:
            production = dates
    if production is None or stage_number >= PRODUCTION_STAGE or actual_production is not None:
        production = (None, None, None)
    late = bool(production[0] and planned_production and production[0] > planned_production)
    return ProjectForecast(tuple(rows), *production, planned_production, late)


def production_late(stats: StageStatistics, index: WorkingDayIndex, *, project_type: str | None,
                    stage_number: int, entered: date, today: date,
                    planned_production: date) -> bool:
    """``forecast_project(...).late`` in integers only (the overview counts thousands)."""
    if stage_number >= PRODUCTION_STAGE:
        return False
    path = stats.production_path(project_type, stage_number)
    if path is None:
        return False
    now = index.index(today)
    mid = max(now, index.index(entered) + path[0]) + path[1]
    if mid <= now:  # as day_at: an end at or before today reads as today
        return today > planned_production
    return mid > index.index(planned_production)

