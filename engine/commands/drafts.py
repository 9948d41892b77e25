"""The process admin's drafts (issue 11): one draft per process key, kept on the server so that
it survives a reload; saved with an optimistic revision (two admins editing: the second save
with a stale revision is refused, naming who saved last); deployed as the next version with a
comment (the full deploy check applies, the draft goes with the new version); discarded; or
started for a new process from a template (a blank process, or a copy of an existing one).

A draft may be invalid or not executable yet: saving checks only that it is a BPMN diagram of
its key within the size limits, and that its files are DMN / form files."""

from __future__ import annotations

import json
import re
from xml.sax.saxutils import quoteattr

import sqlalchemy as sa
from lxml import etree

from ..checks import text
from ..clock import to_local, utcnow
from ..context import Context
from ..definitions import BPMN_NS, RESERVED_IDS
from ..deployments import Deployments
from ..dto import Actor, DeployResult, ProcessDraftInfo
from ..errors import Conflict, InvalidInput, NotFound
from ..model import department, process_draft
from ..queries.catalogue import (
    check_key,
    draft_info,
    draft_row,
    require_admin,
    version_files,
    version_row,
)

MAX_BPMN_CHARS = 5_000_000
MAX_FILE_CHARS = 2_000_000
MAX_FILES = 100
MAX_TOTAL_CHARS = 20_000_000
FILE_SUFFIXES = (".dmn", ".form", ".json")
BLANK = "blank"
# A new process key: a BPMN id that is also a plain identifier (STYLE.md: snake_case ids).
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class ProcessDrafts:
    def __init__(self, ctx: Context, deployments: Deployments):
        self.ctx = ctx
        self.deployments = deployments

    # ------------------------------------------------------------------ save, discard

    def save(self, key: str, actor: Actor, bpmn_xml: str, files: dict | None = None,
             base_version: int | None = None, revision: int | None = None
             ) -> ProcessDraftInfo:
        """Store the draft of ``key``. ``revision``: the revision the editor loaded (0: it
        started from a version, no draft stored); a different stored revision is a Conflict
        naming who saved it. None saves whatever is stored (last write wins)."""
        require_admin(actor)
        check_key(key)
        check_draft_xml(key, bpmn_xml)
        files = check_draft_files(files)
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)
                                     or revision < 0):
            raise InvalidInput("revision 须为非负整数")
        if base_version is not None and (isinstance(base_version, bool)
                                         or not isinstance(base_version, int)
                                         or base_version < 1):
            raise InvalidInput("base_version 须为正整数")
        payload = json.dumps(files, ensure_ascii=False)
        now = utcnow()
        with self.ctx.uow() as uow:
            conn = uow.conn
            row = draft_row(conn, key)
            if row is None:
                if revision not in (None, 0):
                    raise Conflict("草稿已不存在（可能已被部署或放弃），请重新载入后再编辑",
                                   {"revision": None})
                if base_version is None:
                    newest = version_row(conn, key, None)
                    base_version = newest.version if newest is not None else None
                try:
                    conn.execute(process_draft.insert().values(
                        process_key=key, bpmn_xml=bpmn_xml, files_json=payload,
                        base_version=base_version, created_by=actor.username,
                        created_at=now, updated_by=actor.username, updated_at=now,
                        revision=1))
                except sa.exc.IntegrityError:
                    # another admin stored the first save a moment earlier
                    raise Conflict("另一位管理员刚刚保存了该流程的草稿，请重新载入后再修改",
                                   {"revision": None}) from None
            else:
                if revision is not None and revision != row.revision:
                    raise self._stale(row)
                values = dict(bpmn_xml=bpmn_xml, files_json=payload, updated_by=actor.username,
                              updated_at=now, revision=row.revision + 1)
                if base_version is not None:
                    values["base_version"] = base_version
                done = conn.execute(process_draft.update().where(
                    process_draft.c.process_key == key,
                    process_draft.c.revision == row.revision).values(**values))
                if done.rowcount != 1:
                    raise self._stale(draft_row(conn, key))
            info = draft_info(draft_row(conn, key))
            uow.commit()
        return info

    @staticmethod
    def _stale(row) -> Conflict:
        if row is None:
            return Conflict("草稿已不存在（可能已被部署或放弃），请重新载入后再编辑",
                            {"revision": None})
        when = to_local(row.updated_at).strftime("%Y-%m-%d %H:%M")
        return Conflict(
            f"草稿已被 {row.updated_by or '其他管理员'} 于 {when} 保存（第 {row.revision} 次保存），"
            "你的修改基于旧的内容；请重新载入草稿后再修改",
            {"revision": row.revision, "updated_by": row.updated_by,
             "updated_at": row.updated_at.isoformat() + "Z"})

    def discard(self, key: str, actor: Actor) -> bool:
        """Forget the draft of ``key``; False when there was none."""
        require_admin(actor)
        check_key(key)
        with self.ctx.uow() as uow:
            gone = uow.conn.execute(process_draft.delete().where(
                process_draft.c.process_key == key)).rowcount
            uow.commit()
        return bool(gone)

    # ------------------------------------------------------------------ deploy

    def deploy(self, key: str, actor: Actor, comment: str | None = None) -> DeployResult:
        """Deploy the draft of ``key`` as its next version with ``comment`` (the full deploy
        check: InvalidModel with the problems when it cannot run); the draft is removed in the
        same unit of work. Unchanged from the newest version: no version is created (the
        draft is removed all the same). Conflict when a version newer than the draft's base
        was deployed meanwhile, or the draft was saved again while deploying."""
        require_admin(actor)
        check_key(key)
        with self.ctx.uow(readonly=True) as uow:
            row = draft_row(uow.conn, key)
            if row is None:
                raise NotFound(f"流程 {key} 没有草稿")
            newest = version_row(uow.conn, key, None)
        if newest is not None and (row.base_version is None
                                   or newest.version > row.base_version):
            based = f"基于版本 {row.base_version}" if row.base_version else "是新流程的草稿"
            raise Conflict(
                f"草稿{based}，而 {newest.deployed_by or '其他管理员'} "
                f"已部署了版本 {newest.version}；请先比较差异，确认后以最新版本为基础保存草稿"
                "（base_version）再部署",
                {"base_version": row.base_version, "newest_version": newest.version})
        filename = newest.filename if newest is not None else f"{key}.bpmn"
        revision = row.revision

        def remove_draft(conn, deployed_key: str) -> None:
            if deployed_key != key:
                raise InvalidInput(f"草稿中的主流程标识为 {deployed_key}，与 {key} 不一致")
            gone = conn.execute(process_draft.delete().where(
                process_draft.c.process_key == key, process_draft.c.revision == revision))
            if gone.rowcount != 1:
                raise self._stale(draft_row(conn, key))

        files = {name: content.encode("utf-8")
                 for name, content in json.loads(row.files_json or "{}").items()}
        return self.deployments.deploy(filename, row.bpmn_xml.encode("utf-8"), files, actor,
                                       comment=comment, within=remove_draft)

    # ------------------------------------------------------------------ new process

    def new(self, key: str, name: str, actor: Actor, template: str = BLANK) -> ProcessDraftInfo:
        """The draft of a new process ``key`` called ``name``: from the blank template (a
        start event, one user task with a form in the lane of the actor's department, an end
        event) or as a copy of the newest version of the process ``template``."""
        require_admin(actor)
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise InvalidInput("流程标识须以字母或下划线开头，只含字母、数字和下划线，最长 100 个字符")
        if key in RESERVED_IDS:
            raise InvalidInput(f"标识“{key}”是保留字，请改用其他标识")
        name = (text(name, "流程名称", 200, required=True) or "").strip()
        template = text(template or BLANK, "模板", 200, required=True)
        now = utcnow()
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_definition_key(conn, key)
            if version_row(conn, key, None) is not None or draft_row(conn, key) is not None:
                raise Conflict(f"流程标识 {key} 已存在，请换一个标识")
            if template == BLANK:
                xml, files = blank_process(key, name, self._department_name(conn, actor))
            else:
                source = version_row(conn, template, None)
                if source is None:
                    raise NotFound(f"模板流程 {template} 不存在")
                xml = renamed_copy(source.bpmn_xml, template, key, name)
                files = version_files(conn, source.id)
            conn.execute(process_draft.insert().values(
                process_key=key, bpmn_xml=xml, files_json=json.dumps(files, ensure_ascii=False),
                base_version=None, created_by=actor.username, created_at=now,
                updated_by=actor.username, updated_at=now, revision=1))
            info = draft_info(draft_row(conn, key))
            uow.commit()
        return info

    @staticmethod
    def _department_name(conn, actor: Actor) -> str:
        """The name of the actor's department (the blank template's lane), else of the first
        department; a placeholder when the org chart is empty."""
        stmt = sa.select(department.c.name).order_by(department.c.code).limit(1)
        if actor.department_code:
            own = conn.execute(sa.select(department.c.name).where(
                department.c.code == actor.department_code)).scalar()
            if own:
                return own
        return conn.execute(stmt).scalar() or "经办部门"


