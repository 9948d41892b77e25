"""Working days (工作日): date arithmetic over the calendar table, and the service that keeps it.

The default rule is Monday–Friday work, Saturday and Sunday off. The ``calendar_day`` table holds
only the days that differ: statutory holidays on a weekday and make-up workdays (调休) on a
weekend. Each row has a source:

- ``official``: the State Council schedule, from the ``chinesecalendar`` package (it knows
  2004–2026) or imported each November for the next year (``kunflow calendar import``);
- ``estimated``: a year without official data, from the statutory holiday rules
  (``holidays.China``: fixed and lunar dates, no make-up workdays);
- ``manual``: an administrator's edit of one day.

``calendar_year`` records which years the table covers and whether their data is official
(``official`` from the package, ``imported`` from a file) or ``estimated``. A result that touches
a year without official data is *provisional*. A year the table does not cover is computed the
way seeding would store it, so every function works for any year and never fails for lack of
data.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import cache, lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays as holidays_package
import sqlalchemy as sa
from chinese_calendar import constants as chinese_calendar_data
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine

from .dto import SYSTEM, Actor
from .errors import Forbidden, InvalidInput
from .model import calendar_day, calendar_year, event
from .unit_of_work import UnitOfWork

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = clock_time(23, 59, 59)
ONE_DAY = timedelta(days=1)

OFFICIAL = "official"
ESTIMATED = "estimated"
MANUAL = "manual"
IMPORTED = "imported"  # a year source: official data from an imported file
OFFICIAL_YEAR_SOURCES = frozenset({OFFICIAL, IMPORTED})

ESTIMATE_YEARS_AHEAD = 2  # seeding estimates up to the current year + 2
IMPORT_YEARS = (2000, 2100)  # years an imported schedule may be for
_ESTIMATE_RANGE = (1950, 2100)  # the years holidays.China knows; outside, only the weekly rule
_MAX_NAME = 200

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
_WEEKDAY_NAMES = "一二三四五六日"


def local_today() -> date:
    """Today in Asia/Shanghai; read through datetime so that frozen clocks in tests apply."""
    return datetime.now(LOCAL_TZ).date()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------------- package data


@lru_cache(maxsize=1)
def _official_package_years() -> Mapping[int, Mapping[date, Entry]]:
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
    official = _official_package_years().get(year)
    if official is not None:
        return official, True
    return estimated_days(year), False


def official_package_years() -> range:
    """The years chinesecalendar has official data for."""
    years = _official_package_years()
    return range(min(years), max(years) + 1)


# ---------------------------------------------------------------------------------- results


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


@dataclass(frozen=True)
class YearCalendar:
    year: int
    source: str  # official | imported | estimated
    official: bool
    stored: bool  # False: not in the table, computed from the packages
    updated_at: datetime | None
    days: tuple[DayInfo, ...]


@dataclass(frozen=True)
class SeedSummary:
    official_years: tuple[int, ...]  # written from chinesecalendar
    estimated_years: tuple[int, ...]  # written from holidays.China
    unchanged_years: tuple[int, ...]
    kept_years: tuple[int, ...]  # official (package or imported) data left as it was


@dataclass(frozen=True)
class ImportSummary:
    year: int
    holidays: int  # weekday holidays stored
    weekend_holidays: int  # listed holidays on a Saturday or Sunday (off anyway, not stored)
    workdays: int  # make-up workdays stored
    replaced: int  # rows of the year before the import
    previous_source: str | None


# ---------------------------------------------------------------------------------- calendar


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
        return year in _official_package_years()

    def is_provisional(self, day: date, until: date | None = None) -> bool:
        """Whether any year from ``day`` to ``until`` (either order) lacks official data."""
        day = _day(day)
        until = day if until is None else _day(until)
        lo, hi = min(day, until), max(day, until)
        return any(not self.is_official(y) for y in range(lo.year, hi.year + 1))

    def is_workday(self, day: date) -> bool:
        day = _day(day)
        entry = self._year(day.year)[0].get(day)
        if entry is not None:
            return entry[0]
        return day.weekday() < 5

    def day(self, day: date) -> DayInfo:
        """The day with its reason: holiday or make-up workday name, or the weekly rule."""
        day = _day(day)
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
        start = _day(start)
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
            raise _out_of_range() from None

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` < ``a``.

        Backwards it mirrors: the working days before ``a`` down to and including ``b``, negated.
        So ``working_days_between(a, add_working_days(a, n)) == n`` for every ``n`` != 0.
        """
        a, b = _day(a), _day(b)
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
        local = _local_date(start)
        target = self.add_working_days(local, working_days)
        return Deadline(end_of_local_day(target), self.is_provisional(local, target))


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_only(value) -> date | None:
    """The day named by a value without a time of day: a ``date`` (not a datetime) or an ISO
    string ``YYYY-MM-DD``; None for anything else (a time, a number, text)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def end_of_local_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai of ``day`` as naive UTC: when a deadline given as a date falls
    due, as a working-day deadline (``due_at``) does on its last day."""
    try:
        due = datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ).astimezone(UTC)
    except OverflowError:
        raise _out_of_range() from None
    return due.replace(tzinfo=None)


