"""docs/traceability.md maps each duty to the element that carries it and says where the duty
comes from (contract §3): `gazette` rows quote the gazette word for word, `statute` rows name
the law, `local` rows say what the district decided. Every row's element exists in the shipped
diagram and sits in the named lane: a department code's lane, or `role:<lane>` — a lane named
for a role whose work is routed at run time by a `department_expression`."""

from __future__ import annotations

import re

import yaml
from lxml import etree

from tests.conftest import BPMN, ROOT
from tests.processes.sources import LAW, misquoted, quotes

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
HEADER = ["gazette duty", "source", "process", "element id", "lane"]
SOURCES = ("gazette", "statute", "local")


def _rows():
    """(line number, [duty, source, process, element, lane]) of every table row."""
    text = (ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip().startswith("|"):
            continue
        cells = [re.sub(r"`", "", c).strip() for c in line.strip().strip("|").split("|")]
        if cells == HEADER or all(set(c) <= {"-", ":", " "} for c in cells):
            continue
        rows.append((number, cells))
    return rows


def _properties(node) -> dict[str, str]:
    props = {}
    for prop in node.iterfind(f"bpmn:extensionElements/{SPIFF}properties/{SPIFF}property", NS):
        props[prop.get("name")] = prop.get("value") or ""
    return props


class _Diagram:
    """Elements of one shipped process with their lanes (innermost lane wins, as in
    SpiffWorkflow; an element inside a sub-process that no lane lists takes the lane of the
    sub-process)."""

    def __init__(self, process_id: str):
        root = etree.parse(str(BPMN / f"{process_id}.bpmn")).getroot()
        self.process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
        assert self.process is not None, f"bpmn/{process_id}.bpmn has no process {process_id}"
        self.lane_of: dict[str, object] = {}
        depth_of: dict[str, int] = {}
        for lane in self.process.iterfind(".//bpmn:lane", NS):
            depth = len(list(lane.iterancestors()))
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if depth_of.get(ref.text, -1) <= depth:
                    self.lane_of[ref.text], depth_of[ref.text] = lane, depth
        self.nodes = {
            n.get("id"): n for n in self.process.iter() if isinstance(n.tag, str) and n.get("id")
        }

    def _top(self, node):
        """The process-level node an element sits under (itself at process level)."""
        while node.getparent() is not None and node.getparent() is not self.process:
            node = node.getparent()
        return node

    def lane(self, element_id: str):
        """The lane that lists the element, or else the one listing its process-level node."""
        if element_id in self.lane_of:
            return self.lane_of[element_id]
        return self.lane_of.get(self._top(self.nodes[element_id]).get("id"))

    def routed_at_run_time(self, element_id: str) -> bool:
        """The element, an enclosing sub-process or its lane names a department_expression; an
        automated step (no human task: nobody is routed) in a role lane whose human tasks are
        routed that way counts too."""
        node = self.nodes[element_id]
        if etree.QName(node).localname not in ("userTask", "manualTask", "task"):
            lane = self.lane(element_id)
            return lane is not None and any(
                self.routed_at_run_time(ref.text)
                for ref in lane.iterfind("bpmn:flowNodeRef", NS)
                if ref.text in self.nodes
                and etree.QName(self.nodes[ref.text]).localname == "userTask")
        chain = [
            node,
            *[
                a
                for a in node.iterancestors()
                if a is not self.process and etree.QName(a).localname == "subProcess"
            ],
        ]
        lane = self.lane(element_id)
        if lane is not None:
            chain.append(lane)
        return any(_properties(n).get("department_expression") for n in chain)


def test_every_row_names_its_source_and_gazette_rows_quote_the_gazette_word_for_word():
    rows = _rows()
    assert len(rows) >= 20, "docs/traceability.md lists too few duties"
    problems = []
    for number, cells in rows:
        if len(cells) != len(HEADER):
            problems.append(f"line {number}: {len(cells)} columns, not {len(HEADER)}")
            continue
        duty, source = cells[0], cells[1]
        if source not in SOURCES:
            problems.append(f"line {number}: source {source!r} is not one of {SOURCES}")
        elif source == "gazette" and not quotes(duty):
            problems.append(f"line {number}: a gazette row without a “…” quote")
        elif source == "statute" and not LAW.search(duty):
            problems.append(f"line {number}: a statute row that names no law in 《》")
        # statute rows may quote the law; every other quote is the gazette's
        if source != "statute":
            problems += [f"line {number}: not in the gazette: “{q}”" for q in misquoted(duty)]
    assert not problems, "\n".join(problems)


def test_every_traced_duty_is_carried_by_an_element_in_the_named_lane():
    org = yaml.safe_load((ROOT / "config" / "org.yaml").read_text(encoding="utf-8"))
    names = {d["code"]: d["name"] for d in org["departments"]}
    problems = []
    diagrams: dict[str, _Diagram] = {}
    for number, cells in _rows():
        if len(cells) != len(HEADER):
            continue  # reported by the test above
        _, _, process, element, lane = cells
        where = f"line {number} ({process} {element})"
        if process not in diagrams:
            if not (BPMN / f"{process}.bpmn").is_file():
                problems.append(f"{where}: bpmn/{process}.bpmn does not exist")
                continue
            diagrams[process] = _Diagram(process)
        diagram = diagrams[process]
        if element not in diagram.nodes:
            problems.append(f"{where}: no such element")
            continue
        actual = diagram.lane(element)
        actual_name = actual.get("name") if actual is not None else None
        if lane.startswith("role:"):
            role = lane.removeprefix("role:")
            if actual_name != role:
                problems.append(f"{where}: in lane {actual_name}, not {role}")
            elif not diagram.routed_at_run_time(element):
                problems.append(
                    f"{where}: lane {role} is a role, but neither the element nor "
                    "its sub-process or lane has a department_expression"
                )
        elif lane not in names:
            problems.append(f"{where}: unknown department code {lane}")
        elif actual_name != names[lane]:
            problems.append(f"{where}: in lane {actual_name}, not {names[lane]}")
    assert not problems, "\n".join(problems)
