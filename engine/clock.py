"""The engine's clock, and the one place that knows the district's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# China has one time zone (UTC+8, no daylight saving since 1991): working days, deadlines at
# the end of a day and monthly timers are counted on its calendar days.
CHINA_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Naive UTC; read through ``datetime.now`` so that frozen clocks in tests apply."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """As the database keeps it: an aware time in naive UTC; a naive one is taken as UTC."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def to_local(moment: datetime) -> datetime:
    """A naive UTC time as China time (aware)."""
    return moment.replace(tzinfo=UTC).astimezone(CHINA_TZ)


def local_day(moment: datetime) -> date:
    """The calendar day in China of a naive UTC time."""
    return to_local(moment).date()
