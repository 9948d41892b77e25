"""Parse, validate and describe process definitions; cache parsed specs per definition version.

Pure functions over XML text: no database access here (the runtime stores what this returns).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field, fields
from functools import cached_property

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR
from SpiffWorkflow.spiff.parser.event_parsers import SpiffBoundaryEventParser

from .errors import InvalidModel
from .forms import parse_form
from .sandbox import ScriptRejected
from .sandbox import check as check_code
from .specs import KunflowBpmnParser
from .timers import BoundaryTimerEvent

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# Ids SpiffWorkflow gives its own task specs; a diagram element with one of these ids silently
# replaces the library's spec and the process loses its body.
RESERVED_IDS = {"Start", "End", "Root"}

# An ISO 8601 duration, cycle or date written without quotes is parsed as a Python expression
# and fails only when the timer is first evaluated.
_ISO_LITERAL = re.compile(
    r"^(R\d*/)?(P(?=\d|T)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)(/.*)?$"
)

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False)


class _Parser(KunflowBpmnParser):
    """kunflow's parser with its boundary timers (``engine/timers.py``)."""

    OVERRIDE_PARSER_CLASSES = {
        **KunflowBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("boundaryEvent"): (SpiffBoundaryEventParser, BoundaryTimerEvent),
    }


@dataclass(frozen=True)
class TaskSpecInfo:
    """A human task of the diagram with its ``spiffworkflow:property`` values interpreted once,
    when the diagram is parsed (``of``): the engine reads these fields, never the raw strings.
    ``properties`` keeps the raw values (``routing.department_for`` reads ``department`` there,
    with an expression's result laid over it)."""

    element_id: str
    name: str | None
    lane: str | None
    properties: dict
    pausable: bool = False  # the deadline clock may be stopped (``pausable``: true / 1 / yes)
    send_back_targets: tuple = ()  # element ids it may send the case back to (退回)
    department: str | None = None
    department_expression: str | None = None  # an expression giving the department
    candidate_role: str | None = None
    assignee: str | None = None  # an expression giving the assignee's username
    form_key: str | None = None
    # The deadline: working days (or a date, a date and time), calendar days (statutory limits
    # given in 日), clock hours (None when not a number), or an expression giving one of those;
    # the first one given counts (expression, working days, calendar days, hours).
    due_working_days: str | None = None
    due_days: str | None = None
    due_hours: float | None = None
    due_expression: str | None = None
    stage: str | None = None
    phase: str | None = None

    @classmethod
    def of(cls, element_id: str, name: str | None, lane: str | None,
           properties: dict | None) -> TaskSpecInfo:
        """The one place a task's raw property strings are interpreted."""
        props = dict(properties or {})
        hours = None
        if props.get("due_hours"):
            try:
                hours = float(props["due_hours"])
            except ValueError:
                hours = None
        return cls(
            element_id, name, lane, props,
            pausable=str(props.get("pausable", "")).lower() in ("true", "1", "yes"),
            send_back_targets=tuple(entries(props.get("send_back_targets"))),
            department=props.get("department"),
            department_expression=props.get("department_expression"),
            candidate_role=props.get("candidate_role"),
            assignee=props.get("assignee"),
            form_key=props.get("form_key"),
            due_working_days=props.get("due_working_days"),
            due_days=props.get("due_days"),
            due_hours=hours,
            due_expression=props.get("due_expression"),
            stage=props.get("stage"),
            phase=props.get("phase"),
        )

    @classmethod
    def of_spec(cls, task_spec) -> TaskSpecInfo:
        """``of`` a SpiffWorkflow task spec (its element id, name, lane and properties)."""
        props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
        element = getattr(task_spec, "bpmn_id", None) or task_spec.name
        return cls.of(element, getattr(task_spec, "bpmn_name", None), task_spec.lane, props)

    def to_meta(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items() if k != "element_id"}

    @classmethod
    def from_meta(cls, element_id: str, meta: dict) -> TaskSpecInfo:
        """From ``to_meta``; a definition stored before the typed fields existed has only
        name, lane and properties: they are interpreted now, by the same rule."""
        if "pausable" not in meta:
            return cls.of(element_id, meta["name"], meta["lane"], meta["properties"])
        known = {f.name for f in fields(cls)} - {"element_id"}
        values = {k: (tuple(v) if isinstance(v, list) else v)
                  for k, v in meta.items() if k in known}
        return cls(element_id=element_id, **values)


