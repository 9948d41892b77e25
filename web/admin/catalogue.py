"""流程目录 /admin/processes: every process with its versions, DMN tables and forms."""

from __future__ import annotations

from flask import current_app, render_template

from . import bp


def _engine():
    return current_app.extensions["kunflow"]


@bp.get("/processes")
def processes():
    return render_template("admin/processes.html", definitions=_engine().list_definitions())
