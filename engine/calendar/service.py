"""``CalendarService``: the calendar table as a cached ``WorkCalendar``, its seeding from the
packages, the import of a year's schedule and an administrator's edit of one day."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine as SaEngine

from ..dto import SYSTEM, Actor
from ..errors import Forbidden, InvalidInput
from ..model import calendar_day, calendar_year
from ..rows import event_row, write_events
from ..unit_of_work import UnitOfWork
from .dates import local_today, require_date
from .schedule import MAX_NAME, Schedule
from .working_days import DayInfo, Deadline, WorkCalendar, WorkingDate, WorkingDayCount
from .year_data import (
    ESTIMATED,
    IMPORTED,
    MANUAL,
    OFFICIAL,
    OFFICIAL_YEAR_SOURCES,
    Entry,
    official_days_by_year,
    package_year,
)

ESTIMATE_YEARS_AHEAD = 2  # seeding estimates up to the current year + 2


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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


class CalendarService:
    """The calendar table as a cached ``WorkCalendar``, with seeding, import and edits.

    Thread-safe; one per process (``engine.calendar``). The cached calendar is reloaded at once
    after this service's own writes; a change made by another process (another gunicorn worker,
    another node) shows in the next engine command, which checks the cache against the table
    on its own connection (``current(conn)``), in ``fresh()``, and elsewhere after at most
    ``max_age`` seconds. Each command is one unit of work.
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
        """The calendar. Inside a unit of work pass its connection: the cache is then checked
        against the table there (one small query; a reload reads there too, never on a second
        connection), so a command computes deadlines with what any process committed, like
        the live-workflow cache's version check. Without a connection the cache serves for
        ``max_age`` seconds (diagram helpers within a command, which checked it first)."""
        if conn is not None:
            with self._lock:
                return self._refresh(conn)
        calendar = self._calendar
        if calendar is not None and time.monotonic() - self._checked_at < self.max_age:
            return calendar
        with self._lock, UnitOfWork(self.db, readonly=True) as uow:
            return self._refresh(uow.conn)

    def fresh(self) -> WorkCalendar:
        """The calendar checked against the table now: for an answer a user reads right after
        an import, which another worker or node may have made."""
        with UnitOfWork(self.db, readonly=True) as uow:
            return self.current(uow.conn)

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
        package = official_days_by_year()
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
        day = require_date(day)
        if name is not None and ("\x00" in name or len(name) > MAX_NAME):
            raise InvalidInput(f"名称不能含 NUL 字符，最长 {MAX_NAME} 个字符")
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
    write_events(conn, [event_row(None, None, actor, kind, at, data)])


def calendar_service(engine) -> CalendarService:
    """``engine.calendar``. An Engine that does not build one yet gets it attached here, once, so
    that the web layer and the command line share the engine's cache either way."""
    service = getattr(engine, "calendar", None)
    if service is None:
        service = engine.calendar = CalendarService(engine.db)
    return service
