"""The working-day calendar of one process after another process (a second gunicorn worker, a
second node) imported a year: the next engine command (which checks the calendar on its own
connection before it computes a deadline) and ``fresh()`` see it at once. Two Engines on one
database stand for the two processes."""

from __future__ import annotations

from datetime import date

from engine import SYSTEM, Engine, schedule_from_data
from tests.engine.test_calendar import SCHEDULE_2027

D = date.fromisoformat


def test_a_calendar_imported_by_another_process_counts_in_the_next_command(db_url):
    writer = Engine(db_url, live_cache_size=0)
    writer.migrate()
    reader = Engine(db_url, live_cache_size=0)
    try:
        writer.calendar.seed(until_year=2028)
        reader.calendar.max_age = 3600  # its cache would serve for an hour
        assert reader.calendar.add(D("2027-02-04"), 1).provisional  # loaded and cached now
        writer.calendar.import_schedule(schedule_from_data(SCHEDULE_2027), SYSTEM)

        assert reader.calendar.fresh().add(D("2027-02-04"), 1).date == D("2027-02-12")
        with reader.unit_of_work(readonly=True) as uow:  # what every command does first
            calendar = reader.calendar.current(uow.conn)
        assert not calendar.add(D("2027-02-04"), 1).provisional
        assert not calendar.is_workday(D("2027-02-08"))  # Spring Festival, a Monday
    finally:
        writer.close()
        reader.close()

