"""Tables. The serialized workflow lives on ``instance``; everything users query is a read model."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .schema_extensions import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Department(Base):
    __tablename__ = "department"
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32), default="bureau")
    parent_code: Mapped[str | None] = mapped_column(sa.String(64))


class User(Base):
    __tablename__ = "app_user"
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    department_code: Mapped[str] = mapped_column(sa.ForeignKey("department.code"), index=True)
    roles: Mapped[str] = mapped_column(sa.String(400), default="")  # space separated
    password_hash: Mapped[str | None] = mapped_column(sa.String(400))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class AuthToken(Base):
    __tablename__ = "auth_token"
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    username: Mapped[str] = mapped_column(sa.ForeignKey("app_user.username"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)


class UserSession(Base):
    """A browser session: the cookie carries a random id, this row (under the id's SHA-256) says
    whose it is, when it was last used and whether the server has ended it. A signed cookie
    alone proves nothing once its row is revoked or idle."""

    __tablename__ = "user_session"
    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    username: Mapped[str] = mapped_column(sa.ForeignKey("app_user.username"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # logout, password_changed, user_disabled, revoked
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))


class LoginAttempt(Base):
    """The login throttle's memory, shared by every worker and node: each failed login, and per
    account and address the last successful one (an address the account is known to use)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_username", "username", "succeeded", "at"),
        sa.Index("ix_login_attempt_address", "address", "succeeded", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # As typed: unknown usernames are counted too (no foreign key).
    username: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean)


class Definition(Base):
    __tablename__ = "definition"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(400))
    filename: Mapped[str] = mapped_column(sa.String(400))
    bpmn_xml: Mapped[str] = mapped_column(sa.Text)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    # Derived at deploy time from the XML: lanes -> departments, per-task properties.
    meta_json: Mapped[str] = mapped_column(sa.Text)
    deployed_by: Mapped[str | None] = mapped_column(sa.String(64))
    deployed_at: Mapped[datetime] = mapped_column(sa.DateTime)
    # The process admin's comment on this version ("区应急局加入会商", ...).
    comment: Mapped[str | None] = mapped_column(sa.Text)


class DefinitionFile(Base):
    """DMN and form files deployed with (and versioned by) a definition."""

    __tablename__ = "definition_file"
    __table_args__ = (sa.UniqueConstraint("definition_id", "filename"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definition.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(400))
    kind: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text)


