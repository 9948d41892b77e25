"""``Engine``: the one object the rest of kunflow talks to. It builds the shared context and the
rooms once, and each public operation is one line into the room that holds it:

- ``directory.Directory``: departments, users, bearer tokens;
- ``deployments.Deployments``: deploy and read process definitions;
- ``commands``: start, task commands, instance commands, due timers, messages, casework;
- ``queries``: instances, tasks, and what the task and case pages read;
- ``persistence``: loading and saving workflows, the cascade across instances (used by the
  commands and queries, never called from here directly).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from . import audit, diagram_helpers
from .access import Access, LoginPolicy
from .audit import AuditReport
from .calendar import CalendarService
from .commands import (
    BatchCommands,
    Casework,
    DueTimers,
    InstanceCommands,
    MessageCommands,
    MigrationCommands,
    ProcessDrafts,  # area: versions (issue 11)
    RepairCommands,
    StartCommand,
    TaskCommands,
)
from .commands.consults import ConsultCommands  # consult: 加签 (issue 14)
from .commands.notice_deliveries import NoticeDeliveries  # outbound (issue 14)
from .compaction import raise_iterator_depth
from .context import Context
from .db import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE, make_engine, normalize_url
from .definitions import LoadedSpec, SpecCache
from .deployments import Deployments
from .directory import Directory
from .dto import (
    Actor,
    AttachmentInfo,
    BatchReport,
    DecisionPreview,
    DefinitionInfo,
    DepartmentInfo,
    DeployResult,
    DiagramMarks,
    DraftInfo,
    EventInfo,
    ImportReport,
    IncidentInfo,
    InstanceInfo,
    MessageInfo,
    MessageOutcome,
    MigrationReport,
    ModelReport,
    Page,
    ProcessDraftInfo,  # area: versions (issue 11)
    ProcessSummary,
    RelatedCases,
    TaskContext,
    TaskInfo,
    TaskPauseInfo,
    TokenView,
    TrialResult,
    UserInfo,
    VersionDiff,
)
from .forms import FieldLabel
from .live_cache import LiveCache
from .locks import InstanceLocks, SetupLock
from .model import metadata
from .outbound import CHANNELS_OPTION, NoticeDeliveryInfo, NoticeSender  # outbound (issue 14)
from .persistence import Persistence
from .queries import (
    CaseFileQueries,
    Catalogue,  # area: versions (issue 11)
    Instances,
    Messages,
    RepairQueries,  # area 5 (repair)
    Tasks,
)
from .queries.consults import AskedContext, ConsultInfo, ConsultQueries  # consult (issue 14)
from .queries.decisions import DecisionQueries
from .queries.instances import select_instance_ids
from .queries.trial import TrialRun
from .sandbox import ScriptLimits
from .schema_extensions import SchemaExtension
from .scripting import ServiceRegistry, make_script_engine
from .unit_of_work import UnitOfWork

DEFAULT_MAX_STEP_DATA_BYTES = 1024 * 1024


class Engine:
    """The kunflow runtime around SpiffWorkflow. Thread-safe; one per process."""

    def __init__(
        self,
        database_url: str,
        *,
        live_cache_size: int = 2000,
        sa_engine=None,
        services: ServiceRegistry | None = None,
        max_step_data_bytes: int = DEFAULT_MAX_STEP_DATA_BYTES,
        script_time_limit: float = 2.0,
        script_memory_mb: int = 256,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
        statement_timeout_ms: int = 0,
    ):
        url = normalize_url(database_url)
        db = sa_engine or make_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                      statement_timeout_ms=statement_timeout_ms)
        ctx = Context(
            db=db,
            database_url=url,
            locks=InstanceLocks(db.dialect.name),
            setup_lock=SetupLock(db),
            specs=SpecCache(),
            live=LiveCache(live_cache_size),
            calendar=CalendarService(db),
            services=services or ServiceRegistry(),
            script_limits=ScriptLimits(float(script_time_limit), int(script_memory_mb)),
            max_step_data_bytes=max_step_data_bytes,
        )
        ctx.script_engine = make_script_engine(diagram_helpers.helpers(ctx), ctx.services,
                                               ctx.script_limits)
        raise_iterator_depth()
        self.context = ctx
        self._schemas: list[SchemaExtension] = []
        self._org = Directory(ctx)
        self._deployments = Deployments(ctx)
        self._persistence = persistence = Persistence(ctx, self._deployments)
        store = persistence.store
        self._instances = Instances(ctx, store)
        self._tasks = Tasks(ctx, store)
        self._casefile = CaseFileQueries(ctx, store)
        self._message_reads = Messages(ctx)
        self._start = StartCommand(ctx, persistence, self._deployments)
        self._task_commands = TaskCommands(ctx, persistence)
        self._instance_commands = InstanceCommands(ctx, persistence)
        self._due_timers = DueTimers(ctx, persistence)
        self._messages = MessageCommands(ctx, persistence)
        self._casework = Casework(ctx)
        # issue 11 area 3: decisions (DMN change preview, trial run)
        self._decision_queries = DecisionQueries(ctx)
        self._trial = TrialRun(ctx, persistence, self._deployments)
        # area: versions (issue 11)
        self._catalogue = Catalogue(ctx)
        self._drafts = ProcessDrafts(ctx, self._deployments)

        # area 4: migration, batch
        self._migration = MigrationCommands(ctx, persistence, self._deployments)
        self._batch = BatchCommands(ctx, self._instance_commands)

        # area 5 (repair)
        self._repair = RepairCommands(ctx, persistence)
        self._repair_reads = RepairQueries(ctx, store)

        # >>> handover: 转办 and 委托 (issue 14)
        from .commands.handover import HandoverCommands
        from .delegations import Delegations

        self._handover = HandoverCommands(ctx, self._task_commands)
        self._delegations = Delegations(ctx)
        # <<< handover
        # >>> consult: 加签 (issue 14)
        self._consults = ConsultCommands(ctx, self._task_commands)
        self._consult_reads = ConsultQueries(ctx, store)
        # <<< consult
        # >>> inbox: notices and reminders (issue 14)
        from .queries.notices import Notices
        from .reminders import Reminders

        self._notices = Notices(ctx)
        self._reminders = Reminders(ctx)
        # <<< inbox
        # >>> outbound: notice delivery (issue 14)
        ctx.notice_channels = {}  # channel -> NoticeSender (set_notice_senders)
        self._notice_deliveries = NoticeDeliveries(ctx)
        # <<< outbound
        # >>> obs: health and the figures an operator watches (issue 15)
        from .queries.operations import Operations

        self._operations = Operations(ctx)
        self._completion_listeners: list = []
        # <<< obs
        # >>> workers: heartbeats of background processes (issue 15)
        from .heartbeats import Heartbeats

        self._heartbeats = Heartbeats(ctx)
        # <<< workers

    # ------------------------------------------------------------------ shared parts

    @property
    def db(self):
        """The SQLAlchemy engine."""
        return self.context.db

    @property
    def database_url(self) -> str:
        return self.context.database_url

    @property
    def calendar(self) -> CalendarService:
        return self.context.calendar

    @property
    def services(self) -> ServiceRegistry:
        return self.context.services

    @property
    def setup_lock(self) -> SetupLock:
        return self.context.setup_lock

    @property
    def locks(self) -> InstanceLocks:
        return self.context.locks

    @property
    def live(self) -> LiveCache:
        return self.context.live

    @property
    def specs(self) -> SpecCache:
        return self.context.specs

    @property
    def script_engine(self):
        return self.context.script_engine

    @property
    def script_limits(self) -> ScriptLimits:
        return self.context.script_limits

    @property
    def max_step_data_bytes(self) -> int:
        return self.context.max_step_data_bytes

    @property
    def _save(self):
        """Test seam: the save of one step (``persistence.Store.save``). A test may replace it
        (``monkeypatch.setattr(engine, "_save", failing)``) to make every save go through its
        function, e.g. one that fails for one instance."""
        return self._persistence.store.save

    @_save.setter
    def _save(self, save) -> None:
        self._persistence.store.save = save

    # ------------------------------------------------------------------ schema

    def add_schema(self, extension: SchemaExtension) -> None:
        """Take in an application's own tables (``engine/schema_extensions.py``): created and
        migrated with the engine's. Adding the same extension twice changes nothing."""
        if all(e.name != extension.name for e in self._schemas):
            self._schemas.append(extension)

    def add_read_model(self, observer) -> None:
        """Call ``observer(conn, saved)`` in every save's transaction (``engine/read_models.py``)
        so an application's summary tables change with the step that changes them. Adding the
        same observer twice changes nothing."""
        if observer not in self.context.read_models:
            self.context.read_models.append(observer)

    def create_schema(self) -> None:
        """Create tables directly (tests); production uses ``migrate()``."""
        metadata.create_all(self.context.db)
        for extension in self._schemas:
            extension.metadata.create_all(self.context.db)

    def migrate(self) -> None:
        """Bring the database schema to the newest Alembic revision of every branch, the
        engine's and the schema extensions' (under the set-up lock: a second node migrating at
        the same moment waits, then finds the schema in place)."""
        from .migrate import upgrade

        with self.context.setup_lock:
            upgrade(self.context.db, extra_versions=[e.versions_dir for e in self._schemas])

    def unit_of_work(self, readonly: bool = False) -> UnitOfWork:
        """A unit of work for an application's own operations on its tables (outside a
        process step): ``with engine.unit_of_work() as uow: ... uow.conn ...; uow.commit()``;
        rolled back unless committed."""
        return self.context.uow(readonly=readonly)

    # >>> audit: the audit log's hash chains (issue 15)
    def verify_audit(self, anchors=()) -> AuditReport:
        """Check every chain of the audit log (``engine/audit.py``): the number of events and
        chains, and the first broken link of each broken chain; and the log against each of
        ``anchors`` (lines ``audit_anchor`` gave; AnchorError for a line that is not one)."""
        anchors = list(anchors)
        for line in anchors:
            audit.parse_anchor(line)
        return audit.verify_database(self.context.db, anchors)

    def audit_anchor(self, settle: timedelta = audit.ANCHOR_SETTLE) -> str:
        """An anchor line of the audit log as it stands (events of the last ``settle`` left
        out), to keep outside the database for ``verify_audit``."""
        with self.context.uow(readonly=True) as uow:
            return audit.make_anchor(uow.conn, settle)
    # <<< audit

    # ------------------------------------------------------------------ directory

    def sync_org(self, departments: list[DepartmentInfo], users: list[UserInfo],
                 initial_password_hash: str | None = None) -> int:
        """Insert or update departments and users; see ``Directory.sync_org``."""
        return self._org.sync_org(departments, users, initial_password_hash)

    def list_departments(self) -> list[DepartmentInfo]:
        return self._org.list_departments()

    def get_user(self, username: str) -> UserInfo | None:
        return self._org.get_user(username)

    def list_users(self, department_code: str | None = None) -> list[UserInfo]:
        return self._org.list_users(department_code)

    def store_token(self, token_hash: str, username: str, ttl: timedelta) -> datetime:
        return self._org.store_token(token_hash, username, ttl)

    def revoke_token(self, token_hash: str) -> bool:
        return self._org.revoke_token(token_hash)

    def purge_expired_tokens(self) -> int:
        return self._org.purge_expired_tokens()

    def user_for_token(self, token_hash: str) -> UserInfo | None:
        return self._org.user_for_token(token_hash)

    def directory(self) -> dict[str, str]:
        """Department names and codes -> code (refreshed every 30 s, or after ``sync_org``)."""
        return self.context.directory()

    def department_kinds(self) -> dict[str, tuple[str, ...]]:
        """Department kind (``street``, ``town``, ``bureau`` …) -> sorted codes (dotted kinds
        under each group they name: ``routing.kind_groups``), refreshed with ``directory``."""
        return self.context.department_kinds()

    # ------------------------------------------------------------------ definitions

    def deploy(self, filename: str, bpmn: bytes, files: dict[str, bytes] | None = None,
               actor: Actor | None = None, comment: str | None = None) -> DeployResult:
        """Validate and store a BPMN file as a new version of its key (``comment``: the
        admin's note on the version); see ``Deployments.deploy``."""
        return self._deployments.deploy(filename, bpmn, files, actor, comment=comment)

    def list_definitions(self) -> list[DefinitionInfo]:
        """The newest version of every process key."""
        return self._deployments.list_definitions()

    def get_definition(self, key: str, version: int | None = None) -> DefinitionInfo:
        return self._deployments.get_definition(key, version)

    def list_definition_versions(self, key: str) -> list[DefinitionInfo]:
        return self._deployments.list_definition_versions(key)

    def get_definition_xml(self, key: str, version: int | None = None) -> str:
        return self._deployments.get_definition_xml(key, version)

    def startable_definitions(self, actor: Actor) -> list[DefinitionInfo]:
        """The newest version of each process the actor may start by hand."""
        return self._deployments.startable_definitions(actor)

    def spec(self, definition_id: int) -> LoadedSpec:
        """A deployed definition version as parsed: its SpiffWorkflow specs, forms and typed
        task infos (cached)."""
        return self.context.spec(definition_id)

    # ------------------------------------------------------------------ instances

    def start(self, process_key: str, actor: Actor, business_key: str | None = None,
              title: str | None = None, data: dict | None = None) -> InstanceInfo:
        """Start the newest version of ``process_key`` and run it to its first wait state; a
        case without a business key gets one (``commands.start.new_business_key``)."""
        return self._start.start(process_key, actor, business_key, title, data)

    def get_instance(self, instance_id: int, actor: Actor, with_data: bool = False
                     ) -> InstanceInfo:
        return self._instances.get_instance(instance_id, actor, with_data)

    def list_instances(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        process_key: str | None = None,
        business_key: str | None = None,
        started_by: str | None = None,
        stage: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
        count_only: bool = False,
        version: int | None = None,
        department: str | None = None,
        business_key_contains: str | None = None,
    ) -> Page:
        """Instances the actor may see; see ``Instances.list_instances``."""
        return self._instances.list_instances(
            actor, status=status, process_key=process_key, business_key=business_key,
            started_by=started_by, stage=stage, q=q, limit=limit, offset=offset,
            count_only=count_only, version=version, department=department,
            business_key_contains=business_key_contains)

    def list_events(self, instance_id: int, actor: Actor) -> list[EventInfo]:
        return self._instances.list_events(instance_id, actor)

    def list_incidents(self, actor: Actor, *, instance_id: int | None = None,
                       open_only: bool = True) -> list[IncidentInfo]:
        """Incidents (newest first) for process admins, supervisors and leaders."""
        return self._instances.list_incidents(actor, instance_id=instance_id,
                                              open_only=open_only)

    def suspend(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._instance_commands.suspend(instance_id, actor, reason)

    def resume(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._instance_commands.resume(instance_id, actor, reason)

    def terminate(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._instance_commands.terminate(instance_id, actor, reason)

    def retry_incident(self, instance_id: int, actor: Actor, data: dict | None = None
                       ) -> InstanceInfo:
        """Run the failed step again, after merging ``data`` (the fix) into its task data."""
        return self._instance_commands.retry_incident(instance_id, actor, data)

    # ------------------------------------------------------------------ tasks

    def list_tasks(
        self,
        actor: Actor,
        *,
        scope: str = "department",
        state: str | None = None,
        process_key: str | None = None,
        instance_id: int | None = None,
        stage: str | None = None,
        light: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
        count_only: bool = False,
    ) -> Page:
        """Task rows by scope, filters and sort; see ``Tasks.list_tasks``."""
        return self._tasks.list_tasks(
            actor, scope=scope, state=state, process_key=process_key, instance_id=instance_id,
            stage=stage, light=light, q=q, sort=sort, limit=limit, offset=offset,
            count_only=count_only)

    def light_bounds(self) -> tuple[datetime, datetime]:
        """(now, end of the next working day's window), for ``engine.traffic_light``."""
        return self._tasks.light_bounds()

    def get_task(self, task_id: str, actor: Actor, with_data: bool = True) -> TaskInfo:
        return self._tasks.get_task(task_id, actor, with_data)

    def list_task_pauses(self, task_id: str, actor: Actor) -> list[TaskPauseInfo]:
        return self._tasks.list_task_pauses(task_id, actor)

    def claim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self._task_commands.claim(task_id, actor)

    def unclaim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self._task_commands.unclaim(task_id, actor)

    def reassign(self, task_id: str, actor: Actor, username: str) -> TaskInfo:
        return self._task_commands.reassign(task_id, actor, username)

    def complete(self, task_id: str, actor: Actor, data: dict | None = None,
                 check_files: bool = False) -> TaskInfo:
        """Complete a ready human task with the submitted data and run the engine on;
        ``check_files``: the form's file fields must cite this case's attachments. The
        completion listeners (``on_task_completed``) hear of it once it is committed."""
        done = self._task_commands.complete(task_id, actor, data, check_files)
        self._completed(done)  # obs (issue 15)
        return done

    def pause_task(self, task_id: str, actor: Actor, reason: str | None = None) -> TaskInfo:
        """Stop a task's deadline clock, where the diagram allows it."""
        return self._task_commands.pause_task(task_id, actor, reason)

    def resume_task(self, task_id: str, actor: Actor) -> TaskInfo:
        """Restart the clock; the due time moves by the working days it stood still."""
        return self._task_commands.resume_task(task_id, actor)

    def send_back(self, task_id: str, actor: Actor, target: str, reason: str) -> TaskInfo:
        """Return the case to an earlier user task that the diagram allows (退回)."""
        return self._task_commands.send_back(task_id, actor, target, reason)

    # ------------------------------------------------------------------ timers, messages

    def fire_due_timers(self, limit: int = 200) -> int:
        """Advance instances whose next timer is due; see ``DueTimers.fire_due_timers``."""
        return self._due_timers.fire_due_timers(limit)

    def correlate_message(self, name: str, correlation_key: str | None, payload=None,
                          actor: Actor | None = None, ttl_days: int | None = 30
                          ) -> MessageOutcome:
        """Deliver a message from outside, start a process with it, or keep it waiting."""
        return self._messages.correlate_message(name, correlation_key, payload, actor,
                                                ttl_days)

    # ------------------------------------------------------------------ case files

    def task_context(self, task_id: str, actor: Actor) -> TaskContext:
        """What a task page needs besides the task row."""
        return self._casefile.task_context(task_id, actor)

    def case_tasks(self, instance_id: int, actor: Actor) -> list[TaskInfo]:
        """Every task row of a case the actor may see, oldest first."""
        return self._casefile.case_tasks(instance_id, actor)

    def related_cases(self, instance_id: int, actor: Actor) -> RelatedCases:
        """The calling case and the called ones the actor may see."""
        return self._casefile.related_cases(instance_id, actor)

    def field_labels(self, instance_id: int) -> dict[str, dict[str, FieldLabel]]:
        """Form key -> data key -> FieldLabel of the forms of the case's definition version."""
        return self._casefile.field_labels(instance_id)

    def stage_options(self, definitions, process_key: str | None = None) -> list[str]:
        """The stages ``definitions`` name, in diagram order."""
        return self._casefile.stage_options(definitions, process_key)

    def start_schema(self, definition: DefinitionInfo) -> dict:
        """A form-js schema for starting a case: name and number, then the start form."""
        return self._casefile.start_schema(definition)

    def diagram_marks(self, instance_id: int, actor: Actor) -> DiagramMarks:
        """Completed, current (open tasks, waiting events) and overdue element ids."""
        return self._casefile.diagram_marks(instance_id, actor)

    def list_attachments(self, instance_id: int, actor: Actor) -> list[AttachmentInfo]:
        return self._casefile.list_attachments(instance_id, actor)

    def find_attachment(self, attachment_id: str, actor: Actor) -> AttachmentInfo:
        """An attachment's row, when the actor may see its case."""
        return self._casefile.find_attachment(attachment_id, actor)

    def check_can_attach(self, actor: Actor, *, instance_id: int | None = None,
                         task_id: str | None = None) -> None:
        """Raise unless the actor may attach a file to the open task or the case (read only;
        ``record_attachment`` checks again as it writes)."""
        self._casework.check_can_attach(actor, instance_id=instance_id, task_id=task_id)

    def record_attachment(self, actor: Actor, *, filename: str, content_type: str, size: int,
                          sha256: str, instance_id: int | None = None,
                          task_id: str | None = None, field: str | None = None
                          ) -> AttachmentInfo:
        """Record a stored file as an attachment of an open task or a case (one unit of
        work that checks and writes)."""
        return self._casework.record_attachment(
            actor, filename=filename, content_type=content_type, size=size, sha256=sha256,
            instance_id=instance_id, task_id=task_id, field=field)

    def save_draft(self, task_id: str, actor: Actor, data: dict) -> DraftInfo:
        return self._casework.save_draft(task_id, actor, data)

    def get_draft(self, task_id: str, actor: Actor) -> DraftInfo | None:
        return self._casefile.get_draft(task_id, actor)

    def discard_draft(self, task_id: str) -> None:
        self._casework.discard_draft(task_id)

    def add_comment(self, instance_id: int, actor: Actor, text: str,
                    task_id: str | None = None) -> None:
        """A comment on a case or one of its tasks (an event of kind ``comment``)."""
        self._casework.add_comment(instance_id, actor, text, task_id)

    # ------------------------------------------------------------------ workflows, command line

    def close(self) -> None:
        """Release the database connections (the end of a command-line run, a test, a process).
        The engine can still be used afterwards: it connects again when asked."""
        self.context.db.dispose()

    def make_access(self, *, policy: LoginPolicy | None = None,
                    session_idle: timedelta = timedelta(hours=8)) -> Access:
        """Sessions and the login throttle (``Access``) on this engine's database, with the
        policy and idle limit that whoever holds the settings chose."""
        return Access(self.context.db, policy=policy, session_idle=session_idle)

    def next_timer_due(self) -> datetime | None:
        """When the earliest timer of a running instance falls due (naive UTC); None when no
        running instance waits for one. ``fire_due_timers`` advances those due by now."""
        return self._instances.next_timer_due()

    def count_instances_by_stage(self, process_key: str) -> dict[str | None, int]:
        """How many instances of ``process_key`` stand at each stage, whatever their status."""
        return self._instances.count_by_stage(process_key)

    def list_messages(self, names: list[str] | tuple[str, ...], *,
                      correlation_key: str | None = None, limit: int = 500) -> list[MessageInfo]:
        """Messages called one of ``names`` (thrown by a diagram or posted from outside,
        delivered or still waiting), newest first."""
        return self._message_reads.list_messages(names, correlation_key=correlation_key,
                                                 limit=limit)

    # ------------------------------------------------------------------ issue 11 area 3: decisions

    def preview_decision_change(self, key: str, actor: Actor,
                                files: dict[str, str] | None = None, limit: int = 200
                                ) -> list[DecisionPreview]:
        """The draft's decision tables (or ``files``') against the newest ``limit`` recorded
        evaluations of each: the cases whose outcome would change."""
        return self._decision_queries.preview_decision_change(key, actor, files, limit)

    def trial_run(self, key: str, actor: Actor, bpmn_xml: str | None = None,
                  files: dict[str, str] | None = None, start_data: dict | None = None,
                  steps=()) -> TrialResult:
        """Run the process (given XML, else its draft, else its newest version) in memory
        through ``steps``; nothing is stored."""
        return self._trial.trial_run(key, actor, bpmn_xml, files, start_data, steps)

    # ------------------------------------------------------------------ area 4: migration, batch

    def migrate_instances(self, actor: Actor, instance_ids, target_version: int,
                          mapping: dict[str, str] | None = None, dry_run: bool = False,
                          process_key: str | None = None) -> MigrationReport:
        """Move running cases to another version, one unit of work each (``dry_run``: only
        the checks); see ``commands.migration``."""
        return self._migration.migrate_instances(actor, instance_ids, target_version, mapping,
                                                 dry_run, process_key)

    def batch_instances(self, actor: Actor, action: str, instance_ids, reason: str
                        ) -> BatchReport:
        """Suspend, resume or terminate each instance in its own unit of work."""
        return self._batch.batch_instances(actor, action, instance_ids, reason)

    def select_instance_ids(self, actor: Actor, *, process_key: str | None = None,
                            version: int | None = None, status: str | None = None,
                            stage: str | None = None, department: str | None = None,
                            business_key_contains: str | None = None) -> list[int]:
        """Ids of all instances matching the admin's filters, oldest first; more than
        ``MAX_SELECTED`` (5,000) matching is refused (InvalidInput: narrow the filter)."""
        return select_instance_ids(
            self.context, actor, process_key=process_key, version=version, status=status,
            stage=stage, department=department, business_key_contains=business_key_contains)
    # ------------------------------------------------------------------ area: versions (issue 11)

    def process_catalogue(self, actor: Actor) -> list[ProcessSummary]:
        """Every process with its versions (comment, cases running / ended) and its draft."""
        return self._catalogue.process_catalogue(actor)

    def get_definition_file(self, key: str, version: int, filename: str,
                            actor: Actor | None = None) -> str:
        """The text of a DMN / form file deployed with a version."""
        return self._catalogue.get_definition_file(key, version, filename, actor)

    def get_process_draft(self, key: str, actor: Actor) -> ProcessDraftInfo | None:
        """The draft of ``key``, else its newest version as the start of one (revision 0)."""
        return self._catalogue.get_process_draft(key, actor)

    def save_process_draft(self, key: str, actor: Actor, bpmn_xml: str,
                           files: dict[str, str] | None = None, base_version: int | None = None,
                           revision: int | None = None) -> ProcessDraftInfo:
        """Store the draft (Conflict when ``revision`` is stale); see ``ProcessDrafts.save``."""
        return self._drafts.save(key, actor, bpmn_xml, files, base_version, revision)

    def discard_process_draft(self, key: str, actor: Actor) -> bool:
        return self._drafts.discard(key, actor)

    def deploy_process_draft(self, key: str, actor: Actor, comment: str | None = None
                             ) -> DeployResult:
        """Deploy the draft as the next version with ``comment``; the draft goes with it."""
        return self._drafts.deploy(key, actor, comment)

    def new_process_draft(self, key: str, name: str, actor: Actor, template: str = "blank"
                          ) -> ProcessDraftInfo:
        """The draft of a new process from a template ("blank", or an existing key)."""
        return self._drafts.new(key, name, actor, template)

    def diff_versions(self, key: str, a, b, actor: Actor | None = None) -> VersionDiff:
        """What changed from version ``a`` to ``b`` (a version number or "draft")."""
        return self._catalogue.diff_versions(key, a, b, actor)

    # ------------------------------------------------------------------ area 5: repair

    def skip_incident(self, instance_id: int, actor: Actor, reason: str,
                      data: dict | None = None) -> InstanceInfo:
        """Complete the step an incident stopped on without running it (``data`` merged as its
        result); the case goes on."""
        return self._repair.skip_incident(instance_id, actor, reason, data)

    def instance_tokens(self, instance_id: int, actor: Actor) -> TokenView:
        """The case's active tokens and the elements a token may be moved to or added at."""
        return self._repair_reads.instance_tokens(instance_id, actor)

    def move_token(self, instance_id: int, actor: Actor, cancel: list[str] | None = None,
                   activate: str | None = None, reason: str | None = None) -> InstanceInfo:
        """Cancel the active tokens of ``cancel`` and/or put a token on ``activate``."""
        return self._repair.move_token(instance_id, actor, cancel, activate, reason)

    # ------------------------------------------------------------------ area "checks": model
    # check and import of other modelers' diagrams (issue 11)

    def validate_model(self, filename: str, bpmn: bytes, files: dict[str, bytes] | None = None,
                       actor: Actor | None = None) -> ModelReport:
        """The checks a deploy runs, without deploying: errors block a deploy, warnings not."""
        return self._deployments.validate_model(filename, bpmn, files, actor)

    def import_model(self, filename: str, bpmn: bytes, actor: Actor | None = None,
                     key: str | None = None) -> ImportReport:
        """A diagram exported by another modeler, translated into kunflow's dialect, with each
        translation and what cannot run listed per element; its process renamed ``key``."""
        return self._deployments.import_model(filename, bpmn, actor, key)

    # >>> handover: 转办 and 委托 (issue 14)
    def transfer(self, task_id: str, actor: Actor, to: str | None, reason: str) -> TaskInfo:
        """转办: hand the task to ``to`` (a username) or back to the department queue (None)."""
        return self._handover.transfer(task_id, actor, to, reason)

    def transfer_candidates(self, task_id: str, actor: Actor) -> list[tuple[str, str, str]]:
        """(username, display name, department) the actor may hand the task to; empty when the
        actor may not hand it."""
        return self._handover.transfer_candidates(task_id, actor)

    def stand_in_for(self, task_id: str, actor: Actor) -> str | None:
        """The user the actor would work the task for as their stand-in now (委托), else None."""
        return self._handover.stand_in_for(task_id, actor)

    def set_delegation(self, actor: Actor, username: str, deputy: str, starts_on, ends_on,
                       reason: str | None = None):
        """委托: ``deputy`` stands in for ``username`` from ``starts_on`` to ``ends_on``."""
        return self._delegations.set_delegation(actor, username, deputy, starts_on, ends_on,
                                                reason)

    def revoke_delegation(self, actor: Actor, delegation_id: int):
        return self._delegations.revoke_delegation(actor, delegation_id)

    def list_delegations(self, actor: Actor, *, username: str | None = None,
                         include_past: bool = False):
        return self._delegations.list_delegations(actor, username=username,
                                                  include_past=include_past)

    def active_principals(self, actor: Actor):
        """The users the actor stands in for today."""
        return self._delegations.principals(actor)
    # <<< handover

    # >>> consult: 加签 (issue 14)

    def ask_opinion(self, task_id: str, actor: Actor, question: str, departments=(),
                    users=(), due_days: int = 3) -> list[ConsultInfo]:
        """The holder of a task asks departments (codes or names) and/or users for an opinion
        within ``due_days`` working days (前加签: the task waits for the answers)."""
        return self._consults.ask(task_id, actor, question, departments, users, due_days)

    def answer_opinion(self, task_id: str, actor: Actor, opinion: str,
                       agree: bool | None = None) -> ConsultInfo:
        """Answer an asked (加签) task; the same as completing it with ``{"opinion": ...}``."""
        return self._consults.answer(task_id, actor, opinion, agree)

    def withdraw_opinion(self, consult_task_id: str, actor: Actor,
                         reason: str | None = None) -> ConsultInfo:
        """Withdraw an open 加签 request (its requester, the task's holder, the head)."""
        return self._consults.withdraw(consult_task_id, actor, reason)

    def list_opinions(self, task_id: str, actor: Actor) -> list[ConsultInfo]:
        """The 加签 requests asked on a task; for an asked task, its own request."""
        return self._consult_reads.list_opinions(task_id, actor)

    def asked_context(self, task_id: str, actor: Actor) -> AskedContext | None:
        """For an asked task: its request and the asked-on task's data (read only)."""
        return self._consult_reads.asked_context(task_id, actor)

    def waiting_opinions(self, actor: Actor, limit: int = 50) -> list[ConsultInfo]:
        """Open unclaimed 加签 requests to the actor's department."""
        return self._consult_reads.waiting_for_department(actor, limit)

    # <<< consult

    # >>> inbox: notices and reminders (issue 14)

    def list_notices(self, actor: Actor, *, unread: bool = False, kind: str | None = None,
                     limit: int = 50, offset: int = 0) -> Page:
        """The actor's notices (``NoticeInfo``: to them and to their department), newest
        first; ``unread`` only those the actor has not read; ``kind`` one kind."""
        return self._notices.list_notices(actor, unread=unread, kind=kind, limit=limit,
                                          offset=offset)

    def unread_notice_count(self, actor: Actor) -> int:
        """How many of the actor's notices the actor has not read."""
        return self._notices.unread_notice_count(actor)

    def get_notice(self, actor: Actor, notice_id: int):
        """One of the actor's notices (NotFound for any other)."""
        return self._notices.get_notice(actor, notice_id)

    def mark_notice_read(self, actor: Actor, notice_id: int):
        """Mark one of the actor's notices read (NotFound for any other); the notice."""
        return self._notices.mark_notice_read(actor, notice_id)

    def mark_notices_read(self, actor: Actor, ids) -> int:
        """Mark the actor's notices among ``ids`` read (others ignored); how many."""
        return self._notices.mark_notices_read(actor, ids)

    def mark_all_notices_read(self, actor: Actor) -> int:
        """Mark every unread notice of the actor read; how many."""
        return self._notices.mark_all_notices_read(actor)

    def send_deadline_reminders(self, now: datetime | None = None, limit: int = 500) -> int:
        """Notices for open tasks due within one working day (``due_soon``) or past due
        (``overdue``), each once per due time; see ``engine/reminders.py``."""
        return self._reminders.send_deadline_reminders(now, limit)
    # <<< inbox

    # >>> outbound: notice delivery (issue 14)
    def set_notice_senders(self, senders) -> None:
        """Deliver every notice written from now on to these outbound channels
        (``engine/outbound.py``: one ``notice_delivery`` row per channel, sent by
        ``deliver_notices``). An empty list switches outbound delivery off. The channels are
        an option of the database engine, so every Engine on the same one shares them."""
        channels = {}
        for sender in senders:
            if not isinstance(sender, NoticeSender):
                raise TypeError(f"{sender!r} is not a notice sender (channel, send)")
            if sender.channel in channels:
                raise ValueError(f"two senders for the channel {sender.channel!r}")
            channels[sender.channel] = sender
        self.context.notice_channels = channels
        self.context.db.update_execution_options(
            **{CHANNELS_OPTION: tuple(sorted(channels))})

    def deliver_notices(self, now: datetime | None = None, limit: int = 100) -> dict:
        """The scheduler's run: send due notice deliveries, retry with backoff, give up after
        the last attempt; ``{"sent", "retrying", "failed"}`` counts of this run."""
        return self._notice_deliveries.deliver_notices(now, limit)

    def list_notice_deliveries(self, actor: Actor, status: str | None = None, limit: int = 50,
                               offset: int = 0) -> Page:
        """Outbound deliveries of notices, newest first (admins only)."""
        return self._notice_deliveries.list_notice_deliveries(actor, status, limit, offset)

    def retry_notice_delivery(self, actor: Actor, delivery_id: int) -> NoticeDeliveryInfo:
        """A failed delivery pending again now (admins only)."""
        return self._notice_deliveries.retry_notice_delivery(actor, delivery_id)
    # <<< outbound

    # >>> workers: heartbeats of background processes (issue 15)
    def beat(self, name: str, kind: str, node: str, pid: int, started_at: datetime) -> datetime:
        """The background process ``name`` (``kind`` "scheduler", on host ``node``, process
        ``pid``, running since ``started_at``) is alive now: its heartbeat row is upserted."""
        return self._heartbeats.beat(name, kind, node, pid, started_at)

    def heartbeats(self, kind: str | None = None) -> list[dict]:
        """The background processes that have beaten (of ``kind``), latest beat first: dicts
        with name, kind, node, pid, started_at, beat_at (naive UTC)."""
        return self._heartbeats.heartbeats(kind)

    def end_beat(self, name: str) -> bool:
        """The process ``name`` stops on purpose: its heartbeat row is removed."""
        return self._heartbeats.end(name)

    def purge_heartbeats(self, before: datetime) -> int:
        """Remove the rows of processes that last beat before ``before``; how many."""
        return self._heartbeats.purge(before)
    # <<< workers
    # >>> obs: health and the figures an operator watches (issue 15)
    def ping(self) -> None:
        """``SELECT 1``: raises when the database cannot be reached."""
        self._operations.ping()

    def operational_figures(self, now: datetime | None = None) -> dict:
        """Waiting work in cheap counts: incidents open, timers due and the oldest due time,
        open tasks by state, pending notice deliveries, pending messages
        (``queries.operations.Operations.operational_figures``)."""
        return self._operations.operational_figures(now)

    def on_task_completed(self, listener) -> None:
        """Call ``listener(task_info)`` after each completion through ``complete`` has
        committed (a metrics counter). A failing listener is logged, never the caller's
        problem: the completion stands."""
        if listener not in self._completion_listeners:
            self._completion_listeners.append(listener)

    def _completed(self, done: TaskInfo) -> None:
        for listener in self._completion_listeners:
            try:
                listener(done)
            except Exception:
                logging.getLogger("kunflow.engine").exception("completion listener failed")
    # <<< obs