def _day(value) -> date:
    # A datetime is a date too, but which day it is depends on the time zone: say so.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"需要日期（datetime.date），收到 {type(value).__name__}")
    return value


def _weekdays(first: date, last: date) -> int:
    """Mondays to Fridays in ``first``..``last`` inclusive."""
    weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


def _local_date(moment: datetime) -> date:
    if not isinstance(moment, datetime):
        raise TypeError(f"需要时间（datetime），收到 {type(moment).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(LOCAL_TZ).date()
    except OverflowError:
        raise _out_of_range() from None


def _out_of_range() -> InvalidInput:
    return InvalidInput("日期超出可计算的范围（0001-01-01 至 9999-12-31）")


# ---------------------------------------------------------------------------------- import files


@dataclass(frozen=True)
class Schedule:
    """A year's official schedule as read from an import file."""

    year: int
    holidays: tuple[tuple[date, str | None], ...]
    workdays: tuple[tuple[date, str | None], ...]


class ScheduleError(InvalidInput):
    """An import file with problems; ``problems`` lists ``{line, field, message}``."""

    def __init__(self, problems: list[dict]):
        first = problems[0]
        more = f"（共 {len(problems)} 处错误）" if len(problems) > 1 else ""
        super().__init__(
            f"导入文件有误{more}：{_where(first)}{first['message']}",
            {"field": first.get("field"), "problems": problems},
        )
        self.problems = problems


def _where(problem: dict) -> str:
    parts = []
    if problem.get("line"):
        parts.append(f"第 {problem['line']} 行")
    if problem.get("field"):
        parts.append(f"字段 {problem['field']}")
    return "，".join(parts) + "：" if parts else ""


def _problem(message: str, line: int | None = None, field: str | None = None) -> dict:
    return {"line": line, "field": field, "message": message}


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_JSON_FIELDS = ("year", "holidays", "workdays")
_TYPES = {"holiday": False, "workday": True}


def parse_date(value) -> date | None:
    """``YYYY-MM-DD`` as a date; None when it is not one (only that exact form is accepted)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_schedule(content: bytes | str, filename: str = "", year: int | None = None) -> Schedule:
    """Read a schedule file: CSV (``date,type,name``) or JSON (``{"year", "holidays",
    "workdays"}``), chosen by the file name's suffix or else by the content. Raises
    ``ScheduleError`` listing every problem (line, field, message in Chinese)."""
    text = _decode(content) if isinstance(content, bytes) else content
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "json" or (suffix != "csv" and text.lstrip().startswith("{")):
        return schedule_from_json(text, year)
    return schedule_from_csv(text, year)


def _decode(content: bytes) -> str:
    # Excel on a Chinese Windows saves CSV as GB18030/GBK; everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScheduleError([_problem("文件编码无法识别，请保存为 UTF-8")])


def schedule_from_json(text: str, year: int | None = None) -> Schedule:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(
            [_problem(f"不是有效的 JSON（第 {exc.colno} 列：{exc.msg}）", line=exc.lineno)]
        ) from None
    except RecursionError:
        raise ScheduleError([_problem("JSON 嵌套层级过深")]) from None
    return schedule_from_data(data, year)


def schedule_from_data(data, year: int | None = None) -> Schedule:
    """A schedule from the JSON import format already parsed (the API's request body)."""
    if not isinstance(data, dict):
        raise ScheduleError(
            [_problem('内容须为 JSON 对象：{"year": 2027, "holidays": [...], "workdays": [...]}')]
        )
    problems: list[dict] = []
    for key in sorted(set(data) - set(_JSON_FIELDS)):
        problems.append(_problem(f"未知字段 {key}（只能有 year、holidays、workdays）", field=key))

    stated = data.get("year")
    if stated is None:
        problems.append(_problem("缺少字段 year（年份，如 2027）", field="year"))
    elif not isinstance(stated, int) or isinstance(stated, bool):
        problems.append(_problem("year 须为整数年份，如 2027", field="year"))
        stated = None
    elif not IMPORT_YEARS[0] <= stated <= IMPORT_YEARS[1]:
        problems.append(
            _problem(f"year 须在 {IMPORT_YEARS[0]}–{IMPORT_YEARS[1]} 之间", field="year")
        )
        stated = None
    if year is not None and stated is not None and stated != year:
        problems.append(_problem(f"文件是 {stated} 年的安排，不是 {year} 年", field="year"))

    holidays: list[tuple[date, str | None, int | None, str]] = []
    raw = data.get("holidays")
    if raw is None:
        problems.append(_problem("缺少字段 holidays（放假日期列表）", field="holidays"))
    elif not isinstance(raw, list):
        problems.append(_problem("holidays 须为列表", field="holidays"))
    elif not raw:
        problems.append(_problem("holidays 不能为空：一年总有法定节假日", field="holidays"))
    else:
        for i, item in enumerate(raw):
            field = f"holidays[{i}]"
            if not isinstance(item, dict):
                problems.append(
                    _problem('须为对象，如 {"date": "2027-01-01", "name": "元旦"}', field=field)
                )
                continue
            for key in sorted(set(item) - {"date", "name"}):
                problems.append(
                    _problem(f"未知字段 {key}（只能有 date、name）", field=f"{field}.{key}")
                )
            day = _checked_date(item.get("date"), problems, None, f"{field}.date")
            name = _checked_name(item.get("name"), problems, None, f"{field}.name")
            if day is not None:
                holidays.append((day, name, None, f"{field}.date"))

    workdays: list[tuple[date, str | None, int | None, str]] = []
    raw = data.get("workdays", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(_problem('workdays 须为日期列表，如 ["2027-02-20"]', field="workdays"))
    else:
        for i, item in enumerate(raw):
            field = f"workdays[{i}]"
            day = _checked_date(item, problems, None, field)
            if day is not None:
                workdays.append((day, None, None, field))
    return _schedule(stated if stated is not None else year, holidays, workdays, problems)


def schedule_from_csv(text: str, year: int | None = None) -> Schedule:
    """``date,type,name`` rows (header optional, ``#`` comments and blank lines skipped)."""
    problems: list[dict] = []
    holidays: list[tuple[date, str | None, int | None, str]] = []
    workdays: list[tuple[date, str | None, int | None, str]] = []
    reader = csv.reader(io.StringIO(text))
    seen_row = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(f"CSV 格式错误：{exc}", line=reader.line_num))
            break
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not seen_row and cells[0].lower().lstrip("\ufeff") in ("date", "日期"):
            seen_row = True
            continue  # the header
        seen_row = True
        if len(cells) < 2 or len(cells) > 3:
            problems.append(
                _problem(
                    f"应有 2–3 列（date,type,name），这一行有 {len(cells)} 列",
                    line=line,
                )
            )
            continue
        day = _checked_date(cells[0], problems, line, "date")
        kind = cells[1].lower()
        if kind not in _TYPES:
            problems.append(
                _problem(
                    f"类型“{cells[1]}”无效，应为 holiday（放假）或 workday（调休上班）",
                    line=line,
                    field="type",
                )
            )
            continue
        name = _checked_name(
            cells[2] if len(cells) == 3 and cells[2] else None, problems, line, "name"
        )
        if day is not None:
            (workdays if _TYPES[kind] else holidays).append((day, name, line, "date"))
    if not seen_row and not problems:
        problems.append(_problem("文件中没有数据行（每行：date,type,name）"))
    if year is None:
        firsts = sorted((line or 0, day.year) for day, _n, line, _f in holidays + workdays)
        year = firsts[0][1] if firsts else None
    return _schedule(year, holidays, workdays, problems)


def _checked_date(value, problems, line, field) -> date | None:
    if value is None or value == "":
        problems.append(_problem("缺少日期", line=line, field=field))
        return None
    day = parse_date(value)
    if day is None:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        problems.append(
            _problem(f"日期“{shown[:40]}”无效，应为 YYYY-MM-DD", line=line, field=field)
        )
    return day


def _checked_name(value, problems, line, field) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(_problem("名称须为字符串", line=line, field=field))
        return None
    value = value.strip()
    if "\x00" in value or len(value) > _MAX_NAME:
        problems.append(
            _problem(f"名称不能含 NUL 字符，最长 {_MAX_NAME} 个字符", line=line, field=field)
        )
        return None
    return value or None


def _schedule(year, holidays, workdays, problems) -> Schedule:
    seen: dict[date, str] = {}
    for day, _name, line, field in holidays + workdays:
        if year is not None and day.year != year:
            problems.append(_problem(f"日期 {day} 不在 {year} 年内", line=line, field=field))
        elif day in seen:
            problems.append(
                _problem(f"日期 {day} 重复（已在 {seen[day]} 出现）", line=line, field=field)
            )
        seen.setdefault(day, f"第 {line} 行" if line else field)
    for day, _name, line, field in workdays:
        if day.weekday() < 5:
            problems.append(
                _problem(
                    f"{day} 是星期{_WEEKDAY_NAMES[day.weekday()]}，本来就上班；"
                    "workday 只列周末调休上班的日子",
                    line=line,
                    field=field,
                )
            )
    if not holidays and not problems:
        problems.append(_problem("没有放假日期（type 为 holiday 的行）", field="holidays"))
    if problems:
        problems.sort(key=lambda p: (p["line"] is None, p["line"] or 0))
        raise ScheduleError(problems)
    return Schedule(
        year,
        tuple(sorted((d, n) for d, n, _l, _f in holidays)),
        tuple(sorted((d, n) for d, n, _l, _f in workdays)),
    )


# ---------------------------------------------------------------------------------- service


class CalendarService:
    """The calendar table as a cached ``WorkCalendar``, with seeding, import and edits.

    Thread-safe; one per process (``engine.calendar``). The cached calendar is checked against
    the table at most every ``max_age`` seconds (a change made by another process shows after
    that) and reloaded at once after this service's own writes. Each command is one unit of work.
    """

    def __init__(self, sa_engine: SaEngine, *, max_age: float = 60.0):
        self.db = sa_engine
        self.max_age = max_age
        self._lock = threading.Lock()
        self._calendar: WorkCalendar | None = None
        self._stamp: tuple | None = None
        self._checked_at = 0.0

    # -- reading

    def current(self, conn: Connection | None = None) -> WorkCalendar:
        """The calendar. Inside a unit of work pass its connection (a reload then reads there
        instead of opening a second connection)."""
        calendar = self._calendar
        if calendar is not None and time.monotonic() - self._checked_at < self.max_age:
            return calendar
        with self._lock:
            if conn is not None:
                return self._refresh(conn)
            with UnitOfWork(self.db, readonly=True) as uow:
                return self._refresh(uow.conn)

    def _refresh(self, conn: Connection) -> WorkCalendar:
        stamp = tuple(
            conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.max(calendar_year.c.updated_at),
                    sa.select(sa.func.count()).select_from(calendar_day).scalar_subquery(),
                ).select_from(calendar_year)
            ).one()
        )
        calendar = self._calendar
        if calendar is None or stamp != self._stamp:
            calendar = self._calendar = load_calendar(conn)
            self._stamp = stamp
        self._checked_at = time.monotonic()
        return calendar

    def invalidate(self) -> None:
        """Reload on next use."""
        self._calendar = None

    def is_workday(self, day: date) -> bool:
        return self.current().is_workday(day)

    def add(self, start: date, n: int) -> WorkingDate:
        return self.current().add(start, n)

    def between(self, a: date, b: date) -> WorkingDayCount:
        return self.current().between(a, b)

    def deadline(self, start: datetime, working_days: int) -> Deadline:
        return self.current().deadline(start, working_days)

    def year(self, year: int) -> YearCalendar:
        """A year's exceptional days as stored, or as the packages give them when not stored."""
        with UnitOfWork(self.db, readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(calendar_year).where(calendar_year.c.year == year)
            ).first()
            rows = uow.conn.execute(
                sa.select(calendar_day)
                .where(calendar_day.c.year == year)
                .order_by(calendar_day.c.day)
            ).all()
        if row is None:
            days, official = package_year(year)
            return YearCalendar(
                year,
                OFFICIAL if official else ESTIMATED,
                official,
                False,
                None,
                tuple(DayInfo(d, e[0], e[1], e[2], not official) for d, e in days.items()),
            )
        official = row.source in OFFICIAL_YEAR_SOURCES
        days = tuple(DayInfo(r.day, r.is_workday, r.name, r.source, not official) for r in rows)
        return YearCalendar(year, row.source, official, True, row.updated_at, days)

    # -- writing

    def seed(self, *, force: bool = False, until_year: int | None = None) -> SeedSummary:
        """Store chinesecalendar's official years and estimates up to ``until_year`` (default:
        the current year + 2). Idempotent. A year that already has official data (from the
        package or imported) is kept, and manual rows are kept, unless ``force``; an estimate
        never replaces official data."""
        package = _official_package_years()
        last = until_year if until_year is not None else local_today().year + ESTIMATE_YEARS_AHEAD
        years = sorted(set(package) | set(range(max(package) + 1, last + 1)))
        written_official, written_estimated, unchanged, kept = [], [], [], []
        now = _utcnow()
        with UnitOfWork(self.db) as uow:
            conn = uow.conn
            year_sources = {r.year: r.source for r in conn.execute(sa.select(calendar_year))}
            stored: dict[int, dict[date, Entry]] = {}
            for r in conn.execute(sa.select(calendar_day).where(calendar_day.c.year.in_(years))):
                stored.setdefault(r.year, {})[r.day] = (r.is_workday, r.name, r.source)
            for year in years:
                data, official = package_year(year)
                source = year_sources.get(year)
                if source in OFFICIAL_YEAR_SOURCES and not (force and official):
                    kept.append(year)
                    continue
                rows = stored.get(year, {})
                keep = {} if force else {d: e for d, e in rows.items() if e[2] == MANUAL}
                wanted = {d: e for d, e in data.items() if d not in keep}
                others = {d: e for d, e in rows.items() if d not in keep}
                new_source = OFFICIAL if official else ESTIMATED
                if others == wanted and source == new_source:
                    unchanged.append(year)
                    continue
                _replace_year(conn, year, wanted, new_source, now, keep=set(keep))
                (written_official if official else written_estimated).append(year)
            if written_official or written_estimated:
                uow.after_commit(self.invalidate)
            uow.commit()
        return SeedSummary(
            tuple(written_official), tuple(written_estimated), tuple(unchanged), tuple(kept)
        )

    def import_schedule(self, schedule: Schedule, actor: Actor = SYSTEM) -> ImportSummary:
        """Replace a year's rows with its official schedule (manual edits of the year too) and
        mark the year official. Process or system administrators only."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员或系统管理员可以导入工作日历")
        rows: dict[date, Entry] = {}
        weekend_holidays = 0
        for day, name in schedule.holidays:
            if day.weekday() < 5:
                rows[day] = (False, name or "法定节假日", OFFICIAL)
            else:
                weekend_holidays += 1
        for day, name in schedule.workdays:
            rows[day] = (True, name or "调休上班", OFFICIAL)
        year = schedule.year
        with UnitOfWork(self.db) as uow:
            conn = uow.conn
            previous = conn.execute(
                sa.select(calendar_year.c.source).where(calendar_year.c.year == year)
            ).scalar_one_or_none()
            replaced = conn.execute(
                sa.select(sa.func.count()).where(calendar_day.c.year == year)
            ).scalar_one()
            now = _utcnow()
            _replace_year(conn, year, rows, IMPORTED, now)
            summary = ImportSummary(
                year,
                sum(1 for e in rows.values() if not e[0]),
                weekend_holidays,
                sum(1 for e in rows.values() if e[0]),
                replaced,
                previous,
            )
            _log(
                conn,
                actor,
                "calendar_imported",
                now,
                {
                    "year": year,
                    "holidays": [d.isoformat() for d, _n in schedule.holidays],
                    "workdays": [d.isoformat() for d, _n in schedule.workdays],
                    "replaced": replaced,
                    "previous_source": previous,
                },
            )
            uow.after_commit(self.invalidate)
            uow.commit()
        return summary

    def set_day(
        self, day: date, is_workday: bool, name: str | None = None, actor: Actor = SYSTEM
    ) -> DayInfo:
        """An administrator's edit of one day (source ``manual``); seeding keeps it."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员或系统管理员可以修改工作日历")
        day = _day(day)
        if name is not None and ("\x00" in name or len(name) > _MAX_NAME):
            raise InvalidInput(f"名称不能含 NUL 字符，最长 {_MAX_NAME} 个字符")
        now = _utcnow()
        with UnitOfWork(self.db) as uow:
            conn = uow.conn
            source = conn.execute(
                sa.select(calendar_year.c.source).where(calendar_year.c.year == day.year)
            ).scalar_one_or_none()
            if source is None:  # store the year first so that the edit is one row among many
                data, official = package_year(day.year)
                source = OFFICIAL if official else ESTIMATED
                _replace_year(conn, day.year, data, source, now)
            conn.execute(calendar_day.delete().where(calendar_day.c.day == day))
            conn.execute(
                calendar_day.insert().values(
                    day=day, is_workday=bool(is_workday), name=name, source=MANUAL, year=day.year
                )
            )
            conn.execute(
                calendar_year.update()
                .where(calendar_year.c.year == day.year)
                .values(updated_at=now)
            )
            _log(
                conn,
                actor,
                "calendar_day_set",
                now,
                {
                    "date": day.isoformat(),
                    "is_workday": bool(is_workday),
                    "name": name,
                },
            )
            uow.after_commit(self.invalidate)
            uow.commit()
        return DayInfo(day, bool(is_workday), name, MANUAL, source not in OFFICIAL_YEAR_SOURCES)


