"""驾驶舱 (manager dashboard): district leaders and the 督查室 see every project and department;
a department head sees the lines of their own department; anyone else gets the 403 page.

One module per page, each thin over ``workflows.dashboard`` (aggregates read summary tables kept
in the step's transaction, never the serialized state); ECharts and the page scripts are the
bundle ``kunflow-dashboard.js``, loaded only here (``templates/dashboard/_layout.html``).
"""

from __future__ import annotations

from flask import Blueprint, url_for
from werkzeug.routing import BuildError

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from .access import may_see_dashboard  # noqa: E402  (and its before_request guard)


@bp.app_context_processor
def _dashboard_context():
    def dash_url(endpoint: str, **values) -> str | None:
        """The URL of a dashboard page, None while that page is not built."""
        try:
            return url_for(endpoint, **values)
        except BuildError:
            return None

    return {"dash_url": dash_url, "may_see_dashboard": may_see_dashboard}

# Page modules register their views on ``bp`` (one per area).
# {# pages #}
from . import (  # noqa: E402,F401
    departments,
    exports,
    heatmap,
    overview,
    project,
    supervision,
)

# {# /pages #}
