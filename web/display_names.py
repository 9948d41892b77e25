"""Display names the pages show instead of codes (departments, users, processes), read once per
request and shared by the caseworker and admin pages (and the header on every page)."""

from __future__ import annotations

from flask import current_app, g


def display_names() -> dict:
    """Department, user and process display names for this request."""
    if "kf_names" not in g:
        eng = current_app.extensions["kunflow"]
        definitions = eng.list_definitions()
        g.kf_names = {
            "departments": {d.code: d.name for d in eng.list_departments()},
            "users": {u.username: u.display_name for u in eng.list_users()},
            "processes": {d.key: d.name for d in definitions},
            "definitions": definitions,
        }
    return g.kf_names
