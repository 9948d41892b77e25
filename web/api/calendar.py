"""Working-day calendar: add working days, count them, a year's holidays, import a year."""

from __future__ import annotations

from flask import g, jsonify, request

from engine import Forbidden
from engine.calendar import (
    DayInfo,
    calendar_service,
    local_today,
    parse_date,
    schedule_from_data,
)

from ..auth.identity import current_engine
from ..inputs import invalid, json_body, query_int
from ..serialize import iso
from . import bp

MAX_DAYS = 3650  # about fourteen years of working days: more than any statutory limit


def _service():
    return calendar_service(current_engine())


def _query_date(name: str):
    value = request.args.get(name)
    if value is None or value == "":
        raise invalid(f"缺少参数 {name}（日期，格式 YYYY-MM-DD）", name)
    day = parse_date(value)
    if day is None:
        raise invalid(f"参数 {name} 不是有效日期（格式 YYYY-MM-DD）", name)
    return day


def _day_json(d: DayInfo) -> dict:
    return {
        "date": d.date.isoformat(),
        "is_workday": d.is_workday,
        "name": d.name,
        "source": d.source,
    }


@bp.get("/calendar/add")
def calendar_add():
    start = _query_date("start")
    days = query_int("days", None, minimum=-MAX_DAYS, maximum=MAX_DAYS)
    if days is None:
        raise invalid("缺少参数 days（工作日数）", "days")
    result = _service().add(start, days)
    return jsonify(
        {
            "start": start.isoformat(),
            "days": days,
            "date": result.date.isoformat(),
            "provisional": result.provisional,
        }
    )


@bp.get("/calendar/between")
def calendar_between():
    start, end = _query_date("start"), _query_date("end")
    result = _service().between(start, end)
    return jsonify(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "working_days": result.working_days,
            "provisional": result.provisional,
        }
    )


@bp.get("/calendar/days")
def calendar_days():
    year = query_int("year", local_today().year, minimum=1, maximum=9999)
    info = _service().year(year)
    return jsonify(
        {
            "year": info.year,
            "source": info.source,
            "official": info.official,
            "stored": info.stored,
            "updated_at": iso(info.updated_at),
            "days": [_day_json(d) for d in info.days],
        }
    )


@bp.post("/calendar/import")
def calendar_import():
    if not g.actor.is_admin:  # before reading the body: a caseworker learns nothing from it
        raise Forbidden("只有流程管理员或系统管理员可以导入工作日历")
    schedule = schedule_from_data(json_body())
    summary = _service().import_schedule(schedule, g.actor)
    return jsonify(
        {
            "year": summary.year,
            "source": "imported",
            "official": True,
            "holidays": summary.holidays,
            "weekend_holidays": summary.weekend_holidays,
            "workdays": summary.workdays,
            "replaced": summary.replaced,
            "previous_source": summary.previous_source,
        }
    )
