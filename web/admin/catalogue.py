"""流程目录 /admin/processes: every process with its versions (who deployed them, when, the
comment, running / done cases), its DMN tables and forms, its draft, and a form to start a new
process from a template. Also the small helpers the other admin pages share."""

from __future__ import annotations

from flask import current_app, g, render_template, url_for
from werkzeug.routing import BuildError

from ..display_names import display_names
from . import bp

STATUS_NAMES = {"running": "办理中", "suspended": "已挂起", "incident": "故障",
                "completed": "已办结", "terminated": "已终止"}


def engine():
    return current_app.extensions["kunflow"]


# The pages of this package share the display names of every other page.
names = display_names


def edit_url(key: str) -> str:
    """The modeler (area 7's ``admin.edit``); the page still renders before it exists."""
    try:
        return url_for("admin.edit", key=key)
    except BuildError:
        return f"/admin/processes/{key}/edit"


def file_kind(filename: str) -> str:
    if filename.endswith(".dmn"):
        return "dmn"
    if filename.endswith((".form", ".json")):
        return "form"
    return "other"


@bp.get("/processes")
def processes():
    catalogue = engine().process_catalogue(g.actor)
    cards = []
    for proc in catalogue:
        versions = sorted(proc.versions, key=lambda v: v.version, reverse=True)
        latest = versions[0] if versions else None
        files = sorted(latest.files) if latest else []
        cards.append({
            "process": proc,
            "versions": versions,
            "latest": latest,
            "dmn": [f for f in files if file_kind(f) == "dmn"],
            "forms": [f for f in files if file_kind(f) == "form"],
            "edit_url": edit_url(proc.key),
            "running": sum(v.running for v in versions),
        })
    return render_template("admin/processes.html", cards=cards, names=names())
