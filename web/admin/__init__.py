"""The process admin's pages (流程管理) under ``/admin/``: the process catalogue, the modeler
(BPMN, DMN and forms), version comparison, the cases of a version (migrate, batch suspend /
resume / terminate) and incident repair.

Only process admins reach them: anyone else gets the 403 page (or a JSON 403). The admin tools
are a bundle of their own (``dist/kunflow-admin.js``), loaded by ``admin/base.html`` only.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Each module registers its routes on bp; guard's before_request runs for all of them.
from . import (  # noqa: E402,F401
    catalogue,
    diff,
    guard,
    incidents,
    instances,
    modeler,
    outbound,  # issue 14: 通知外发
)