class Instance(Base):
    __tablename__ = "instance"
    __table_args__ = (
        sa.Index("ix_instance_status_started", "status", "started_at"),
        sa.Index("ix_instance_next_due", "next_due_at"),
        # the timer sweep: running instances by due time (SQLite, never ANALYZEd, otherwise
        # picks ix_instance_status_started and sorts every running instance on each fire)
        sa.Index("ix_instance_status_due", "status", "next_due_at"),
        sa.Index("ix_instance_phase_stage", "process_key", "phase", "stage"),
        # A process's cases counted by stage and status from the index alone (migration 0012).
        sa.Index("ix_instance_process_stage_status", "process_key", "stage", "status"),
        # "Started by me", with the list's order and filters, read from the index alone.
        sa.Index("ix_instance_started_by", "started_by", "id", "process_key", "stage"),
        # Text search (LIKE '%…%') scans this instead of the rows, which carry the state.
        sa.Index("ix_instance_title_key", "title", "business_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    title: Mapped[str | None] = mapped_column(sa.String(400))
    # running | suspended | completed | terminated
    status: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    serializer_version: Mapped[str] = mapped_column(sa.String(16))
    state_json: Mapped[str] = mapped_column(sa.Text)
    started_by: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    completed_tasks: Mapped[int] = mapped_column(sa.Integer, default=0)
    # A called process (call activity) runs as its own instance linked to its caller.
    parent_instance_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    parent_task_id: Mapped[str | None] = mapped_column(sa.String(36))
    # Where the case stands, from the `stage` / `phase` properties of its newest open task.
    stage: Mapped[str | None] = mapped_column(sa.String(200))
    phase: Mapped[str | None] = mapped_column(sa.String(64))


class Task(Base):
    """One row per human task (user / manual task) the engine ever made ready."""

    __tablename__ = "task"
    __table_args__ = (
        sa.Index("ix_task_department_state", "department_code", "state", "created_at"),
        # A user's open tasks, overdue ones too (migration 0012).
        sa.Index("ix_task_assignee_state_due", "assignee", "state", "due_at"),
        # "Done by me": its order and every filter (process, stage, deadline, case) are read
        # from the index, so counting and sorting thousands of a user's tasks reads no rows.
        sa.Index("ix_task_completed_by", "completed_by", "completed_at", "id", "process_key",
                 "stage", "due_at", "instance_id"),
        sa.Index("ix_task_instance_state", "instance_id", "state"),
        sa.Index("ix_task_department_state_due", "department_code", "state", "due_at"),
        sa.Index("ix_task_process_stage", "process_key", "stage"),
        # The dashboard's heatmap: open tasks per element of a process (overdue ones, a
        # department's) counted from the index alone.
        sa.Index("ix_task_process_state_element", "process_key", "state", "element_id",
                 "department_code", "due_at"),
        # A department's waiting 加签 requests (asked tasks have a parent): the few of them,
        # not every open task of the department (migration 0012).
        sa.Index("ix_task_department_state_parent", "department_code", "state",
                 "parent_task_id"),
        # Deadline reminders: open tasks by due time, over every department.
        sa.Index("ix_task_state_due", "state", "due_at"),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instance.id"))
    process_key: Mapped[str] = mapped_column(sa.String(200))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str | None] = mapped_column(sa.String(400))
    lane: Mapped[str | None] = mapped_column(sa.String(200))
    department_code: Mapped[str | None] = mapped_column(sa.String(64))
    candidate_role: Mapped[str | None] = mapped_column(sa.String(64))
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    # ready | claimed | completed | cancelled
    state: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    completed_by: Mapped[str | None] = mapped_column(sa.String(64))
    form_key: Mapped[str | None] = mapped_column(sa.String(200))
    stage: Mapped[str | None] = mapped_column(sa.String(200))
    # The deadline's clock is stopped (expert review, hearing, public notice) since this time.
    paused_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The deadline was computed over a year without official holiday data.
    due_provisional: Mapped[bool] = mapped_column(
        sa.Boolean, default=False, server_default=sa.false()
    )
    # 加签: the task asks for an opinion on ``parent_task_id`` (an engine task, not a step of
    # the workflow: the save of a step never closes it; it closes when answered, withdrawn or
    # when its parent task closes).
    parent_task_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    # 委托: the user a stand-in (the assignee, or ``completed_by``) claimed or completed it for.
    on_behalf_of: Mapped[str | None] = mapped_column(sa.String(64))
    # 转办: the last hand-over of the task: by whom, when, why.
    handed_by: Mapped[str | None] = mapped_column(sa.String(64))
    handed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    hand_reason: Mapped[str | None] = mapped_column(sa.String(2000))


class Event(Base):
    """Append-only audit log: who did what to which instance/task, with the data submitted."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(sa.Integer)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    data_json: Mapped[str | None] = mapped_column(sa.Text)
    # Tamper evidence (docs/operations.md): each event's hash covers its own fields and the
    # hash of the event before it in its chain; a changed or removed row breaks the chain.
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))


class Heartbeat(Base):
    """A background process that says it is alive (the scheduler of each node): ``/readyz``."""

    __tablename__ = "heartbeat"
    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    node: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    beat_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)


class TaskPause(Base):
    """One stop of a task's deadline clock; the due time moves by the working time stopped."""

    __tablename__ = "task_pause"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    paused_at: Mapped[datetime] = mapped_column(sa.DateTime)
    paused_by: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.String(2000))
    resumed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    resumed_by: Mapped[str | None] = mapped_column(sa.String(64))


class CalendarDay(Base):
    """Days that differ from the Monday–Friday default: holidays and make-up workdays."""

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(sa.Boolean)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    # official (chinesecalendar / imported), estimated (statutory rules), manual (admin edit)
    source: Mapped[str] = mapped_column(sa.String(16))
    year: Mapped[int] = mapped_column(sa.Integer, index=True)


class CalendarYear(Base):
    """Which years the calendar table covers, and whether their data is official."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)


class Incident(Base):
    """A script, service task or expression failed; the instance waits for a fix and a retry."""

    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_open", "resolved_at", "instance_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(64))


class Message(Base):
    """A message thrown or posted that no catcher has taken yet (or the record of delivery)."""

    __tablename__ = "message"
    __table_args__ = (sa.Index("ix_message_pending", "name", "correlation_key", "delivered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    correlation_key: Mapped[str | None] = mapped_column(sa.String(200))
    payload_json: Mapped[str | None] = mapped_column(sa.Text)
    source_instance_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    delivered_to: Mapped[int | None] = mapped_column(sa.Integer)


class MessageSubscription(Base):
    """An instance waiting for a message (catch event or receive task), by name and key."""

    __tablename__ = "message_subscription"
    __table_args__ = (sa.Index("ix_subscription_lookup", "name", "correlation_key"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instance.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    correlation_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)



class Attachment(Base):
    """A file attached to a case (optionally to one task and form field); the bytes live in the
    content-addressed file store under their SHA-256, this row says who attached what where."""

    __tablename__ = "attachment"
    __table_args__ = (sa.Index("ix_attachment_instance", "instance_id", "uploaded_at"),)
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("instance.id"))
    task_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    field: Mapped[str | None] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    uploaded_by: Mapped[str | None] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime)


class TaskDraft(Base):
    """The form data a user saved on an open task without submitting it (one per task+user)."""

    __tablename__ = "task_draft"
    task_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data_json: Mapped[str] = mapped_column(sa.Text)
    saved_at: Mapped[datetime] = mapped_column(sa.DateTime)


class ProcessDraft(Base):
    """A process admin's unsaved work on one process key (the modeler's autosave): the BPMN and
    the DMN/form files it references, the version it started from, who edits it and when. One
    draft per process key; deploying it as a version removes it."""

    __tablename__ = "process_draft"
    process_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    bpmn_xml: Mapped[str] = mapped_column(sa.Text)
    files_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # {filename: content}
    base_version: Mapped[int | None] = mapped_column(sa.Integer)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)  # optimistic check on save


class DecisionLog(Base):
    """One real evaluation of a DMN decision table by a business rule task: the inputs it saw
    and the outputs it produced (the DMN change preview replays the newest 200 of a table)."""

    __tablename__ = "decision_log"
    __table_args__ = (sa.Index("ix_decision_log_lookup", "process_key", "decision_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    definition_id: Mapped[int] = mapped_column(sa.Integer)
    instance_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    decision_id: Mapped[str] = mapped_column(sa.String(200))
    inputs_json: Mapped[str] = mapped_column(sa.Text)
    outputs_json: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(sa.DateTime)


department = Department.__table__
app_user = User.__table__
auth_token = AuthToken.__table__
user_session = UserSession.__table__
login_attempt = LoginAttempt.__table__
definition = Definition.__table__
definition_file = DefinitionFile.__table__
instance = Instance.__table__
task = Task.__table__
event = Event.__table__


# >>> audit: the database refuses UPDATE and DELETE on the audit log (engine/audit.py); here for
# metadata.create_all (tests, Engine.create_schema), migration 0011 for migrated databases.
@sa.event.listens_for(event, "after_create")
def _event_append_only(target, connection, **_kw) -> None:
    from .audit import append_only_ddl

    for statement in append_only_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


@sa.event.listens_for(event, "after_drop")
def _event_append_only_dropped(target, connection, **_kw) -> None:
    if connection.dialect.name == "postgresql":  # the triggers went with the table
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS event_append_only()")
# <<< audit


heartbeat = Heartbeat.__table__
task_pause = TaskPause.__table__
calendar_day = CalendarDay.__table__
calendar_year = CalendarYear.__table__
incident = Incident.__table__
message = Message.__table__
message_subscription = MessageSubscription.__table__
metadata = Base.metadata
attachment = Attachment.__table__
task_draft = TaskDraft.__table__
process_draft = ProcessDraft.__table__
decision_log = DecisionLog.__table__


class Consult(Base):
    """A 加签 request: the opinion the holder of ``parent_task_id`` asks for. Its ``task_id`` is
    the asked side's task row (``task.parent_task_id`` = the parent), with its own deadline."""

    __tablename__ = "consult"
    task_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    parent_task_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    instance_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    requested_by: Mapped[str] = mapped_column(sa.String(64))
    requested_at: Mapped[datetime] = mapped_column(sa.DateTime)
    question: Mapped[str] = mapped_column(sa.Text)
    asked_department: Mapped[str] = mapped_column(sa.String(64))
    asked_user: Mapped[str | None] = mapped_column(sa.String(64))
    due_days: Mapped[int | None] = mapped_column(sa.Integer)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by: Mapped[str | None] = mapped_column(sa.String(64))
    answered_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(64))