def load_calendar(conn: Connection) -> WorkCalendar:
    """The calendar table as a ``WorkCalendar``."""
    years = {r.year: r.source for r in conn.execute(sa.select(calendar_year))}
    days = {
        r.day: (r.is_workday, r.name, r.source)
        for r in conn.execute(
            sa.select(
                calendar_day.c.day,
                calendar_day.c.is_workday,
                calendar_day.c.name,
                calendar_day.c.source,
            )
        )
    }
    official = {y for y, s in years.items() if s in OFFICIAL_YEAR_SOURCES}
    return WorkCalendar(days, official, years)


def _replace_year(
    conn: Connection,
    year: int,
    rows: Mapping[date, Entry],
    source: str,
    now: datetime,
    keep: set[date] | None = None,
) -> None:
    delete = calendar_day.delete().where(calendar_day.c.year == year)
    if keep:
        delete = delete.where(calendar_day.c.day.not_in(keep))
    conn.execute(delete)
    if rows:
        conn.execute(
            calendar_day.insert(),
            [
                {"day": d, "is_workday": e[0], "name": e[1], "source": e[2], "year": year}
                for d, e in sorted(rows.items())
            ],
        )
    conn.execute(calendar_year.delete().where(calendar_year.c.year == year))
    conn.execute(calendar_year.insert().values(year=year, source=source, updated_at=now))


def _log(conn: Connection, actor: Actor, kind: str, at: datetime, data: dict) -> None:
    conn.execute(
        event.insert().values(
            instance_id=None,
            task_id=None,
            actor=actor.username,
            kind=kind,
            at=at,
            data_json=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        )
    )


def calendar_service(engine) -> CalendarService:
    """``engine.calendar``. An Engine that does not build one yet gets it attached here, once, so
    that the web layer and the command line share the engine's cache either way."""
    service = getattr(engine, "calendar", None)
    if service is None:
        service = engine.calendar = CalendarService(engine.db)
    return service
