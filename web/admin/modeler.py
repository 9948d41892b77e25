"""流程建模 /admin/processes/<key>/edit: the process's draft in the bpmn-js modeler (properties
panel with the kunflow group, browser lint, server check), its DMN tables and forms, trial run,
DMN change preview and deploy with a comment. The page is a shell: ``modeler.js`` loads and
autosaves the draft through the API (``/api/v1/admin/processes/<key>/draft``)."""

from __future__ import annotations

import html
import re

from flask import current_app, g, render_template

from ..errors import ApiError
from . import bp


def _engine():
    return current_app.extensions["kunflow"]


def _process(key: str) -> tuple[str, int | None]:
    """(name, newest version) of a deployed process, or of a new process's draft."""
    engine = _engine()
    for definition in engine.list_definitions():
        if definition.key == key:
            return definition.name, definition.version
    draft = engine.get_process_draft(key, g.actor)  # a new process: a draft, no version yet
    if draft is not None:
        named = re.search(r'<(?:\w+:)?process\b[^>]*?\bname="([^"]*)"', draft.bpmn_xml or "")
        return (html.unescape(named.group(1)) if named else "") or key, None
    raise ApiError(404, f"没有流程“{key}”")


@bp.get("/processes/<key>/edit")
def edit(key: str):
    name, version = _process(key)
    return render_template("admin/edit.html", key=key, name=name, version=version)