@dataclass(frozen=True)
class ParsedDefinition:
    """A deployable process: its key, name and what routing needs, derived from the XML."""

    key: str
    name: str
    lanes: dict  # lane name -> department property (or None: the lane name is the department)
    tasks: dict  # element id -> TaskSpecInfo (human tasks)
    start_lanes: tuple = ()  # lanes of the process's start events: who may start it
    warnings: list = field(default_factory=list)
    # A none start event at the top level: people can start the process (else only timers,
    # messages or an administrator do).
    manual_start: bool = True
    # ``start_departments`` of the process and its none start events, as written: department
    # codes or names, or ``kind:<kind>``; together with the start lanes they say who may start.
    start_departments: tuple = ()
    start_form_key: str | None = None  # ``form_key`` of the none start event: the start data
    start_form_element: str | None = None  # the start event that names it
    # ``starter_department`` of the process or a none start event: the name of the variable
    # that receives the starting user's department code when a case starts
    starter_variable: str | None = None

    @cached_property
    def send_back(self) -> dict[str, tuple]:
        """Element id -> the ids its task may send the case back to (tasks that may)."""
        return {k: t.send_back_targets for k, t in self.tasks.items() if t.send_back_targets}

    def to_meta(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "lanes": self.lanes,
            "start_lanes": list(self.start_lanes),
            "start": {
                "manual": self.manual_start,
                "departments": list(self.start_departments),
                "form_key": self.start_form_key,
                "form_element": self.start_form_element,
                "starter_department": self.starter_variable,
            },
            "tasks": {k: t.to_meta() for k, t in self.tasks.items()},
            "warnings": self.warnings,
        }

    @classmethod
    def from_meta(cls, meta: dict) -> ParsedDefinition:
        return cls(
            key=meta["key"],
            name=meta["name"],
            lanes=meta["lanes"],
            tasks={k: TaskSpecInfo.from_meta(k, t) for k, t in meta["tasks"].items()},
            start_lanes=tuple(meta.get("start_lanes", ())),
            warnings=meta.get("warnings", []),
            manual_start=meta.get("start", {}).get("manual", True),
            start_departments=tuple(meta.get("start", {}).get("departments", ())),
            start_form_key=meta.get("start", {}).get("form_key"),
            start_form_element=meta.get("start", {}).get("form_element"),
            starter_variable=meta.get("start", {}).get("starter_department"),
        )


@dataclass
class LoadedSpec:
    spec: object
    subprocess_specs: dict
    parsed: ParsedDefinition
    forms: dict = field(default_factory=dict)  # form key (file stem) -> form-js schema


def checksum(bpmn: bytes, files: dict[str, bytes]) -> str:
    h = hashlib.sha256(bpmn)
    for name in sorted(files):
        h.update(b"\0" + name.encode() + b"\0" + files[name])
    return h.hexdigest()


def _error(message: str, element_id: str | None = None, filename: str | None = None, line=None):
    return {"file": filename, "element_id": element_id, "message": message, "line": line or None}


