"""The kunflow rules of the model check (the same codes and messages as the browser's lint).

Severity (``docs/modelcheck.md`` has the same table):

- ``kunflow/user-task-department``: a human task routes by its own ``department`` property, its
  lane (``department`` property or lane name, ``routing.department_for``) or a
  ``department_expression``. ``candidate_role`` and ``assignee`` narrow who in the department
  works it; they do not route (a task without a department is for administrators only), so
  they do not count. Error when the task sits in no lane and has neither; a warning when its
  lane names a department the org chart does not know (the chart is data and may gain it).
- ``kunflow/user-task-form``: checked when the deploy carries form files (``.form``/``.json``):
  a ``form_key`` naming none of them, and a human task without ``form_key``, are warnings.
  Not errors: the engine runs a task whose form was not deployed (it shows the plain data
  page), and diagrams are deployed with part of their forms on purpose (the test suites do
  it throughout). A diagram deployed without any form file is not checked for forms.
- ``kunflow/explicit-ids``: a flow element without id, a duplicate id, a reserved id
  (``Start``, ``End``, ``Root``) are errors; a modeler-generated id on a human task a warning.
- ``kunflow/timer-parses``: every timer expression compiles as diagram code, a quoted literal
  parses with the timer parsing the engine runs (SpiffWorkflow's ISO 8601 functions), a bare
  ISO literal is an error (it fails when the timer starts).
- ``kunflow/dmn-reference``: ``spiffworkflow:calledDecisionId`` names a decision of the .dmn
  files deployed with the diagram.
- ``import/...``: constructs of other modelers the engine would ignore or cannot run (JUEL /
  FEEL, Camunda / Zeebe attributes, unsupported elements) are errors that point at the import.
"""

from __future__ import annotations

import ast
from collections import Counter

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .. import definitions, routing
from ..definitions import _ISO_LITERAL, RESERVED_IDS
from ..dto import ModelReport, Problem
from ..errors import InvalidModel
from .common import (
    BPMN_NS,
    BPMNDI_NS,
    CAMUNDA_NS,
    FLOW_ELEMENTS,
    GENERATED_ID,
    HUMAN_TASKS,
    NS,
    XML_PARSER,
    ZEEBE_NS,
    label,
    local,
    ns_of,
    owner,
    parse_xml,
    problem,
    properties,
    unsupported,
)
from .expressions import dialect_of

DEPT = "kunflow/user-task-department"
FORM = "kunflow/user-task-form"
IDS = "kunflow/explicit-ids"
TIMER = "kunflow/timer-parses"
DMN = "kunflow/dmn-reference"
FOREIGN = "import/foreign"

_TIMER_PARSE = {
    "timeDate": TimerEventDefinition.get_datetime,
    "timeDuration": TimerEventDefinition.parse_iso_duration,
    "timeCycle": TimerEventDefinition.parse_iso_recurring_interval,
}


def check_model(filename: str, bpmn: bytes, files: dict[str, bytes] | None,
                directory: dict[str, str]) -> ModelReport:
    """The kunflow rules over a diagram and its files; InvalidModel when it is not BPMN XML."""
    root = parse_xml(bpmn, filename)
    files = files or {}
    errors: list[Problem] = []
    warnings: list[Problem] = []
    _ids(root, filename, errors, warnings)
    _departments(root, filename, directory, errors, warnings)
    _forms(root, filename, files, errors, warnings)
    _timers(root, filename, errors)
    errors += _dmn(root, filename, files)
    errors += unsupported(root, filename)
    errors += foreign(root, filename)
    return ModelReport(errors=tuple(errors), warnings=tuple(warnings))


def _ids(root, filename, errors, warnings) -> None:
    # ids of the BPMN model and its diagram; extension elements (``spiffworkflow:parameter``
    # …) have ids of their own kind that may repeat an element's id
    counts = Counter(n.get("id") for n in root.iter()
                     if ns_of(n) in (BPMN_NS, BPMNDI_NS) and n.get("id"))
    reported = set()
    for node in root.iter():
        if ns_of(node) != BPMN_NS:
            continue
        element_id = node.get("id")
        if not element_id:
            if local(node) in FLOW_ELEMENTS:
                errors.append(problem(node, IDS, f"元素“{label(node)}”缺少标识",
                                      "在属性面板中填写标识（id）", filename))
            continue
        if counts[element_id] > 1 and element_id not in reported:
            reported.add(element_id)
            errors.append(problem(node, IDS, f"标识“{element_id}”重复",
                                  "每个元素的标识必须唯一，请修改其中之一", filename))
        if element_id in RESERVED_IDS:
            errors.append(problem(node, IDS, f"标识“{element_id}”是保留字，请改用其他标识",
                                  "例如 start_event / end_event", filename))
        elif local(node) in HUMAN_TASKS and GENERATED_ID.match(element_id):
            warnings.append(problem(
                node, IDS, f"用户任务“{label(node)}”的标识“{element_id}”由建模工具自动生成",
                "改用有含义的标识（如 review_application），统计、迁移和表单都按标识对应",
                filename))


