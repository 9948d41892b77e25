"""The landing page at ``/``: what this service is and how to use its API."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    settings = current_app.extensions["kunflow.settings"]
    return render_template("index.html", demo=settings["DEMO"])
