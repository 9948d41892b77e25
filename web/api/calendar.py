"""Working-day calendar: add working days, count them, a year's holidays, import a year."""

from __future__ import annotations

from flask import g

from engine import calendar_service, schedule_from_data

from ..auth.identity import current_engine
from . import bp
from .blueprint import admin_only
from .schemas import (
    CalendarAdd,
    CalendarAddQuery,
    CalendarBetween,
    CalendarBetweenQuery,
    CalendarImport,
    CalendarImportResult,
    CalendarYear,
    CalendarYearQuery,
)

TAGS = ["calendar"]


def _service():
    # Answers use ``fresh()``: an import through another worker or node shows at once.
    return calendar_service(current_engine())


@bp.get("/calendar/add", tags=TAGS, summary="加若干个工作日")
@bp.arguments(CalendarAddQuery, location="query")
@bp.response(200, CalendarAdd)
@bp.errors(422)
def calendar_add(query):
    result = _service().fresh().add(query["start"], query["days"])
    return {**query, "date": result.date, "provisional": result.provisional}


@bp.get("/calendar/between", tags=TAGS, summary="两个日期之间的工作日数")
@bp.arguments(CalendarBetweenQuery, location="query")
@bp.response(200, CalendarBetween)
@bp.errors(422)
def calendar_between(query):
    result = _service().fresh().between(query["start"], query["end"])
    return {**query, "working_days": result.working_days, "provisional": result.provisional}


@bp.get("/calendar/days", tags=TAGS, summary="某年的节假日与调休上班日")
@bp.arguments(CalendarYearQuery, location="query")
@bp.response(200, CalendarYear)
@bp.errors(422)
def calendar_days(query):
    return _service().year(query["year"])


@bp.post(
    "/calendar/import",
    tags=TAGS,
    summary="导入一年的官方放假安排（管理员）",
    description="替换该年的全部记录（含手工修改）并标为官方数据，该年的计算结果不再是暂定。"
    "有误时返回 422，details.problems 列出每处错误（field、message），不做任何修改。"
    "只有流程管理员或系统管理员可以导入。",
)
@admin_only("只有流程管理员或系统管理员可以导入工作日历")  # a caseworker learns nothing
@bp.arguments(
    CalendarImport,
    example={
        "year": 2027,
        "holidays": [
            {"date": "2027-01-01", "name": "元旦"},
            {"date": "2027-02-05", "name": "春节"},
        ],
        "workdays": ["2027-02-20"],
    },
)
@bp.response(200, CalendarImportResult)
@bp.errors(403, 422)
def calendar_import(body):
    return _service().import_schedule(schedule_from_data(body), g.actor)
