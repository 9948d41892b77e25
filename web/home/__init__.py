"""The landing page at ``/``: signed-in users go to their tasks; others see what this service
is, a link to log in and how to use its API."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("caseworker.tasks"))
    settings = current_app.extensions["kunflow.settings"]
    return render_template("index.html", demo=settings["DEMO"])
