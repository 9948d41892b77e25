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

The package, one concern per module (this module re-exports the names used elsewhere):

- ``year_data``: each year's exceptional days from the packages, and the day and year sources;
- ``working_days``: ``WorkCalendar``, the arithmetic, and the values it answers with;
- ``dates``: China's time zone, ``local_today``, ``date_only``, ``end_of_local_day``;
- ``schedule``: reading an import file (CSV or JSON) and its errors;
- ``service``: ``CalendarService`` (the table, its cache, seeding, import, edits) and
  ``calendar_service``.
"""

from .dates import (
    END_OF_DAY,
    LOCAL_TZ,
    date_only,
    end_of_local_day,
    local_today,
)
from .schedule import (
    IMPORT_YEARS,
    Schedule,
    ScheduleError,
    parse_date,
    parse_schedule,
    schedule_from_csv,
    schedule_from_data,
    schedule_from_json,
)
from .service import (
    ESTIMATE_YEARS_AHEAD,
    CalendarService,
    ImportSummary,
    SeedSummary,
    YearCalendar,
    calendar_service,
    load_calendar,
)
from .working_days import (
    ONE_DAY,
    DayInfo,
    Deadline,
    WorkCalendar,
    WorkingDate,
    WorkingDayCount,
)
from .year_data import (
    ESTIMATED,
    IMPORTED,
    MANUAL,
    OFFICIAL,
    OFFICIAL_YEAR_SOURCES,
    Entry,
    estimated_days,
    official_package_years,
    package_year,
)

__all__ = [
    "END_OF_DAY",
    "ESTIMATED",
    "ESTIMATE_YEARS_AHEAD",
    "IMPORTED",
    "IMPORT_YEARS",
    "LOCAL_TZ",
    "MANUAL",
    "OFFICIAL",
    "OFFICIAL_YEAR_SOURCES",
    "ONE_DAY",
    "CalendarService",
    "DayInfo",
    "Deadline",
    "Entry",
    "ImportSummary",
    "Schedule",
    "ScheduleError",
    "SeedSummary",
    "WorkCalendar",
    "WorkingDate",
    "WorkingDayCount",
    "YearCalendar",
    "calendar_service",
    "date_only",
    "end_of_local_day",
    "estimated_days",
    "load_calendar",
    "local_today",
    "official_package_years",
    "package_year",
    "parse_date",
    "parse_schedule",
    "schedule_from_csv",
    "schedule_from_data",
    "schedule_from_json",
]
