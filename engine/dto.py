"""Frozen data the engine returns: no ORM rows or SpiffWorkflow objects leave the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Roles with a meaning to the engine; an org chart may define more.
ROLE_HEAD = "head"
ROLE_SUPERVISOR = "supervisor"
ROLE_LEADER = "leader"
ROLE_PROCESS_ADMIN = "process_admin"
ROLE_SYSTEM_ADMIN = "system_admin"
ADMIN_ROLES = frozenset({ROLE_PROCESS_ADMIN, ROLE_SYSTEM_ADMIN})
READ_ALL_ROLES = frozenset({ROLE_SUPERVISOR, ROLE_LEADER}) | ADMIN_ROLES


@dataclass(frozen=True)
class Actor:
    """Who performs a command."""

    username: str
    department_code: str | None
    roles: frozenset = frozenset()

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMIN_ROLES)

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & READ_ALL_ROLES)


SYSTEM = Actor("system", None, ADMIN_ROLES)


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    kind: str
    parent_code: str | None = None


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    department_code: str
    roles: tuple
    active: bool = True
    password_hash: str | None = field(default=None, repr=False)

    def actor(self) -> Actor:
        return Actor(self.username, self.department_code, frozenset(self.roles))


@dataclass(frozen=True)
class DefinitionInfo:
    id: int
    key: str
    version: int
    name: str
    filename: str
    checksum: str
    deployed_by: str | None
    deployed_at: datetime
    lanes: dict
    files: tuple = ()
    warnings: tuple = ()
    # People can start it: it has a none start event (processes started only by a timer or a
    # message cannot be started from the "start a case" page; administrators still may).
    manual_start: bool = True
    # Codes of the departments that may start it (start lanes and ``start_departments``);
    # None: the diagram names nobody, every department may.
    start_departments: tuple | None = None
    start_form_key: str | None = None  # the form of the start data (none start event)


@dataclass(frozen=True)
class DeployResult:
    definition: DefinitionInfo
    created: bool


@dataclass(frozen=True)
class TaskInfo:
    id: str
    instance_id: int
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    department_code: str | None
    candidate_role: str | None
    assignee: str | None
    state: str
    created_at: datetime
    claimed_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    form_key: str | None
    stage: str | None
    business_key: str | None = None
    title: str | None = None
    data: dict | None = None
    # The deadline clock is stopped since this time (None: running).
    paused_at: datetime | None = None
    # due_at was computed over a year without official holiday data.
    due_provisional: bool = False


@dataclass(frozen=True)
class InstanceInfo:
    id: int
    process_key: str
    definition_version: int
    business_key: str | None
    title: str | None
    status: str
    version: int
    started_by: str | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    tasks: tuple = ()
    data: dict | None = None
    stage: str | None = None
    phase: str | None = None
    parent_instance_id: int | None = None


@dataclass(frozen=True)
class EventInfo:
    id: int
    instance_id: int | None
    task_id: str | None
    actor: str | None
    kind: str
    at: datetime
    data: dict | None


@dataclass(frozen=True)
class Page:
    items: tuple
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class MessageInfo:
    """A message thrown by a diagram or posted from outside (``Engine.list_messages``)."""

    id: int
    name: str
    correlation_key: str | None
    payload: object  # the JSON value it carries; None when it carries none
    source_instance_id: int | None  # the instance that threw it; None when posted
    created_at: datetime
    delivered_at: datetime | None = None  # None: still waiting for a catcher
    delivered_to: int | None = None
