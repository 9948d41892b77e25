"""Table rows to frozen DTOs, the event-row builder, and the prepared statements of the hot
paths (built once: SQLAlchemy caches their compiled form per database).

Every room reads and writes the tables through these shapes; no ORM row leaves the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from .audit import chain_rows
from .dto import OPEN_STATES, Actor, InstanceInfo, TaskInfo
from .model import app_user, auth_token, event, instance, task

TASK_COLUMNS = [c for c in task.c]


@dataclass(frozen=True)
class Head:
    """The instance columns a command needs before it touches the workflow."""

    id: int
    definition_id: int
    process_key: str
    status: str
    version: int
    completed_tasks: int


def to_json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def event_row(iid, task_id, actor, kind, at, data) -> dict:
    """An ``event`` row (the audit log): ``actor`` an Actor, a username or None."""
    return {
        "instance_id": iid,
        "task_id": task_id,
        "actor": actor.username if isinstance(actor, Actor) else actor,
        "kind": kind,
        "at": at,
        "data_json": to_json(data),
    }


def write_events(conn, events: list[dict]) -> None:
    """Append ``event_row`` rows to the audit log: the one way events are written. Each row is
    chained to the last event of its chain (the instance's, or the system chain for rows
    without an instance; ``engine/audit.py``) before the insert."""
    if events:
        conn.execute(INSERT_EVENT, chain_rows(conn, events))


def task_info(row, business_key=None, title=None, data=None) -> TaskInfo:
    """A ``task`` row (``TASK_COLUMNS``, perhaps with its case's business key and title)."""
    m = row._mapping
    return TaskInfo(
        id=row.id, instance_id=row.instance_id, process_key=row.process_key,
        element_id=row.element_id, name=row.name, lane=row.lane,
        department_code=row.department_code, candidate_role=row.candidate_role,
        assignee=row.assignee, state=row.state, created_at=row.created_at,
        claimed_at=row.claimed_at, due_at=row.due_at, completed_at=row.completed_at,
        completed_by=row.completed_by, form_key=row.form_key, stage=row.stage,
        business_key=m.get("business_key", business_key), title=m.get("title", title), data=data,
        paused_at=m.get("paused_at"), due_provisional=bool(m.get("due_provisional") or False),
        parent_task_id=m.get("parent_task_id"), on_behalf_of=m.get("on_behalf_of"),
        handed_by=m.get("handed_by"), handed_at=m.get("handed_at"),
        hand_reason=m.get("hand_reason"),
    )


def instance_info(row, tasks=()) -> InstanceInfo:
    """An ``instance`` row with its definition's version (``def_version``)."""
    return InstanceInfo(
        id=row.id, process_key=row.process_key, definition_version=row.def_version,
        business_key=row.business_key, title=row.title, status=row.status, version=row.version,
        started_by=row.started_by, started_at=row.started_at, updated_at=row.updated_at,
        ended_at=row.ended_at, tasks=tasks, stage=row.stage, phase=row.phase,
        parent_instance_id=row.parent_instance_id,
    )


# ---------------------------------------------------------------- prepared statements

TASK_BY_ID = sa.select(*TASK_COLUMNS).where(task.c.id == sa.bindparam("id"))

# The task row and its instance's head in ONE statement, read once the instance is locked: on
# PostgreSQL (read committed) each statement sees what was committed before it began, so both
# reflect the last command on the instance.
TASK_AND_HEAD = (
    sa.select(
        *TASK_COLUMNS,
        instance.c.definition_id.label("i_definition_id"),
        instance.c.status.label("i_status"),
        instance.c.version.label("i_version"),
        instance.c.completed_tasks.label("i_completed_tasks"),
    )
    .join(instance, instance.c.id == task.c.instance_id)
    .where(task.c.id == sa.bindparam("id"))
)

INSTANCE_HEAD = sa.select(
    instance.c.id,
    instance.c.definition_id,
    instance.c.process_key,
    instance.c.status,
    instance.c.version,
    instance.c.completed_tasks,
).where(instance.c.id == sa.bindparam("id"))

INSTANCE_STATE = sa.select(
    instance.c.state_json, instance.c.serializer_version, instance.c.business_key
).where(instance.c.id == sa.bindparam("id"))

OPEN_TASKS = sa.select(task.c.id, task.c.state).where(
    task.c.instance_id == sa.bindparam("iid"), task.c.state.in_(OPEN_STATES)
)

# The open rows of the workflow's own steps (not the 加签 tasks asked on them): what a save
# compares with the workflow's ready tasks.
OPEN_STEP_TASKS = sa.select(task.c.id, task.c.state).where(
    task.c.instance_id == sa.bindparam("iid"), task.c.state.in_(OPEN_STATES),
    task.c.parent_task_id.is_(None),
)

SAVE_INSTANCE = (
    instance.update()
    .where(instance.c.id == sa.bindparam("b_id"), instance.c.version == sa.bindparam("b_v"))
    .values(
        state_json=sa.bindparam("state_json"),
        version=sa.bindparam("version"),
        status=sa.bindparam("status"),
        updated_at=sa.bindparam("updated_at"),
        ended_at=sa.bindparam("ended_at"),
        completed_tasks=sa.bindparam("completed_tasks"),
        next_due_at=sa.bindparam("next_due_at"),
        stage=sa.func.coalesce(sa.bindparam("stage", type_=sa.String), instance.c.stage),
        phase=sa.func.coalesce(sa.bindparam("phase", type_=sa.String), instance.c.phase),
    )
)

CLOSE_TASK = (
    task.update()
    .where(task.c.id == sa.bindparam("b_id"))
    .values(
        state=sa.bindparam("state"),
        completed_at=sa.bindparam("completed_at"),
        completed_by=sa.bindparam("completed_by"),
    )
)

USER_FOR_TOKEN = (
    sa.select(app_user)
    .join(auth_token, auth_token.c.username == app_user.c.username)
    .where(
        auth_token.c.token_hash == sa.bindparam("h"),
        auth_token.c.expires_at > sa.bindparam("now"),
    )
)

INSERT_EVENT = event.insert()
INSERT_TASK = task.insert()
