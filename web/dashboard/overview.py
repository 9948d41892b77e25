"""驾驶舱 overview (``/dashboard/``) and the project list behind its numbers
(``/dashboard/projects``), thin over ``workflows.dashboard.overview`` / ``.project``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for

from engine import InvalidInput, local_day, local_today
from workflows.dashboard.overview import overview as overview_figures
from workflows.dashboard.project import (
    LATE_KINDS,
    PAGE_SIZE,
    STATUS_CHOICES,
    list_projects,
    parse_filter,
    scope_clause,
)
from workflows.dashboard.tables import dash_project
from workflows.lifecycle import PHASES, STAGES

from ..auth.identity import current_engine
from ..display_names import display_names
from . import bp
from .access import current_scope

LIGHT_NAMES = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
STATUS_NAMES = {"running": "办理中", "incident": "故障", "suspended": "已挂起",
                "completed": "已办结", "terminated": "已终止"}
TYPE_NAMES = {"mine": "非煤矿山", "ratify": "核准类", "file": "备案类", "approve": "审批类",
              "unknown": "未分类"}
SORT_NAMES = {"-updated": "最近更新", "updated": "最早更新", "stage": "阶段由前到后",
              "-stage": "阶段由后到前", "light": "红灯在前", "-light": "绿灯在前"}
FILTER_KEYS = ("period", "from", "to", "street", "lead", "leader", "key")


def cn_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def _filter_options(engine) -> dict:
    """The choices of the filter form: 街镇, departments, 包联 leaders named on projects."""
    departments = engine.list_departments()
    with engine.unit_of_work(readonly=True) as uow:
        leaders = [r for (r,) in uow.conn.execute(
            sa.select(dash_project.c.leader).where(dash_project.c.leader.is_not(None),
                                                   scope_clause(current_scope().departments))
            .distinct().order_by(dash_project.c.leader))]
    users = display_names()["users"]
    return {
        "streets": [(d.code, d.name) for d in departments if (d.kind or "").startswith("street")],
        "departments": [(d.code, d.name) for d in departments
                        if not (d.kind or "").startswith("street")],
        "leaders": [(u, users.get(u, u)) for u in leaders],
    }


def _parsed(today):
    return parse_filter(request.args.to_dict(), today)


@bp.get("/")
def overview():
    engine, today = current_engine(), local_today()
    flt = _parsed(today)
    scope = current_scope()
    figures = overview_figures(engine, flt, scope.departments, today)
    base = {k: v for k, v in flt.args.items() if k in FILTER_KEYS}

    def projects(**extra) -> str:
        return url_for("dashboard.projects", **base, **extra)

    chart = {
        "phases": list(PHASES),
        "stages": [{**s, "url": projects(stage=s["name"])} for s in figures.stages],
        "lights": [{"light": k, "name": LIGHT_NAMES[k], "count": v,
                    "url": projects(light=k)} for k, v in figures.lights.items()],
    }
    return render_template(
        "dashboard/overview.html", dashboard_page="overview", figures=figures, flt=flt,
        base=base, projects=projects, chart=chart, options=_filter_options(engine),
        light_names=LIGHT_NAMES, status_names=STATUS_NAMES, scope=scope, today=today,
        cn_date=cn_date,
    )


@bp.get("/projects")
def projects():
    engine, today = current_engine(), local_today()
    flt = _parsed(today)
    sort = request.args.get("sort") or "-updated"
    raw_page = request.args.get("page") or "1"
    if not raw_page.isdigit():
        raise InvalidInput("页码应为正整数")
    result = list_projects(engine, flt, current_scope().departments, today, sort=sort,
                           page=int(raw_page))
    names = display_names()
    return render_template(
        "dashboard/projects.html", dashboard_page="overview", result=result, flt=flt,
        options=_filter_options(engine), names=names, stages=STAGES, phases=PHASES,
        light_names=LIGHT_NAMES, status_names=STATUS_NAMES, type_names=TYPE_NAMES,
        late_kinds=LATE_KINDS, status_choices=STATUS_CHOICES, sort_names=SORT_NAMES,
        page_size=PAGE_SIZE, cn_date=cn_date, local_day=local_day,
        heading=_heading(flt, names),
    )


def _heading(flt, names) -> str:
    """What the list shows, in words (the number on the overview it came from)."""
    parts = []
    if flt.period:
        parts.append(f"{flt.period.label}登记")
    if flt.phase:
        parts.append(flt.phase)
    if flt.stage_number:
        parts.append(f"处于“{STAGES[flt.stage_number - 1].name}”阶段")
    if flt.light:
        parts.append(LIGHT_NAMES[flt.light])
    if flt.late:
        parts.append(LATE_KINDS[flt.late])
    if flt.street:
        parts.append(names["departments"].get(flt.street, flt.street))
    if flt.lead:
        parts.append(f"{names['departments'].get(flt.lead, flt.lead)}牵头")
    if flt.leader:
        parts.append(f"{names['users'].get(flt.leader, flt.leader)}包联")
    if flt.key:
        parts.append("重点项目")
    if flt.mine_stage:
        parts.append(f"非煤矿山审批处于“{flt.mine_stage}”")
    if flt.status:
        parts.append(STATUS_CHOICES[flt.status])
    return "、".join(parts)
