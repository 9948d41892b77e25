"""流程热力图: the processes, and one process's diagram coloured by each element's median dwell
time over a chosen period (``workflows.dashboard.heatmap``)."""

from __future__ import annotations

from flask import render_template, url_for

from workflows.dashboard.heatmap import process_heatmap, process_list

from ..auth.identity import current_engine
from . import bp
from .access import current_scope
from .departments import PERIOD_CHOICES, cn_month, period_months


@bp.get("/heatmap/")
def heatmap_index():
    months = period_months()
    processes = process_list(current_engine(), current_scope().departments, months=months)
    return render_template(
        "dashboard/heatmap_index.html",
        dashboard_page="heatmap",
        processes=processes,
        months=months,
        period_choices=PERIOD_CHOICES,
        data={},
    )


@bp.get("/heatmap/<process_key>")
def heatmap(process_key: str):
    months = period_months()
    engine = current_engine()
    figures = process_heatmap(engine, process_key, current_scope().departments, months=months)
    data = {
        "xmlUrl": url_for("dashboard.heatmap_xml", process_key=process_key),
        "elements": [
            {"id": e.element_id, "name": e.name, "count": e.count, "median": e.median_days,
             "p80": e.p80_days, "open": e.open_now, "overdue": e.overdue_now}
            for e in figures.elements
        ],
    }
    return render_template(
        "dashboard/heatmap.html",
        dashboard_page="heatmap",
        heatmap=figures,
        months=months,
        period_choices=PERIOD_CHOICES,
        period_label=f"{cn_month(figures.months[0])}至{cn_month(figures.months[-1])}",
        data=data,
    )


@bp.get("/heatmap/<process_key>/diagram.xml")
def heatmap_xml(process_key: str):
    """The newest version's BPMN XML (the page's viewer fetches it)."""
    xml = current_engine().get_definition_xml(process_key)
    return xml, 200, {"Content-Type": "application/xml; charset=utf-8"}
