"""The district's org chart (``config/org.yaml``) as the engine's departments and users."""

from __future__ import annotations

from pathlib import Path

from config.org import read_org
from engine import DepartmentInfo, UserInfo


def load_org(path: str | Path) -> tuple[list[DepartmentInfo], list[UserInfo]]:
    """Departments and users of the org chart file (``config.org.read_org``) as engine DTOs,
    ready for ``Engine.sync_org``."""
    departments, users = read_org(path)
    return (
        [DepartmentInfo(d["code"], d["name"], d["kind"], d["parent"]) for d in departments],
        [UserInfo(u["username"], u["name"], u["department"], u["roles"], active=u["active"])
         for u in users],
    )
