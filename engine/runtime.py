"""Engine commands. Each public command is one unit of work: load, act, save, commit."""

from __future__ import annotations

import json
import re
import threading
import time
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import routing
from .access import Access, LoginPolicy, end_user_access, user_info
from .calendar import CalendarService, date_only, end_of_local_day
from .clock import utcnow
from .compaction import (
    compact_workflow,
    prune_event_manager,
    raise_iterator_depth,
    restore_boundary_events,
    send_back_targets,
)
from .db import make_engine, normalize_url
from .definitions import (
    LoadedSpec,
    ParsedDefinition,
    SpecCache,
    checksum,
    parse,
    start_info_from_xml,
)
from .dto import (
    Actor,
    DefinitionInfo,
    DepartmentInfo,
    DeployResult,
    EventInfo,
    InstanceInfo,
    MessageInfo,
    Page,
    TaskInfo,
    UserInfo,
)
from .errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound
from .forms import size_problem
from .forms import validate as validate_form
from .live_cache import LiveCache
from .locks import InstanceLocks, SetupLock
from .messages import (
    message_event,
    message_start_names,
    requested_calls,
    thrown_messages,
    waiting_message_names,
)
from .model import (
    app_user,
    auth_token,
    definition,
    definition_file,
    department,
    event,
    instance,
    message_subscription,
    metadata,
    task,
    task_draft,
    task_pause,
)
from .model import (
    incident as incident_table,
)
from .model import (
    message as message_table,
)
from .projections import ready_human_tasks
from .sandbox import Budget, ScriptLimits, ScriptViolation
from .sandbox import step as sandbox_step
from .scripting import ServiceRegistry, bind_business_key, current_task, make_script_engine
from .serialization import SERIALIZER_VERSION, dump_state, load_state
from .specs import CALL_STATE
from .timers import (
    DUE_OFFSET,
    attached_task,
    hold_deadline_timers,
    next_timer_due,
    release_deadline_timers,
)
from .unit_of_work import UnitOfWork, retry_on_deadlock

OPEN_STATES = ("ready", "claimed")
_MAX_CASCADE = 20  # instances one command may move through calls and messages
_TASK_COLUMNS = [c for c in task.c]
_MAX_PAGE = 500


DEFAULT_MAX_STEP_DATA_BYTES = 1024 * 1024


