"""What changed between two versions of a process (or a version and its draft): pure functions
over the XML and file texts, no database (``queries/catalogue.py`` reads the versions).

Elements are compared by id from the raw BPMN: their type, name, lane (the department it
routes to), flows in and out, conditions, timers, event references, scripts, multi-instance
settings, the ``spiffworkflow:property`` values the engine reads (``definitions.TaskSpecInfo``)
and the DMN a business rule task calls. Decision tables are compared by decision id, rule by
rule (by rule id); forms by file name, field by field (by key). A diagram that does not parse
(a draft may be broken) is reported as one changed ``definitions`` element rather than failing.
"""

from __future__ import annotations

import json

from lxml import etree

from .definitions import BPMN_NS, NS, SPIFF_NS
from .dto import (
    DecisionDiff,
    DecisionRuleChange,
    ElementChange,
    FormDiff,
    FormFieldChange,
    PropertyChange,
    VersionDiff,
)
from .forms import fields as form_fields

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                          huge_tree=False)

# What the page calls each compared property. Task properties use the engine's names
# (engine/definitions.py TaskSpecInfo); any other spiffworkflow property shows its own name.
LABELS = {
    "type": "类型",
    "name": "名称",
    "lane": "泳道（部门）",
    "department": "部门",
    "department_expression": "部门表达式",
    "candidate_role": "候选角色",
    "assignee": "办理人表达式",
    "form_key": "表单",
    "due_working_days": "办理时限（工作日）",
    "due_days": "办理时限（日历日）",
    "due_hours": "办理时限（小时）",
    "due_expression": "办理时限表达式",
    "stage": "阶段",
    "phase": "阶段分组",
    "pausable": "可暂停计时",
    "send_back_targets": "可退回环节",
    "start_departments": "发起部门",
    "starter_department": "记录发起部门的变量",
    "incoming": "流入连线",
    "outgoing": "流出连线",
    "source": "来源",
    "source_ref": "起点",
    "target_ref": "终点",
    "condition": "条件",
    "default": "默认连线",
    "timer": "定时器",
    "event": "事件定义",
    "decision": "决策表（calledDecisionId）",
    "called_element": "调用的流程",
    "script": "脚本",
    "pre_script": "前置脚本",
    "post_script": "后置脚本",
    "multi_instance": "多实例",
    "attached_to": "附着于",
    "interrupting": "中断",
    "extension": "扩展设置",
    "xml": "XML",
}

_SKIP_TAGS = {"extensionElements", "incoming", "outgoing", "flowNodeRef", "laneSet",
              "conditionExpression", "script", "documentation", "multiInstanceLoopCharacteristics",
              "standardLoopCharacteristics", "loopCardinality", "completionCondition",
              "timeDuration", "timeDate", "timeCycle", "text", "textAnnotation", "association",
              "dataInputAssociation", "dataOutputAssociation", "ioSpecification",
              "inputSet", "outputSet", "dataInput", "dataOutput", "childLaneSet",
              "inputDataItem", "outputDataItem", "loopDataInputRef", "loopDataOutputRef"}


def label(prop: str) -> str:
    return LABELS.get(prop, prop)


def _local(node) -> str:
    return etree.QName(node).localname


