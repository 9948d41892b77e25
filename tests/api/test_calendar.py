"""Working-day calendar over HTTP (/api/v1/calendar/...) and on the command line
(``kunflow calendar ...``); ``kunflow init`` seeds it once."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.model import calendar_day, calendar_year
from web.cli import main

SCHEDULE_2027 = {
    "year": 2027,
    "holidays": [{"date": "2027-01-01", "name": "元旦"}]
    + [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(5, 12)],
    "workdays": ["2027-02-20"],
}


def _rows(engine) -> tuple[list, list]:
    with engine.db.connect() as conn:
        days = [tuple(r) for r in conn.execute(sa.select(calendar_day).order_by("day"))]
        years = [tuple(r) for r in conn.execute(sa.select(calendar_year).order_by("year"))]
    return days, years


# ---------------------------------------------------------------------------------- API


def test_add_working_days(as_user):
    clerk = as_user("invest-clerk")
    r = clerk.get("/api/v1/calendar/add?start=2026-09-18&days=20")
    assert r.status_code == 200
    assert r.get_json() == {
        "start": "2026-09-18",
        "days": 20,
        "date": "2026-10-22",
        "provisional": False,
    }
    back = clerk.get("/api/v1/calendar/add?start=2026-10-22&days=-20").get_json()
    assert back["date"] == "2026-09-18"
    zero = clerk.get("/api/v1/calendar/add?start=2026-10-01&days=0").get_json()
    assert zero["date"] == "2026-10-08"
    estimated = clerk.get("/api/v1/calendar/add?start=2027-02-04&days=1").get_json()
    assert estimated == {
        "start": "2027-02-04",
        "days": 1,
        "date": "2027-02-11",
        "provisional": True,
    }


def test_working_days_between(as_user):
    clerk = as_user("eco-clerk")
    r = clerk.get("/api/v1/calendar/between?start=2026-09-30&end=2026-10-09")
    assert r.status_code == 200
    assert r.get_json() == {
        "start": "2026-09-30",
        "end": "2026-10-09",
        "working_days": 2,
        "provisional": False,
    }
    back = clerk.get("/api/v1/calendar/between?start=2026-10-22&end=2026-09-18").get_json()
    assert back["working_days"] == -20
    later = clerk.get("/api/v1/calendar/between?start=2026-12-01&end=2027-03-01").get_json()
    assert later["provisional"] is True


def test_days_of_a_year(as_user):
    clerk = as_user("invest-clerk")
    body = clerk.get("/api/v1/calendar/days?year=2026").get_json()
    assert (body["year"], body["source"], body["official"], body["stored"]) == (
        2026,
        "official",
        True,
        True,
    )
    days = {d["date"]: d for d in body["days"]}
    assert days["2026-10-10"] == {
        "date": "2026-10-10",
        "is_workday": True,
        "name": "国庆节调休上班",
        "source": "official",
    }
    assert days["2026-10-05"]["is_workday"] is False
    assert "2026-10-03" not in days  # a Saturday off anyway
    assert sorted(d for d, v in days.items() if v["is_workday"]) == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    estimated = clerk.get("/api/v1/calendar/days?year=2027").get_json()
    assert estimated["source"] == "estimated" and estimated["official"] is False
    assert any(d["date"] == "2027-02-08" for d in estimated["days"])
    unstored = clerk.get("/api/v1/calendar/days?year=1990").get_json()
    assert unstored["stored"] is False and unstored["updated_at"] is None


def test_import_makes_2027_official(app, as_user):
    admin = as_user("admin")
    r = admin.post("/api/v1/calendar/import", json=SCHEDULE_2027)
    assert r.status_code == 200, r.get_json()
    summary = r.get_json()
    assert summary["year"] == 2027 and summary["official"] is True
    assert (summary["holidays"], summary["weekend_holidays"], summary["workdays"]) == (6, 2, 1)
    assert summary["previous_source"] == "estimated"
    after = admin.get("/api/v1/calendar/add?start=2027-02-04&days=1").get_json()
    assert after["date"] == "2027-02-12" and after["provisional"] is False
    year = admin.get("/api/v1/calendar/days?year=2027").get_json()
    assert year["source"] == "imported" and year["official"] is True
    assert {"date": "2027-02-20", "is_workday": True, "name": "调休上班", "source": "official"} in (
        year["days"]
    )
    # the engine's own calendar sees it too (same service)
    from engine.calendar import calendar_service

    cal = calendar_service(app.extensions["kunflow"]).current()
    assert cal.is_official(2027)


def test_reading_needs_login_and_importing_an_administrator(client, as_user, error_of, app):
    r = client.get("/api/v1/calendar/add?start=2026-09-18&days=20")
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"
    r = client.post("/api/v1/calendar/import", json=SCHEDULE_2027)
    assert r.status_code == 401
    before = _rows(app.extensions["kunflow"])
    for username in ("invest-clerk", "invest-head", "supervisor", "leader"):
        r = as_user(username).post("/api/v1/calendar/import", json=SCHEDULE_2027)
        assert r.status_code == 403, username
        assert error_of(r)["code"] == "forbidden"
    assert _rows(app.extensions["kunflow"]) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-09-18", "days"),
        ("days=20", "start"),
        ("start=2026-9-18&days=20", "start"),
        ("start=2026-02-30&days=20", "start"),
        ("start=20260918&days=20", "start"),
        ("start=2026-09-18&days=twenty", "days"),
        ("start=2026-09-18&days=3651", "days"),
        ("start=9999-12-30&days=5", None),
    ],
)
def test_add_rejects_bad_parameters(as_user, error_of, query, field):
    r = as_user("invest-clerk").get(f"/api/v1/calendar/add?{query}")
    assert r.status_code == 422
    error = error_of(r)
    assert (error["details"] or {}).get("field") == field
    assert error["message"]


def test_between_and_days_reject_bad_parameters(as_user, error_of):
    clerk = as_user("invest-clerk")
    r = clerk.get("/api/v1/calendar/between?start=2026-09-30")
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "end"}
    r = clerk.get("/api/v1/calendar/days?year=0")
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "year"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**SCHEDULE_2027, "year": 1999}, "year", "2000–2100"),
        ({**SCHEDULE_2027, "workdays": ["2027-02-22"]}, "workdays[0]", "星期一"),
        ({**SCHEDULE_2027, "workdays": ["2028-02-19"]}, "workdays[0]", "不在 2027 年内"),
        (
            {**SCHEDULE_2027, "holidays": [{"date": "2027-02-30", "name": "x"}]},
            "holidays[0].date",
            "2027-02-30",
        ),
        ({**SCHEDULE_2027, "holidays": [{"day": "2027-02-05"}]}, "holidays[0].day", "未知字段"),
        ({"holidays": SCHEDULE_2027["holidays"]}, "year", "缺少字段 year"),
    ],
)
def test_import_rejects_bad_schedules_and_changes_nothing(
    app, as_user, error_of, body, field, words
):
    before = _rows(app.extensions["kunflow"])
    r = as_user("admin").post("/api/v1/calendar/import", json=body)
    assert r.status_code == 422
    error = error_of(r)
    assert error["code"] == "invalid_input"
    assert error["details"]["field"] == field
    assert words in error["details"]["problems"][0]["message"] and words in error["message"]
    assert _rows(app.extensions["kunflow"]) == before


def test_import_body_must_be_json(as_user, error_of):
    r = as_user("admin").post(
        "/api/v1/calendar/import", data="year=2027", content_type="text/plain"
    )
    assert r.status_code == 400 and error_of(r)["code"] == "bad_request"


# ---------------------------------------------------------------------------------- CLI


@pytest.fixture
def kunflow(db_url, monkeypatch):
    """``kunflow ...`` against the test database; returns the click result."""
    monkeypatch.setenv("KUNFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("KUNFLOW_SECRET_KEY", "test-secret")
    monkeypatch.setenv("KUNFLOW_DEMO", "true")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def initialized(kunflow):
    result = kunflow("init")
    assert result.exit_code == 0, result.output
    return kunflow


def test_cli_add_between_is_workday(initialized):
    kunflow = initialized
    r = kunflow("calendar", "add", "2026-09-18", "20")
    assert r.exit_code == 0 and r.stdout == "2026-10-22\n"
    r = kunflow("calendar", "add", "2026-10-22", "-20")
    assert r.exit_code == 0 and r.stdout == "2026-09-18\n"
    r = kunflow("calendar", "add", "2027-02-04", "1")
    assert r.exit_code == 0 and r.stdout == "2027-02-11（暂定）\n"
    assert "2027 年尚无官方放假安排" in r.stderr
    r = kunflow("calendar", "between", "2026-09-30", "2026-10-09")
    assert r.exit_code == 0 and r.stdout == "2\n"
    r = kunflow("calendar", "is-workday", "2026-10-10")
    assert r.stdout == "2026-10-10 星期六 工作日（国庆节调休上班）\n"
    r = kunflow("calendar", "is-workday", "2026-10-05")
    assert r.stdout == "2026-10-05 星期一 休息日（国庆节）\n"
    r = kunflow("calendar", "is-workday", "2026-10-11")
    assert r.stdout == "2026-10-11 星期日 休息日（周末）\n"
    bad = kunflow("calendar", "add", "2026-13-01", "5")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_cli_import_json_and_csv(initialized, tmp_path):
    kunflow = initialized
    good = tmp_path / "2027.json"
    good.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8")
    r = kunflow("calendar", "import", str(good))
    assert r.exit_code == 0, r.output
    assert "2027 年工作日历已导入（官方）" in r.stdout and "调休上班 1 天" in r.stdout
    r = kunflow("calendar", "add", "2027-02-04", "1")
    assert r.stdout == "2027-02-12\n" and r.stderr == ""

    csv_file = tmp_path / "2028.csv"
    csv_file.write_text(
        "date,type,name\n2028-01-03,holiday,元旦\n2028-01-26,holiday,春节\n"
        "2028-02-05,workday,春节调休上班\n",
        encoding="utf-8",
    )
    r = kunflow("calendar", "import", str(csv_file), "--year", "2028")
    assert r.exit_code == 0, r.output
    assert kunflow("calendar", "is-workday", "2028-02-05").stdout.startswith(
        "2028-02-05 星期六 工作日"
    )


def test_cli_import_errors_change_nothing(initialized, tmp_path, db_url):
    kunflow = initialized
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,type,name\n2027-02-05,holiday,春节\n2027-02-31,holiday,春节\n"
        "2027-02-20,overtime,春节\n2026-10-01,holiday,国庆\n",
        encoding="utf-8",
    )
    before = kunflow("calendar", "days", "2027").stdout
    r = kunflow("calendar", "import", str(bad))
    assert r.exit_code == 1
    assert "共 3 处错误" in r.stderr
    assert "第 3 行" in r.stderr and "2027-02-31" in r.stderr
    assert "第 4 行" in r.stderr and "overtime" in r.stderr
    assert "第 5 行" in r.stderr and "不在 2027 年内" in r.stderr
    assert kunflow("calendar", "days", "2027").stdout == before
    assert "估算" in before


def test_init_seeds_the_calendar_once(initialized, db_url):
    kunflow = initialized
    from engine import Engine

    engine = Engine(db_url)
    try:
        first = _rows(engine)
        assert (2026, "official") in [(y, s) for y, s, _at in first[1]]
        assert any(y == 2027 and s == "estimated" for y, s, _at in first[1])
        assert kunflow("init").exit_code == 0
        assert _rows(engine) == first  # nothing rewritten, not even updated_at
        r = kunflow("calendar", "seed")
        assert r.exit_code == 0 and "官方数据（chinesecalendar）：写入 无" in r.stdout
        assert "保留已有官方数据：2004–2026 年" in r.stdout
        assert _rows(engine) == first
    finally:
        engine.db.dispose()


def test_cli_set_a_day_by_hand(initialized):
    kunflow = initialized
    r = kunflow("calendar", "set", "2026-12-31", "holiday", "--name", "区里调休")
    assert r.exit_code == 0 and "2026-12-31 设为放假（手工）" in r.stdout
    assert kunflow("calendar", "is-workday", "2026-12-31").stdout == (
        "2026-12-31 星期四 休息日（区里调休）\n"
    )
    assert kunflow("init").exit_code == 0  # seeding keeps the edit
    assert "休息日" in kunflow("calendar", "is-workday", "2026-12-31").stdout


def test_cli_without_database_says_run_init(kunflow):
    r = kunflow("calendar", "add", "2026-09-18", "20")
    assert r.exit_code == 1 and "kunflow init" in r.stderr