def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


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
    ):
        self.database_url = normalize_url(database_url)
        # what one step (start, completion, incident fix, message) may add to a case's data:
        # the state is loaded and saved whole at every later step; files are attachments
        self.max_step_data_bytes = int(max_step_data_bytes)
        self.db = sa_engine or make_engine(self.database_url)
        # Commands on one instance queue (engine/locks.py); set-up runs one node at a time.
        self.locks = InstanceLocks(self.db.dialect.name)
        self.setup_lock = SetupLock(self.db)
        self.specs = SpecCache()
        self.live = LiveCache(live_cache_size)
        self.services = services or ServiceRegistry()
        self.calendar = CalendarService(self.db)
        # Diagram code of one instance in one command: at most this long, this much memory
        # (engine/sandbox.py, docs/scripting.md).
        self.script_limits = ScriptLimits(float(script_time_limit), int(script_memory_mb))
        self.script_engine = make_script_engine(self._script_helpers(), self.services,
                                                self.script_limits)
        self._directory: dict[str, str] | None = None
        self._kinds: dict[str, tuple[str, ...]] = {}
        self._directory_at = 0.0
        self._directory_lock = threading.Lock()
        raise_iterator_depth()
        self._stmt_task_by_id = sa.select(*_TASK_COLUMNS).where(task.c.id == sa.bindparam("id"))
        # The task row and its instance's head in ONE statement, read once the instance is
        # locked: on PostgreSQL (read committed) each statement sees what was committed before
        # it began, so both reflect the last command on the instance.
        self._stmt_task_and_head = (
            sa.select(
                *_TASK_COLUMNS,
                instance.c.definition_id.label("i_definition_id"),
                instance.c.status.label("i_status"),
                instance.c.version.label("i_version"),
                instance.c.completed_tasks.label("i_completed_tasks"),
            )
            .join(instance, instance.c.id == task.c.instance_id)
            .where(task.c.id == sa.bindparam("id"))
        )
        self._stmt_instance_head = sa.select(
            instance.c.id,
            instance.c.definition_id,
            instance.c.process_key,
            instance.c.status,
            instance.c.version,
            instance.c.completed_tasks,
        ).where(instance.c.id == sa.bindparam("id"))
        self._stmt_instance_state = sa.select(
            instance.c.state_json, instance.c.serializer_version, instance.c.business_key
        ).where(instance.c.id == sa.bindparam("id"))
        self._stmt_open_tasks = sa.select(task.c.id, task.c.state).where(
            task.c.instance_id == sa.bindparam("iid"), task.c.state.in_(OPEN_STATES)
        )
        self._stmt_save_instance = (
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
        self._stmt_close_task = (
            task.update()
            .where(task.c.id == sa.bindparam("b_id"))
            .values(
                state=sa.bindparam("state"),
                completed_at=sa.bindparam("completed_at"),
                completed_by=sa.bindparam("completed_by"),
            )
        )
        self._stmt_user_for_token = (
            sa.select(app_user)
            .join(auth_token, auth_token.c.username == app_user.c.username)
            .where(
                auth_token.c.token_hash == sa.bindparam("h"),
                auth_token.c.expires_at > sa.bindparam("now"),
            )
        )
        self._stmt_insert_event = event.insert()
        self._stmt_insert_task = task.insert()

    # ------------------------------------------------------------------ schema, org

    def create_schema(self) -> None:
        """Create tables directly (tests); production uses ``migrate()``."""
        metadata.create_all(self.db)

    def migrate(self) -> None:
        """Bring the database schema to the newest Alembic revision (under the set-up lock: a
        second node migrating at the same moment waits, then finds the schema in place)."""
        from .migrate import upgrade

        with self.setup_lock:
            upgrade(self.db)

    def _uow(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, readonly=readonly)

    def sync_org(self, departments: list[DepartmentInfo], users: list[UserInfo],
                 initial_password_hash: str | None = None) -> int:
        """Insert or update departments and users (a user's password hash only when given).

        ``initial_password_hash`` goes to each listed user who has no password yet (demo mode),
        decided inside the write transaction, so two nodes seeding at once agree. Returns how
        many users got it.

        A user whose password changes or who is deactivated loses every browser session and
        bearer token in the same transaction: whoever held them must prove themselves again.
        """
        seeded = 0
        with self._uow() as uow:
            conn = uow.conn
            now = utcnow()
            existing = {r.code for r in conn.execute(sa.select(department.c.code))}
            for d in departments:
                values = {"name": d.name, "kind": d.kind, "parent_code": d.parent_code}
                if d.code in existing:
                    conn.execute(department.update().where(department.c.code == d.code).values(**values))
                else:
                    conn.execute(department.insert().values(code=d.code, **values))
            users_now = {
                r.username: r
                for r in conn.execute(
                    sa.select(app_user.c.username, app_user.c.password_hash, app_user.c.active)
                )
            }
            for u in users:
                values = {
                    "display_name": u.display_name,
                    "department_code": u.department_code,
                    "roles": " ".join(u.roles),
                    "active": u.active,
                }
                if u.password_hash:
                    values["password_hash"] = u.password_hash
                elif initial_password_hash and not (
                    u.username in users_now and users_now[u.username].password_hash
                ):
                    values["password_hash"] = initial_password_hash
                    seeded += 1
                if u.username in users_now:
                    conn.execute(
                        app_user.update().where(app_user.c.username == u.username).values(**values)
                    )
                    before = users_now[u.username]
                    if before.active and not u.active:
                        end_user_access(conn, u.username, "user_disabled", now)
                    elif before.password_hash and u.password_hash not in (
                        None, "", before.password_hash
                    ):
                        end_user_access(conn, u.username, "password_changed", now)
                else:
                    conn.execute(app_user.insert().values(username=u.username, **values))
            uow.commit()
        self._directory = None
        return seeded

    def list_departments(self) -> list[DepartmentInfo]:
        with self._uow(readonly=True) as uow:
            rows = uow.conn.execute(sa.select(department).order_by(department.c.code))
            return [DepartmentInfo(r.code, r.name, r.kind, r.parent_code) for r in rows]

    def get_user(self, username: str) -> UserInfo | None:
        with self._uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(app_user).where(app_user.c.username == username)
            ).first()
        return user_info(row) if row else None

    def list_users(self, department_code: str | None = None) -> list[UserInfo]:
        stmt = sa.select(app_user).order_by(app_user.c.username)
        if department_code:
            stmt = stmt.where(app_user.c.department_code == department_code)
        with self._uow(readonly=True) as uow:
            return [user_info(r) for r in uow.conn.execute(stmt)]

    def store_token(self, token_hash: str, username: str, ttl: timedelta) -> datetime:
        now = utcnow()
        with self._uow() as uow:
            uow.conn.execute(
                auth_token.insert().values(
                    token_hash=token_hash, username=username, created_at=now, expires_at=now + ttl
                )
            )
            uow.commit()
        return now + ttl

    def revoke_token(self, token_hash: str) -> bool:
        with self._uow() as uow:
            n = uow.conn.execute(
                auth_token.delete().where(auth_token.c.token_hash == token_hash)
            ).rowcount
            uow.commit()
        return n > 0

    def purge_expired_tokens(self) -> int:
        with self._uow() as uow:
            n = uow.conn.execute(
                auth_token.delete().where(auth_token.c.expires_at <= utcnow())
            ).rowcount
            uow.commit()
        return n

    def user_for_token(self, token_hash: str) -> UserInfo | None:
        with self.db.connect().execution_options(kunflow_readonly=True) as conn:
            row = conn.execute(
                self._stmt_user_for_token, {"h": token_hash, "now": utcnow()}
            ).first()
        return user_info(row) if row is not None and row.active else None

    def directory(self) -> dict[str, str]:
        """Department names and codes -> code (refreshed every 30 s, or after ``sync_org``)."""
        d = self._directory
        if d is None or time.monotonic() - self._directory_at > 30:
            with self._directory_lock, self._uow(readonly=True) as uow:
                d, kinds = {}, {}
                for r in uow.conn.execute(sa.select(department.c.code, department.c.name,
                                                    department.c.kind)
                                          .order_by(department.c.code)):
                    d[r.code] = r.code
                    d[r.name] = r.code
                    kinds.setdefault(r.kind, []).append(r.code)
                self._kinds = {k: tuple(v) for k, v in kinds.items()}
                self._directory, self._directory_at = d, time.monotonic()
        return d

    def department_kinds(self) -> dict[str, tuple[str, ...]]:
        """Department kind (``street``, ``bureau`` …) -> codes, refreshed with ``directory``."""
        self.directory()
        return self._kinds

    # ------------------------------------------------------------------ definitions

    def deploy(
        self,
        filename: str,
        bpmn: bytes,
        files: dict[str, bytes] | None = None,
        actor: Actor | None = None,
    ) -> DeployResult:
        """Validate and store a BPMN file (with its DMN/form files) as a new version of its key.

        An unchanged file (same checksum as the newest version) creates nothing. Raises
        InvalidModel when the diagram cannot be deployed; nothing is stored then.
        """
        if actor is not None and not actor.is_admin:
            raise Forbidden("只有流程管理员可以部署流程")
        _text(filename, "文件名", 400, required=True)
        files = dict(files or {})
        for name in files:
            _text(name, "文件名", 400, required=True)
            if not name.endswith((".dmn", ".form", ".json")):
                raise InvalidInput(f"不支持的附带文件类型：{name}（仅支持 .dmn / .form）")
        parsed, loaded = parse(filename, bpmn, files)
        parsed = self._with_warnings(parsed)
        digest = checksum(bpmn, files)
        try:
            xml_text = bpmn.decode("utf-8")
            file_texts = {n: c.decode("utf-8") for n, c in files.items()}
        except UnicodeDecodeError:
            raise InvalidInput("文件必须使用 UTF-8 编码") from None
        with self._uow() as uow:
            conn = uow.conn
            self.locks.lock_definition_key(conn, parsed.key)
            latest = conn.execute(
                sa.select(definition)
                .where(definition.c.key == parsed.key)
                .order_by(definition.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.checksum == digest:
                return DeployResult(self._definition_info(conn, latest), created=False)
            version = (latest.version + 1) if latest is not None else 1
            now = utcnow()
            def_id = conn.execute(
                definition.insert().values(
                    key=parsed.key,
                    version=version,
                    name=parsed.name,
                    filename=filename,
                    bpmn_xml=xml_text,
                    checksum=digest,
                    meta_json=_json(parsed.to_meta()),
                    deployed_by=actor.username if actor else None,
                    deployed_at=now,
                )
            ).inserted_primary_key[0]
            for name, content in file_texts.items():
                kind = "dmn" if name.endswith(".dmn") else "form"
                conn.execute(
                    definition_file.insert().values(
                        definition_id=def_id, filename=name, kind=kind, content=content
                    )
                )
            self._log(conn, [_ev(None, None, actor, "deployed", now, {"key": parsed.key, "version": version})])
            row = conn.execute(sa.select(definition).where(definition.c.id == def_id)).one()
            info = self._definition_info(conn, row)
            uow.commit()
        self.specs.put(def_id, loaded)
        return DeployResult(info, created=True)

    def _with_warnings(self, parsed: ParsedDefinition) -> ParsedDefinition:
        directory = self.directory()
        warnings = []
        for t in parsed.tasks.values():
            if routing.department_for(t.lane, parsed.lanes, t.properties, directory) is None:
                warnings.append(
                    {
                        "element_id": t.element_id,
                        "message": f"任务“{t.name}”所在泳道“{t.lane or '（无）'}”没有对应的部门，"
                        "任务只对管理员可见",
                    }
                )
        for entry in routing.unknown_start_entries(parsed.start_departments, directory,
                                                   self.department_kinds()):
            warnings.append({
                "element_id": parsed.key,
                "message": f"发起部门（start_departments）中的“{entry}”不是已知的部门或部门类别，"
                "不会让任何部门获得发起权限",
            })
        return replace(parsed, warnings=warnings)

    def list_definitions(self) -> list[DefinitionInfo]:
        """The newest version of every process key."""
        newest = (
            sa.select(definition.c.key, sa.func.max(definition.c.version).label("v"))
            .group_by(definition.c.key)
            .subquery()
        )
        stmt = (
            sa.select(definition)
            .join(newest, (definition.c.key == newest.c.key) & (definition.c.version == newest.c.v))
            .order_by(definition.c.key)
        )
        with self._uow(readonly=True) as uow:
            return [self._definition_info(uow.conn, r) for r in uow.conn.execute(stmt)]

    def get_definition(self, key: str, version: int | None = None) -> DefinitionInfo:
        with self._uow(readonly=True) as uow:
            return self._definition_info(uow.conn, self._definition_row(uow.conn, key, version))

    def list_definition_versions(self, key: str) -> list[DefinitionInfo]:
        _text(key, "流程标识", 200, required=True)
        with self._uow(readonly=True) as uow:
            rows = uow.conn.execute(
                sa.select(definition).where(definition.c.key == key).order_by(definition.c.version)
            ).all()
            if not rows:
                raise NotFound(f"流程 {key} 不存在")
            return [self._definition_info(uow.conn, r) for r in rows]

    def get_definition_xml(self, key: str, version: int | None = None) -> str:
        with self._uow(readonly=True) as uow:
            return self._definition_row(uow.conn, key, version).bpmn_xml

    def _definition_row(self, conn, key: str, version: int | None):
        _text(key, "流程标识", 200, required=True)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= _MAX_ID
        ):
            raise NotFound(f"流程 {key} 版本 {version} 不存在")
        stmt = sa.select(definition).where(definition.c.key == key)
        if version is None:
            stmt = stmt.order_by(definition.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(definition.c.version == version)
        row = conn.execute(stmt).first()
        if row is None:
            what = f"流程 {key}" + (f" 版本 {version}" if version is not None else "")
            raise NotFound(f"{what} 不存在")
        return row

    def _definition_info(self, conn, row) -> DefinitionInfo:
        meta = json.loads(row.meta_json)
        files = tuple(
            r.filename
            for r in conn.execute(
                sa.select(definition_file.c.filename).where(definition_file.c.definition_id == row.id)
            )
        )
        return DefinitionInfo(
            id=row.id,
            key=row.key,
            version=row.version,
            name=row.name,
            filename=row.filename,
            checksum=row.checksum,
            deployed_by=row.deployed_by,
            deployed_at=row.deployed_at,
            lanes=meta.get("lanes", {}),
            files=files,
            warnings=tuple(meta.get("warnings", ())),
            **self._start_fields(row, meta),
        )

    def _start_fields(self, row, meta: dict) -> dict:
        """DefinitionInfo's start fields: who may start it by hand, with which form."""
        start = meta.get("start") or start_info_from_xml(row.bpmn_xml, row.key)
        codes, restricted = routing.start_departments(
            meta.get("start_lanes", ()), meta.get("lanes", {}), start["departments"],
            self.directory(), self.department_kinds())
        return {
            "manual_start": bool(start["manual"]),
            "start_departments": tuple(sorted(codes)) if restricted else None,
            "start_form_key": start["form_key"],
        }

    def startable_definitions(self, actor: Actor) -> list[DefinitionInfo]:
        """The newest version of each process the actor may start by hand (a "start a case"
        page): it has a none start event, and the actor's department is among those that may
        start it (every process for administrators)."""
        return [
            d for d in self.list_definitions()
            if d.manual_start and routing.can_start(
                actor, d.start_departments or (), d.start_departments is not None)
        ]

    def _load_definition_source(self, definition_id: int):
        with self._uow(readonly=True) as uow:
            row = uow.conn.execute(
                sa.select(definition.c.filename, definition.c.bpmn_xml).where(
                    definition.c.id == definition_id
                )
            ).one()
            files = {
                r.filename: r.content.encode("utf-8")
                for r in uow.conn.execute(
                    sa.select(definition_file.c.filename, definition_file.c.content).where(
                        definition_file.c.definition_id == definition_id,
                    )
                )
            }
        return row.filename, row.bpmn_xml.encode("utf-8"), files

    def _spec(self, definition_id: int) -> LoadedSpec:
        return self.specs.get(definition_id, self._load_definition_source)

    # ------------------------------------------------------------------ instances

    @retry_on_deadlock
    def start(
        self,
        process_key: str,
        actor: Actor,
        business_key: str | None = None,
        title: str | None = None,
        data: dict | None = None,
    ) -> InstanceInfo:
        """Start the newest version of ``process_key`` and run it to its first wait state."""
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        _text(process_key, "process_key", 200, required=True)
        _text(business_key, "business_key", 200)
        _text(title, "title", 400)
        _check_data(data or {})
        self._check_field_names(data)
        with self._uow() as uow:
            conn = uow.conn
            drow = self._definition_row(conn, process_key, None)
            loaded = self._spec(drow.id)
            parsed = loaded.parsed
            starters, restricted = routing.start_departments(
                parsed.start_lanes, parsed.lanes, parsed.start_departments, self.directory(),
                self.department_kinds())
            if not routing.can_start(actor, starters, restricted):
                raise Forbidden("本部门不能发起该流程")
            if not parsed.manual_start and not actor.is_admin:
                raise Forbidden("该流程由定时器或消息启动，不能手工发起")
            form = loaded.forms.get(parsed.start_form_key) if parsed.start_form_key else None
            self._check_size(data or {}, form)
            if form is not None:
                problems = validate_form(form, data or {})
                if problems:
                    raise InvalidInput("表单校验未通过：" + "；".join(problems.values()),
                                       problems)
            self.calendar.current(conn)
            wf = BpmnWorkflow(
                loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine
            )
            bind_business_key(wf, business_key)
            wf.task_tree.data.update(data or {})
            now = utcnow()
            head = self._insert_instance(conn, drow, business_key, title, actor.username, now)
            events = [
                _ev(head.id, None, actor, "instance_started", now,
                    {"process_key": process_key, "version": drow.version,
                     "business_key": business_key, "title": title, "data": data or {}})
            ]
            incident = self._advance(wf, None)
            self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident)
            info = self._instance_info(conn, head.id)
            uow.commit()
        return info

    def _check_size(self, data: dict, form: dict | None = None) -> None:
        """Refuse a step that would add more than ``max_step_data_bytes`` of JSON to the
        case's data, naming the largest field (by its form label when ``form`` shows it)."""
        problem = size_problem(data, self.max_step_data_bytes, form)
        if problem is not None:
            raise InvalidInput(*problem)

    def _check_field_names(self, data) -> None:
        """Submitted fields may not take a helper's name (``business_key``, ``now``…): the field
        would hide the helper from the diagram's code, and scripts would refuse to run."""
        reserved = self.script_engine.environment.globals
        clash = sorted(k for k in (data or {}) if k in reserved)
        if clash:
            raise InvalidInput(
                "字段名与流程脚本的内置函数重名：" + "、".join(clash),
                {k: f"“{k}”是流程脚本的内置函数名，不能用作字段名" for k in clash},
            )

    def _insert_instance(self, conn, drow, business_key, title, started_by, now, parent=None):
        """The instance row, before its first save (version 0, no state yet)."""
        iid = conn.execute(
            instance.insert().values(
                definition_id=drow.id,
                process_key=drow.key,
                business_key=business_key,
                title=title,
                status="running",
                version=0,
                serializer_version=SERIALIZER_VERSION,
                state_json="{}",
                started_by=started_by,
                started_at=now,
                updated_at=now,
                completed_tasks=0,
                parent_instance_id=parent[0] if parent else None,
                parent_task_id=parent[1] if parent else None,
            )
        ).inserted_primary_key[0]
        return _Head(iid, drow.id, drow.key, "running", 0, 0)

    def get_instance(self, instance_id: int, actor: Actor, with_data: bool = False) -> InstanceInfo:
        instance_id = _instance_id(instance_id)
        with self._uow(readonly=True) as uow:
            self._check_instance_access(uow.conn, instance_id, actor)
            info = self._instance_info(uow.conn, instance_id)
        if with_data:
            data = self._instance_data(instance_id)
            info = InstanceInfo(**{**info.__dict__, "data": data})
        return info

    def _instance_data(self, instance_id: int) -> dict:
        with self._uow(readonly=True) as uow:
            head = uow.conn.execute(self._stmt_instance_head, {"id": instance_id}).first()
            wf = self._workflow(uow.conn, head)
        self.live.checkin(instance_id, head.version, wf)
        if wf.is_completed():
            return dict(wf.data)
        last = wf.last_task
        return dict(last.data) if last is not None else dict(wf.task_tree.data)

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
    ) -> Page:
        """Instances the actor may see: all for supervisors/leaders/admins, else those their
        department has tasks in or that they started. ``q``: text in title or business key.
        ``count_only``: only the total (a page without items)."""
        limit, offset = _page(limit, offset)
        for name, value, max_len in (("status", status, 16), ("process_key", process_key, 200),
                                     ("business_key", business_key, 200),
                                     ("started_by", started_by, 64)):
            _text(value, name, max_len)
        where = []
        if status:
            where.append(instance.c.status == status)
        if process_key:
            where.append(instance.c.process_key == process_key)
        if business_key:
            where.append(instance.c.business_key == business_key)
        if started_by:
            where.append(instance.c.started_by == started_by)
        if stage:
            _text(stage, "stage", 200)
            where.append(instance.c.stage == stage)
        if q:
            _text(q, "q", 200)
            where.append(instance.c.id.in_(_matching_instances(q)))
        # Own cases are visible anyway: "started by me" needs no department check (which would
        # cost a pass over the instance table).
        if not actor.reads_all and started_by != actor.username:
            touched = sa.select(task.c.instance_id).where(
                task.c.department_code == actor.department_code
            )
            where.append(
                sa.or_(instance.c.id.in_(touched), instance.c.started_by == actor.username)
            )
        cols = [c for c in instance.c if c.name != "state_json"]
        stmt = sa.select(*cols, definition.c.version.label("def_version")).join(
            definition, definition.c.id == instance.c.definition_id
        )
        with self._uow(readonly=True) as uow:
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(instance).where(*where)
            ).scalar_one()
            if count_only:
                return Page((), total, limit, offset)
            rows = uow.conn.execute(
                stmt.where(*where).order_by(instance.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return Page(tuple(_instance(r) for r in rows), total, limit, offset)

    def suspend(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._set_status(instance_id, actor, "suspended", ("running",), reason=reason)

    def resume(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._set_status(instance_id, actor, "running", ("suspended",), reason=reason)

    def terminate(self, instance_id: int, actor: Actor, reason: str | None = None) -> InstanceInfo:
        return self._set_status(
            instance_id, actor, "terminated", ("running", "suspended"), reason=reason
        )

    @retry_on_deadlock
    def _set_status(self, instance_id, actor, new_status, allowed_from, reason=None):
        instance_id = _instance_id(instance_id)
        _text(reason, "reason", 2000)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以挂起、恢复或终止流程实例")
        with self._uow() as uow:
            conn = uow.conn
            self.locks.lock_instance(conn, instance_id)
            head = self._instance_head(conn, instance_id)
            if head.status not in allowed_from:
                raise Conflict(f"实例当前状态为 {head.status}，不能执行该操作")
            now = utcnow()
            values = {"status": new_status, "version": head.version + 1, "updated_at": now}
            events = [_ev(instance_id, None, actor, f"instance_{new_status}", now,
                          {"reason": reason} if reason else None)]
            if new_status == "terminated":
                values["ended_at"] = now
                for row in conn.execute(self._stmt_open_tasks, {"iid": instance_id}):
                    conn.execute(self._stmt_close_task, {
                        "b_id": row.id, "state": "cancelled", "completed_at": now,
                        "completed_by": None})
                    events.append(_ev(instance_id, row.id, actor, "task_cancelled", now, None))
                self._terminate_children(conn, instance_id, actor, now, reason)
            res = conn.execute(
                instance.update()
                .where(instance.c.id == instance_id, instance.c.version == head.version)
                .values(**values)
            )
            if res.rowcount != 1:
                raise Conflict("实例已被其他操作修改，请刷新后重试")
            self._log(conn, events)
            info = self._instance_info(conn, instance_id)
            if new_status == "terminated":
                self.live.discard(instance_id)
            else:
                uow.after_commit(
                    lambda: self.live.rebase(instance_id, head.version, head.version + 1)
                )
            uow.commit()
        return info

    def _terminate_children(self, conn, parent_id: int, actor: Actor | None, now, reason,
                            parent_task_ids=None) -> list[int]:
        """Terminate the called processes ``parent_id`` still runs (all, or those called by
        ``parent_task_ids``), and theirs, in the caller's transaction: an ``instance_terminated``
        event on each, their open tasks cancelled. Returns the instance ids terminated."""
        live = ("running", "suspended", "incident")
        stmt = sa.select(instance.c.id).where(instance.c.parent_instance_id == parent_id,
                                              instance.c.status.in_(live))
        if parent_task_ids is not None:
            stmt = stmt.where(instance.c.parent_task_id.in_(list(parent_task_ids)))
        ended = []
        for (child_id,) in conn.execute(stmt.order_by(instance.c.id)).all():
            res = conn.execute(
                instance.update()
                .where(instance.c.id == child_id, instance.c.status.in_(live))
                .values(status="terminated", version=instance.c.version + 1, updated_at=now,
                        ended_at=now, next_due_at=None)
            )
            if res.rowcount != 1:
                continue
            events = [_ev(child_id, None, actor, "instance_terminated", now,
                          {"reason": reason, "parent_instance_id": parent_id})]
            for row in conn.execute(self._stmt_open_tasks, {"iid": child_id}).all():
                conn.execute(self._stmt_close_task, {
                    "b_id": row.id, "state": "cancelled", "completed_at": now,
                    "completed_by": None})
                events.append(_ev(child_id, row.id, actor, "task_cancelled", now, None))
            conn.execute(message_subscription.delete()
                         .where(message_subscription.c.instance_id == child_id))
            self._log(conn, events)
            self.live.discard(child_id)
            ended.append(child_id)
            ended += self._terminate_children(conn, child_id, actor, now, reason)
        return ended

    def list_events(self, instance_id: int, actor: Actor) -> list[EventInfo]:
        instance_id = _instance_id(instance_id)
        with self._uow(readonly=True) as uow:
            self._check_instance_access(uow.conn, instance_id, actor)
            rows = uow.conn.execute(
                sa.select(event).where(event.c.instance_id == instance_id).order_by(event.c.id)
            )
            return [
                EventInfo(r.id, r.instance_id, r.task_id, r.actor, r.kind, r.at,
                          json.loads(r.data_json) if r.data_json else None)
                for r in rows
            ]

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
        """Task rows: ``mine`` (assigned to me), ``department`` (my department's),
        ``done`` (completed by me), ``all`` (supervisors, leaders, admins).

        Filters: ``stage``; ``light`` red (overdue) / yellow (due within one working day) /
        green (on time or no deadline); ``q`` a text in the case's title or business key.
        ``sort``: ``created`` / ``-created`` / ``due`` / ``-due`` (default: newest first).
        ``count_only``: only the total (a page without items)."""
        limit, offset = _page(limit, offset)
        where = []
        if scope == "mine":
            where.append(task.c.assignee == actor.username)
        elif scope == "department":
            where.append(task.c.department_code == actor.department_code)
        elif scope == "done":
            where.append(task.c.completed_by == actor.username)
        elif scope == "all":
            if not actor.reads_all:
                raise Forbidden("无权查看全部任务")
        else:
            raise InvalidInput("scope 只能是 mine、department、done 或 all")
        if state:
            if state not in ("ready", "claimed", "completed", "cancelled", "open"):
                raise InvalidInput("state 只能是 ready、claimed、completed、cancelled 或 open")
            where.append(task.c.state.in_(OPEN_STATES) if state == "open" else task.c.state == state)
        elif scope in ("mine", "department"):
            where.append(task.c.state.in_(OPEN_STATES))
        if process_key:
            _text(process_key, "process_key", 200)
            where.append(task.c.process_key == process_key)
        if instance_id is not None:
            if isinstance(instance_id, bool) or not isinstance(instance_id, int):
                raise InvalidInput("instance_id 必须是整数")
            if not 1 <= instance_id <= _MAX_ID:
                return Page((), 0, limit, offset)
            where.append(task.c.instance_id == instance_id)
        if stage:
            _text(stage, "stage", 200)
            where.append(task.c.stage == stage)
        if light:
            where.append(self._light_clause(light))
        if q:
            _text(q, "q", 200)
            # A semi-join, not a join: counting and sorting stay on the task table's indexes.
            where.append(task.c.instance_id.in_(_matching_instances(q)))
        order = [*_task_order(scope, sort), task.c.id]
        # The page's ids first (filtered, sorted and cut on the task table, from its indexes
        # where they cover the filters), then the rows and their case's title for those ids
        # only: a sort over thousands of tasks never joins thousands of instance rows.
        page_ids = (sa.select(task.c.id).where(*where).order_by(*order).limit(limit)
                    .offset(offset).correlate(None))
        stmt = (
            sa.select(*_TASK_COLUMNS, instance.c.business_key, instance.c.title)
            .join(instance, instance.c.id == task.c.instance_id)
            .where(task.c.id.in_(page_ids))
            .order_by(*order)
        )
        with self._uow(readonly=True) as uow:
            total = uow.conn.execute(
                sa.select(sa.func.count()).select_from(task).where(*where)
            ).scalar_one()
            if count_only:
                return Page((), total, limit, offset)
            rows = uow.conn.execute(stmt).all() if total > offset else []
        return Page(tuple(_task(r) for r in rows), total, limit, offset)

    def light_bounds(self) -> tuple[datetime, datetime]:
        """(now, end of the next working day's window): a task due before ``now`` is red,
        before the second bound yellow, else green."""
        now = utcnow()
        with self._uow(readonly=True) as uow:
            cal = self.calendar.current(uow.conn)
        return now, cal.due_at(now, 1)

    def _light_clause(self, light: str):
        if light not in ("red", "yellow", "green"):
            raise InvalidInput("light 只能是 red、yellow 或 green")
        now, soon = self.light_bounds()
        if light == "red":
            return task.c.due_at < now
        if light == "yellow":
            return sa.and_(task.c.due_at >= now, task.c.due_at < soon)
        return sa.or_(task.c.due_at.is_(None), task.c.due_at >= soon)

    def get_task(self, task_id: str, actor: Actor, with_data: bool = True) -> TaskInfo:
        with self._uow(readonly=True) as uow:
            row = self._task_row(uow.conn, task_id, actor)
            inst = uow.conn.execute(
                sa.select(instance.c.business_key, instance.c.title).where(
                    instance.c.id == row.instance_id
                )
            ).one()
        data = None
        if with_data and row.state in OPEN_STATES:
            data = self._task_data(row.instance_id, task_id)
        return _task(row, business_key=inst.business_key, title=inst.title, data=data)

    def _task_data(self, instance_id: int, task_id: str) -> dict | None:
        with self._uow(readonly=True) as uow:
            head = uow.conn.execute(self._stmt_instance_head, {"id": instance_id}).first()
            wf = self._workflow(uow.conn, head)
        try:
            stask = wf.get_task_from_id(UUID(task_id))
            return dict(stask.data)
        except (SpiffWorkflowException, ValueError, KeyError):
            return None
        finally:
            self.live.checkin(instance_id, head.version, wf)

    def claim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self._assign(task_id, actor, actor.username, "task_claimed")

    def unclaim(self, task_id: str, actor: Actor) -> TaskInfo:
        return self._assign(task_id, actor, None, "task_unclaimed")

    def reassign(self, task_id: str, actor: Actor, username: str) -> TaskInfo:
        return self._assign(task_id, actor, username, "task_reassigned")

    @retry_on_deadlock
    def _assign(self, task_id, actor, assignee, kind) -> TaskInfo:
        with self._uow() as uow:
            conn = uow.conn
            row, head = self._task_and_head(conn, task_id, actor)
            if row.state not in OPEN_STATES:
                raise Conflict("任务已办结或已取消")
            if kind == "task_reassigned":
                if not routing.can_reassign(actor, row.department_code):
                    raise Forbidden("只有本部门负责人可以转派任务")
                target = conn.execute(
                    sa.select(app_user).where(app_user.c.username == assignee)
                ).first()
                if target is None or not target.active:
                    raise InvalidInput(f"用户 {assignee} 不存在")
                if target.department_code != row.department_code:
                    raise InvalidInput("只能转派给本部门的人员")
                if row.candidate_role and row.candidate_role not in target.roles.split():
                    raise InvalidInput(f"该任务需要角色 {row.candidate_role}")
            else:
                if not routing.can_work_task(actor, row.department_code, row.candidate_role):
                    raise Forbidden("无权办理该任务")
                if kind == "task_claimed" and row.assignee not in (None, actor.username):
                    raise Conflict(f"任务已被 {row.assignee} 认领")
                if kind == "task_unclaimed" and row.assignee not in (None, actor.username) and not (
                    routing.can_reassign(actor, row.department_code)
                ):
                    raise Forbidden("只能退回自己认领的任务")
            self._require_running(head)
            now = utcnow()
            res = conn.execute(
                instance.update()
                .where(instance.c.id == head.id, instance.c.version == head.version)
                .values(version=head.version + 1, updated_at=now)
            )
            if res.rowcount != 1:
                raise Conflict("实例已被其他操作修改，请刷新后重试")
            conn.execute(
                task.update()
                .where(task.c.id == task_id)
                .values(
                    assignee=assignee,
                    state="claimed" if assignee else "ready",
                    claimed_at=now if assignee else None,
                )
            )
            self._log(conn, [_ev(head.id, task_id, actor, kind, now,
                                 {"assignee": assignee} if assignee else None)])
            new_row = conn.execute(self._stmt_task_by_id, {"id": task_id}).one()
            uow.after_commit(lambda: self.live.rebase(head.id, head.version, head.version + 1))
            uow.commit()
        return _task(new_row)

    @retry_on_deadlock
    def complete(self, task_id: str, actor: Actor, data: dict | None = None,
                 check=None) -> TaskInfo:
        """Complete a ready human task with the submitted data and run the engine on.

        ``check(conn, task_row, form, data) -> {field: problem}`` adds checks of the caller's
        (e.g. that file fields cite this case's attachments) inside the same transaction. The
        task's saved drafts end with it."""
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        _check_data(data or {})
        self._check_field_names(data)
        with self._uow() as uow:
            conn = uow.conn
            row, head, loaded, wf, stask = self._task_to_work(conn, task_id, actor)
            if stask.state != TaskState.READY:
                raise Conflict("任务当前不可办理")
            form = loaded.forms.get(row.form_key) if row.form_key else None
            try:
                self._check_size(data or {}, form)
            except InvalidInput:
                self.live.checkin(head.id, head.version, wf)  # untouched: keep it cached
                raise
            if form is not None:
                # only this submission counts: a value the case holds from an earlier round
                # or before a send-back does not fill a required field
                problems = validate_form(form, data or {})
                if problems:
                    self.live.checkin(head.id, head.version, wf)
                    raise InvalidInput("表单校验未通过：" + "；".join(problems.values()),
                                       problems)
            if check is not None:
                problems = check(conn, row, form, data or {})
                if problems:
                    self.live.checkin(head.id, head.version, wf)
                    raise InvalidInput("表单校验未通过：" + "；".join(problems.values()),
                                       problems)
            now = utcnow()
            if data:
                stask.data.update(data)
            incident = self._advance(wf, stask.run)
            events = [_ev(head.id, task_id, actor, "task_completed", now, data or {})]
            self._save(conn, uow, head, wf, loaded, now, {task_id: actor.username}, events, 1,
                       incident)
            conn.execute(task_draft.delete().where(task_draft.c.task_id == row.id))
            uow.commit()
        return replace(_task(row), state="completed", completed_at=now,
                       completed_by=actor.username)

    # ------------------------------------------------------------------ clock, send-back

    @retry_on_deadlock
    def pause_task(self, task_id: str, actor: Actor, reason: str | None = None) -> TaskInfo:
        """Stop a task's deadline clock (expert review, hearing, public notice).

        Only where the diagram allows it: the task's ``pausable`` property is true. Boundary
        timers that follow the task's deadline (``engine/timers.py``) are held meanwhile.
        """
        _text(reason, "reason", 2000)
        with self._uow() as uow:
            conn = uow.conn
            row, head = self._task_and_head(conn, task_id, actor)
            self._check_clock_change(row, head, actor)
            if row.paused_at is not None:
                raise Conflict("任务的办理时限已经暂停")
            now = utcnow()
            loaded = self._spec(head.definition_id)
            wf = self._workflow(conn, head)
            stask = _spiff_task(wf, row.id)
            held = hold_deadline_timers(stask, row.due_at) if stask is not None else []
            conn.execute(task.update().where(task.c.id == row.id).values(paused_at=now))
            conn.execute(task_pause.insert().values(task_id=row.id, paused_at=now,
                                                    paused_by=actor.username, reason=reason))
            data = {"reason": reason} if reason else {}
            if held:
                data["held_timers"] = held
            events = [_ev(head.id, row.id, actor, "task_paused", now, data or None)]
            self._save(conn, uow, head, wf, loaded, now, {}, events, 0)
            out = conn.execute(self._stmt_task_by_id, {"id": row.id}).one()
            uow.commit()
        return _task(out)

    @retry_on_deadlock
    def resume_task(self, task_id: str, actor: Actor) -> TaskInfo:
        """Restart the clock; the due time moves by the working days it stood still, and so do
        the boundary timers held with it (a ``task_due(n)`` timer is recomputed from the new
        due time)."""
        with self._uow() as uow:
            conn = uow.conn
            row, head = self._task_and_head(conn, task_id, actor)
            self._check_clock_change(row, head, actor)
            if row.paused_at is None:
                raise Conflict("任务的办理时限没有暂停")
            now = utcnow()
            cal = self.calendar.current(conn)
            paused = cal.working_days_between(_local_day(row.paused_at), _local_day(now))
            due, provisional = row.due_at, row.due_provisional
            if due is not None and paused > 0:
                due = _shift_working_days(cal, due, paused)
                provisional = provisional or cal.is_provisional(_local_day(row.due_at),
                                                                _local_day(due))
            shift = due - row.due_at if due is not None else timedelta(0)

            def moved(when, offset):
                if offset is not None and due is not None:
                    return _shift_working_days(cal, due, offset) if offset else due
                return when + shift

            loaded = self._spec(head.definition_id)
            wf = self._workflow(conn, head)
            stask = _spiff_task(wf, row.id)
            timers = release_deadline_timers(stask, moved) if stask is not None else {}
            conn.execute(task.update().where(task.c.id == row.id).values(
                paused_at=None, due_at=due, due_provisional=provisional))
            conn.execute(task_pause.update().where(
                task_pause.c.task_id == row.id, task_pause.c.resumed_at.is_(None)
            ).values(resumed_at=now, resumed_by=actor.username))
            data = {"paused_working_days": paused, "due_at": due.isoformat() if due else None}
            if timers:
                data["timers"] = {k: v.isoformat() for k, v in timers.items()}
            events = [_ev(head.id, row.id, actor, "task_resumed", now, data)]
            self._save(conn, uow, head, wf, loaded, now, {}, events, 0)
            out = conn.execute(self._stmt_task_by_id, {"id": row.id}).one()
            uow.commit()
        return _task(out)

    def list_task_pauses(self, task_id: str, actor: Actor) -> list[dict]:
        with self._uow(readonly=True) as uow:
            row = self._task_row(uow.conn, task_id, actor)
            rows = uow.conn.execute(sa.select(task_pause).where(task_pause.c.task_id == row.id)
                                    .order_by(task_pause.c.id))
            return [dict(r._mapping) for r in rows]

    def _check_clock_change(self, row, head, actor) -> None:
        if not routing.can_work_task(actor, row.department_code, row.candidate_role):
            raise Forbidden("无权办理该任务")
        if row.state not in OPEN_STATES:
            raise Conflict("任务已办结或已取消")
        self._require_running(head)
        loaded = self._spec(head.definition_id)
        props = loaded.parsed.tasks.get(row.element_id)
        if props is None or str(props.properties.get("pausable", "")).lower() not in (
            "true", "1", "yes"
        ):
            raise Conflict("流程图未允许该环节暂停计时")

    def _bump(self, conn, head, now) -> None:
        res = conn.execute(
            instance.update()
            .where(instance.c.id == head.id, instance.c.version == head.version)
            .values(version=head.version + 1, updated_at=now)
        )
        if res.rowcount != 1:
            raise Conflict("实例已被其他操作修改，请刷新后重试")

    @retry_on_deadlock
    def send_back(self, task_id: str, actor: Actor, target: str, reason: str) -> TaskInfo:
        """Return the case to an earlier user task that the diagram allows (退回).

        The task's ``send_back_targets`` property lists the allowed element ids. The earlier
        task opens again with the data it was completed with, plus ``send_back_reason``.
        """
        _text(target, "target", 200, required=True)
        _text(reason, "reason", 2000, required=True)
        with self._uow() as uow:
            conn = uow.conn
            row, head, loaded, wf, current = self._task_to_work(conn, task_id, actor)
            allowed = send_back_targets(current.task_spec)
            if target not in allowed:
                self.live.discard(head.id)
                raise InvalidInput(
                    f"该环节不能退回到 {target}；可退回：{'、'.join(allowed) or '（无）'}")
            earlier = current.parent
            while earlier is not None and (
                getattr(earlier.task_spec, "bpmn_id", None) != target
                or earlier.state != TaskState.COMPLETED
            ):
                earlier = earlier.parent
            if earlier is None:
                self.live.discard(head.id)
                raise Conflict(f"本案件尚未办理过 {target}，不能退回")
            now = utcnow()
            data = dict(earlier.data)
            data["send_back_reason"] = reason
            data["sent_back_by"] = actor.username

            def reset():
                restore_boundary_events(earlier)
                wf.reset_from_task_id(earlier.id, data)
                # The reset removed the later tasks from the tree but not from the event
                # manager: a dropped timer would otherwise still be refreshed (and fail).
                prune_event_manager(wf)

            incident = self._advance(wf, reset)
            # The reopened task keeps its id (and its URL); its completed row is kept as history
            # under a new id before the open row is inserted (see _keep_completion).
            reopened = str(earlier.id)
            events = [_ev(head.id, row.id, actor, "task_sent_back", now,
                          {"target": target, "reason": reason})]
            self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident,
                       reopened=reopened)
            out = conn.execute(self._stmt_task_by_id, {"id": row.id}).one()
            uow.commit()
        return _task(out)

    # ------------------------------------------------------------------ timers, incidents

    def fire_due_timers(self, limit: int = 200) -> int:
        """Advance instances whose next timer is due; one unit of work per instance.

        On PostgreSQL the due row is claimed with ``FOR UPDATE SKIP LOCKED``, so several
        scheduler processes share the work without firing a timer twice; on SQLite the
        writer lock serializes them. Returns the number of instances handled.

        A timer step that fails, is refused, or runs past the limits of diagram code makes its
        instance an incident (``_advance``), which no later run picks until an admin retries
        it. Should the step fail all the same (its state cannot be stored …), its transaction
        is rolled back and the instance is parked as an incident in a transaction of its own.
        Either way the run goes on with the other due instances.
        """
        fired = 0
        passed: set[int] = set()  # callers held by a command, or lost a race: the next run
        while fired < limit:
            picked: list[int] = []
            try:
                outcome = self._fire_next_timer(passed, picked)
            except (Conflict, sa.exc.OperationalError):
                if not picked:
                    raise
                passed.add(picked[0])  # a race or a passing database fault: the next run
                continue
            except Exception as exc:  # rolled back: park it, go on with the others
                if not picked:
                    raise
                self._park_failed(picked[0], exc)
                outcome = True
            if outcome is None:
                return fired
            fired += outcome
        return fired

    @retry_on_deadlock
    def _fire_next_timer(self, passed: set[int], picked: list[int]) -> bool | None:
        """Fire the earliest due instance not in ``passed``: True when fired, False when its
        callers were locked (added to ``passed``), None when nothing is due. ``picked`` gets
        the instance being fired, for the caller to park it if the step fails."""
        with self._uow() as uow:
            conn = uow.conn
            now = utcnow()
            stmt = (
                sa.select(
                    instance.c.id, instance.c.definition_id, instance.c.process_key,
                    instance.c.status, instance.c.version, instance.c.completed_tasks,
                    instance.c.next_due_at,
                )
                .where(instance.c.next_due_at <= now, instance.c.status == "running")
                .order_by(instance.c.next_due_at)
                .limit(1)
            )
            if passed:
                stmt = stmt.where(instance.c.id.not_in(passed))
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = conn.execute(stmt).first()
            if row is None:
                return None
            # The lock order puts callers first, and this row is already held: wait for
            # nobody, leave a called process whose caller is in use to the next run.
            if not self.locks.try_lock_instance(conn, row.id):
                passed.add(row.id)
                return False
            picked[:] = [row.id]
            self._fire(conn, uow, row, now)
            uow.commit()
            return True

    def _fire(self, conn, uow, row, now) -> None:
        head = _Head(row.id, row.definition_id, row.process_key, row.status,
                     row.version, row.completed_tasks)
        loaded = self._spec(head.definition_id)
        try:
            wf = self._workflow(conn, head)
        except EngineError as exc:
            # A state that cannot load must not block every other timer.
            self._park(conn, head, now, str(exc))
            return
        incident = self._advance(wf, wf.refresh_timers)
        events = [_ev(head.id, None, None, "timer_fired", now,
                      {"due_at": row.next_due_at.isoformat()})]
        self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident)
        # A timer the library does not consider due yet (clock skew) is retried a
        # minute later instead of being picked again at once.
        conn.execute(
            instance.update()
            .where(instance.c.id == head.id, instance.c.next_due_at <= now)
            .values(next_due_at=now + timedelta(minutes=1))
        )

    def _park(self, conn, head, now, message: str, task_id=None, element_id=None) -> None:
        """Make the instance an incident without touching its stored state."""
        conn.execute(instance.update().where(instance.c.id == head.id).values(
            status="incident", version=head.version + 1, next_due_at=None, updated_at=now))
        conn.execute(incident_table.insert().values(
            instance_id=head.id, task_id=task_id, element_id=element_id,
            message=message[:4000], created_at=now))
        self._log(conn, [_ev(head.id, task_id, None, "incident_raised", now,
                             {"task_id": task_id, "element_id": element_id,
                              "message": message[:4000]})])
        self.live.discard(head.id)

    def _park_failed(self, instance_id: int, exc: Exception) -> None:
        """Park a running instance whose timer step failed outside ``_advance``."""
        task = getattr(exc, "task", None)
        task_id = str(task.id) if task is not None else None
        element = _element_of(task)
        if isinstance(exc, ScriptViolation):
            message = exc.incident_message(element)
        else:
            message = f"定时器处理失败：{type(exc).__name__}: {exc}"
        self.live.discard(instance_id)
        with self._uow() as uow:
            head = uow.conn.execute(self._stmt_instance_head, {"id": instance_id}).first()
            if head is None or head.status != "running":
                return
            self._park(uow.conn, head, utcnow(), message, task_id, element)
            uow.commit()

    def list_incidents(self, actor: Actor, *, instance_id: int | None = None,
                       open_only: bool = True) -> list[dict]:
        """Incidents (newest first) for process admins, supervisors and leaders."""
        if not actor.reads_all:
            raise Forbidden("无权查看故障列表")
        stmt = sa.select(incident_table, instance.c.process_key, instance.c.business_key).join(
            instance, instance.c.id == incident_table.c.instance_id)
        if instance_id is not None:
            stmt = stmt.where(incident_table.c.instance_id == _instance_id(instance_id))
        if open_only:
            stmt = stmt.where(incident_table.c.resolved_at.is_(None))
        with self._uow(readonly=True) as uow:
            rows = uow.conn.execute(stmt.order_by(incident_table.c.id.desc()).limit(500))
            return [dict(r._mapping) for r in rows]

    @retry_on_deadlock
    def retry_incident(self, instance_id: int, actor: Actor, data: dict | None = None):
        """Run the failed step again, after merging ``data`` (the fix) into its task data."""
        instance_id = _instance_id(instance_id)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以重试故障")
        if data is not None and not isinstance(data, dict):
            raise InvalidInput("data 必须是 JSON 对象")
        _check_data(data or {})
        self._check_field_names(data)
        self._check_size(data or {})
        with self._uow() as uow:
            conn = uow.conn
            self.locks.lock_instance(conn, instance_id)
            head = self._instance_head(conn, instance_id)
            if head.status != "incident":
                raise Conflict("该实例没有待处理的故障")
            loaded = self._spec(head.definition_id)
            wf = self._workflow(conn, head)
            now = utcnow()
            failed = wf.get_tasks(state=TaskState.ERROR)

            def rerun():
                for task in failed:
                    if data:
                        task.data.update(data)
                    task._set_state(TaskState.READY)

            incident = self._advance(wf, rerun)
            conn.execute(
                incident_table.update()
                .where(incident_table.c.instance_id == instance_id,
                       incident_table.c.resolved_at.is_(None))
                .values(resolved_at=now, resolved_by=actor.username)
            )
            events = [_ev(instance_id, None, actor, "incident_retried", now, {"data": data or {}})]
            self._save(conn, uow, _Head(head.id, head.definition_id, head.process_key,
                                        head.status, head.version, head.completed_tasks),
                       wf, loaded, now, {}, events, 0, incident)
            info = self._instance_info(conn, instance_id)
            uow.commit()
        return info

    def _script_helpers(self) -> dict:
        """Functions diagram code may call besides its task data."""
        engine = self

        def now():
            return utcnow().isoformat() + "Z"

        def department_code(name):
            return engine.directory().get(name)

        def task_due(working_days=0):
            """For boundary timers: the due time of the task the timer is attached to (its
            ``due_working_days`` / ``due_hours`` / ``due_expression``), moved by
            ``working_days`` working days (negative: before), ISO 8601 UTC. Such a timer
            follows the task's deadline when its clock is paused and resumed."""
            timer = current_task()
            target = attached_task(timer)
            if target is None:
                raise ValueError("task_due() 只能用于任务边界事件的定时器")
            props = (getattr(target.task_spec, "extensions", None) or {}).get("properties") or {}
            due, _ = engine._deadline_of(props, timer, utcnow(), None)
            if due is None:
                raise ValueError(f"任务 {target.task_spec.bpmn_id} 没有办理时限"
                                 "（due_working_days / due_hours / due_expression）")
            offset = int(working_days)
            timer.internal_data[DUE_OFFSET] = offset
            if offset:
                due = _shift_working_days(engine.calendar.current(), due, offset)
            return due.isoformat() + "+00:00"

        helpers = {"now": now, "department_code": department_code, "task_due": task_due}
        helpers.update(self._calendar_helpers())
        return helpers

    def _calendar_helpers(self) -> dict:
        calendar = self.calendar

        def add_working_days(start, days):
            """The date ``days`` working days after ``start`` (ISO date), as an ISO date."""
            return calendar.current().add_working_days(date.fromisoformat(str(start)[:10]),
                                                       int(days)).isoformat()

        def working_days_between(start, end):
            return calendar.current().working_days_between(
                date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10]))

        def due_in_working_days(days):
            """For timers: the end of the ``days``-th working day from now, ISO 8601 UTC."""
            due = calendar.current().due_at(utcnow(), int(days))
            return due.isoformat() + "+00:00"

        def is_workday(day):
            return calendar.current().is_workday(date.fromisoformat(str(day)[:10]))

        def next_month_day(day=1, hour=0):
            """For monthly timers (督查 reports from the 1st): ``day`` of next month at ``hour``
            o'clock China time, ISO 8601 UTC. ISO cycles (``R/…/P1M``) cannot do this: the
            library turns P1M into a fixed number of days and drifts off the 1st."""
            local = utcnow() + timedelta(hours=8)
            year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
            target = datetime(year, month, int(day), int(hour)) - timedelta(hours=8)
            return target.isoformat() + "+00:00"

        return {
            "add_working_days": add_working_days,
            "working_days_between": working_days_between,
            "due_in_working_days": due_in_working_days,
            "is_workday": is_workday,
            "next_month_day": next_month_day,
        }

    # ------------------------------------------------------------------ internals

    def _advance(self, wf, action) -> dict | None:
        """Run ``action`` (if any) and the engine steps; a failure becomes an incident.

        SpiffWorkflow marks the failing task ERROR and leaves every other task as it was, so the
        state saved with the incident is the last good state; ``retry_incident`` runs the failed
        task again.

        Diagram code and engine steps of the run share one budget (``self.script_limits``):
        beyond its time or memory, or on a refused operation, the run stops with a
        ScriptViolation and the step that was running becomes the incident ("脚本超时",
        "脚本内存超限", "脚本安全限制", naming the element); a script stopped so leaves no data
        behind. The budget goes on to ``_save`` with the workflow: the routing and deadline
        expressions and the timers evaluated there count against it.
        """
        budget = Budget(self.script_limits)
        wf._kunflow_budget = budget
        try:
            with budget.running():
                if action is not None:
                    action()
                wf.do_engine_steps(will_complete_task=budget.step)
            budget.check()  # a violation that diagram code or the library swallowed
            return None
        except Exception as exc:  # scripts, handlers and expressions may raise anything
            violation = budget.violation
            if violation is None and isinstance(exc, ScriptViolation):
                violation = exc
            failed = violation.task if violation is not None else None
            if failed is None:
                failed = getattr(exc, "task", None)
            if failed is None:
                errored = wf.get_tasks(state=TaskState.ERROR)
                failed = errored[0] if errored else None
            if violation is not None:
                return self._violation_incident(violation, failed)
            element = _element_of(failed)
            message = getattr(exc, "error_msg", None) or str(exc) or type(exc).__name__
            return {
                "task_id": str(failed.id) if failed is not None else None,
                "element_id": element,
                "message": f"{type(exc).__name__}: {message}"[:4000],
            }

    @staticmethod
    def _violation_incident(violation: ScriptViolation, task) -> dict:
        """The incident of diagram code stopped on ``task``: the task is left ERROR (when it
        was about to run or running) so that ``retry_incident`` runs it again."""
        if task is not None and task.state in (TaskState.READY, TaskState.STARTED):
            task.error()
        element = _element_of(task)
        return {
            "task_id": str(task.id) if task is not None else None,
            "element_id": element,
            "message": violation.incident_message(element)[:4000],
        }

    def _task_to_work(self, conn, task_id: str, actor: Actor):
        """An open task the actor may work on, with its instance head, spec, workflow and the
        workflow's task: the checks every command that acts on a task's workflow shares."""
        row, head = self._task_and_head(conn, task_id, actor)
        if not routing.can_work_task(actor, row.department_code, row.candidate_role):
            raise Forbidden("无权办理该任务")
        if row.state not in OPEN_STATES:
            raise Conflict("任务已办结或已取消")
        if row.assignee not in (None, actor.username):
            raise Conflict(f"任务已被 {row.assignee} 认领")
        self._require_running(head)
        loaded = self._spec(head.definition_id)
        wf = self._workflow(conn, head)
        try:
            spiff_task = wf.get_task_from_id(UUID(row.id))
        except Exception:
            raise Conflict("任务已不在当前流程中") from None
        return row, head, loaded, wf, spiff_task

    def _task_and_head(self, conn, task_id: str, actor: Actor):
        """Lock the task's instance (and its callers), then read the task row and the instance
        head together: a command that was running on the case has committed by then, so a task
        completed, claimed or cancelled by it is seen as such (Conflict with the reason), and
        parallel work on other tasks of the case simply goes first."""
        task_id = _task_id(task_id)
        self.locks.lock_task_instance(conn, task_id)
        row = self._task_row(conn, task_id, actor, self._stmt_task_and_head)
        head = _Head(row.instance_id, row.i_definition_id, row.process_key, row.i_status,
                     row.i_version, row.i_completed_tasks)
        return row, head

    def _task_row(self, conn, task_id: str, actor: Actor, stmt=None):
        task_id = _task_id(task_id)
        row = conn.execute(stmt if stmt is not None else self._stmt_task_by_id,
                           {"id": task_id}).first()
        if row is None:
            raise NotFound(f"任务 {task_id} 不存在")
        if not routing.can_view_task(actor, row.department_code):
            raise Forbidden("无权查看其他部门的任务")
        return row

    def _instance_head(self, conn, instance_id: int):
        head = conn.execute(self._stmt_instance_head, {"id": instance_id}).first()
        if head is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        return head

    @staticmethod
    def _require_running(head) -> None:
        if head.status != "running":
            raise Conflict(f"流程实例状态为 {head.status}，不能办理")

    def _check_instance_access(self, conn, instance_id: int, actor: Actor) -> None:
        head = conn.execute(
            sa.select(instance.c.id, instance.c.started_by).where(instance.c.id == instance_id)
        ).first()
        if head is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        if actor.reads_all or head.started_by == actor.username:
            return
        touched = conn.execute(
            sa.select(task.c.id)
            .where(task.c.instance_id == instance_id, task.c.department_code == actor.department_code)
            .limit(1)
        ).first()
        if touched is None:
            raise Forbidden("无权查看该流程实例")

    def _workflow(self, conn, head):
        # Diagram code may call calendar helpers: (re)load the calendar through this command's
        # connection first, never through a second one inside the transaction.
        self.calendar.current(conn)
        wf = self.live.checkout(head.id, head.version)
        if wf is not None:
            return wf
        loaded = self._spec(head.definition_id)
        st = conn.execute(self._stmt_instance_state, {"id": head.id}).one()
        try:
            wf = load_state(
                st.state_json, st.serializer_version, loaded.spec, loaded.subprocess_specs,
                script_engine=self.script_engine,
            )
        except Exception as exc:  # a state that cannot be loaded must never crash a list page
            raise EngineError(f"流程实例 {head.id} 的状态无法加载：{exc}") from None
        bind_business_key(wf, st.business_key)
        return wf

    def _save(self, conn, uow, head, wf, loaded, now, done, events, completed_delta,
              incident=None, depth=0, reopened=None):
        """Store the workflow and its read models, then carry its effects to other instances
        (called processes, messages, the caller of a finished child) in the same transaction."""
        # Call activities cancelled by this command (a terminate end event, an interrupting
        # event): their child instances end with them. Read before compaction drops the tasks.
        ended_calls = _cancelled_calls(wf)
        compact_workflow(wf)
        budget = wf.__dict__.pop("_kunflow_budget", None) or Budget(self.script_limits)
        completed = incident is None and wf.is_completed()
        if completed:
            status = "completed"
        elif incident is not None:
            status = "incident"
        elif head.status == "incident":
            status = "running"
        else:
            status = head.status
        open_rows = {r.id: r.state for r in conn.execute(self._stmt_open_tasks, {"iid": head.id})}
        ready, prepared, next_due, incident = self._prepare(
            conn, wf, open_rows, now, budget, incident, status == "running")
        if incident is not None and status != "incident":
            status, completed = "incident", False
        calls = requested_calls(wf) if status == "running" else []
        for call_task in calls:
            call_task.internal_data[CALL_STATE]["state"] = "started"
        outbound = thrown_messages(wf)
        new_version = head.version + 1
        stage = phase = None
        for t in ready.values():  # the newest open task that names a stage
            stage = t.properties.get("stage") or stage
            phase = t.properties.get("phase") or phase
        res = conn.execute(
            self._stmt_save_instance,
            {
                "b_id": head.id,
                "b_v": head.version,
                "state_json": dump_state(wf),
                "version": new_version,
                "status": status,
                "updated_at": now,
                "ended_at": now if completed else None,
                "completed_tasks": head.completed_tasks + completed_delta,
                "next_due_at": next_due,
                "stage": stage,
                "phase": phase,
            },
        )
        if res.rowcount != 1:
            raise Conflict("实例已被其他操作修改，请刷新后重试")
        if reopened is not None:
            self._keep_completion(conn, reopened)
        self._sync_tasks(conn, head.id, head.process_key, wf, loaded, now, done, events, ready,
                         open_rows, prepared)
        if ended_calls:
            self._terminate_children(conn, head.id, None, now, "调用活动已取消", ended_calls)
        if incident is not None:
            conn.execute(incident_table.insert().values(
                instance_id=head.id, task_id=incident["task_id"],
                element_id=incident["element_id"], message=incident["message"], created_at=now))
            events.append(_ev(head.id, incident["task_id"], None, "incident_raised", now, incident))
        if completed:
            events.append(_ev(head.id, None, None, "instance_completed", now, None))
        self._log(conn, events)
        uow.after_commit(lambda: self.live.checkin(head.id, new_version, wf))

        # Effects on other instances: only once this instance's own row is consistent.
        if depth >= _MAX_CASCADE:
            if calls or outbound:
                raise EngineError("流程之间的调用或消息嵌套过深（超过 20 层），已停止")
            return
        key = None
        if outbound or calls or completed or wf.event_manager.tasks:
            key = self._business_key(conn, head.id)
        new_names = self._sync_subscriptions(conn, head.id, wf, status, key, now)
        for call_task in calls:
            self._start_child(conn, uow, head, key, call_task, now, depth + 1)
        for name, payload in outbound:
            msg_key = key
            if isinstance(payload, dict) and isinstance(payload.get("correlation_key"), str):
                msg_key = payload["correlation_key"]
            self._route_message(conn, uow, name, msg_key, payload, head.id, now, depth + 1)
        for name in new_names:
            self._deliver_pending(conn, uow, head.id, name, key, now, depth + 1)
        if completed:
            self._resume_parent(conn, uow, head.id, wf, now, depth + 1)

    # ------------------------------------------------------------------ messages, calls

    @retry_on_deadlock
    def correlate_message(self, name: str, correlation_key: str | None, payload=None,
                          actor: Actor | None = None, ttl_days: int | None = 30) -> dict:
        """Deliver a message from outside (an external system, an API client).

        Delivered to the oldest instance waiting for ``name`` with that correlation key, or
        it starts a process with a matching message start event, or it waits (until
        ``ttl_days``) for a catcher to appear.
        """
        _text(name, "name", 200, required=True)
        _text(correlation_key, "correlation_key", 200)
        _check_data(payload)
        self._check_size({"payload": payload})
        with self._uow() as uow:
            now = utcnow()
            outcome = self._route_message(uow.conn, uow, name, correlation_key, payload, None,
                                          now, 1, ttl_days=ttl_days,
                                          actor=actor.username if actor else None)
            uow.commit()
        return outcome

    def _business_key(self, conn, iid: int) -> str | None:
        return conn.execute(
            sa.select(instance.c.business_key).where(instance.c.id == iid)
        ).scalar_one_or_none()

    def _sync_subscriptions(self, conn, iid, wf, status, key, now) -> frozenset:
        wanted = waiting_message_names(wf) if status == "running" else frozenset()
        known = getattr(wf, "_kunflow_subscriptions", None)
        if known is None:
            known = frozenset(
                r.name for r in conn.execute(
                    sa.select(message_subscription.c.name)
                    .where(message_subscription.c.instance_id == iid))
            )
        if wanted != known:
            conn.execute(message_subscription.delete()
                         .where(message_subscription.c.instance_id == iid))
            if wanted:
                conn.execute(message_subscription.insert(), [
                    {"instance_id": iid, "name": n, "correlation_key": key, "created_at": now}
                    for n in sorted(wanted)
                ])
        wf._kunflow_subscriptions = wanted
        return wanted - known

    def _route_message(self, conn, uow, name, key, payload, source, now, depth,
                       ttl_days=30, actor=None) -> dict:
        key_match = (message_subscription.c.correlation_key == key if key is not None
                     else message_subscription.c.correlation_key.is_(None))
        stmt = (sa.select(message_subscription.c.instance_id)
                .where(message_subscription.c.name == name, key_match)
                .order_by(message_subscription.c.id))
        if source is not None:
            stmt = stmt.where(message_subscription.c.instance_id != source)
        record = {"name": name, "correlation_key": key, "payload_json": _json(payload),
                  "source_instance_id": source, "created_at": now}
        for (target,) in conn.execute(stmt).all():
            if self._deliver_to(conn, uow, target, name, payload, now, depth, actor):
                conn.execute(message_table.insert().values(
                    **record, delivered_at=now, delivered_to=target))
                return {"status": "delivered", "instance_id": target}
        starter = self._message_start_definition(conn, name)
        if starter is not None:
            iid = self._start_by_message(conn, uow, starter, name, key, payload, now, depth)
            conn.execute(message_table.insert().values(**record, delivered_at=now,
                                                       delivered_to=iid))
            return {"status": "started", "instance_id": iid}
        expires = now + timedelta(days=ttl_days) if ttl_days else None
        mid = conn.execute(message_table.insert().values(**record, expires_at=expires)
                           ).inserted_primary_key[0]
        return {"status": "waiting", "message_id": mid}

    def _deliver_to(self, conn, uow, iid, name, payload, now, depth, actor=None) -> bool:
        self.locks.lock_instance(conn, iid)
        head = conn.execute(self._stmt_instance_head, {"id": iid}).first()
        if head is None or head.status != "running":
            return False
        wf = self._workflow(conn, head)
        if name not in waiting_message_names(wf):
            self.live.discard(iid)
            return False
        loaded = self._spec(head.definition_id)
        incident = self._advance(wf, lambda: wf.send_event(message_event(name, payload)))
        events = [_ev(iid, None, actor, "message_received", now, {"name": name,
                                                                  "payload": payload})]
        self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident, depth)
        return True

    def _deliver_pending(self, conn, uow, iid, name, key, now, depth) -> None:
        key_match = (message_table.c.correlation_key == key if key is not None
                     else message_table.c.correlation_key.is_(None))
        row = conn.execute(
            sa.select(message_table.c.id, message_table.c.payload_json)
            .where(message_table.c.name == name, key_match,
                   message_table.c.delivered_at.is_(None),
                   sa.or_(message_table.c.expires_at.is_(None),
                          message_table.c.expires_at > now))
            .order_by(message_table.c.id).limit(1)
            # Two instances that start waiting at the same moment must not both take it: the
            # second skips the row the first holds and goes on waiting (PostgreSQL; SQLite
            # queues writers).
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return
        payload = json.loads(row.payload_json) if row.payload_json else None
        if self._deliver_to(conn, uow, iid, name, payload, now, depth):
            conn.execute(message_table.update().where(message_table.c.id == row.id)
                         .values(delivered_at=now, delivered_to=iid))

    def _message_start_definition(self, conn, name):
        newest = (sa.select(definition.c.key, sa.func.max(definition.c.version).label("v"))
                  .group_by(definition.c.key).subquery())
        rows = conn.execute(
            sa.select(definition).join(
                newest, (definition.c.key == newest.c.key) & (definition.c.version == newest.c.v))
        ).all()
        for drow in rows:
            if name in message_start_names(self._spec(drow.id).spec):
                return drow
        return None

    def _start_by_message(self, conn, uow, drow, name, key, payload, now, depth) -> int:
        loaded = self._spec(drow.id)
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        bind_business_key(wf, key)
        head = self._insert_instance(conn, drow, key, None, None, now)
        events = [_ev(head.id, None, None, "instance_started", now,
                      {"process_key": drow.key, "version": drow.version, "message": name})]

        def receive():
            wf.do_engine_steps(will_complete_task=sandbox_step)
            wf.send_event(message_event(name, payload))

        incident = self._advance(wf, receive)
        self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident, depth)
        return head.id

    def _start_child(self, conn, uow, parent, key, task, now, depth) -> None:
        process_key = task.internal_data[CALL_STATE]["process_key"]
        drow = conn.execute(
            sa.select(definition).where(definition.c.key == process_key)
            .order_by(definition.c.version.desc()).limit(1)
        ).first()
        if drow is None:
            raise EngineError(f"调用活动所调用的流程 {process_key} 尚未部署")
        loaded = self._spec(drow.id)
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        bind_business_key(wf, key)
        wf.task_tree.data.update(deepcopy(task.data))
        title = conn.execute(sa.select(instance.c.title).where(instance.c.id == parent.id)
                             ).scalar_one_or_none()
        head = self._insert_instance(conn, drow, key, title, None, now,
                                     parent=(parent.id, str(task.id)))
        events = [_ev(head.id, None, None, "instance_started", now,
                      {"process_key": drow.key, "version": drow.version,
                       "parent_instance_id": parent.id, "parent_task_id": str(task.id)})]
        incident = self._advance(wf, None)
        self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident, depth)

    def _resume_parent(self, conn, uow, child_id, child_wf, now, depth) -> None:
        link = conn.execute(
            sa.select(instance.c.parent_instance_id, instance.c.parent_task_id)
            .where(instance.c.id == child_id)
        ).first()
        if link is None or link.parent_instance_id is None:
            return
        # Locked already when this command began (a child's lock takes its callers first).
        self.locks.lock_instance(conn, link.parent_instance_id)
        head = conn.execute(self._stmt_instance_head, {"id": link.parent_instance_id}).first()
        if head is None or head.status != "running":
            return
        wf = self._workflow(conn, head)
        try:
            task = wf.get_task_from_id(UUID(link.parent_task_id))
        except Exception:
            task = None
        call = task.internal_data.get(CALL_STATE) if task is not None else None
        if call is None or call.get("state") != "started":
            self.live.discard(head.id)
            return
        loaded = self._spec(head.definition_id)
        result = {k: v for k, v in child_wf.data.items() if k != "data_objects"}

        def resume():
            call["state"] = "done"
            task.data = deepcopy(result)
            task.task_spec._update(task)

        incident = self._advance(wf, resume)
        events = [_ev(head.id, link.parent_task_id, None, "call_completed", now,
                      {"child_instance_id": child_id})]
        self._save(conn, uow, head, wf, loaded, now, {}, events, 0, incident, depth)

    def _prepare(self, conn, wf, open_rows, now, budget, incident, running):
        """What diagram code decides before the instance is stored: the department, assignee
        and deadline of each new human task (``_routing``), and when the waiting timers fall
        due. Returns (ready tasks, their routing by task id, next due time, incident).

        A violation here (a refused, too slow or too big expression) becomes the incident, on
        the task whose expression it was; without one, a failing expression only leaves its
        default (the lane's department, no assignee, no deadline).
        """
        ready = ready_human_tasks(wf)
        prepared: dict[str, tuple] = {}
        next_due = None
        current = None
        try:
            with budget.running():
                for tid, t in ready.items():
                    if tid not in open_rows:
                        current = t.spiff_task
                        prepared[tid] = self._routing(wf, t, now, conn)
                current = None
                if running and incident is None:
                    next_due = next_timer_due(wf)
            budget.check()
        except ScriptViolation as violation:
            next_due = None
            if incident is None:
                task = violation.task or current
                incident = self._violation_incident(violation, task)
                if task is not None:
                    ready.pop(str(task.id), None)
                    prepared.pop(str(task.id), None)
        return ready, prepared, next_due, incident

    def _routing(self, wf, t, now, conn, code: bool = True) -> tuple:
        """(properties, assignee, due_at, provisional) of a new human task; ``code``: evaluate
        its ``department_expression``, ``assignee`` and ``due_expression``."""
        props = t.properties
        if not code:
            plain = {k: v for k, v in props.items() if k != "due_expression"}
            due_at, provisional = self._deadline_of(plain, t.spiff_task, now, conn)
            return props, None, due_at, provisional
        expr = props.get("department_expression")
        if expr:
            value = self._evaluate(wf, t, expr)
            if isinstance(value, str) and value:
                props = {**props, "department": value}
        assignee = self._assignee(wf, t)
        due_at, provisional = self._deadline(wf, t, now, conn)
        return props, assignee, due_at, provisional

    def _sync_tasks(self, conn, iid, process_key, wf, loaded, now, done, events, ready,
                    open_rows, prepared) -> None:
        closes = []
        for tid in open_rows:
            if tid in ready:
                continue
            if tid in done:
                closes.append({"b_id": tid, "state": "completed", "completed_at": now,
                               "completed_by": done[tid]})
            else:
                closes.append({"b_id": tid, "state": "cancelled", "completed_at": now,
                               "completed_by": None})
                events.append(_ev(iid, tid, None, "task_cancelled", now, None))
        if closes:
            conn.execute(self._stmt_close_task, closes)
        new = [t for tid, t in ready.items() if tid not in open_rows]
        if not new:
            return
        directory = self.directory()
        rows = []
        for t in new:
            props, assignee, due_at, provisional = (
                prepared.get(t.id) or self._routing(wf, t, now, conn, code=False))
            dept = routing.department_for(t.lane, loaded.parsed.lanes, props, directory)
            rows.append({
                "id": t.id, "instance_id": iid, "process_key": process_key,
                "element_id": t.element_id, "name": t.name, "lane": t.lane,
                "department_code": dept, "candidate_role": t.properties.get("candidate_role"),
                "assignee": assignee, "state": "claimed" if assignee else "ready",
                "created_at": now, "claimed_at": now if assignee else None, "due_at": due_at,
                "completed_at": None, "completed_by": None,
                "form_key": t.properties.get("form_key"), "stage": t.properties.get("stage"),
                "paused_at": None, "due_provisional": provisional,
            })
            events.append(_ev(iid, t.id, None, "task_created", now,
                              {"element_id": t.element_id, "department": dept,
                               "assignee": assignee}))
        conn.execute(self._stmt_insert_task, rows)

    @staticmethod
    def _keep_completion(conn, task_id: str) -> None:
        """A send-back reopens a completed task under its own id (SpiffWorkflow's reset keeps
        the task's id), and the open task's row takes that id: its URL stays. The completed row
        is history, not rewritten: it moves to a new id and stays in its completer's 已办 (done
        list) with its completion time; the deadline clock's stops of that round go with it."""
        kept = str(uuid4())
        conn.execute(task.update().where(task.c.id == task_id).values(id=kept))
        conn.execute(task_pause.update().where(task_pause.c.task_id == task_id)
                     .values(task_id=kept))

    def _evaluate(self, wf, ready_task, expr):
        try:
            return wf.script_engine.evaluate(ready_task.spiff_task, expr)
        except ScriptViolation:
            raise  # refused, too slow, too big: an incident (``_prepare``)
        except Exception:  # a failing routing/deadline expression leaves the default
            return None

    def _deadline(self, wf, ready_task, now, conn) -> tuple[datetime | None, bool]:
        """A human task's due time from its properties: ``due_working_days`` (working days,
        due at the end of that day, China's calendar), ``due_hours`` (clock hours) or
        ``due_expression`` (a number of working days, a date/time, or a date: due at the end
        of that day, 23:59:59 China time)."""
        return self._deadline_of(ready_task.properties, ready_task.spiff_task, now, conn)

    def _deadline_of(self, props, spiff_task, now, conn) -> tuple[datetime | None, bool]:
        """``_deadline`` from a task's properties; ``due_expression`` is evaluated in the data
        of ``spiff_task`` (the task itself, or a boundary event of it: the same data)."""
        value = None
        if props.get("due_expression"):
            try:
                value = self.script_engine.evaluate(spiff_task, props["due_expression"])
            except ScriptViolation:
                raise
            except Exception:  # a failing deadline expression leaves the task without one
                value = None
        elif props.get("due_working_days"):
            value = props["due_working_days"]
        elif props.get("due_hours"):
            try:
                return now + timedelta(hours=float(props["due_hours"])), False
            except ValueError:
                return None, False
        if value is None or isinstance(value, bool):
            return None, False
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            deadline = self.calendar.current(conn).deadline(now, int(value))
            return deadline.due_at, deadline.provisional
        day = date_only(value)
        if day is not None:  # a date without a time: due at the end of that day, China time
            return end_of_local_day(day), False
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None, False
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value, False
        return None, False

    def _assignee(self, wf, ready_task) -> str | None:
        expr = ready_task.properties.get("assignee")
        if not expr:
            return None
        try:
            value = wf.script_engine.evaluate(ready_task.spiff_task, expr)
        except ScriptViolation:
            raise
        except Exception:  # an assignee expression that fails leaves the task to the queue
            return None
        return value if isinstance(value, str) and value else None

    def _log(self, conn, events: list[dict]) -> None:
        if events:
            conn.execute(self._stmt_insert_event, events)

    def _instance_info(self, conn, instance_id: int) -> InstanceInfo:
        cols = [c for c in instance.c if c.name != "state_json"]
        row = conn.execute(
            sa.select(*cols, definition.c.version.label("def_version"))
            .join(definition, definition.c.id == instance.c.definition_id)
            .where(instance.c.id == instance_id)
        ).first()
        if row is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        tasks = conn.execute(
            sa.select(*_TASK_COLUMNS)
            .where(task.c.instance_id == instance_id, task.c.state.in_(OPEN_STATES))
            .order_by(task.c.created_at, task.c.id)
        ).all()
        return _instance(
            row, tuple(_task(t, business_key=row.business_key, title=row.title) for t in tasks)
        )

    # --- operations for workflows and the CLI (issue 10)

    def close(self) -> None:
        """Release the database connections (the end of a command-line run, a test, a process).
        The engine can still be used afterwards: it connects again when asked."""
        self.db.dispose()

    def make_access(self, *, policy: LoginPolicy | None = None,
                    session_idle: timedelta = timedelta(hours=8)) -> Access:
        """Sessions and the login throttle (``Access``) on this engine's database, with the
        policy and idle limit that whoever holds the settings chose."""
        return Access(self.db, policy=policy, session_idle=session_idle)

    def next_timer_due(self) -> datetime | None:
        """When the earliest timer of a running instance falls due (naive UTC); None when no
        running instance waits for one. ``fire_due_timers`` advances those due by now."""
        with self._uow(readonly=True) as uow:
            return uow.conn.execute(
                sa.select(sa.func.min(instance.c.next_due_at))
                .where(instance.c.status == "running", instance.c.next_due_at.is_not(None))
            ).scalar_one()

    def count_instances_by_stage(self, process_key: str) -> dict[str | None, int]:
        """How many instances of ``process_key`` stand at each stage, whatever their status
        (the key None: instances that never reached a task with a stage)."""
        _text(process_key, "process_key", 200, required=True)
        with self._uow(readonly=True) as uow:
            rows = uow.conn.execute(
                sa.select(instance.c.stage, sa.func.count())
                .where(instance.c.process_key == process_key)
                .group_by(instance.c.stage)
            ).all()
        return {stage: count for stage, count in rows}

    def list_messages(self, names: list[str] | tuple[str, ...], *,
                      correlation_key: str | None = None, limit: int = 500) -> list[MessageInfo]:
        """Messages called one of ``names`` (thrown by a diagram or posted from outside,
        delivered or still waiting), newest first, at most ``limit``; ``correlation_key``
        keeps those of that key. Not filtered by actor: the caller decides who sees them."""
        names = list(names)
        for name in names:
            _text(name, "name", 200, required=True)
        _text(correlation_key, "correlation_key", 200)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInput("limit 必须是 1 到 10000 之间的整数")
        stmt = (sa.select(message_table).where(message_table.c.name.in_(names))
                .order_by(message_table.c.id.desc()).limit(limit))
        if correlation_key is not None:
            stmt = stmt.where(message_table.c.correlation_key == correlation_key)
        with self._uow(readonly=True) as uow:
            rows = uow.conn.execute(stmt).all() if names else []
        found = []
        for r in rows:
            try:
                payload = json.loads(r.payload_json) if r.payload_json else None
            except ValueError:
                payload = None
            found.append(MessageInfo(r.id, r.name, r.correlation_key, payload,
                                     r.source_instance_id, r.created_at, r.delivered_at,
                                     r.delivered_to))
        return found


