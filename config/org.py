"""Read the org chart file (departments, users, roles) into engine DTOs."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine import DepartmentInfo, UserInfo


def load_org(path: str | Path) -> tuple[list[DepartmentInfo], list[UserInfo]]:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    departments = [
        DepartmentInfo(d["code"], d["name"], d.get("kind", "bureau"), d.get("parent"))
        for d in doc.get("departments", [])
    ]
    users = [
        UserInfo(u["username"], u.get("name", u["username"]), u["department"],
                 tuple(u.get("roles", ["caseworker"])), active=bool(u.get("active", True)))
        for u in doc.get("users", [])
    ]
    return departments, users
