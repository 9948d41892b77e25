"""转办 and 委托 pages: the /delegations page, the task page's 转办 form, the 代办 section of
我的待办 (template globals used by the caseworker templates)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("handover", __name__)

from . import views  # noqa: E402,F401  (routes register on bp)