def _parse_xml(content: bytes, filename: str):
    try:
        return etree.fromstring(content, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidModel(
            f"{filename}: XML 格式错误（第 {exc.lineno} 行）：{exc.msg}",
            [_error(f"XML 格式错误：{exc.msg}", None, filename, exc.lineno)],
        ) from None


def _owner_id(node) -> str | None:
    """The id of the nearest element that a modeller sees (an event, not its definition)."""
    while node is not None:
        if node.get("id") and not str(node.tag).endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None


def _static_checks(root, filename: str) -> list[dict]:
    errors = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.get("id") in RESERVED_IDS and node.tag.startswith("{" + BPMN_NS):
            errors.append(
                _error(
                    f"元素 id “{node.get('id')}”与引擎内部保留的 id 冲突，请改用其他 id"
                    "（例如 start_event / end_event）",
                    node.get("id"),
                    filename,
                    node.sourceline,
                )
            )
    timer_tags = ("timeDuration", "timeDate", "timeCycle")
    for tag in timer_tags:
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            text = (node.text or "").strip()
            owner = _owner_id(node)
            if not text:
                errors.append(_error(f"定时器 {tag} 表达式为空", owner, filename, node.sourceline))
            elif _ISO_LITERAL.match(text):
                errors.append(
                    _error(
                        f'定时器表达式 {text} 须加引号写作 "{text}"（表达式按 Python 求值，'
                        "未加引号会在运行时失败）",
                        owner,
                        filename,
                        node.sourceline,
                    )
                )
            else:
                errors += _compile_check(text, "eval", owner, filename, node.sourceline, "定时器")
    for process in root.iterfind(".//bpmn:process", NS):
        ids = {n.get("id") for n in process.iter() if isinstance(n.tag, str) and n.get("id")}
        for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr)
                if not ref or ref not in ids:
                    errors.append(
                        _error(
                            f"连线 {attr} 指向不存在的元素 “{ref or ''}”",
                            flow.get("id"),
                            filename,
                            flow.sourceline,
                        )
                    )
    for node in root.iterfind(".//bpmn:conditionExpression", NS):
        text = (node.text or "").strip()
        if text:
            errors += _compile_check(
                text, "eval", _owner_id(node), filename, node.sourceline, "条件"
            )
    for path, mode, what in _CODE:
        for node in root.iterfind(path, NS):
            text = node.text or ""
            if mode == "eval" and not text.strip():
                continue
            errors += _compile_check(text, mode, _owner_id(node), filename, node.sourceline, what)
    for node in root.iterfind(".//spiffworkflow:property", NS):
        what = _CODE_PROPERTIES.get(node.get("name"))
        text = (node.get("value") or "").strip()
        if what and text:
            errors += _compile_check(text, "eval", _owner_id(node), filename, node.sourceline,
                                     what)
    for node in root.iterfind(".//spiffworkflow:parameter", NS):
        text = (node.get("value") or "").strip()
        if text:
            errors += _compile_check(text, "eval", _owner_id(node), filename, node.sourceline,
                                     "服务任务参数")
    return errors


# Diagram code in the XML, compiled at deploy with the restricted compiler that runs it
# (engine/sandbox.py): (path, mode, what the message calls it).
_CODE = (
    (".//bpmn:script", "exec", "脚本"),
    (".//spiffworkflow:preScript", "exec", "前置脚本"),
    (".//spiffworkflow:postScript", "exec", "后置脚本"),
    (".//bpmn:loopCardinality", "eval", "循环次数"),
    (".//bpmn:completionCondition", "eval", "完成条件"),
    (".//spiffworkflow:messagePayload", "eval", "消息内容"),
)
# Task properties that hold expressions (the others are plain values).
_CODE_PROPERTIES = {
    "assignee": "办理人表达式",
    "due_expression": "办理时限表达式",
    "department_expression": "部门表达式",
}


def _compile_check(text, mode, owner, filename, line, what) -> list[dict]:
    """Compile diagram code as it will run: syntax errors, and what the restricted environment
    refuses (imports, underscore names, classes …), each naming the element."""
    try:
        check_code(text, mode)
    except SyntaxError as exc:
        return [_error(f"{what}表达式语法错误：{exc.msg}（{text!r}）", owner, filename, line)]
    except ScriptRejected as exc:
        return [_error(f"{what}不符合脚本安全限制：{exc.detail}", owner, filename, line)]
    return []


def _properties(node) -> dict:
    props = {}
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value")
    return props


def entries(value: str | None) -> list[str]:
    """A property listing several entries: separated by commas (ASCII or full-width)."""
    return [e.strip() for e in (value or "").replace("，", ",").split(",") if e.strip()]


