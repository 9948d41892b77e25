"""Python glue of the district's processes: service-task handlers and the maps they read.

``register(engine)`` puts the handlers on an engine's service registry; the web app and the
``kunflow`` command call it wherever they build an Engine. A service task names its handler in
``<spiffworkflow:serviceTaskOperator id="…" resultVariable="…">``; the handler gets the task's
data and the operator's parameters and returns JSON, which lands in the result variable.

| operation | what it returns | called by |
| --- | --- | --- |
| ``assign_package_leader`` | 包联 leader and lead department of a project (package_leaders.yaml) | project_lifecycle ``propose_package_leader`` (prefills 确定包联领导) |
| ``lifecycle_stage_phase`` | phase and number of a lifecycle stage | — (the stage and phase are task properties) |
| ``notify_departments`` | the payload of a 相互通报 notice (recipients checked) | — (mine_approval builds its notices in the throw events) |
| ``ledger_*`` (workflows/ledger/handlers.py) | 建账, a unit's rows, 进度, 对账/查账, 亮灯, 会商, 销账 on the ledger's tables | supervision_monthly's service tasks |

An engine without them stops a case that reaches such a task at an incident (retryable once
they are registered).
"""

from __future__ import annotations

import functools
from pathlib import Path

from engine import ServiceRegistry

# ledger (issue 12)
from .ledger import LedgerHandlers
from .lifecycle import stage_phase
from .notices import NoticeInbox, Notifier
from .org import load_org
from .package_leaders import RULES_FILE, PackageLeaders
from .schema import SCHEMA

DEFAULT_ORG_FILE = Path(__file__).resolve().parent.parent / "config" / "org.yaml"


def handlers(org_file: str | Path | None = None,
             rules_file: str | Path = RULES_FILE) -> dict:
    """The handlers by operation name, bound to the org chart (checked: raises ValueError)."""
    departments, users = load_org(org_file or DEFAULT_ORG_FILE)
    leaders = PackageLeaders.load(departments, users, rules_file)
    return {
        "assign_package_leader": leaders.handler,
        "lifecycle_stage_phase": stage_phase,
        "notify_departments": Notifier(departments).handler,
        # ledger (issue 12): supervision_monthly on the ledger's tables
        **LedgerHandlers(departments).handlers(),
    }


@functools.lru_cache(maxsize=8)
def _org_chart(path: str, _mtime_ns: int):
    # one read per org file version: cold test drivers build an Engine before every step
    return load_org(path)


def add_read_models(engine, org_file: str | Path | None = None) -> None:
    """Keep the district's read models in every save of ``engine`` (``Engine.add_read_model``):
    the 驾驶舱's summary tables (workflows/dashboard/projection.py), bound to the engine's
    calendar and the org chart (a 街镇 or a 包联 leader named by name)."""
    path = Path(org_file or DEFAULT_ORG_FILE)
    departments, users = _org_chart(str(path), path.stat().st_mtime_ns)
    engine.add_read_model(DashboardProjection(engine.calendar, departments, users))
    # >>> inbox: 相互通报 into the receiving departments' notice inboxes (issue 14)
    engine.add_read_model(NoticeInbox(departments))
    # <<< inbox


def register(target, org_file: str | Path | None = None) -> ServiceRegistry:
    """Register the handlers on ``target``: an Engine (its ``services``; the district's own
    tables, ``SCHEMA``, are added to its schema; its read models, ``add_read_models``) or a
    ServiceRegistry."""
    if hasattr(target, "add_schema"):
        target.add_schema(SCHEMA)
    if hasattr(target, "add_read_model"):
        add_read_models(target, org_file)
    registry = target.services if hasattr(target, "services") else target
    for name, handler in handlers(org_file).items():
        registry.register(name, handler)
    return registry


# registers (issue 12), dashboard (issue 13): their tables join SCHEMA's metadata
from . import dashboard, registers  # noqa: E402,F401
from .dashboard.projection import DashboardProjection  # noqa: E402