class Delegation(Base):
    """委托: ``deputy`` stands in for ``username`` from ``starts_on`` to ``ends_on`` (China dates,
    both inclusive) unless revoked."""

    __tablename__ = "delegation"
    __table_args__ = (sa.Index("ix_delegation_deputy", "deputy", "ends_on"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    deputy: Mapped[str] = mapped_column(sa.String(64))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str | None] = mapped_column(sa.String(2000))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))


class Notice(Base):
    """One notice in an inbox: addressed to a department (every member sees it) or to one user.
    Written in the transaction of the step that causes it; ``dedup_key`` keeps a repeated cause
    (a reminder job's second run) from writing it twice."""

    __tablename__ = "notice"
    __table_args__ = (
        sa.Index("ix_notice_department", "department_code", "id"),
        sa.Index("ix_notice_username", "username", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    department_code: Mapped[str | None] = mapped_column(sa.String(64))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    # notice (相互通报) | urge (催办) | transfer (转办) | consult (加签) | answer (加签意见)
    # | due_soon | overdue | delegation
    kind: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(400))
    body: Mapped[str | None] = mapped_column(sa.Text)
    instance_id: Mapped[int | None] = mapped_column(sa.Integer)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    link: Mapped[str | None] = mapped_column(sa.String(400))
    sender: Mapped[str | None] = mapped_column(sa.String(200))
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)


class NoticeRead(Base):
    """Who has read which notice (a department's notice is read per member)."""

    __tablename__ = "notice_read"
    notice_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(sa.DateTime)


class NoticeDelivery(Base):
    """A notice's delivery to an outbound channel (the district's messaging platform)."""

    __tablename__ = "notice_delivery"
    __table_args__ = (sa.Index("ix_notice_delivery_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

consult = Consult.__table__
delegation = Delegation.__table__
notice = Notice.__table__
notice_read = NoticeRead.__table__
notice_delivery = NoticeDelivery.__table__
