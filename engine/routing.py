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


def kind_groups(kind: str | None) -> tuple[str, ...]:
    """The kinds a department of ``kind`` counts under: the kind itself, each dotted prefix and
    the last segment. ``a.b.c`` -> (``a.b.c``, ``a``, ``a.b``, ``c``); a plain kind -> itself.
    So the org chart can group kinds (every department of ``group.part`` is of kind ``group``
    and of kind ``part``) without a table of groups."""
    parts = [p.strip() for p in (kind or "").split(".") if p.strip()]
    if not parts:
        return ()
    out = [".".join(parts)]
    for n in range(1, len(parts)):
        out.append(".".join(parts[:n]))
    out.append(parts[-1])
    return tuple(dict.fromkeys(out))


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


def start_departments(
    start_lanes,
    lane_departments: Mapping[str, str | None],
    entries,
    directory: Mapping[str, str],
    kinds: Mapping[str, tuple[str, ...]],
) -> tuple[frozenset[str], bool]:
    """Who may start a process: (department codes, restricted).

    The departments of the lanes its start events sit in, plus its ``start_departments``
    entries: a department code or name, or ``kind:<kind>`` (every department of that kind, as
    in the org chart, dotted kinds by each group they name: ``kind_groups``). ``restricted`` is False when the diagram
    names nobody (no entries, no start lane of a known department: then every department may
    start it). Entries that name no known department give nobody: a restriction never opens up
    through a typo.
    """
    codes = set()
    for lane in start_lanes:
        code = department_for(lane, lane_departments, {}, directory)
        if code:
            codes.add(code)
    restricted = bool(codes) or bool(entries)
    for entry in entries:
        entry = entry.strip()
        if entry.startswith("kind:"):
            codes.update(kinds.get(entry[len("kind:"):].strip(), ()))
        elif directory.get(entry):
            codes.add(directory[entry])
    return frozenset(codes), restricted


def unknown_start_entries(entries, directory: Mapping[str, str], kinds: Mapping) -> list[str]:
    """``start_departments`` entries that name no department or department kind."""
    out = []
    for entry in entries:
        entry = entry.strip()
        known = (kinds.get(entry[len("kind:"):].strip()) if entry.startswith("kind:")
                 else directory.get(entry))
        if not known:
            out.append(entry)
    return out


def can_start(actor: Actor, start_departments, restricted: bool | None = None) -> bool:
    """Administrators always; otherwise a department the process names, or anyone when it
    names none (``restricted`` defaults to "some department is named")."""
    if restricted is None:
        restricted = bool(start_departments)
    return actor.is_admin or not restricted or actor.department_code in start_departments