def start_info(root, process_id: str) -> dict:
    """How the process starts, from the XML alone (``ParsedDefinition.to_meta()["start"]``).

    ``manual``: it has a none start event at its top level; ``departments``: the
    ``start_departments`` entries of the process element and of its none start events;
    ``form_key``: the first none start event's ``form_key`` (``form_element``: that event);
    ``starter_department``: the variable that records the starter's department (the process's
    ``starter_department`` property, else the first none start event's).
    """
    process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
    info = {"manual": False, "departments": [], "form_key": None, "form_element": None,
            "starter_department": None}
    if process is None:
        return info
    listed = entries(_properties(process).get("start_departments"))
    info["starter_department"] = (_properties(process).get("starter_department") or "").strip() or None
    for node in process.iterfind("bpmn:startEvent", NS):
        if any(isinstance(c.tag, str) and c.tag.endswith("EventDefinition") for c in node):
            continue  # timer, message, signal … start: not started by people
        info["manual"] = True
        props = _properties(node)
        listed += entries(props.get("start_departments"))
        if props.get("form_key") and info["form_key"] is None:
            info["form_key"], info["form_element"] = props["form_key"].strip(), node.get("id")
        if (props.get("starter_department") or "").strip() and not info["starter_department"]:
            info["starter_department"] = props["starter_department"].strip()
    info["departments"] = list(dict.fromkeys(listed))
    return info


def start_info_from_xml(xml_text: str, process_id: str) -> dict:
    """``start_info`` of a stored diagram (definitions deployed before it was recorded)."""
    try:
        root = etree.fromstring(xml_text.encode("utf-8"), _XML_PARSER)
    except etree.XMLSyntaxError:
        return {"manual": True, "departments": [], "form_key": None, "form_element": None,
                "starter_department": None}
    return start_info(root, process_id)


def describe(root, process_id: str, spec, subprocess_specs=None) -> ParsedDefinition:
    """What routing and the read models need, from the XML and the parsed spec."""
    lanes = {}
    process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
    for lane in process.iterfind(".//bpmn:lane", NS):
        name = lane.get("name") or lane.get("id")
        lanes[name] = _properties(lane).get("department")
    tasks = {}
    start_lanes = []
    for ts in spec.task_specs.values():
        if type(ts).__name__ == "StartEvent" and ts.lane and ts.lane not in start_lanes:
            start_lanes.append(ts.lane)
    all_specs = [spec, *(subprocess_specs or {}).values()]
    for ts in (t for s in all_specs for t in s.task_specs.values()):
        if getattr(ts, "manual", False):
            info = TaskSpecInfo.of_spec(ts)
            tasks[info.element_id] = info
    start = start_info(root, process_id)
    return ParsedDefinition(
        key=process_id,
        name=process.get("name") or process_id,
        lanes=lanes,
        tasks=tasks,
        start_lanes=tuple(start_lanes),
        manual_start=start["manual"],
        start_departments=tuple(start["departments"]),
        start_form_key=start["form_key"],
        start_form_element=start["form_element"],
        starter_variable=start["starter_department"],
    )