@dataclass(frozen=True)
class _Head:
    """The instance columns a command needs before it touches the workflow."""

    id: int
    definition_id: int
    process_key: str
    status: str
    version: int
    completed_tasks: int


def _local_day(moment: datetime) -> date:
    """The calendar day in China of a naive UTC time."""
    return (moment + timedelta(hours=8)).date()


def _shift_working_days(cal, moment: datetime, days: int) -> datetime:
    """``moment`` moved to the same time of day ``days`` working days later (earlier if
    negative), counted on the China calendar day of ``moment``."""
    day = _local_day(moment)
    return moment + (cal.add_working_days(day, days) - day)


def _cancelled_calls(wf) -> list[str]:
    """Ids of call-activity tasks cancelled while their child instance ran, each reported
    once (marked in the task's call state)."""
    ids = []
    for flow in (wf, *wf.subprocesses.values()):
        for t in flow.tasks.values():
            call = t.internal_data.get(CALL_STATE)
            if call and call.get("state") == "cancelled" and not call.get("child_ended"):
                call["child_ended"] = True
                ids.append(str(t.id))
    return ids


def _element_of(task) -> str | None:
    if task is None:
        return None
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _spiff_task(wf, task_id: str):
    try:
        return wf.get_task_from_id(UUID(task_id))
    except Exception:  # the row outlived its task (not expected): no timers to move
        return None