def _lane_of(root) -> dict[str, str]:
    """Element id -> the name of the innermost lane whose flowNodeRef names it."""
    own: dict[str, tuple[str, int]] = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        depth = sum(1 for _ in lane.iterancestors())
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node_id = (ref.text or "").strip()
            if node_id and (node_id not in own or own[node_id][1] <= depth):
                own[node_id] = (lane.get("name") or lane.get("id"), depth)
    return {k: v[0] for k, v in own.items()}


def _departments(root, filename, directory, errors, warnings) -> None:
    lane_of = _lane_of(root)
    for process in root.iterfind(".//bpmn:process", NS):
        lanes = {(lane.get("name") or lane.get("id")): properties(lane).get("department")
                 for lane in process.iterfind(".//bpmn:lane", NS)}
        for node in process.iter(*(f"{{{BPMN_NS}}}{t}" for t in HUMAN_TASKS)):
            props = properties(node)
            if (props.get("department_expression") or "").strip():
                continue
            lane = _enclosing_lane(node, lane_of)
            if routing.department_for(lane, lanes, props, directory):
                continue
            message = f"用户任务“{label(node)}”不在对应部门的泳道中，也没有部门表达式"
            if lane is None and not (props.get("department") or "").strip():
                errors.append(problem(node, DEPT, message,
                                      "把任务拖入对应部门的泳道，或填写部门 / 部门表达式",
                                      filename))
            else:
                named = props.get("department") or lanes.get(lane) or lane
                warnings.append(problem(
                    node, DEPT, message,
                    f"“{named}”不是组织机构中的部门：任务只对管理员可见；"
                    "请把泳道名称改为部门名称或设置泳道的部门", filename))


def _enclosing_lane(node, lane_of) -> str | None:
    """The lane of a task, or of the nearest sub-process around it that sits in one."""
    while node is not None:
        if node.get("id") in lane_of:
            return lane_of[node.get("id")]
        node = node.getparent()
        if node is not None and local(node) == "process":
            return None
    return None


def _forms(root, filename, files, errors, warnings) -> None:
    forms = {n.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
             for n in files if n.endswith((".form", ".json"))}
    if not forms:
        return
    for tag in HUMAN_TASKS:
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            key = (properties(node).get("form_key") or "").strip()
            if not key:
                warnings.append(problem(node, FORM, f"用户任务“{label(node)}”没有表单",
                                        "在属性面板中选择表单", filename))
            elif key not in forms:
                warnings.append(problem(
                    node, FORM, f"用户任务“{label(node)}”的表单“{key}”不存在",
                    f"随流程一起部署 {key}.form，或选择已有的表单：{'、'.join(sorted(forms))}",
                    filename))


def timer_problem(kind: str, text: str) -> str | None:
    """Why a timer expression of ``kind`` (timeDate / timeDuration / timeCycle) cannot run, as
    the hint to give; None when it can."""
    if not text:
        return "填写时间表达式"
    if _ISO_LITERAL.match(text):
        return f'ISO 8601 时间须加引号写作 "{text}"（表达式按 Python 求值）'
    # the engine's own compile check of diagram code (the restricted compiler)
    refused = definitions._compile_check(text, "eval", None, None, None, "定时器")
    if refused:
        return refused[0]["message"]
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:  # only when the compile check is switched off (tests of old diagrams)
        return None
    if isinstance(tree, ast.Constant) and isinstance(tree.value, str):
        try:
            _TIMER_PARSE[kind](tree.value)
        except Exception:  # noqa: BLE001 - the library raises bare Exception / ValueError
            return "不是有效的 ISO 8601 时间（如 \"PT2H\"、\"P7D\"、\"R3/PT1H\"、日期时间）"
    elif isinstance(tree, ast.Constant):
        return "时间表达式须得出 ISO 8601 文本（如 \"PT2H\"）"
    return None


