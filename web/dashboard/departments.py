"""部门办理: every department's open and overdue tasks, task-type medians, on-time rates by month
and the ranking; a department's open tasks (``workflows.dashboard.departments``)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request, url_for

from engine import local_day
from workflows.dashboard.departments import (
    DEFAULT_MONTHS,
    GROUPS,
    MAX_MONTHS,
    RANKING_RULE,
    department_detail,
    department_overview,
)

from ..auth.identity import current_engine
from ..errors import ApiError
from . import bp
from .access import current_scope

PERIOD_CHOICES = (3, 6, 12, 24, 36)


def period_months() -> int:
    """``?months=`` (1..36, default 12); anything else is a 400."""
    raw = request.args.get("months")
    if raw is None or raw == "":
        return DEFAULT_MONTHS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MONTHS:
        raise ApiError(400, f"统计期间须为 1 至 {MAX_MONTHS} 个月的整数")
    return int(raw)


def page_number() -> int:
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise ApiError(400, "页码须为正整数")
    return int(raw)


def cn_date(value) -> str:
    """``2026年3月6日`` in China time (naive UTC datetimes) or as given (dates)."""
    if value is None:
        return "—"
    day = local_day(value) if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month(month: str) -> str:
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


def percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _month_label(months: tuple[str, ...]) -> str:
    return f"{cn_month(months[0])}至{cn_month(months[-1])}"


@bp.get("/departments")
def departments():
    months = period_months()
    overview = department_overview(current_engine(), current_scope().departments, months=months)
    names = {d.code: d.name for d in current_engine().list_departments()}
    data = {
        "months": list(overview.months),
        "departments": [
            {"code": f.code, "name": f.name, "open": f.open_tasks, "overdue": f.overdue_tasks,
             "url": url_for("dashboard.department", code=f.code, months=months)}
            for f in overview.departments if f.open_tasks
        ],
    }
    return render_template(
        "dashboard/departments.html",
        dashboard_page="departments",
        overview=overview,
        groups=GROUPS,
        months=months,
        period_choices=PERIOD_CHOICES,
        period_label=_month_label(overview.months),
        ranking_rule=RANKING_RULE,
        department_names=names,
        percent=percent,
        data=data,
    )


@bp.get("/departments/<code>")
def department(code: str):
    if not current_scope().covers(code):
        raise ApiError(403, "只能查看本部门的办理情况")
    months = period_months()
    overdue_only = request.args.get("overdue") == "1"
    detail = department_detail(current_engine(), code, months=months, page=page_number(),
                               overdue_only=overdue_only)
    return render_template(
        "dashboard/department_tasks.html",
        dashboard_page="departments",
        detail=detail,
        months=months,
        period_label=_month_label(tuple(m.month for m in detail.department.months)),
        overdue_only=overdue_only,
        users={u.username: u.display_name for u in current_engine().list_users()},
        cn_date=cn_date,
        percent=percent,
        data={},
    )
