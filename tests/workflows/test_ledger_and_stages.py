"""The lifecycle's stage → phase map against the shipped diagram. (The supervision ledger's
tables, import, export and handlers: tests/workflows/test_ledger.py.)"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import BPMN, ROOT
from workflows.lifecycle import PHASES, STAGES, furthest_stage, phase_of, stage_phase
from workflows.org import load_org

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def test_the_stage_map_is_the_diagrams_thirteen_stages_in_their_phases():
    root = etree.parse(str(BPMN / "project_lifecycle.bpmn")).getroot()
    seen = {}
    for user_task in root.iterfind(".//bpmn:userTask", NS):
        props = {p.get("name"): p.get("value")
                 for p in user_task.iterfind(".//spiffworkflow:property", NS)}
        seen[props["stage"]] = props["phase"]
        assert phase_of(props["stage"]) == props["phase"], user_task.get("id")
    assert set(seen) == {s.name for s in STAGES}
    assert [s.number for s in STAGES] == list(range(1, 14))
    # phases come in the plan's order: 引得来 → 落得快 → 建得好 → 运营稳
    assert [PHASES.index(s.phase) for s in STAGES] == sorted(PHASES.index(s.phase) for s in STAGES)
    codes = {d.code for d in load_org(ROOT / "config" / "org.yaml")[0]}
    assert all(set(s.lead) <= codes for s in STAGES)


def test_furthest_stage_and_the_handler():
    assert furthest_stage(["运营/达产", "投产", None, "未知"]) == "运营/达产"
    assert furthest_stage([None, "试运行"]) is None
    assert stage_phase({"stage": "立项"})["phase"] == "落得快"
    assert stage_phase({}, stage="退出")["stage_number"] == 13
    with pytest.raises(ValueError, match="不是项目全生命周期的阶段"):
        stage_phase({"stage": "试运行"})
