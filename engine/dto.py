"""Frozen data the engine returns: no ORM rows or SpiffWorkflow objects leave the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime

# A human task that is still to be done: waiting in its department's queue, or claimed.
OPEN_STATES = ("ready", "claimed")

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
    comment: str | None = None  # the process admin's note on this version (issue 11)


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
    # 加签: this task asks for an opinion on that task (None: a step of the workflow)
    parent_task_id: str | None = None
    # 委托: the user the assignee / completer stood in for
    on_behalf_of: str | None = None
    # 转办: the last hand-over (by whom, when, why)
    handed_by: str | None = None
    handed_at: datetime | None = None
    hand_reason: str | None = None


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


@dataclass(frozen=True)
class AttachmentInfo:
    id: str
    instance_id: int
    task_id: str | None
    field: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


@dataclass(frozen=True)
class DraftInfo:
    task_id: str
    username: str
    data: dict
    saved_at: datetime


@dataclass(frozen=True)
class DiagramMarks:
    definition_key: str
    definition_version: int
    completed: tuple
    current: tuple
    overdue: tuple
    # element id -> open task id, for links from the diagram to the task page
    task_links: dict


class DictBridge:
    """Compatibility bridge of the DTOs below, which replaced dicts: ``x["field"]``,
    ``x.get("field")``, ``dict(x)`` and ``x == {...}`` read as they did on the dict (the web
    layer's serializers and the tests read them so). New code reads attributes; ``to_dict()``
    gives the dict the method returned before."""

    __slots__ = ()

    def keys(self) -> tuple[str, ...]:
        """The keys the dict had: every field."""
        return tuple(f.name for f in fields(self))

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.keys()}

    def __getitem__(self, key: str):
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default=None):
        return getattr(self, key) if key in self.keys() else default

    def __contains__(self, key) -> bool:
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __eq__(self, other) -> bool:
        if isinstance(other, DictBridge | Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a dict, so unhashable like one


@dataclass(frozen=True, eq=False)
class IncidentInfo(DictBridge):
    """An incident with its case's process key and business key (``Engine.list_incidents``)."""

    id: int
    instance_id: int
    task_id: str | None
    element_id: str | None
    message: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    process_key: str
    business_key: str | None
    # -- area 5 (repair): what the incident page shows besides the row
    element_name: str | None = None  # the failing element's name (its id when unnamed)
    element_type: str | None = None  # BPMN type as bpmn-js names it: ScriptTask, ServiceTask …
    definition_version: int | None = None  # the version of the process the case runs on
    title: str | None = None
    # The failing task's data (open incidents only), each value at most a few KB; a larger
    # value is replaced by the start of its JSON text, and ``data_truncated`` says so.
    data: dict | None = None
    data_truncated: bool = False


@dataclass(frozen=True, eq=False)
class TaskPauseInfo(DictBridge):
    """One stop of a task's deadline clock (``Engine.list_task_pauses``)."""

    id: int
    task_id: str
    paused_at: datetime
    paused_by: str | None
    reason: str | None
    resumed_at: datetime | None
    resumed_by: str | None


@dataclass(frozen=True, eq=False)
class MessageOutcome(DictBridge):
    """What ``Engine.correlate_message`` did: ``delivered`` to or ``started`` an instance
    (``instance_id``), or the message is ``waiting`` (``message_id``)."""

    status: str
    instance_id: int | None = None
    message_id: int | None = None

    def keys(self) -> tuple[str, ...]:
        """As the dict had them: ``status`` and the id that applies."""
        return tuple(k for k in ("status", "instance_id", "message_id")
                     if getattr(self, k) is not None)


@dataclass(frozen=True, eq=False)
class TaskContext(DictBridge):
    """What a task page needs besides the task row (``Engine.task_context``)."""

    process_name: str
    form: dict | None  # the task's form-js schema
    send_back_targets: tuple  # (element id, name) of each task it may be sent back to
    pausable: bool
    can_work: bool  # the actor may claim and complete it
    instance_status: str


@dataclass(frozen=True, eq=False)
class CaseRef(DictBridge):
    """A related case, as a case page links it."""

    id: int
    process_key: str
    title: str | None
    status: str
    business_key: str | None


@dataclass(frozen=True, eq=False)
class RelatedCases(DictBridge):
    """The calling case and the called ones that the actor may see (``Engine.related_cases``)."""

    parent: CaseRef | None
    children: tuple  # of CaseRef


# ---------------------------------------------------------------- issue 11 area 3: decisions
# (DMN change preview, trial run)


@dataclass(frozen=True)
class DecisionChange:
    """A recorded evaluation whose outcome the draft's table changes (``after`` None and
    ``error`` set: the draft's table cannot be evaluated on these inputs)."""

    instance_id: int
    business_key: str | None
    title: str | None
    element_id: str | None
    inputs: dict
    before: dict
    after: dict | None
    at: datetime | None = None  # when the recorded evaluation ran
    error: str | None = None


@dataclass(frozen=True)
class DecisionPreview:
    """One decision table of the draft against its newest recorded evaluations."""

    file: str
    decision_id: str
    evaluated: int
    changed: tuple  # of DecisionChange
    name: str | None = None


@dataclass(frozen=True)
class TrialStep:
    """An element the trial run passed (``skipped``: a service task or call activity that was
    not called)."""

    element_id: str
    name: str | None
    element_type: str
    skipped: bool = False


@dataclass(frozen=True)
class TrialTask:
    """A READY user task of the trial run, routed as a real task would be."""

    element_id: str
    name: str | None
    lane: str | None
    department_code: str | None
    department_name: str | None
    candidate_role: str | None
    form_key: str | None
    form: dict | None
    assignee: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class TrialDecision:
    element_id: str
    decision_id: str
    inputs: dict
    outputs: dict


@dataclass(frozen=True)
class TrialTimer:
    """A timer the trial run reached (not fired): when it would fall due (naive UTC)."""

    element_id: str
    name: str | None
    due: datetime | None


@dataclass(frozen=True)
class TrialMessage:
    """A message the trial run threw (not sent)."""

    name: str
    payload: object = None


@dataclass(frozen=True)
class TrialError:
    element_id: str | None
    message: str


@dataclass(frozen=True)
class TrialResult:
    """The state of a trial run after its start and steps (``status``: running, completed or
    error; ``ended``: the process reached its end)."""

    status: str
    ended: bool
    completed: tuple  # of TrialStep, in the order they ran
    ready: tuple  # of TrialTask
    decisions: tuple  # of TrialDecision
    data: dict
    error: TrialError | None = None
    skipped: tuple = ()  # of TrialStep: service tasks and call activities not called
    timers: tuple = ()  # of TrialTimer
    messages: tuple = ()  # of TrialMessage

# ---------------------------------------------------------------- area 4: migration, batch

@dataclass(frozen=True)
class MigrationResult:
    """One instance of a migration (or its dry run): ``ok`` it moves (moved), else ``reason``
    (Chinese) says why not; ``moves``: (old element id, new element id) of each active
    element; ``rollback``: the target version is older than the case's (allowed: a
    rollback), ``note`` says so in Chinese ("回退到旧版本（v3 → v2）")."""

    instance_id: int
    business_key: str | None
    ok: bool
    reason: str | None = None
    moves: tuple = ()
    from_version: int | None = None
    rollback: bool = False
    note: str | None = None


@dataclass(frozen=True)
class MigrationReport:
    process_key: str
    target_version: int
    dry_run: bool
    results: tuple  # of MigrationResult, in the order asked
    ok_count: int
    refused_count: int


@dataclass(frozen=True)
class BatchResult:
    """One instance of a batch suspend / resume / terminate: its status afterwards (or as it
    was, when the action failed with ``reason``)."""

    instance_id: int
    ok: bool
    status: str | None
    reason: str | None = None


@dataclass(frozen=True)
class BatchReport:
    action: str
    results: tuple  # of BatchResult
    ok_count: int
    failed_count: int

# ------------------------------------------------------------------ area: versions (issue 11)


@dataclass(frozen=True)
class ProcessDraftInfo:
    """A process admin's draft of one process key: the BPMN and its DMN / form files.

    ``revision`` 0: nothing is stored yet, this is the newest version offered as the start
    of a draft (``Engine.get_process_draft``); the first save stores revision 1."""

    process_key: str
    bpmn_xml: str
    files: dict  # filename -> text
    base_version: int | None  # the version it started from (None: a new process)
    revision: int
    created_by: str | None
    created_at: datetime | None
    updated_by: str | None
    updated_at: datetime | None

    @property
    def saved(self) -> bool:
        return self.revision > 0


@dataclass(frozen=True)
class VersionSummary:
    """One deployed version in the catalogue, with how many of its cases run and ended."""

    id: int
    version: int
    name: str
    filename: str
    deployed_by: str | None
    deployed_at: datetime
    comment: str | None
    running: int  # running, suspended or waiting on an incident
    done: int  # completed or terminated
    files: tuple  # its DMN / form file names


@dataclass(frozen=True)
class ProcessSummary:
    """A process key in the catalogue: its versions (newest first) and its draft, if any."""

    key: str
    name: str
    versions: tuple  # of VersionSummary
    draft: ProcessDraftInfo | None


@dataclass(frozen=True)
class PropertyChange:
    """One property of an element, rule or form field, before and after (None: absent)."""

    property: str
    label: str  # what the page calls it (Chinese)
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ElementChange:
    """A diagram element added, removed or changed between two versions."""

    element_id: str
    element_type: str  # BPMN local name: userTask, sequenceFlow, lane, process …
    name: str | None
    change: str  # added | removed | changed
    properties: tuple = ()  # of PropertyChange (for added / removed: every property it has)


@dataclass(frozen=True)
class DecisionRuleChange:
    """A rule of a decision table added, removed or changed: its entries by column label."""

    rule_id: str
    change: str  # added | removed | changed
    before: dict | None  # {"inputs": {label: text}, "outputs": {label: text}, "description"}
    after: dict | None
    properties: tuple = ()  # of PropertyChange: each entry that differs


@dataclass(frozen=True)
class DecisionDiff:
    """The changes of one decision table (matched by decision id)."""

    file: str
    decision_id: str
    name: str | None
    change: str  # added | removed | changed
    properties: tuple = ()  # of PropertyChange: hit policy, columns
    rules: tuple = ()  # of DecisionRuleChange


@dataclass(frozen=True)
class FormFieldChange:
    key: str
    label: str | None
    field_type: str | None
    change: str  # added | removed | changed
    properties: tuple = ()  # of PropertyChange: label, type, validate.* …


@dataclass(frozen=True)
class FormDiff:
    """The changes of one form file (matched by file name)."""

    file: str
    change: str  # added | removed | changed
    fields: tuple = ()  # of FormFieldChange


@dataclass(frozen=True)
class VersionDiff:
    """What changed from ``a`` to ``b`` (a version number, or "draft")."""

    process_key: str
    a: str
    b: str
    elements: tuple  # of ElementChange
    decisions: tuple  # of DecisionDiff
    forms: tuple  # of FormDiff
    files_added: tuple = ()
    files_removed: tuple = ()

    @property
    def empty(self) -> bool:
        return not (self.elements or self.decisions or self.forms or self.files_added
                    or self.files_removed)

# ------------------------------------------------------------------ area 5: repair (tokens)


@dataclass(frozen=True)
class ActiveToken:
    """An active element of a case: a ready or running task, a waiting event, a failed step."""

    task_id: str
    element_id: str
    name: str | None
    element_type: str
    state: str  # ready | started | waiting | error
    scope: str = ""  # id of the (sub-)process it runs in


@dataclass(frozen=True)
class TokenTarget:
    """An element that may receive a token (``Engine.move_token``'s ``activate``)."""

    element_id: str
    name: str | None
    element_type: str
    scope: str = ""  # id of the (sub-)process it belongs to


@dataclass(frozen=True)
class TokenView:
    """The active tokens of a case and the elements a token may be moved to or added at."""

    instance_id: int
    status: str
    active: tuple = ()  # of ActiveToken
    targets: tuple = ()  # of TokenTarget

# ------------------------------------------------------------------ area "checks" (issue 11):
# the model check of a diagram and the import of diagrams from other modelers


@dataclass(frozen=True, eq=False)
class Problem(DictBridge):
    """One finding of the model check or the import, pointing at an element of the diagram.

    ``rule``: ``kunflow/...`` (the rule codes the browser's lint uses too), ``kunflow/parse``
    (what the engine's parser refuses) or ``import/...``; ``hint``: what to change.
    """

    element_id: str | None
    element_type: str | None
    rule: str
    message: str
    hint: str = ""
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, eq=False)
class ModelReport(DictBridge):
    """``Engine.validate_model``: errors block a deploy, warnings do not."""

    errors: tuple  # of Problem
    warnings: tuple  # of Problem

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, eq=False)
class Translation(DictBridge):
    """What the import rewrote, for the admin to confirm."""

    element_id: str | None
    kind: str  # timer, condition, candidate_group, assignee, form_key, due, decision …
    original: str
    translated: str


@dataclass(frozen=True, eq=False)
class ImportReport(DictBridge):
    """``Engine.import_model``: the diagram in kunflow's dialect and what stands in its way."""

    key: str | None
    name: str | None
    bpmn_xml: str
    executable: bool
    translations: tuple  # of Translation
    problems: tuple  # of Problem


# >>> inbox: notices (issue 14)
@dataclass(frozen=True, eq=False)
class NoticeInfo(DictBridge):
    """A notice in a user's inbox (``Engine.list_notices``): to the user, or to the user's
    department. ``read_at``: when this user read it (None: unread)."""

    id: int
    kind: str  # engine.NOTICE_KINDS
    subject: str
    body: str | None
    department_code: str | None  # addressed to the department (username None)
    username: str | None  # addressed to one user
    instance_id: int | None
    task_id: str | None
    link: str | None
    sender: str | None
    created_at: datetime
    read_at: datetime | None
    business_key: str | None = None  # of the case, when instance_id is set
    title: str | None = None

    @property
    def target(self) -> str | None:
        """Where the notice leads: its task, else its case, else its own link."""
        if self.task_id:
            return f"/tasks/{self.task_id}"
        if self.instance_id is not None:
            return f"/cases/{self.instance_id}"
        return self.link
# <<< inbox
