"""Room: process definitions. Deploy a diagram (with its DMN and form files) as a new version
of its key, with warnings about lanes and start departments that name no department; read
definitions and their XML; who may start which process by hand; and the lookups the message
and call cascade needs (newest version of a key, the process a message starts)."""

from __future__ import annotations

import json
from dataclasses import replace

import sqlalchemy as sa

from . import modelcheck, routing
from .checks import MAX_ID, text
from .clock import utcnow
from .context import Context
from .definitions import ParsedDefinition, checksum, start_info_from_xml
from .dto import Actor, DefinitionInfo, DeployResult, ModelReport
from .errors import Forbidden, InvalidInput, InvalidModel, NotFound
from .messages import message_start_names
from .model import definition, definition_file
from .rows import event_row, to_json, write_events
from .transfer_rules import unknown_transfer_entries  # handover (issue 14)


def warning(element_id, rule: str, message: str, hint: str = "",
            element_type: str | None = None) -> dict:
    """A deploy warning as stored and returned: the shape of a model check's ``Problem``
    without its file and line."""
    return {"element_id": element_id, "element_type": element_type, "rule": rule,
            "message": message, "hint": hint}


def stored_warning(w: dict) -> dict:
    """A stored warning in today's shape (versions deployed before the warnings carried
    ``rule`` and ``hint`` have ``rule`` None and an empty hint)."""
    return warning(w.get("element_id"), w.get("rule"), w.get("message", ""), w.get("hint") or "",
                   w.get("element_type"))


