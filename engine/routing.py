"""Who may see and do what: lanes to departments, candidate roles. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping

from .dto import ROLE_HEAD, Actor


def department_for(
    lane: str | None,
    lane_departments: Mapping[str, str | None],
    task_properties: Mapping[str, str],
    directory: Mapping[str, str],
) -> str | None:
    """The department code a human task routes to.

    Order: the task's own ``department`` property, the lane's ``department`` property, the lane's
    name. ``directory`` maps department names and codes to codes. Unknown names give None: the
    task is then visible to administrators only (and deploy reported a warning).
    """
    for candidate in (
        task_properties.get("department"),
        lane_departments.get(lane) if lane else None,
        lane,
    ):
        if candidate:
            code = directory.get(candidate.strip())
            if code:
                return code
    return None


def can_view_task(actor: Actor, department_code: str | None) -> bool:
    return actor.reads_all or (
        department_code is not None and actor.department_code == department_code
    )


def can_work_task(actor: Actor, department_code: str | None, candidate_role: str | None) -> bool:
    """Claim/complete: same department, and the candidate role when the diagram names one."""
    if department_code is None:
        return actor.is_admin
    if actor.department_code != department_code:
        return False
    return candidate_role is None or candidate_role in actor.roles


def can_reassign(actor: Actor, department_code: str | None) -> bool:
    return actor.is_admin or (
        ROLE_HEAD in actor.roles
        and department_code is not None
        and actor.department_code == department_code
    )


def can_start(actor: Actor, start_departments: set[str]) -> bool:
    """A process whose start event sits in a lane may be started by that department."""
    return actor.is_admin or not start_departments or actor.department_code in start_departments
