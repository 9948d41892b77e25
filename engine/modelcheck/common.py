"""What the check and the import share: reading XML safely, naming elements, foreign
namespaces, the elements the engine cannot run."""

from __future__ import annotations

import re

from lxml import etree

from ..dto import Problem
from ..errors import InvalidModel

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS, "zeebe": ZEEBE_NS}

MAX_BYTES = 5 * 1024 * 1024  # a diagram larger than this is refused (the API limit is larger)

# Entities are never expanded (no billion laughs), nothing is fetched from the network, and
# lxml's default limits on tree depth and text size stay on (huge_tree off).
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_comments=False, load_dtd=False)

# Ids that modelers generate (bpmn.io / Camunda ``Activity_0x1y2z3``, Signavio ``sid-<uuid>``,
# older Camunda ``UserTask_1``, ``Task_1abcde``): fine for the engine, poor for people.
GENERATED_ID = re.compile(
    r"^(?:(?:Activity|Task|UserTask|ServiceTask|ScriptTask|Event|StartEvent|EndEvent|"
    r"IntermediateThrowEvent|IntermediateCatchEvent|BoundaryEvent|Gateway|ExclusiveGateway|"
    r"ParallelGateway|Flow|SequenceFlow|SubProcess|CallActivity|Lane|Participant|Process)"
    r"_[0-9a-z]{5,8}|(?:UserTask|Task)_\d+|sid-[0-9A-Fa-f-]{8,})$"
)

# Flow elements that need an id the engine and people can refer to.
FLOW_ELEMENTS = {
    "process", "subProcess", "transaction", "adHocSubProcess", "callActivity", "task",
    "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway", "sequenceFlow", "lane",
}
HUMAN_TASKS = ("userTask", "manualTask")

# Elements the engine cannot run: local name -> (what it is, what to change)
UNSUPPORTED = {
    "complexGateway": ("复杂网关", "改用排他网关、并行网关或包容网关"),
    "transaction": ("事务子流程", "改为普通子流程，补偿逻辑用显式的任务表达"),
    "compensateEventDefinition": ("补偿事件", "删除补偿事件，改用显式的撤销任务"),
    "choreography": ("编排图", "引擎只执行流程（process），请删除编排部分"),
    "choreographyTask": ("编排任务", "改为用户任务或服务任务"),
    "subChoreography": ("子编排", "改为子流程"),
    "callChoreography": ("调用编排", "改为调用活动"),
    "adHocSubProcess": ("自由子流程", "改为普通子流程，按顺序或并行网关连接其中的任务"),
    "dataStoreReference": ("数据存储", "引擎不支持数据存储，请删除，数据放在流程变量中"),
    "conditionalEventDefinition": ("条件事件", "改用网关条件或定时器/消息事件"),
}


def parse_xml(content: bytes, filename: str, *, rule: str = "kunflow/parse"):
    """The XML root of ``content``; InvalidModel (one Chinese problem) when it is not XML."""
    if not content or not content.strip():
        raise InvalidModel(f"{filename}：文件为空", [problem_dict(
            None, None, rule, "文件为空", "请上传导出的 .bpmn 文件", filename)])
    if len(content) > MAX_BYTES:
        raise InvalidModel(
            f"{filename}：文件过大（超过 {MAX_BYTES // 1024 // 1024} MB）",
            [problem_dict(None, None, rule, "文件过大", "请检查是否上传了正确的流程图文件",
                          filename)])
    try:
        root = etree.fromstring(content, XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", None) or str(exc)
        where = f"（第 {line} 行）" if line else ""
        raise InvalidModel(
            f"{filename}：不是有效的 XML{where}：{msg}",
            [problem_dict(None, None, rule, f"XML 格式错误{where}：{msg}",
                          "请用建模工具重新导出（UTF-8 编码的 BPMN 2.0 XML）", filename, line)],
        ) from None
    doctype = root.getroottree().docinfo.internalDTD
    if doctype is not None and any(True for _ in doctype.iterentities()):
        raise InvalidModel(
            f"{filename}：文件声明了 XML 实体，出于安全原因不予处理",
            [problem_dict(None, None, rule, "文件含有 XML 实体声明（DOCTYPE ENTITY）",
                          "请删除 DOCTYPE 声明后再上传", filename)])
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidModel(
            f"{filename}：不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）",
            [problem_dict(None, None, rule, "根元素应为 bpmn:definitions",
                          "请上传 BPMN 2.0 格式的流程图", filename)])
    return root


def local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def ns_of(node) -> str:
    return etree.QName(node).namespace or "" if isinstance(node.tag, str) else ""


def element_type(node) -> str | None:
    """``bpmn:UserTask`` (as bpmn-js names types) of a BPMN element."""
    if node is None or ns_of(node) != BPMN_NS:
        return None
    name = local(node)
    return f"bpmn:{name[:1].upper()}{name[1:]}"


def owner(node):
    """The nearest BPMN element that a modeller sees (an event, not its definition)."""
    while node is not None:
        if (isinstance(node.tag, str) and ns_of(node) == BPMN_NS and node.get("id")
                and not local(node).endswith("EventDefinition")
                and local(node) not in ("extensionElements", "conditionExpression")):
            return node
        node = node.getparent()
    return None


def label(node) -> str:
    """The element's name, or its id when it has none (the contract's ``{name}``)."""
    if node is None:
        return ""
    return (node.get("name") or "").strip() or node.get("id") or local(node)


def problem(node, rule: str, message: str, hint: str = "", filename: str | None = None) -> Problem:
    el = owner(node) if node is not None else None
    return Problem(
        element_id=el.get("id") if el is not None else None,
        element_type=element_type(el),
        rule=rule, message=message, hint=hint, file=filename,
        line=getattr(node, "sourceline", None),
    )


def problem_dict(element_id, element_type_, rule, message, hint, filename=None, line=None):
    return {"element_id": element_id, "element_type": element_type_, "rule": rule,
            "message": message, "hint": hint, "file": filename, "line": line}


def properties(node) -> dict:
    props = {}
    for prop in node.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value")
    return props


def unsupported(root, filename: str | None = None) -> list[Problem]:
    """One problem per element the engine cannot run (see ``UNSUPPORTED``)."""
    out = []
    for node in root.iter():
        if ns_of(node) != BPMN_NS:
            continue
        name = local(node)
        if name in UNSUPPORTED:
            what, hint = UNSUPPORTED[name]
            target = node if node.get("id") and not name.endswith("Definition") else owner(node)
            out.append(problem(target, "import/unsupported",
                               f"{what}“{label(target)}”无法在引擎中运行", hint, filename))
        elif node.get("isForCompensation") == "true":
            out.append(problem(node, "import/unsupported",
                               f"补偿任务“{label(node)}”无法在引擎中运行",
                               "删除补偿任务，改用显式的撤销任务", filename))
    return out