class Deployments:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        # list_definitions' last answer: (its mark, the directory it was made with, the list)
        self._newest: tuple | None = None

    def deploy(
        self,
        filename: str,
        bpmn: bytes,
        files: dict[str, bytes] | None = None,
        actor: Actor | None = None,
        comment: str | None = None,
        within=None,
    ) -> DeployResult:
        """Validate and store a BPMN file (with its DMN/form files) as a new version of its key.

        An unchanged file (same checksum as the newest version) creates nothing. Raises
        InvalidModel when the diagram cannot be deployed; nothing is stored then. ``comment``:
        the admin's note on the new version; ``within(conn, key)``: more work for the same
        unit of work (a draft deployed is removed with it), run whether or not a version is
        created.
        """
        if actor is not None and not actor.is_admin:
            raise Forbidden("只有流程管理员可以部署流程")
        text(filename, "文件名", 400, required=True)
        comment = (text(comment, "版本说明", 2000) or "").strip() or None
        files = dict(files or {})
        for name in files:
            text(name, "文件名", 400, required=True)
            if not name.endswith((".dmn", ".form", ".json")):
                raise InvalidInput(f"不支持的附带文件类型：{name}（仅支持 .dmn / .form）")
        report, parsed, loaded = self.validate(filename, bpmn, files)
        if report.errors:
            raise InvalidModel(modelcheck.summary(filename, report.errors),
                               [p.to_dict() for p in report.errors])
        parsed = self.with_warnings(parsed, report.warnings)
        digest = checksum(bpmn, files)
        try:
            xml_text = bpmn.decode("utf-8")
            file_texts = {n: c.decode("utf-8") for n, c in files.items()}
        except UnicodeDecodeError:
            raise InvalidInput("文件必须使用 UTF-8 编码") from None
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_definition_key(conn, parsed.key)
            latest = conn.execute(
                sa.select(definition)
                .where(definition.c.key == parsed.key)
                .order_by(definition.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.checksum == digest:
                info = self.definition_info(conn, latest)
                if within is not None:
                    within(conn, parsed.key)
                    uow.commit()
                return DeployResult(info, created=False)
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
                    meta_json=to_json(parsed.to_meta()),
                    deployed_by=actor.username if actor else None,
                    deployed_at=now,
                    comment=comment,
                )
            ).inserted_primary_key[0]
            for name, content in file_texts.items():
                kind = "dmn" if name.endswith(".dmn") else "form"
                conn.execute(
                    definition_file.insert().values(
                        definition_id=def_id, filename=name, kind=kind, content=content
                    )
                )
            write_events(conn, [event_row(None, None, actor, "deployed", now,
                                          {"key": parsed.key, "version": version,
                                           "comment": comment})])
            if within is not None:
                within(conn, parsed.key)
            row = conn.execute(sa.select(definition).where(definition.c.id == def_id)).one()
            info = self.definition_info(conn, row)
            uow.commit()
        self.ctx.specs.put(def_id, loaded)
        return DeployResult(info, created=True)

    def with_warnings(self, parsed: ParsedDefinition, checked=()) -> ParsedDefinition:
        """``parsed`` with a warning for each task whose lane names no department (and that no
        ``department_expression`` routes), and each ``start_departments`` entry that names no
        department or department kind; ``checked``:
        the model check's warnings (``modelcheck``), stored first; the lane warning of a task
        the check already warned about is not repeated."""
        directory = self.ctx.directory()
        warnings = [{k: v for k, v in p.to_dict().items() if k not in ("file", "line")}
                    for p in checked]
        warned = {(w["element_id"], w["rule"]) for w in warnings}
        for t in parsed.tasks.values():
            if (t.element_id, "kunflow/user-task-department") in warned:
                continue
            if (t.department_expression or "").strip():
                continue  # routed at run time (a lane named for a role), as the model check says
            if routing.department_for(t.lane, parsed.lanes, t.properties, directory) is None:
                warnings.append(warning(
                    t.element_id, "kunflow/user-task-department",
                    f"任务“{t.name}”所在泳道“{t.lane or '（无）'}”没有对应的部门，任务只对管理员可见",
                    "把任务放进以部门命名的泳道，或给任务设置 department 属性或部门表达式",
                    "bpmn:UserTask"))
        for entry in routing.unknown_start_entries(parsed.start_departments, directory,
                                                   self.ctx.department_kinds()):
            warnings.append(warning(
                parsed.key, "kunflow/start-departments",
                f"发起部门（start_departments）中的“{entry}”不是已知的部门或部门类别，"
                "不会让任何部门获得发起权限",
                "改为组织机构中的部门名称、编码或 kind:部门类别", "bpmn:Process"))
        # >>> handover: 转办 beyond the department (issue 14)
        for t in parsed.tasks.values():
            for entry in unknown_transfer_entries(t.properties, directory,
                                                  self.ctx.department_kinds()):
                warnings.append(warning(
                    t.element_id, "kunflow/transfer-departments",
                    f"任务“{t.name}”的可转办部门（transfer_departments）中的“{entry}”"
                    "不是已知的部门或部门类别，不会放开转办范围",
                    "改为组织机构中的部门名称、编码或 kind:部门类别", "bpmn:UserTask"))
        # <<< handover
        return replace(parsed, warnings=warnings)

    # ------------------------------------------------------------------ reads

    def list_definitions(self) -> list[DefinitionInfo]:
        """The newest version of every process key.

        Every page shows process names, so the answer is kept and given again while the
        definition table is unchanged: definitions are only ever added (a new version is a new
        row), so their number and highest id mark a change, on every node. What depends on
        the org chart (who may start) is made again when the department directory is."""
        with self.ctx.uow(readonly=True) as uow:
            mark = tuple(uow.conn.execute(
                sa.select(sa.func.count(), sa.func.max(definition.c.id))).one())
            directory = self.ctx.directory()
            kept = self._newest
            if kept is not None and kept[0] == mark and kept[1] is directory:
                return list(kept[2])
            infos = self._read_newest(uow.conn)
        self._newest = (mark, directory, tuple(infos))
        return infos

    def _read_newest(self, conn) -> list[DefinitionInfo]:
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
        return [self.definition_info(conn, r) for r in conn.execute(stmt)]

    def get_definition(self, key: str, version: int | None = None) -> DefinitionInfo:
        with self.ctx.uow(readonly=True) as uow:
            return self.definition_info(uow.conn, self.definition_row(uow.conn, key, version))

    def list_definition_versions(self, key: str) -> list[DefinitionInfo]:
        text(key, "流程标识", 200, required=True)
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.conn.execute(
                sa.select(definition).where(definition.c.key == key).order_by(definition.c.version)
            ).all()
            if not rows:
                raise NotFound(f"流程 {key} 不存在")
            return [self.definition_info(uow.conn, r) for r in rows]

    def get_definition_xml(self, key: str, version: int | None = None) -> str:
        with self.ctx.uow(readonly=True) as uow:
            return self.definition_row(uow.conn, key, version).bpmn_xml

    def definition_row(self, conn, key: str, version: int | None):
        """The ``definition`` row of ``key`` (its newest version when ``version`` is None);
        NotFound when there is none."""
        text(key, "流程标识", 200, required=True)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_ID
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

    def definition_info(self, conn, row) -> DefinitionInfo:
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
            warnings=tuple(stored_warning(w) for w in meta.get("warnings", ())),
            **self.start_fields(row, meta),
            comment=row.comment,
        )

    def start_fields(self, row, meta: dict) -> dict:
        """DefinitionInfo's start fields: who may start it by hand, with which form."""
        start = meta.get("start") or start_info_from_xml(row.bpmn_xml, row.key)
        codes, restricted = routing.start_departments(
            meta.get("start_lanes", ()), meta.get("lanes", {}), start["departments"],
            self.ctx.directory(), self.ctx.department_kinds())
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

    # ------------------------------------------------------------------ cascade lookups

    def newest_definition(self, conn, key: str):
        """The newest ``definition`` row of ``key``, or None (a call activity's process)."""
        return conn.execute(
            sa.select(definition).where(definition.c.key == key)
            .order_by(definition.c.version.desc()).limit(1)
        ).first()

    def message_start_definition(self, conn, name: str):
        """The newest version of the first process that a message ``name`` starts, or None."""
        newest = (sa.select(definition.c.key, sa.func.max(definition.c.version).label("v"))
                  .group_by(definition.c.key).subquery())
        rows = conn.execute(
            sa.select(definition).join(
                newest, (definition.c.key == newest.c.key) & (definition.c.version == newest.c.v))
        ).all()
        for drow in rows:
            if name in message_start_names(self.ctx.spec(drow.id).spec):
                return drow
        return None

    # ------------------------------------------------------------------ area "checks"

    def validate(self, filename: str, bpmn: bytes, files: dict[str, bytes] | None = None):
        """(ModelReport, parsed, loaded) of a diagram: the model check and the engine's parse,
        with the org chart the department rule needs; parsed/loaded None on errors."""
        return modelcheck.validate(filename, bpmn, files, self.ctx.directory())

    def validate_model(self, filename: str, bpmn: bytes, files: dict[str, bytes] | None = None,
                       actor: Actor | None = None) -> ModelReport:
        """The deploy check without deploying (the modeler's 校验 button)."""
        if actor is not None and not actor.is_admin:
            raise Forbidden("只有流程管理员可以校验流程")
        text(filename, "文件名", 400, required=True)
        return self.validate(filename, bpmn, dict(files or {}))[0]

    def import_model(self, filename: str, bpmn: bytes, actor: Actor | None = None,
                     key: str | None = None):
        """A diagram of another modeler in kunflow's dialect (``modelcheck.import_diagram``),
        its main process renamed ``key`` when given."""
        if actor is not None and not actor.is_admin:
            raise Forbidden("只有流程管理员可以导入流程")
        text(filename, "文件名", 400, required=True)
        if key is not None:
            text(key, "流程标识", 100, required=True)
        return modelcheck.import_diagram(filename, bpmn, self.ctx.directory(), key)