def xml_root(text: str | None):
    if text is None:
        return None
    try:
        return etree.fromstring(text.encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _text(node) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


# ------------------------------------------------------------------ BPMN elements


def bpmn_elements(xml: str | None) -> dict[str, dict]:
    """Element id -> {type, name, …} of every flow element, lane and process in the diagram
    (a diagram that does not parse: one ``definitions`` element holding "无法解析")."""
    root = xml_root(xml)
    if root is None:
        return {} if xml is None else {"definitions": {"type": "definitions", "xml": "无法解析"}}
    lanes = _lane_of(root)
    out: dict[str, dict] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for node in process.iter():
            if not isinstance(node.tag, str) or not node.tag.startswith(f"{{{BPMN_NS}}}"):
                continue
            kind = _local(node)
            if kind in _SKIP_TAGS or kind.endswith("EventDefinition") or not node.get("id"):
                continue
            out[node.get("id")] = _describe(node, kind, lanes)
    return out


def _lane_of(root) -> dict[str, str]:
    """Flow node id -> its lane's department (the lane's ``department`` property, else its
    name), the innermost lane winning as in the engine (definitions._apply_own_lanes)."""
    own: dict[str, tuple[str, int]] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        depth = sum(1 for _ in lane.iterancestors())
        name = lane.get("name") or lane.get("id")
        dept = _properties(lane).get("department")
        shown = f"{name}（部门：{dept}）" if dept else name
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node_id = (ref.text or "").strip()
            if node_id and (node_id not in own or own[node_id][1] <= depth):
                own[node_id] = (shown, depth)
    return {k: v[0] for k, v in own.items()}


def _properties(node) -> dict[str, str]:
    props = {}
    path = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    for prop in node.iterfind(path, NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value") or ""
    return props


def _describe(node, kind: str, lanes: dict[str, str]) -> dict:
    d: dict[str, str] = {"type": kind}
    if node.get("name"):
        d["name"] = node.get("name")
    if kind == "lane":
        dept = _properties(node).get("department")
        if dept:
            d["department"] = dept
        return d
    node_id = node.get("id")
    if node_id in lanes:
        d["lane"] = lanes[node_id]
    for direction in ("incoming", "outgoing"):
        refs = sorted(_text(n) for n in node.iterfind(f"bpmn:{direction}", NS))
        if refs:
            d[direction] = ", ".join(refs)
    if kind == "sequenceFlow":
        d["source_ref"] = node.get("sourceRef") or ""
        d["target_ref"] = node.get("targetRef") or ""
        cond = node.find("bpmn:conditionExpression", NS)
        if cond is not None and _text(cond):
            d["condition"] = _text(cond)
    if node.get("default"):
        d["default"] = node.get("default")
    if node.get("attachedToRef"):
        d["attached_to"] = node.get("attachedToRef")
        d["interrupting"] = "否" if node.get("cancelActivity") == "false" else "是"
    if node.get("calledElement"):
        d["called_element"] = node.get("calledElement")
    events = []
    for definition in node:
        if not isinstance(definition.tag, str) or not _local(definition).endswith(
                "EventDefinition"):
            continue
        kind_name = _local(definition)
        if kind_name == "timerEventDefinition":
            parts = [f"{_local(t)}={_text(t)}" for t in definition
                     if isinstance(t.tag, str) and _local(t).startswith("time")]
            d["timer"] = "; ".join(parts)
        else:
            ref = next((v for k, v in definition.attrib.items() if k.endswith("Ref")), "")
            events.append(f"{kind_name}{'(' + ref + ')' if ref else ''}")
    if events:
        d["event"] = ", ".join(sorted(events))
    script = node.find("bpmn:script", NS)
    if script is not None and (script.text or "").strip():
        d["script"] = (script.text or "").strip()
    loop = node.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if loop is not None:
        parts = ["顺序" if loop.get("isSequential") == "true" else "并行"]
        for child in loop:
            if isinstance(child.tag, str) and _text(child):
                parts.append(f"{_local(child)}={_text(child)}")
        parts += [f"{etree.QName(k).localname}={v}" for k, v in sorted(loop.attrib.items())
                  if etree.QName(k).localname != "isSequential"]
        d["multi_instance"] = "; ".join(parts)
    elif node.find("bpmn:standardLoopCharacteristics", NS) is not None:
        d["multi_instance"] = "循环"
    d.update(_properties(node))
    ext = node.find("bpmn:extensionElements", NS)
    if ext is not None:
        for child in ext:
            if not isinstance(child.tag, str) or child.tag == f"{{{SPIFF_NS}}}properties":
                continue
            name = _local(child)
            if name == "calledDecisionId":
                d["decision"] = _text(child)
            elif name == "preScript":
                d["pre_script"] = (child.text or "").strip()
            elif name == "postScript":
                d["post_script"] = (child.text or "").strip()
            else:
                d[f"extension:{name}"] = _canonical(child)
    return d


def _canonical(node) -> str:
    """An extension element as compact text: its attributes and children, whitespace
    normalised, so that layout changes are not reported."""
    attrs = " ".join(f"{etree.QName(k).localname}={v}" for k, v in sorted(node.attrib.items()))
    inner = [_canonical(c) for c in node if isinstance(c.tag, str)]
    body = _text(node)
    parts = [p for p in (attrs, body, *inner) if p]
    return f"{_local(node)}(" + "; ".join(parts) + ")"


def _changes(before: dict, after: dict, skip=()) -> tuple[PropertyChange, ...]:
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in skip]
    return tuple(
        PropertyChange(k, label(k.split(":", 1)[-1]) if k.startswith("extension:") else label(k),
                       before.get(k), after.get(k))
        for k in keys if before.get(k) != after.get(k)
    )


def element_changes(a_xml: str | None, b_xml: str | None) -> tuple[ElementChange, ...]:
    a, b = bpmn_elements(a_xml), bpmn_elements(b_xml)
    out = []
    for element_id in dict.fromkeys([*a, *b]):
        before, after = a.get(element_id), b.get(element_id)
        if before == after:
            continue
        if before is None:
            out.append(ElementChange(element_id, after["type"], after.get("name"), "added",
                                     _changes({}, after, skip=("type",))))
        elif after is None:
            out.append(ElementChange(element_id, before["type"], before.get("name"), "removed",
                                     _changes(before, {}, skip=("type",))))
        else:
            out.append(ElementChange(element_id, after["type"],
                                     after.get("name") or before.get("name"), "changed",
                                     _changes(before, after)))
    return tuple(out)


# ------------------------------------------------------------------ DMN


def decisions(files: dict[str, str]) -> dict[str, dict]:
    """Decision id -> {file, name, hit_policy, inputs, outputs, rules} of every decision table
    in the .dmn files (files that do not parse give none)."""
    out: dict[str, dict] = {}
    for filename in sorted(files):
        if not filename.endswith(".dmn"):
            continue
        root = xml_root(files[filename])
        if root is None:
            continue
        for node in root.iter():
            if not isinstance(node.tag, str) or _local(node) != "decision" or not node.get("id"):
                continue
            table = next((c for c in node.iter() if isinstance(c.tag, str)
                          and _local(c) == "decisionTable"), None)
            if table is None:
                continue
            inputs, outputs = [], []
            for col in table:
                if not isinstance(col.tag, str):
                    continue
                if _local(col) == "input":
                    expr = next((_text(t) for t in col.iter() if isinstance(t.tag, str)
                                 and _local(t) == "text"), "")
                    inputs.append((col.get("label") or expr or col.get("id") or "?", expr))
                elif _local(col) == "output":
                    outputs.append(col.get("label") or col.get("name") or col.get("id") or "?")
            rules = {}
            for index, rule in enumerate(c for c in table if isinstance(c.tag, str)
                                         and _local(c) == "rule"):
                entries = {"inputs": {}, "outputs": {}, "description": ""}
                ins = [c for c in rule if isinstance(c.tag, str) and _local(c) == "inputEntry"]
                outs = [c for c in rule if isinstance(c.tag, str) and _local(c) == "outputEntry"]
                for i, entry in enumerate(ins):
                    column = inputs[i][0] if i < len(inputs) else f"输入{i + 1}"
                    entries["inputs"][column] = _entry_text(entry)
                for i, entry in enumerate(outs):
                    column = outputs[i] if i < len(outputs) else f"输出{i + 1}"
                    entries["outputs"][column] = _entry_text(entry)
                desc = next((c for c in rule if isinstance(c.tag, str)
                             and _local(c) == "description"), None)
                entries["description"] = _text(desc)
                rules[rule.get("id") or f"第{index + 1}条"] = entries
            out.setdefault(node.get("id"), {
                "file": filename,
                "name": node.get("name"),
                "hit_policy": table.get("hitPolicy") or "UNIQUE",
                "inputs": "; ".join(f"{lab}（{expr}）" if expr and expr != lab else lab
                                    for lab, expr in inputs),
                "outputs": "; ".join(outputs),
                "rules": rules,
            })
    return out


def _entry_text(entry) -> str:
    node = next((c for c in entry if isinstance(c.tag, str) and _local(c) == "text"), None)
    return _text(node) or "-"


_DECISION_LABELS = {"name": "名称", "hit_policy": "命中策略", "inputs": "输入列",
                    "outputs": "输出列"}


def _rule_changes(before: dict, after: dict) -> tuple[PropertyChange, ...]:
    out = []
    for part, word in (("inputs", "输入"), ("outputs", "输出")):
        b, a = before.get(part, {}), after.get(part, {})
        for column in dict.fromkeys([*b, *a]):
            if b.get(column) != a.get(column):
                out.append(PropertyChange(f"{part}:{column}", f"{word}：{column}",
                                          b.get(column), a.get(column)))
    if before.get("description") != after.get("description"):
        out.append(PropertyChange("description", "说明", before.get("description") or None,
                                  after.get("description") or None))
    return tuple(out)


def decision_changes(a_files: dict[str, str], b_files: dict[str, str]
                     ) -> tuple[DecisionDiff, ...]:
    a, b = decisions(a_files), decisions(b_files)
    out = []
    for decision_id in dict.fromkeys([*a, *b]):
        before, after = a.get(decision_id), b.get(decision_id)
        if before == after:
            continue
        if before is None or after is None:
            table = after or before
            change = "added" if before is None else "removed"
            rules = tuple(
                DecisionRuleChange(rid, change, None if before is None else entries,
                                   entries if before is None else None)
                for rid, entries in table["rules"].items())
            out.append(DecisionDiff(table["file"], decision_id, table["name"], change,
                                    (), rules))
            continue
        props = tuple(
            PropertyChange(k, _DECISION_LABELS[k], before[k], after[k])
            for k in ("name", "hit_policy", "inputs", "outputs") if before[k] != after[k])
        rules = []
        for rid in dict.fromkeys([*before["rules"], *after["rules"]]):
            rb, ra = before["rules"].get(rid), after["rules"].get(rid)
            if rb == ra:
                continue
            if rb is None:
                rules.append(DecisionRuleChange(rid, "added", None, ra, _rule_changes({}, ra)))
            elif ra is None:
                rules.append(DecisionRuleChange(rid, "removed", rb, None, _rule_changes(rb, {})))
            else:
                rules.append(DecisionRuleChange(rid, "changed", rb, ra, _rule_changes(rb, ra)))
        if props or rules or before["file"] != after["file"]:
            out.append(DecisionDiff(after["file"], decision_id, after["name"], "changed",
                                    props, tuple(rules)))
    return tuple(out)


# ------------------------------------------------------------------ forms

_FIELD_LABELS = {
    "label": "标签",
    "type": "类型",
    "validate.required": "必填",
    "validate.minLength": "最短",
    "validate.maxLength": "最长",
    "validate.min": "最小值",
    "validate.max": "最大值",
    "validate.pattern": "格式（正则）",
    "validate.validationType": "校验类型",
    "values": "选项",
    "readonly": "只读",
    "disabled": "禁用",
    "conditional": "显示条件",
    "defaultValue": "默认值",
    "description": "说明",
}


def _value_text(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def form_fields_of(text: str | None) -> dict[str, dict] | None:
    """Field key -> {label, type, validate.*, values …} of a form-js file; None when it is
    not a form."""
    try:
        schema = json.loads(text or "")
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        return None
    out = {}
    for comp in form_fields(schema):
        d = {}
        for k in ("label", "type", "readonly", "disabled", "defaultValue", "description"):
            if comp.get(k) not in (None, ""):
                d[k] = _value_text(comp[k])
        for k, v in sorted((comp.get("validate") or {}).items()):
            if v not in (None, "", False):
                d[f"validate.{k}"] = _value_text(v)
        if comp.get("values"):
            d["values"] = ", ".join(
                f"{o.get('label')}={o.get('value')}" if isinstance(o, dict) else _value_text(o)
                for o in comp["values"])
        if comp.get("conditional"):
            d["conditional"] = _value_text(comp["conditional"])
        out[str(comp["key"])] = d
    return out


def _field_changes(before: dict, after: dict) -> tuple[PropertyChange, ...]:
    return tuple(
        PropertyChange(k, _FIELD_LABELS.get(k, k), before.get(k), after.get(k))
        for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k))


def form_changes(a_files: dict[str, str], b_files: dict[str, str]) -> tuple[FormDiff, ...]:
    out = []
    names = [n for n in dict.fromkeys([*sorted(a_files), *sorted(b_files)])
             if n.endswith((".form", ".json"))]
    for name in names:
        if a_files.get(name) == b_files.get(name):
            continue
        before = form_fields_of(a_files.get(name)) if name in a_files else None
        after = form_fields_of(b_files.get(name)) if name in b_files else None
        change = "added" if name not in a_files else "removed" if name not in b_files else (
            "changed")
        before, after = before or {}, after or {}
        changed = []
        for key in dict.fromkeys([*before, *after]):
            fb, fa = before.get(key), after.get(key)
            if fb == fa:
                continue
            shown = fa or fb
            kind = "added" if fb is None else "removed" if fa is None else "changed"
            changed.append(FormFieldChange(key, shown.get("label"), shown.get("type"), kind,
                                           _field_changes(fb or {}, fa or {})))
        out.append(FormDiff(name, change, tuple(changed)))
    return tuple(out)


# ------------------------------------------------------------------ together


def diff(process_key: str, a: str, b: str, a_xml: str | None, a_files: dict[str, str],
         b_xml: str | None, b_files: dict[str, str]) -> VersionDiff:
    """Every change from ``a`` (its XML and files) to ``b``."""
    return VersionDiff(
        process_key=process_key,
        a=str(a),
        b=str(b),
        elements=element_changes(a_xml, b_xml),
        decisions=decision_changes(a_files, b_files),
        forms=form_changes(a_files, b_files),
        files_added=tuple(sorted(set(b_files) - set(a_files))),
        files_removed=tuple(sorted(set(a_files) - set(b_files))),
    )