def parse(
    filename: str, bpmn: bytes, files: dict[str, bytes] | None = None, *, validate: bool = True
) -> tuple[ParsedDefinition, LoadedSpec]:
    """Parse and validate a BPMN file with the DMN files it uses.

    Raises InvalidModel listing every problem found ({file, element_id, message, line}).
    """
    files = files or {}
    root = _parse_xml(bpmn, filename)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidModel(
            f"{filename}: 不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）",
            [_error("根元素应为 bpmn:definitions", None, filename)],
        )
    errors = _static_checks(root, filename)
    parser = _Parser(validator=VALIDATOR if validate else None)
    try:
        for name, content in files.items():
            if name.endswith(".dmn"):
                parser.add_dmn_xml(_parse_xml(content, name), filename=name)
        parser.add_bpmn_xml(root, filename=filename)
    except ValidationException as exc:
        errors.append(_error(str(exc), exc.id or None, exc.file_name or filename, exc.line_number))
        raise InvalidModel(_summary(filename, errors), errors) from None
    except SpiffWorkflowException as exc:
        errors.append(_error(str(exc), None, filename))
        raise InvalidModel(_summary(filename, errors), errors) from None

    process_ids = parser.get_process_ids()
    if not process_ids:
        errors.append(_error("文件中没有可执行的流程（isExecutable=\"true\"）", None, filename))
    if errors:
        raise InvalidModel(_summary(filename, errors), errors)

    # The file's first executable process that no other process in the file calls is its key.
    called = set()
    key = process_ids[0]
    try:
        specs = {pid: parser.get_spec(pid) for pid in process_ids}
        for spec in specs.values():
            for ts in spec.task_specs.values():
                if getattr(ts, "spec", None) and isinstance(ts.spec, str):
                    called.add(ts.spec)
        key = next((pid for pid in process_ids if pid not in called), process_ids[0])
        spec = specs[key]
        subprocess_specs = parser.get_subprocess_specs(key, require_call_activity_specs=False)
        subprocess_specs = {k: v for k, v in subprocess_specs.items() if v is not None}
    except ValidationException as exc:
        errors.append(_error(str(exc), exc.id or None, exc.file_name or filename, exc.line_number))
        raise InvalidModel(_summary(filename, errors), errors) from None
    except (SpiffWorkflowException, KeyError, ValueError, TypeError) as exc:
        errors.append(_error(f"流程无法解析：{exc}", None, filename))
        raise InvalidModel(_summary(filename, errors), errors) from None

    _apply_own_lanes(root, (spec, *subprocess_specs.values()))
    parsed = describe(root, key, spec, subprocess_specs)
    for process_spec in (spec, *subprocess_specs.values()):
        connect_loop_handlers(process_spec)
    forms = {}
    for name, content in files.items():
        if name.endswith((".form", ".json")):
            try:
                forms[name.rsplit("/", 1)[-1].rsplit(".", 1)[0]] = parse_form(content, name)
            except ValueError as exc:
                errors.append(_error(str(exc), None, name))
    if parsed.start_form_key and parsed.start_form_key not in forms and validate:
        errors.append(_error(
            f"开始事件的表单 {parsed.start_form_key}.form 没有随流程一起部署",
            parsed.start_form_element, filename))
    starter = parsed.starter_variable
    if starter and (not starter.isidentifier() or starter.startswith("_")):
        errors.append(_error(
            f"starter_department 的值“{starter}”不是变量名（字母、数字、下划线，不以下划线开头）",
            parsed.start_form_element or key, filename))
    if errors:
        raise InvalidModel(_summary(filename, errors), errors)
    return parsed, LoadedSpec(spec, subprocess_specs, parsed, forms)


def _apply_own_lanes(root, specs) -> None:
    """A task inside an embedded sub-process sits in the lane that references it.

    SpiffWorkflow gives every task of an embedded sub-process the lane of the sub-process
    itself; BPMN (and the modeller) put each flow node in the lane whose flowNodeRef names it.
    """
    own = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        depth = sum(1 for _ in lane.iterancestors())
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node_id = (ref.text or "").strip()
            if node_id and (node_id not in own or own[node_id][1] <= depth):
                own[node_id] = (lane.get("name") or lane.get("id"), depth)
    for process_spec in specs:
        for ts in process_spec.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            if element in own and own[element][0] != ts.lane:
                ts.lane = own[element][0]


def connect_loop_handlers(process_spec) -> None:
    """Connect each multi-instance/loop task to its inner task's completion, up front.

    SpiffWorkflow connects these handlers only when a loop creates its first child, on the
    spec object. A spec parsed after a restart (or in another process) never had that happen,
    so a restored instance's loop would never notice its children completing.
    """
    for ts in process_spec.task_specs.values():
        inner_name = getattr(ts, "task_spec", None)
        merge = getattr(ts, "merge_child", None)
        if not isinstance(inner_name, str) or merge is None:
            continue
        inner = process_spec.task_specs.get(inner_name)
        if inner is not None and not inner.completed_event.is_connected(merge):
            inner.completed_event.connect(merge)


def _summary(filename: str, errors: list[dict]) -> str:
    first = errors[0]
    where = f"元素 {first['element_id']}：" if first.get("element_id") else ""
    more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
    return f"{filename} 无法部署：{where}{first['message']}{more}"


class SpecCache:
    """Parsed specs by definition id; specs are immutable once deployed, so never stale."""

    def __init__(self):
        self._specs: dict[int, LoadedSpec] = {}
        self._lock = threading.Lock()

    def get(self, definition_id: int, loader) -> LoadedSpec:
        spec = self._specs.get(definition_id)
        if spec is None:
            filename, bpmn, files = loader(definition_id)
            _, spec = parse(filename, bpmn, files, validate=False)
            with self._lock:
                self._specs[definition_id] = spec
        return spec

    def put(self, definition_id: int, spec: LoadedSpec) -> None:
        with self._lock:
            self._specs[definition_id] = spec
