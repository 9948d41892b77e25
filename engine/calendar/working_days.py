"""Working-day arithmetic: ``WorkCalendar`` over a fixed set of exceptional days, and the values
it answers with (a day and why, a date or a count or a deadline with the provisional flag)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

from .dates import date_out_of_range, end_of_local_day, local_date, require_date
from .year_data import Entry, official_days_by_year, package_year

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayInfo:
    """One day: whether it is worked and why (``source`` None: the Monday–Friday rule)."""

    date: date
    is_workday: bool
    name: str | None
    source: str | None
    provisional: bool


@dataclass(frozen=True)
class WorkingDate:
    date: date
    provisional: bool


@dataclass(frozen=True)
class WorkingDayCount:
    working_days: int
    provisional: bool


@dataclass(frozen=True)
class Deadline:
    """End of a working day, as naive UTC (how kunflow stores times)."""

    due_at: datetime
    provisional: bool


class WorkCalendar:
    """Working-day arithmetic over a fixed set of exceptional days. Immutable; no database.

    ``days`` maps a date to ``(is_workday, name, source)``; ``official_years`` are the years whose
    data is official; ``covered_years`` (default: the years of ``days`` and ``official_years``)
    are the years whose data is complete here. Any other year is computed from the packages:
    official from chinesecalendar where it knows the year, otherwise estimated.
    """

    def __init__(
        self,
        days: Mapping[date, Entry],
        official_years: Iterable[int] = (),
        covered_years: Iterable[int] | None = None,
    ):
        self._official = frozenset(official_years)
        by_year: dict[int, dict[date, Entry]] = {}
        for day, (is_workday, name, source) in days.items():
            by_year.setdefault(day.year, {})[day] = (bool(is_workday), name, source)
        covered = set(by_year) | set(self._official)
        if covered_years is not None:
            covered |= set(covered_years)
        self._years = {
            y: MappingProxyType(dict(sorted(by_year.get(y, {}).items()))) for y in covered
        }

    # -- one day

    def _year(self, year: int) -> tuple[Mapping[date, Entry], bool]:
        days = self._years.get(year)
        if days is not None:
            return days, year in self._official
        return package_year(year)

    def is_official(self, year: int) -> bool:
        """Whether ``year`` has official data (no estimate involved)."""
        if year in self._years:
            return year in self._official
        return year in official_days_by_year()

    def is_provisional(self, day: date, until: date | None = None) -> bool:
        """Whether any year from ``day`` to ``until`` (either order) lacks official data."""
        day = require_date(day)
        until = day if until is None else require_date(until)
        lo, hi = min(day, until), max(day, until)
        return any(not self.is_official(y) for y in range(lo.year, hi.year + 1))

    def is_workday(self, day: date) -> bool:
        day = require_date(day)
        entry = self._year(day.year)[0].get(day)
        if entry is not None:
            return entry[0]
        return day.weekday() < 5

    def day(self, day: date) -> DayInfo:
        """The day with its reason: holiday or make-up workday name, or the weekly rule."""
        day = require_date(day)
        days, official = self._year(day.year)
        entry = days.get(day)
        if entry is None:
            return DayInfo(day, day.weekday() < 5, None, None, not official)
        return DayInfo(day, entry[0], entry[1], entry[2], not official)

    def exceptional_days(self, year: int) -> tuple[DayInfo, ...]:
        """The holidays on weekdays and workdays on weekends of ``year``, in date order."""
        days, official = self._year(year)
        return tuple(DayInfo(d, e[0], e[1], e[2], not official) for d, e in days.items())

    # -- arithmetic

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself not counted).

        ``n`` = 0 gives ``start`` when it is a working day, otherwise the next working day (a
        deadline of "0 working days" falls on the first day one can act). A negative ``n``
        counts backwards: the ``|n|``-th working day before ``start``.
        """
        start = require_date(start)
        n = operator.index(n)
        try:
            day = start
            if n == 0:
                while not self.is_workday(day):
                    day += ONE_DAY
                return day
            step = ONE_DAY if n > 0 else -ONE_DAY
            left = abs(n)
            while left:
                day += step
                if self.is_workday(day):
                    left -= 1
            return day
        except OverflowError:
            raise date_out_of_range() from None

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` < ``a``.

        Backwards it mirrors: the working days before ``a`` down to and including ``b``, negated.
        So ``working_days_between(a, add_working_days(a, n)) == n`` for every ``n`` != 0.
        """
        a, b = require_date(a), require_date(b)
        if b > a:
            return self._count(a + ONE_DAY, b)
        if b < a:
            return -self._count(b, a - ONE_DAY)
        return 0

    def _count(self, lo: date, hi: date) -> int:
        """Working days in ``lo``..``hi`` inclusive: the weekly rule per year plus exceptions."""
        total = 0
        for year in range(lo.year, hi.year + 1):
            first, last = max(lo, date(year, 1, 1)), min(hi, date(year, 12, 31))
            total += _weekdays(first, last)
            for day, (is_workday, _name, _source) in self._year(year)[0].items():
                if first <= day <= last and is_workday != (day.weekday() < 5):
                    total += 1 if is_workday else -1
        return total

    def due_at(self, start: datetime, working_days: int) -> datetime:
        """End (23:59:59 Asia/Shanghai) of the ``working_days``-th working day after the local
        date of ``start``, as naive UTC. ``start`` is naive UTC (or timezone-aware)."""
        return self.deadline(start, working_days).due_at

    # -- with the provisional flag

    def add(self, start: date, n: int) -> WorkingDate:
        result = self.add_working_days(start, n)
        return WorkingDate(result, self.is_provisional(start, result))

    def between(self, a: date, b: date) -> WorkingDayCount:
        return WorkingDayCount(self.working_days_between(a, b), self.is_provisional(a, b))

    def deadline(self, start: datetime, working_days: int) -> Deadline:
        local = local_date(start)
        target = self.add_working_days(local, working_days)
        return Deadline(end_of_local_day(target), self.is_provisional(local, target))


def _weekdays(first: date, last: date) -> int:
    """Mondays to Fridays in ``first``..``last`` inclusive."""
    weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)
