"""转办 beyond a task's department: the diagram's ``transfer_departments`` task property
(department codes, names or ``kind:<kind>``, comma separated). Pure functions."""

from __future__ import annotations

from . import routing
from .definitions import entries


def transfer_departments(properties, directory, kinds) -> frozenset[str]:
    """Department codes the property names; unknown entries name nobody."""
    codes, _ = routing.start_departments(
        (), {}, entries((properties or {}).get("transfer_departments")), directory, kinds)
    return codes


def unknown_transfer_entries(properties, directory, kinds) -> list[str]:
    """Entries that name no department or department kind (a deploy warning)."""
    return routing.unknown_start_entries(
        entries((properties or {}).get("transfer_departments")), directory, kinds)