def _timers(root, filename, errors) -> None:
    for kind in _TIMER_PARSE:
        for node in root.iterfind(f".//bpmn:{kind}", NS):
            text = (node.text or "").strip()
            hint = timer_problem(kind, text)
            if hint is not None:
                errors.append(problem(
                    node, TIMER, f"定时器“{label(_event(node))}”的时间“{text}”无法解析", hint,
                    filename))


def _event(node):
    while node is not None and not (ns_of(node) == BPMN_NS and local(node).endswith("Event")):
        node = node.getparent()
    return node


def decision_ids(files: dict[str, bytes]) -> tuple[set[str], list[Problem]]:
    """Decision ids of the .dmn files (any DMN version), and a problem per unreadable file."""
    found, out = set(), []
    for name, content in files.items():
        if not name.endswith(".dmn"):
            continue
        try:
            root = parse_xml_any(content, name)
        except InvalidModel as exc:
            out.append(Problem(None, None, DMN, f"决策表文件 {name} 无法读取：{exc.message}",
                               "请重新导出该 .dmn 文件", file=name))
            continue
        for node in root.iter():
            if local(node) == "decision" and node.get("id"):
                found.add(node.get("id"))
    return found, out


def parse_xml_any(content: bytes, filename: str):
    """Any XML document (a .dmn file), read with the same safe parser."""
    try:
        return etree.fromstring(content, XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidModel(str(exc)) from None


def _dmn(root, filename, files) -> list[Problem]:
    refs = list(root.iterfind(".//spiffworkflow:calledDecisionId", NS))
    if not refs:
        return []
    known, out = decision_ids(files)
    for ref in refs:
        decision = (ref.text or "").strip()
        if decision not in known:
            task = ref.getparent().getparent()
            out.append(problem(
                task, DMN, f"业务规则任务“{label(task)}”引用的决策表“{decision}”不存在",
                "随流程一起部署包含该决策的 .dmn 文件，或改为已有的决策："
                + ("、".join(sorted(known)) or "（没有）"), filename))
    return out


# Attributes and elements of other modelers that the engine would silently ignore.
_FOREIGN_ATTRS = {
    "candidateGroups": "候选组", "candidateUsers": "候选人", "assignee": "办理人",
    "formKey": "表单", "dueDate": "办理时限", "decisionRef": "决策表",
    "class": "Java 类", "delegateExpression": "委托表达式", "expression": "表达式",
    "type": "外部任务", "topic": "外部任务",
}
_FOREIGN_ELEMENTS = {
    "assignmentDefinition": "办理人/候选组", "formDefinition": "表单",
    "taskSchedule": "办理时限", "calledDecision": "决策表", "taskDefinition": "作业类型",
    "userTask": "用户任务设置",
}


def foreign(root, filename: str | None = None) -> list[Problem]:
    """What another modeler wrote that the engine would ignore or fail on: one problem per
    element, each pointing at the import (``Engine.import_model``) that translates it."""
    out = []
    hint = "先用“导入”功能转换该流程图，确认转换结果后再部署"
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if ns_of(node) == BPMN_NS and local(node) == "conditionExpression":
            text = (node.text or "").strip()
            if dialect_of(text):
                out.append(problem(node, FOREIGN,
                                   f"连线“{label(node.getparent())}”的条件“{text}”不是引擎的表达式",
                                   hint, filename))
        if ns_of(node) == BPMN_NS:
            for attr in node.attrib:
                if attr.startswith(f"{{{CAMUNDA_NS}}}") and attr[len(CAMUNDA_NS) + 2:] in \
                        _FOREIGN_ATTRS:
                    what = _FOREIGN_ATTRS[attr[len(CAMUNDA_NS) + 2:]]
                    out.append(problem(node, FOREIGN,
                                       f"元素“{label(node)}”的 Camunda {what}设置不会被引擎读取",
                                       hint, filename))
        elif ns_of(node) == ZEEBE_NS and local(node) in _FOREIGN_ELEMENTS:
            what = _FOREIGN_ELEMENTS[local(node)]
            out.append(problem(node, FOREIGN,
                               f"元素“{label(owner(node))}”的 Zeebe {what}设置不会被引擎读取",
                               hint, filename))
    return out
