"""Every rule of the shipped process library says where it comes from (issue 12, contract §2):
an element with a time limit (due_working_days, due_days, due_expression) or a timer carries a
`source` property `gazette: “…”` (quoted word for word from the gazette), `statute: 《law》第N条 …`
or `local: …` (a district setting: where an admin changes it); every rule of a DMN table has a
description that starts the same way (dmn-js shows it as the annotation column)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import BPMN
from tests.processes.sources import source_problem

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
DUE = ("due_working_days", "due_days", "due_expression")


def _properties(node) -> dict[str, str]:
    path = "bpmn:extensionElements/spiff:properties/spiff:property"
    return {p.get("name"): p.get("value") or "" for p in node.iterfind(path, NS)}


def _timed_elements(path):
    """(element id, properties) of every element with a due property or a timer."""
    root = etree.parse(str(path)).getroot()
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.get("id"):
            continue
        props = _properties(node)
        timer = node.find("bpmn:timerEventDefinition", NS) is not None
        if timer or any(props.get(name) for name in DUE):
            yield node.get("id"), props


@pytest.mark.parametrize("path", sorted(BPMN.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_time_limit_and_timer_names_its_source(path):
    problems = []
    for element_id, props in _timed_elements(path):
        problem = source_problem(props.get("source"))
        if problem:
            problems.append(f"{element_id}: source {problem}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", sorted(BPMN.glob("*.dmn")), ids=lambda p: p.name)
def test_every_decision_rule_names_its_source(path):
    root = etree.parse(str(path)).getroot()
    rules = root.findall(".//dmn:rule", NS)
    assert rules, f"{path.name} has no rules"
    problems = []
    for rule in rules:
        problem = source_problem(rule.findtext("dmn:description", default="", namespaces=NS))
        if problem:
            problems.append(f"rule {rule.get('id')}: description {problem}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_a_wrong_mark_is_refused():
    """The check itself: a quote the gazette does not contain, a statute without its law or
    article, an unmarked value."""
    assert source_problem("gazette: “从2026年3月起，各牵头部门和责任单位要在每月6日前”") is None
    assert "not in the gazette" in source_problem("gazette: “每月5日前报送”")
    assert "without a “…” quote" in source_problem("gazette: 每月6日前报送")
    assert source_problem("statute: 《建筑法》第八条 七日内颁发施工许可证") is None
    assert "statute without" in source_problem("statute: 建筑法 七日")
    assert "does not start" in source_problem("红灯阈值 30%")
    assert "missing" in source_problem(None)
    assert source_problem("local: 红黄绿灯阈值，区设定（DMN progress_light）") is None
