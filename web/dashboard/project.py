"""One project in the 驾驶舱 (``/dashboard/projects/<id>``): the 13 stages on a timeline, agreed
and actual dates, open steps and who holds them, linked cases, the forecast and the clock."""

from __future__ import annotations

from flask import render_template, url_for

from engine import local_today, to_local
from workflows.dashboard.project import project_detail
from workflows.lifecycle import PHASES

from ..auth.identity import current_engine
from ..display_names import display_names
from . import bp
from .access import current_scope
from .overview import LIGHT_NAMES, STATUS_NAMES, TYPE_NAMES, cn_date


def _clock_data(clocks, departments: dict) -> list[dict]:
    """The clocks as JSON for the bar chart (the page's table has the same numbers)."""
    return [{
        "stage": g.stage or "",
        "open": g.open,
        "rows": [{"name": r.name, "department": departments.get(r.department_code or "", "")
                  or (r.department_code or ""), "used": r.used_days, "limit": r.limit_days,
                  "paused": r.paused_days, "over": r.over, "open": r.open} for r in g.rows],
    } for g in clocks]


def _option_label(engine, instance_id: int, key: str, value: str | None) -> str | None:
    """A select field's stored value as its form shows it (``heavy_industry`` -> 重工业), from
    the forms of the case's own definition version; the value itself when no form names it."""
    if not value:
        return value
    for labels in engine.field_labels(instance_id).values():
        field = labels.get(key)
        if field is not None and value in field.options:
            return field.options[value]
    return value


@bp.get("/projects/<int:instance_id>")
def project(instance_id: int):
    today = local_today()
    engine = current_engine()
    detail = project_detail(engine, instance_id, current_scope().departments, today)
    names = display_names()
    data = {
        "clocks": _clock_data(detail.clocks, names["departments"]),
        "stages": [{"number": s.number, "name": s.name, "state": s.state}
                   for s in detail.stages],
    }
    return render_template(
        "dashboard/project.html", dashboard_page="project", d=detail, p=detail.project,
        names=names, data=data, phases=PHASES, light_names=LIGHT_NAMES,
        status_names=STATUS_NAMES, type_names=TYPE_NAMES, cn_date=cn_date, to_local=to_local,
        case_url=lambda iid: url_for("caseworker.case_page", instance_id=iid),
        industry=_option_label(engine, instance_id, "industry_category",
                                detail.project.get("industry")),
    )
