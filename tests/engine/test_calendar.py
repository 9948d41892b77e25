"""Working-day calendar: arithmetic over the 2026 State Council schedule, estimated years flagged
provisional, seeding, import (CSV/JSON) with errors that change nothing, the service's cache."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine import SYSTEM, Actor, Engine, Forbidden, InvalidInput
from engine.calendar import (
    CalendarService,
    ScheduleError,
    WorkCalendar,
    calendar_service,
    parse_schedule,
    schedule_from_data,
)
from engine.model import calendar_day, calendar_year, event

D = date.fromisoformat

# 国务院办公厅关于2026年部分节假日安排的通知
HOLIDAYS_2026 = [
    ("2026-01-01", "2026-01-03"),
    ("2026-02-15", "2026-02-23"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
]
WORKDAYS_2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]

# A plausible 2027 notice: Spring Festival 2/5–2/11 with a make-up Saturday 2/20.
SCHEDULE_2027 = {
    "year": 2027,
    "holidays": [{"date": "2027-01-01", "name": "元旦"}]
    + [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(5, 12)]
    + [{"date": f"2027-10-{d:02d}", "name": "国庆节"} for d in range(1, 8)],
    "workdays": ["2027-02-20", "2027-10-09"],
}


def _days(first: str, last: str) -> list[date]:
    a, b = D(first), D(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def holidays_2026() -> set[date]:
    return {d for first, last in HOLIDAYS_2026 for d in _days(first, last)}


@pytest.fixture
def sa_engine(db_url):
    eng = Engine(db_url)
    eng.migrate()
    yield eng.db
    eng.db.dispose()


@pytest.fixture
def service(sa_engine) -> CalendarService:
    """Seeded as ``kunflow init`` would on 2026-11-28 (estimates up to 2028)."""
    svc = CalendarService(sa_engine, max_age=0)
    svc.seed(until_year=2028)
    return svc


def table(sa_engine) -> tuple[list, list]:
    with sa_engine.connect() as conn:
        days = conn.execute(sa.select(calendar_day).order_by(calendar_day.c.day)).all()
        years = conn.execute(
            sa.select(calendar_year.c.year, calendar_year.c.source).order_by(calendar_year.c.year)
        ).all()
    return [tuple(r) for r in days], [tuple(r) for r in years]


# ---------------------------------------------------------------------------------- 2026


def test_seeded_2026_matches_the_state_council_schedule(service, sa_engine):
    year = service.year(2026)
    assert year.official and year.stored and year.source == "official"
    stored_holidays = {d.date for d in year.days if not d.is_workday}
    stored_workdays = {d.date for d in year.days if d.is_workday}
    # the table keeps only what differs from Monday–Friday
    assert stored_holidays == {d for d in holidays_2026() if d.weekday() < 5}
    assert stored_workdays == {D(d) for d in WORKDAYS_2026}
    assert all(d.date.weekday() >= 5 for d in year.days if d.is_workday)
    cal = service.current()
    for day in _days("2026-01-01", "2026-12-31"):
        expected = day.isoformat() in WORKDAYS_2026 or (
            day.weekday() < 5 and day not in holidays_2026()
        )
        assert cal.is_workday(day) == expected, day
    names = {d.date: d.name for d in year.days}
    assert names[D("2026-10-05")] == "国庆节" and names[D("2026-10-10")] == "国庆节调休上班"


def test_twenty_working_days_from_2026_09_18(service):
    result = service.add(D("2026-09-18"), 20)
    # 9/20 (Sun, make-up), 9/21–24, 9/28–30, 10/8–9, 10/10 (Sat, make-up), 10/12–16, 10/19–22
    assert result.date == D("2026-10-22") and result.provisional is False
    cal = service.current()
    assert cal.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")
    assert cal.add_working_days(D("2026-09-18"), 5) == D("2026-09-24")
    assert cal.add_working_days(D("2026-09-18"), 6) == D("2026-09-28")
    assert cal.add_working_days(D("2026-09-30"), 1) == D("2026-10-08")


def test_make_up_saturday_works_and_holidays_do_not(service):
    cal = service.current()
    assert D("2026-10-10").weekday() == 5 and cal.is_workday(D("2026-10-10"))
    assert not cal.is_workday(D("2026-10-05"))  # Monday of National Day
    assert not cal.is_workday(D("2026-10-03"))  # Saturday inside the holiday
    assert not cal.is_workday(D("2026-10-11"))  # an ordinary Sunday
    assert cal.is_workday(D("2026-10-12"))
    info = cal.day(D("2026-10-10"))
    assert info.is_workday and info.name == "国庆节调休上班" and info.source == "official"
    assert cal.day(D("2026-10-11")).source is None  # the weekly rule


def test_working_days_between(service):
    cal = service.current()
    assert cal.working_days_between(D("2026-09-30"), D("2026-10-09")) == 2  # 10/8, 10/9
    assert cal.working_days_between(D("2026-10-09"), D("2026-09-30")) == -2  # 9/30, 10/8
    assert cal.working_days_between(D("2026-09-18"), D("2026-10-22")) == 20
    assert cal.working_days_between(D("2026-10-01"), D("2026-10-07")) == 0
    assert cal.working_days_between(D("2026-10-10"), D("2026-10-10")) == 0
    assert service.between(D("2026-01-01"), D("2026-12-31")).working_days == sum(
        cal.is_workday(d) for d in _days("2026-01-02", "2026-12-31")
    )


def test_zero_and_negative_days(service):
    cal = service.current()
    assert cal.add_working_days(D("2026-10-09"), 0) == D("2026-10-09")  # a working day
    assert cal.add_working_days(D("2026-10-01"), 0) == D("2026-10-08")  # next working day
    assert cal.add_working_days(D("2026-10-08"), -1) == D("2026-09-30")
    assert cal.add_working_days(D("2026-10-22"), -20) == D("2026-09-18")
    for start in (D("2026-09-18"), D("2026-10-03"), D("2026-02-14"), D("2026-12-31")):
        for n in range(-25, 26):
            if n:
                end = cal.add_working_days(start, n)
                assert cal.working_days_between(start, end) == n, (start, n)
                assert cal.is_workday(end)


def test_due_at_is_end_of_the_working_day_in_shanghai(service):
    cal = service.current()
    # 10:00 in Baotou on 9/18 -> 23:59:59 on 10/22 in Baotou = 15:59:59 UTC
    assert cal.due_at(datetime(2026, 9, 18, 2, 0), 20) == datetime(2026, 10, 22, 15, 59, 59)
    # 17:00 UTC on 9/17 is already 9/18 in Baotou
    assert cal.due_at(datetime(2026, 9, 17, 17, 0), 20) == datetime(2026, 10, 22, 15, 59, 59)
    aware = datetime(2026, 9, 18, 10, 0, tzinfo=UTC)
    assert cal.due_at(aware, 0) == datetime(2026, 9, 18, 15, 59, 59)
    assert cal.due_at(datetime(2026, 10, 2, 1, 0), 0) == datetime(2026, 10, 8, 15, 59, 59)
    deadline = cal.deadline(datetime(2026, 12, 20, 1, 0), 20)
    assert deadline.provisional  # runs into 2027
    assert cal.deadline(datetime(2026, 9, 18, 2, 0), 20).provisional is False


# ---------------------------------------------------------------------------------- 2027


def test_2027_skips_estimated_holidays_and_is_provisional(service):
    year = service.year(2027)
    assert year.source == "estimated" and not year.official
    names = {d.date: d.name for d in year.days}
    # holidays.China: New Year's Eve 2/5, 2/6–8 and days off in lieu 2/9, 2/10 (weekdays stored)
    assert names[D("2027-02-05")] == "农历除夕"
    assert {names[D(f"2027-02-{d:02d}")] for d in (8, 9, 10)} <= {"春节", "春节（补假）"}
    assert not any(d.is_workday for d in year.days)  # no make-up workdays in an estimate
    result = service.add(D("2027-02-04"), 1)
    assert result.date == D("2027-02-11") and result.provisional is True
    assert service.between(D("2027-02-04"), D("2027-02-11")).working_days == 1
    assert service.between(D("2027-02-04"), D("2027-02-11")).provisional is True
    assert service.current().is_provisional(D("2027-06-01"))
    assert not service.current().is_provisional(D("2026-06-01"))
    assert service.add(D("2026-12-30"), 5).provisional is True  # crosses into 2027


def test_import_of_2027_makes_it_official_and_changes_results(service, sa_engine):
    assert service.current().is_workday(D("2027-02-20")) is False
    summary = service.import_schedule(schedule_from_data(SCHEDULE_2027), SYSTEM)
    assert summary.year == 2027 and summary.previous_source == "estimated"
    assert summary.workdays == 2 and summary.replaced > 0
    # 1/1 Fri; 2/5 Fri, 2/8–11 Mon–Thu; 10/1 Fri, 10/4–7 Mon–Thu; 2/6, 2/7, 10/2, 10/3 weekends
    assert (summary.holidays, summary.weekend_holidays) == (11, 4)
    result = service.add(D("2027-02-04"), 1)
    assert result.date == D("2027-02-12") and result.provisional is False
    assert service.current().is_workday(D("2027-02-20"))  # make-up Saturday
    assert service.current().is_workday(D("2027-04-05"))  # not in the notice: a working Monday
    year = service.year(2027)
    assert year.official and year.source == "imported"
    assert {d.source for d in year.days} == {"official"}
    # 2/12, 2/15–19, 2/20 (make-up Saturday), 2/22
    assert service.between(D("2027-02-04"), D("2027-02-22")).working_days == 8
    with sa_engine.connect() as conn:
        logged = conn.execute(sa.select(event).where(event.c.kind == "calendar_imported")).one()
    assert logged.actor == "system" and json.loads(logged.data_json)["year"] == 2027


def test_import_needs_an_administrator(service):
    clerk = Actor("invest-clerk", "invest", frozenset({"caseworker"}))
    with pytest.raises(Forbidden):
        service.import_schedule(schedule_from_data(SCHEDULE_2027), clerk)
    assert not service.year(2027).official


CSV_2027 = """date,type,name
# 春节
2027-02-05,holiday,春节
2027-02-08,holiday,春节
2027-02-20,workday,春节调休上班
"""


@pytest.mark.parametrize(
    ("content", "filename", "line", "field", "words"),
    [
        (CSV_2027.replace("2027-02-08", "2027-02-30"), "a.csv", 4, "date", "2027-02-30"),
        (CSV_2027.replace("2027-02-08", "2028-02-08"), "a.csv", 4, "date", "不在 2027 年内"),
        (
            CSV_2027.replace(",holiday,春节\n2027-02-08", ",rest,春节\n2027-02-08"),
            "a.csv",
            3,
            "type",
            "rest",
        ),
        (CSV_2027 + "2027-02-22,workday,\n", "a.csv", 6, "date", "星期一"),
        (CSV_2027 + "2027-02-05,holiday,again\n", "a.csv", 6, "date", "重复"),
        (CSV_2027 + "2027-03-01\n", "a.csv", 6, None, "2–3 列"),
        ('{"year": 2027, "holidays": [}', "a.json", 1, None, "JSON"),
        (
            json.dumps({**SCHEDULE_2027, "workdays": ["2027/02/20"]}),
            "a.json",
            None,
            "workdays[0]",
            "YYYY-MM-DD",
        ),
        (json.dumps({**SCHEDULE_2027, "year": "2027"}), "a.json", None, "year", "整数"),
        (
            json.dumps({**SCHEDULE_2027, "holidays": [{"date": "2026-10-01"}]}),
            "a.json",
            None,
            "holidays[0].date",
            "不在 2027 年内",
        ),
        (json.dumps({**SCHEDULE_2027, "extra": 1}), "a.json", None, "extra", "未知字段"),
        (json.dumps({"year": 2027, "holidays": []}), "a.json", None, "holidays", "不能为空"),
    ],
)
def test_bad_import_files_change_nothing(service, sa_engine, content, filename, line, field, words):
    before = table(sa_engine)
    with pytest.raises(ScheduleError) as info:
        service.import_schedule(parse_schedule(content.encode(), filename), SYSTEM)
    problem = info.value.problems[0]
    assert (problem["line"], problem["field"]) == (line, field), info.value.problems
    assert words in problem["message"] and words in info.value.message
    assert info.value.details["field"] == field
    assert table(sa_engine) == before


def test_all_problems_are_reported_at_once():
    bad = "date,type,name\n2027-13-01,holiday,x\n2027-02-05,foo,y\n2026-02-05,holiday,z\n"
    with pytest.raises(ScheduleError) as info:
        parse_schedule(bad, "x.csv", year=2027)
    assert [p["line"] for p in info.value.problems] == [2, 3, 4]
    assert "共 3 处错误" in info.value.message


def test_csv_import_with_header_comments_and_gbk(service):
    schedule = parse_schedule(CSV_2027.encode("gb18030"), "2027.csv")
    assert schedule.year == 2027
    assert schedule.holidays == ((D("2027-02-05"), "春节"), (D("2027-02-08"), "春节"))
    assert schedule.workdays == ((D("2027-02-20"), "春节调休上班"),)
    service.import_schedule(schedule, SYSTEM)
    assert service.year(2027).official and service.current().is_workday(D("2027-02-20"))
    assert service.current().is_workday(D("2027-02-09"))  # the file replaces the estimate
    with pytest.raises(ScheduleError, match="不是 2028 年"):
        parse_schedule(json.dumps(SCHEDULE_2027), "x.json", year=2028)


# ---------------------------------------------------------------------------------- seeding


def test_seed_is_idempotent_and_keeps_imported_and_manual_data(service, sa_engine):
    before = table(sa_engine)
    again = service.seed(until_year=2028)
    assert again.official_years == () and again.estimated_years == ()
    assert again.unchanged_years == (2027, 2028) and 2026 in again.kept_years
    assert table(sa_engine) == before

    service.import_schedule(schedule_from_data(SCHEDULE_2027), SYSTEM)
    service.set_day(D("2026-12-31"), False, "区里调休", SYSTEM)
    service.set_day(D("2028-01-03"), True, None, SYSTEM)
    after_edits = table(sa_engine)
    assert service.seed(until_year=2028).estimated_years == ()
    assert table(sa_engine) == after_edits
    assert service.current().is_workday(D("2026-12-31")) is False
    assert service.current().is_workday(D("2028-01-03")) is True
    # force: the package's official data comes back; an estimate never replaces an import
    forced = service.seed(force=True, until_year=2028)
    assert 2026 in forced.official_years and 2027 in forced.kept_years
    assert service.current().is_workday(D("2026-12-31")) is True
    assert service.year(2027).source == "imported"
    assert service.current().is_workday(D("2028-01-03")) is False  # manual row of 2028 gone


def test_seed_estimates_until_the_year_after_next(sa_engine, time_machine):
    time_machine.move_to(datetime(2030, 3, 1, tzinfo=UTC))
    summary = CalendarService(sa_engine).seed()
    assert summary.official_years == tuple(range(2004, 2027))
    assert summary.estimated_years == tuple(range(2027, 2033))


def test_unseeded_database_still_computes(sa_engine):
    svc = CalendarService(sa_engine)
    assert svc.add(D("2026-09-18"), 20).date == D("2026-10-22")
    assert svc.year(2026).stored is False and svc.year(2026).official
    assert svc.add(D("2027-02-04"), 1).provisional


# ---------------------------------------------------------------------------------- any year


def test_any_year_works_and_years_without_data_are_provisional():
    cal = WorkCalendar({})  # nothing stored: the packages decide
    assert cal.add(D("2026-09-18"), 20).date == D("2026-10-22")
    for start in (D("1999-10-01"), D("2035-02-01"), D("2150-05-01"), D("9000-01-01")):
        result = cal.add(start, 10)
        assert result.provisional and result.date > start
        assert cal.working_days_between(start, result.date) == 10
    assert not cal.is_workday(D("2035-01-01"))  # 元旦 by the rules
    assert cal.is_workday(D("2150-01-01"))  # 2150-01-01 is a Thursday: beyond the rules' range
    whole = cal.between(D("0001-01-01"), D("9999-12-31"))
    assert whole.provisional and 2_500_000 < whole.working_days < 2_610_000
    with pytest.raises(InvalidInput, match="超出"):
        cal.add_working_days(D("9999-12-30"), 5)
    with pytest.raises(TypeError):
        cal.is_workday(datetime(2026, 10, 10, 8, 0))


def test_calendar_built_from_a_mapping():
    days = {
        D("2030-05-06"): (False, "假日", "manual"),
        D("2030-05-11"): (True, "调休", "manual"),
    }
    cal = WorkCalendar(days, official_years={2030})
    assert not cal.is_provisional(D("2030-05-01"))
    assert not cal.is_workday(D("2030-05-06")) and cal.is_workday(D("2030-05-11"))
    assert cal.is_workday(D("2030-10-01"))  # 2030 is covered: only what the mapping says
    assert cal.add_working_days(D("2030-05-03"), 1) == D("2030-05-07")
    assert cal.is_provisional(D("2031-01-05")) and not cal.is_official(2031)


# ---------------------------------------------------------------------------------- service


def test_cache_reloads_after_own_writes_and_checks_others(sa_engine):
    reader = CalendarService(sa_engine, max_age=3600)
    writer = CalendarService(sa_engine)
    writer.seed(until_year=2028)
    assert reader.add(D("2027-02-04"), 1).provisional  # loaded now, cached for an hour
    writer.import_schedule(schedule_from_data(SCHEDULE_2027), SYSTEM)
    assert writer.add(D("2027-02-04"), 1).date == D("2027-02-12")  # own write: at once
    assert reader.add(D("2027-02-04"), 1).provisional  # another process's write: after max_age
    reader.max_age = 0
    assert reader.add(D("2027-02-04"), 1) == writer.add(D("2027-02-04"), 1)


def test_current_inside_a_unit_of_work_reads_on_its_connection(service, sa_engine):
    service.invalidate()
    with sa_engine.begin() as conn:
        cal = service.current(conn)
    assert cal.add_working_days(D("2026-09-18"), 20) == D("2026-10-22")


def test_calendar_service_of_an_engine_is_shared(sa_engine, db_url):
    eng = Engine(db_url, sa_engine=sa_engine)
    service = calendar_service(eng)
    assert calendar_service(eng) is service and eng.calendar is service