# ------------------------------------------------------------------ checks


def check_draft_xml(key: str, bpmn_xml) -> None:
    """A draft's diagram: text within the limit, XML, a BPMN file with a process ``key``."""
    if not isinstance(bpmn_xml, str) or not bpmn_xml.strip():
        raise InvalidInput("bpmn_xml 不能为空")
    if len(bpmn_xml) > MAX_BPMN_CHARS:
        raise InvalidInput(f"流程图过大（最多 {MAX_BPMN_CHARS // 1_000_000} 百万字符）")
    text(bpmn_xml, "bpmn_xml", MAX_BPMN_CHARS)
    try:
        root = etree.fromstring(bpmn_xml.encode("utf-8"), _XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidInput(f"流程图不是有效的 XML：{exc}") from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidInput("流程图不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）")
    ids = [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")]
    if not ids:
        raise InvalidInput("流程图中没有流程（bpmn:process）")
    if key not in ids:
        raise InvalidInput(f"流程图中流程的标识为 {'、'.join(i or '（空）' for i in ids)}，"
                           f"与草稿的流程标识 {key} 不一致")


def check_draft_files(files) -> dict[str, str]:
    """A draft's files: {name: text}, DMN and form files only, within the limits."""
    if files is None:
        return {}
    if not isinstance(files, dict):
        raise InvalidInput("files 须为 {文件名: 内容} 对象")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"附带文件最多 {MAX_FILES} 个")
    total = 0
    for name, content in files.items():
        text(name, "文件名", 200, required=True)
        if "/" in name or "\\" in name or name.startswith(".") or name != name.strip():
            raise InvalidInput(f"文件名无效：{name}")
        if not name.endswith(FILE_SUFFIXES):
            raise InvalidInput(f"不支持的附带文件类型：{name}（仅支持 .dmn / .form / .json）")
        if not isinstance(content, str):
            raise InvalidInput(f"文件 {name} 的内容须为文本")
        if len(content) > MAX_FILE_CHARS:
            raise InvalidInput(f"文件 {name} 过大（最多 {MAX_FILE_CHARS // 1_000_000} 百万字符）")
        text(content, f"文件 {name}", MAX_FILE_CHARS)
        total += len(content)
    if total > MAX_TOTAL_CHARS:
        raise InvalidInput("附带文件合计过大")
    return dict(files)


# ------------------------------------------------------------------ templates


def renamed_copy(xml: str, old_key: str, key: str, name: str) -> str:
    """The diagram of process ``old_key`` with that process renamed ``key`` / ``name`` (and
    the participant and diagram references to it)."""
    root = etree.fromstring(xml.encode("utf-8"), _XML_PARSER)
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == f"{{{BPMN_NS}}}process" and node.get("id") == old_key:
            node.set("id", key)
            node.set("name", name)
        for attr in ("processRef", "bpmnElement"):
            if node.get(attr) == old_key:
                node.set(attr, key)
        if node.tag == f"{{{BPMN_NS}}}participant" and node.get("processRef") == key:
            node.set("name", name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def blank_process(key: str, name: str, department_name: str) -> tuple[str, dict[str, str]]:
    """The blank template: start -> one user task (with its form, due in 5 working days) in
    the lane of ``department_name`` -> end, laid out for the modeler."""
    form_key = f"{key}_handle"
    lane = quoteattr(department_name)
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="{key}_definitions" targetNamespace="http://kunflow.kundulun.gov.cn/bpmn" exporter="kunflow" exporterVersion="1.0">
  <bpmn:collaboration id="{key}_collaboration">
    <bpmn:participant id="{key}_pool" name={quoteattr(name)} processRef="{key}" />
  </bpmn:collaboration>
  <bpmn:process id="{key}" name={quoteattr(name)} isExecutable="true">
    <bpmn:laneSet id="{key}_lanes">
      <bpmn:lane id="lane_main" name={lane}>
        <bpmn:flowNodeRef>start_event</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>handle</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_event</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_event" name="发起">
      <bpmn:outgoing>flow_start_to_handle</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="handle" name="办理">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form_key" value="{form_key}" />
          <spiffworkflow:property name="stage" value="办理" />
          <spiffworkflow:property name="due_working_days" value="5" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_start_to_handle</bpmn:incoming>
      <bpmn:outgoing>flow_handle_to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_event" name="办结">
      <bpmn:incoming>flow_handle_to_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start_to_handle" sourceRef="start_event" targetRef="handle" />
    <bpmn:sequenceFlow id="flow_handle_to_end" sourceRef="handle" targetRef="end_event" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="{key}_diagram">
    <bpmndi:BPMNPlane id="{key}_plane" bpmnElement="{key}_collaboration">
      <bpmndi:BPMNShape id="{key}_pool_di" bpmnElement="{key}_pool" isHorizontal="true">
        <dc:Bounds x="120" y="80" width="600" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_main_di" bpmnElement="lane_main" isHorizontal="true">
        <dc:Bounds x="150" y="80" width="570" height="200" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_event_di" bpmnElement="start_event">
        <dc:Bounds x="212" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="handle_di" bpmnElement="handle">
        <dc:Bounds x="340" y="140" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_event_di" bpmnElement="end_event">
        <dc:Bounds x="552" y="162" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_to_handle_di" bpmnElement="flow_start_to_handle">
        <di:waypoint x="248" y="180" />
        <di:waypoint x="340" y="180" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_handle_to_end_di" bpmnElement="flow_handle_to_end">
        <di:waypoint x="440" y="180" />
        <di:waypoint x="552" y="180" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
    form = {
        "type": "default",
        "id": form_key,
        "schemaVersion": 16,
        "components": [
            {"type": "textarea", "key": "opinion", "label": "办理意见",
             "validate": {"required": True, "maxLength": 2000}, "id": f"{form_key}_opinion"},
        ],
    }
    return xml, {f"{form_key}.form": json.dumps(form, ensure_ascii=False, indent=2) + "\n"}
