"""The caseworker's pages (经办人): task lists, the task page, the case view, start a case.

Server-rendered with Jinja2; the form (form-js) and the diagram (bpmn-js) are mounted by the
bundle in ``web/static/dist``. Every page goes through the engine's visibility rules: another
department's task or case is a 403 page, never data.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("caseworker", __name__)

from . import (  # noqa: E402,F401  (routes register on bp)
    consults,  # consult: 加签 (issue 14)
    notices,  # inbox: the notice inbox /notices (issue 14)
    views,
)
