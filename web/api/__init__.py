"""The JSON API under ``/api/v1``: a thin layer over ``engine.Engine``.

Every route authenticates (bearer token or session cookie) except the OpenAPI document. Each
route declares its input and output shapes (``schemas.py``) with the blueprint's decorators
(``blueprint.py``); the OpenAPI document is generated from them (``document.py``).
"""

from __future__ import annotations

from flask import request

from ..auth.identity import load_user
from .blueprint import ApiBlueprint

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


@bp.before_request
def _authenticate() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        load_user()


from . import (  # noqa: E402,F401
    admin_decisions,  # issue 11 area 3: decisions
    admin_instances,  # area 4: migration, batch
    admin_models,  # area "checks" (issue 11): /admin/validate, /admin/import
    admin_processes,  # area: versions (issue 11)
    admin_repair,  # area 5 (repair)
    calendar,
    casefiles,
    consults,  # consult: 加签 (issue 14)
    dashboard,  # 驾驶舱 (issue 13)
    definitions,
    directory,
    document,
    handover,  # handover: 转办 and 委托 (issue 14)
    incidents,
    instances,
    ledger,  # ledger (issue 12)
    messages,
    notices,  # inbox: the notice inbox (issue 14)
    outbound,  # outbound: notice deliveries (issue 14)
    registers,  # registers (issue 12)
    security,
    tasks,
)
