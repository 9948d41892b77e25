"""Who may see the dashboard, and how much of it (``Scope``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from engine import ROLE_HEAD, Actor

from ..auth.identity import enter_page
from ..errors import ApiError
from ..inputs import MAX_ID
from . import bp


@dataclass(frozen=True)
class Scope:
    """What the viewer sees: everything (``departments`` None), or one department's lines."""

    departments: frozenset | None

    @property
    def everything(self) -> bool:
        return self.departments is None

    def covers(self, department_code: str | None) -> bool:
        return self.departments is None or department_code in self.departments


def scope_of(actor: Actor) -> Scope | None:
    """区领导, 督查室 (and admins) see all; a department head their department; else None."""
    if actor.reads_all:
        return Scope(None)
    if ROLE_HEAD in actor.roles and actor.department_code:
        return Scope(frozenset({actor.department_code}))
    return None


def may_see_dashboard(actor: Actor) -> bool:
    return scope_of(actor) is not None


@bp.before_request
def _require_manager():
    answer = enter_page()
    if answer is None and any(isinstance(v, int) and v > MAX_ID
                              for v in (request.view_args or {}).values()):
        raise ApiError(404, "没有这个编号的记录")  # ids are 32-bit integers in the database
    if answer is None:
        scope = scope_of(g.actor)
        if scope is None:
            raise ApiError(403, "驾驶舱仅向区领导、督查室和部门负责人开放")
        g.dashboard_scope = scope
    return answer


def current_scope() -> Scope:
    return g.dashboard_scope
