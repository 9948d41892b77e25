"""Excel exports of the dashboard: the project ledger (项目台账) under the project list's filters,
``/dashboard/export/projects.xlsx``; a department head's holds their department's projects."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request

from engine import local_day, utcnow
from workflows.dashboard.project_export import (
    FilterRefused,
    ProjectFilter,
    export_projects,
    project_rows,
)

from ..auth.identity import current_engine
from ..errors import ApiError
from . import bp
from .access import current_scope

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/export/projects.xlsx", endpoint="export_projects")
def export_projects_xlsx():
    engine = current_engine()
    departments = {d.code: d.name for d in engine.list_departments()}
    people = {u.username: u.display_name for u in engine.list_users()}
    try:
        flt = ProjectFilter.parse(request.args, departments, people)
    except FilterRefused as exc:
        raise ApiError(422, str(exc), details={"field": exc.field}) from None
    scope = current_scope()
    today = local_day(utcnow())
    with engine.unit_of_work(readonly=True) as uow:
        rows = project_rows(uow.conn, flt, scope.departments)
        content = export_projects(rows, departments, people, today,
                                  flt.describe(departments, people))
    filename = f"项目台账-{today.isoformat()}.xlsx"
    disposition = f"attachment; filename=\"projects.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, headers={"Content-Disposition": disposition}, mimetype=XLSX)
