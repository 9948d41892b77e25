"""Dates in China's time zone: today, the end of a local day as naive UTC, a date-only value.

kunflow stores times as naive UTC; a day (a deadline's last day, a holiday) is a day in
Asia/Shanghai.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from datetime import time as clock_time

from ..clock import CHINA_TZ
from ..errors import InvalidInput

LOCAL_TZ = CHINA_TZ  # the one definition is engine/clock.py's
END_OF_DAY = clock_time(23, 59, 59)


def local_today() -> date:
    """Today in Asia/Shanghai; read through datetime so that frozen clocks in tests apply."""
    return datetime.now(LOCAL_TZ).date()


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
        raise date_out_of_range() from None
    return due.replace(tzinfo=None)


def require_date(value) -> date:
    """``value`` when it is a date and not a datetime; TypeError otherwise."""
    # A datetime is a date too, but which day it is depends on the time zone: say so.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"需要日期（datetime.date），收到 {type(value).__name__}")
    return value


def local_date(moment: datetime) -> date:
    """The day in Asia/Shanghai of ``moment`` (naive UTC, or timezone-aware)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"需要时间（datetime），收到 {type(moment).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(LOCAL_TZ).date()
    except OverflowError:
        raise date_out_of_range() from None


def date_out_of_range() -> InvalidInput:
    """The error of a result beyond what ``date`` can hold."""
    return InvalidInput("日期超出可计算的范围（0001-01-01 至 9999-12-31）")
