"""docs/traceability.md maps each duty of the gazette to the element that carries it: every
row's element exists in the shipped diagram and sits in the lane of the named department."""

from __future__ import annotations

import re

import yaml
from lxml import etree

from tests.conftest import BPMN, ROOT

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def _rows():
    text = (ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.strip().startswith("|"):
            continue
        if cells[0] in ("gazette duty", "公报职责") or set(cells[0]) <= {"-", ":", " "}:
            continue
        process, element, dept = (re.sub(r"`", "", c) for c in cells[1:4])
        rows.append((cells[0], process, element, dept))
    return rows


def _lanes(process_id: str) -> dict[str, str]:
    """element id -> lane name (innermost lane wins, as in SpiffWorkflow)."""
    root = etree.parse(str(BPMN / f"{process_id}.bpmn")).getroot()
    process = root.find(f".//bpmn:process[@id='{process_id}']", NS)
    assert process is not None, f"bpmn/{process_id}.bpmn has no process {process_id}"
    lanes = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        depth = len(list(lane.iterancestors()))
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            prev = lanes.get(ref.text)
            if prev is None or prev[1] <= depth:
                lanes[ref.text] = (lane.get("name"), depth)
    ids = {n.get("id") for n in process.iter() if isinstance(n.tag, str) and n.get("id")}
    return {k: v[0] for k, v in lanes.items()}, ids


def test_every_traced_duty_is_carried_by_an_element_in_the_named_departments_lane():
    org = yaml.safe_load((ROOT / "config" / "org.yaml").read_text(encoding="utf-8"))
    names = {d["code"]: d["name"] for d in org["departments"]}
    rows = _rows()
    assert len(rows) >= 20, "docs/traceability.md lists too few duties"
    problems = []
    cache = {}
    for duty, process, element, dept in rows:
        if process not in cache:
            if not (BPMN / f"{process}.bpmn").is_file():
                problems.append(f"{duty}: bpmn/{process}.bpmn does not exist")
                continue
            cache[process] = _lanes(process)
        lanes, ids = cache[process]
        if element not in ids:
            problems.append(f"{duty}: {process} has no element {element}")
        elif dept not in names:
            problems.append(f"{duty}: unknown department code {dept}")
        elif lanes.get(element) != names[dept]:
            problems.append(f"{duty}: {element} is in lane {lanes.get(element)}, not {names[dept]}")
    assert not problems, "\n".join(problems)
