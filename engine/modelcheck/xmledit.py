"""Small edits of a diagram's XML for the import: kunflow properties, extension elements
and their indentation, ISO 8601 literals as the engine parses them."""

from __future__ import annotations

import ast
import re

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..definitions import RESERVED_IDS
from ..errors import InvalidInput
from .common import BPMN_NS, NS, SPIFF_NS, local, ns_of
from .rules import _TIMER_PARSE

# A process key: a BPMN id that is also a plain identifier (as a new process's key).
PROCESS_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")


def local_attr(attr: str) -> str:
    return attr.rsplit("}", 1)[-1]


def drop(node, attr: str | None) -> None:
    if attr:
        node.attrib.pop(attr, None)


def has_flow(process) -> bool:
    return any(ns_of(c) == BPMN_NS and local(c) not in ("laneSet", "documentation",
                                                        "extensionElements")
               for c in process)


def iso_ok(kind: str, text: str) -> bool:
    try:
        _TIMER_PARSE[kind](text)
    except Exception:  # noqa: BLE001 - the library raises bare Exception / ValueError
        return False
    return kind != "timeDuration" or text.upper().startswith("P")


def feel_time_literal(body: str) -> str | None:
    """``"PT2H"``, ``duration("PT2H")``, ``date and time("...")`` in FEEL: the ISO text."""
    for prefix in ("duration(", "date and time(", "cycle(", "date("):
        if body.startswith(prefix) and body.endswith(")"):
            body = body[len(prefix):-1].strip()
            break
    if len(body) > 200:  # a date-time or duration literal is short; no parse of a long one
        return None
    try:
        value = ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return None
    return value if isinstance(value, str) else None


def clock_hours(iso: str) -> float | None:
    """Clock hours of a duration without years or months (``P3D`` = 72)."""
    parts = TimerEventDefinition.parse_iso_duration(iso)
    if parts.get("years") or parts.get("months"):
        return None
    return (parts.get("weeks", 0) * 168 + parts.get("days", 0) * 24 + parts.get("hours", 0)
            + parts.get("minutes", 0) / 60 + parts.get("seconds", 0) / 3600)


def num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def extension_elements(node):
    ext = node.find("bpmn:extensionElements", NS)
    if ext is None:
        ext = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        # after documentation (XSD order: documentation, extensionElements, the rest)
        index = sum(1 for c in node if ns_of(c) == BPMN_NS and local(c) == "documentation")
        node.insert(index, ext)
        if index == 0:
            ext.tail = node.text  # the next element keeps its indentation
        else:
            ext.tail = node[index - 1].tail
    return ext


def indent(ext) -> None:
    """Indent an extensionElements the import wrote into, as the elements around it are."""
    if not any(ns_of(c) == SPIFF_NS for c in ext.iter()):
        return
    node = ext.getparent()
    outer = (node.text or "") if len(node) and node[0] is ext else (
        ext.getprevious().tail or "" if ext.getprevious() is not None else "")
    width = len(outer.rsplit("\n", 1)[-1]) if "\n" in outer else 0
    if not width:
        return  # the file is not indented
    step = 2 if width % 2 == 0 else 3
    etree.indent(ext, space=" " * step, level=width // step)
    if not (ext.tail or "").strip():
        ext.tail = outer if "\n" in outer else ext.tail


def set_property(node, name: str, value: str) -> None:
    """Set ``spiffworkflow:property name`` of ``node`` (replacing one of the same name)."""
    ext = extension_elements(node)
    props = ext.find("spiffworkflow:properties", NS)
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF_NS}}}properties")
    for prop in props.iterfind("spiffworkflow:property", NS):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=name, value=value)


def rename_process(root, old: str, new: str) -> None:
    """Give process ``old`` the id ``new`` (with the participant and diagram references to
    it); InvalidInput when ``new`` is no process key or another element's id already."""
    if not isinstance(new, str) or not PROCESS_KEY.fullmatch(new):
        raise InvalidInput("流程标识只能用英文字母、数字和下划线，且不能以数字开头（最多 100 个字符）")
    if new in RESERVED_IDS:
        raise InvalidInput(f"标识“{new}”是保留字，请改用其他标识")
    if new == old:
        return
    if any(node.get("id") == new for node in root.iter() if isinstance(node.tag, str)):
        raise InvalidInput(f"流程图中已有标识为 {new} 的元素，请换一个流程标识")
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == f"{{{BPMN_NS}}}process" and node.get("id") == old:
            node.set("id", new)
        for attr in ("processRef", "bpmnElement"):
            if node.get(attr) == old:
                node.set(attr, new)
