"""Each year's exceptional days from the packages: official (chinesecalendar, 2004–2026) or
estimated by the statutory rules (holidays.China), and the sources a day or a year can have."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache, lru_cache
from types import MappingProxyType

import holidays as holidays_package
from chinese_calendar import constants as chinese_calendar_data

OFFICIAL = "official"
ESTIMATED = "estimated"
MANUAL = "manual"
IMPORTED = "imported"  # a year source: official data from an imported file
OFFICIAL_YEAR_SOURCES = frozenset({OFFICIAL, IMPORTED})

_ESTIMATE_RANGE = (1950, 2100)  # the years holidays.China knows; outside, only the weekly rule

# (is_workday, name, source) of one exceptional day
Entry = tuple[bool, str | None, str]

_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@lru_cache(maxsize=1)
def official_days_by_year() -> Mapping[int, Mapping[date, Entry]]:
    """chinesecalendar's data as exceptional days per year (weekday holidays, weekend workdays)."""
    by_year: dict[int, dict[date, Entry]] = {}
    for day, holiday in chinese_calendar_data.holidays.items():
        by_year.setdefault(day.year, {})
        if day.weekday() < 5:
            by_year[day.year][day] = (False, _chinese_name(holiday), OFFICIAL)
    for day, holiday in chinese_calendar_data.workdays.items():
        by_year.setdefault(day.year, {})
        if day.weekday() >= 5:
            by_year[day.year][day] = (True, f"{_chinese_name(holiday)}调休上班", OFFICIAL)
    return MappingProxyType(
        {y: MappingProxyType(dict(sorted(days.items()))) for y, days in by_year.items()}
    )


def _chinese_name(holiday) -> str:
    name = getattr(holiday, "value", holiday)
    return _HOLIDAY_NAMES.get(name, str(name))


@cache
def estimated_days(year: int) -> Mapping[date, Entry]:
    """The weekday holidays of ``year`` by the statutory rules (``holidays.China``).

    No make-up workdays: the rules do not say which weekends are worked, so an estimated year has
    a few more days off than the official schedule will have. Outside 1950–2100 the package knows
    nothing and the weekly rule alone applies.
    """
    if not _ESTIMATE_RANGE[0] <= year <= _ESTIMATE_RANGE[1]:
        return MappingProxyType({})
    try:
        found = holidays_package.China(years=year, language="zh_CN")
        days = {
            d: (False, name, ESTIMATED)
            for d, name in sorted(found.items())
            if d.year == year and d.weekday() < 5
        }
    except Exception:  # an estimate must never fail a deadline: fall back to the weekly rule
        days = {}
    return MappingProxyType(days)


def package_year(year: int) -> tuple[Mapping[date, Entry], bool]:
    """The exceptional days of a year from the packages, and whether they are official."""
    official = official_days_by_year().get(year)
    if official is not None:
        return official, True
    return estimated_days(year), False


def official_package_years() -> range:
    """The years chinesecalendar has official data for."""
    years = official_days_by_year()
    return range(min(years), max(years) + 1)
