"""Read the org chart file (departments, users, roles) into plain data.

The engine's types are not known here: ``workflows.org.load_org`` turns this data into the
engine's ``DepartmentInfo`` and ``UserInfo``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

# libyaml's safe loader when PyYAML has it (5-10x faster), else the pure-Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_org(path: str | Path) -> tuple[list[dict], list[dict]]:
    """(departments, users) of the org chart, with the defaults filled in. A department:
    ``code``, ``name``, ``kind`` (``bureau`` unless given), ``parent`` (or None). A user:
    ``username``, ``name`` (the username unless given), ``department``, ``roles`` (a tuple;
    ``("caseworker",)`` unless given), ``active`` (True unless given)."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=SAFE_LOADER) or {}  # noqa: S506 (a safe loader)
    departments = [
        {"code": d["code"], "name": d["name"], "kind": d.get("kind", "bureau"),
         "parent": d.get("parent")}
        for d in doc.get("departments", [])
    ]
    users = [
        {"username": u["username"], "name": u.get("name", u["username"]),
         "department": u["department"], "roles": tuple(u.get("roles", ["caseworker"])),
         "active": bool(u.get("active", True))}
        for u in doc.get("users", [])
    ]
    return departments, users
