"""The JSON API under ``/api/v1``: a thin layer over ``engine.Engine``.

Every route authenticates (bearer token or session cookie) except the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..auth.identity import load_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


@bp.before_request
def _authenticate() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        load_user()


from . import (  # noqa: E402,F401
    calendar,
    casefiles,
    definitions,
    directory,
    incidents,
    instances,
    messages,
    openapi,
    security,
    tasks,
)