def _ev(iid, task_id, actor, kind, at, data) -> dict:
    return {
        "instance_id": iid,
        "task_id": task_id,
        "actor": actor.username if isinstance(actor, Actor) else actor,
        "kind": kind,
        "at": at,
        "data_json": _json(data),
    }


_MAX_ID = 2**31 - 1
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _instance_id(value) -> int:
    """Ids outside the column's range cannot exist: NotFound, not a database error."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_ID:
        raise NotFound(f"流程实例 {value} 不存在")
    return value


def _task_id(value) -> str:
    value = str(value).lower()
    if not _UUID.match(value):
        raise NotFound("任务不存在（任务编号格式不正确）")
    return value


def _text(value, name: str, max_len: int, required: bool = False) -> str | None:
    """Reject text a database column cannot hold (too long, NUL, lone surrogates)."""
    if value is None:
        if required:
            raise InvalidInput(f"{name} 不能为空")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串")
    if required and not value.strip():
        raise InvalidInput(f"{name} 不能为空")
    if len(value) > max_len:
        raise InvalidInput(f"{name} 最长 {max_len} 个字符")
    _check_string(value, name)
    return value


def _check_string(value: str, name: str) -> None:
    if "\x00" in value:
        raise InvalidInput(f"{name} 含有不允许的字符（NUL）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} 含有无效的 Unicode 字符") from None


def _check_data(data, name: str = "data", depth: int = 0) -> None:
    """Submitted data must be storable as JSON text on every backend."""
    if depth > 32:
        raise InvalidInput(f"{name} 嵌套层数过深")
    if isinstance(data, str):
        _check_string(data.replace("\x00", ""), name)
    elif isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{name} 的键必须是字符串")
            _check_string(key, name)
            _check_data(value, f"{name}.{key}", depth + 1)
    elif isinstance(data, list | tuple):
        for item in data:
            _check_data(item, name, depth + 1)
    elif isinstance(data, float) and data != data or data in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name} 不能是 NaN 或无穷大")


def _page(limit, offset) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise InvalidInput("limit 和 offset 必须是整数") from None
    if limit < 1 or limit > _MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit 取值 1–{_MAX_PAGE}，offset 不能为负")
    return limit, offset


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped with a backslash."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_instances(text: str):
    """Ids of the instances whose title or business key contains ``text`` (a subquery).

    Read from the index on (title, business_key) where the database can: the instance rows
    carry the serialized state, so scanning them costs far more than scanning the index."""
    pattern = _like_pattern(text)
    return sa.select(instance.c.id).where(
        sa.or_(instance.c.title.like(pattern, escape="\\"),
               instance.c.business_key.like(pattern, escape="\\"))
    ).correlate(None)


def _task_order(scope: str, sort: str | None) -> list:
    if sort in (None, ""):
        return [task.c.completed_at.desc() if scope == "done" else task.c.created_at.desc()]
    orders = {
        "created": [task.c.created_at.asc()],
        "-created": [task.c.created_at.desc()],
        # Tasks without a deadline sort after every dated one either way.
        "due": [task.c.due_at.is_(None), task.c.due_at.asc()],
        "-due": [task.c.due_at.is_(None), task.c.due_at.desc()],
        "completed": [task.c.completed_at.asc()],
        "-completed": [task.c.completed_at.desc()],
    }
    if sort not in orders:
        raise InvalidInput("sort 只能是 created、-created、due、-due、completed 或 -completed")
    return orders[sort]


def _task(row, business_key=None, title=None, data=None) -> TaskInfo:
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
    )


def _instance(row, tasks=()) -> InstanceInfo:
    return InstanceInfo(
        id=row.id, process_key=row.process_key, definition_version=row.def_version,
        business_key=row.business_key, title=row.title, status=row.status, version=row.version,
        started_by=row.started_by, started_at=row.started_at, updated_at=row.updated_at,
        ended_at=row.ended_at, tasks=tasks, stage=row.stage, phase=row.phase,
        parent_instance_id=row.parent_instance_id,
    )
