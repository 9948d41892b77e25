"""The lifecycle's stage → phase map against the shipped diagram, and the 建账/销账 handlers
that the shipped supervision_monthly calls for its ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from lxml import etree

from tests.conftest import BPMN, ROOT, actor
from tests.processes.conftest import library_deploy
from workflows.ledger import TABLE_COLUMNS, Ledger, ledger_table
from workflows.lifecycle import PHASES, STAGES, furthest_stage, phase_of, stage_phase
from workflows.org import load_org

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
CN = timezone(timedelta(hours=8))


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


def _cn(*args) -> datetime:
    return datetime(*args, tzinfo=CN).astimezone(UTC)


def _open(engine, iid, element_id, department=None):
    admin = actor(engine, "admin")
    found = [t for t in engine.get_instance(iid, admin).tasks if t.element_id == element_id
             and department in (None, t.department_code)]
    assert len(found) == 1, (element_id, department,
                             [t.element_id for t in engine.get_instance(iid, admin).tasks])
    return found[0]


def _do(engine, iid, element_id, data, department=None):
    task = _open(engine, iid, element_id, department)
    role = "head" if task.candidate_role == "head" else "clerk"
    engine.complete(task.id, actor(engine, f"{task.department_code}-{role}"), data)


class Recorded:
    """A handler that records what the diagram gave it and what it returned (a fake around
    the real handler)."""

    def __init__(self, handler):
        self.handler, self.calls = handler, []

    def __call__(self, data, **params):
        result = self.handler(data, **params)
        self.calls.append((dict(data), dict(params), result))
        return result


def test_the_supervision_diagrams_ledger_is_what_the_handlers_produce(engine):
    """One round of the shipped supervision_monthly: 建账 and 销账 are the service tasks
    open_ledger_rows and settle_ledger_rows, each calling its handler once with what the
    督查室 submitted; the ledger the round goes on with is the handlers' result, and
    ``ledger_table`` lists the closed and open rows."""
    ledger = Ledger(load_org(ROOT / "config" / "org.yaml")[0])
    opening, closing = Recorded(ledger.open_rows), Recorded(ledger.close_rows)
    engine.services.register("ledger_open_rows", opening)
    engine.services.register("ledger_close_rows", closing)
    rows_in = [
        {"row_id": "R1", "task": "一网通办", "unit": "drc", "owner": "张晓东",
         "deadline": "2026-06-30", "planned_pct": 100},
        {"row_id": "R2", "task": "老旧小区改造", "unit": "housing", "owner": "杨雪",
         "deadline": "2026-10-31", "planned_pct": 30, "months_behind": 1},
    ]
    library_deploy(engine, "supervision_monthly")
    with time_machine.travel(_cn(2026, 2, 25, 9), tick=False) as clock:
        iid = engine.start("supervision_monthly", actor(engine, "supervision-clerk"),
                           business_key="DC-TEST", data={"first_round_month": "2026-03"}).id
        clock.move_to(_cn(2026, 3, 1, 0, 0, 1))
        assert engine.fire_due_timers() == 1
        clock.move_to(_cn(2026, 3, 2, 9))
        assert opening.calls == [] and closing.calls == []
        _do(engine, iid, "build_ledger", {"ledger": rows_in})
        (_data, params, opened), = opening.calls
        assert params == {"ledger": rows_in}  # the rows the 督查室 entered
        assert [(r["row_id"], r["unit"], r["planned_pct"], r["months_behind"], r["status"])
                for r in opened["ledger"]] == [("R1", "drc", 100, 0, "open"),
                                               ("R2", "housing", 30, 1, "open")]
        prepared = engine.get_task(_open(engine, iid, "prepare_monthly_report", "drc").id,
                                   actor(engine, "admin")).data
        assert prepared["ledger"] == opened["ledger"]
        assert prepared["units"] == opened["units"] == ["drc", "housing"]
        assert "opened_ledger" not in prepared

        clock.move_to(_cn(2026, 3, 3, 10))
        for unit, row, pct in (("drc", "R1", 100), ("housing", "R2", 35)):
            _do(engine, iid, "prepare_monthly_report", {
                "report_summary": "上月重点任务推进情况：按计划完成各项工作。", "head_available": "yes",
                "row_progress": [{"row_id": row, "actual_pct": pct}],
                "channel_office_line": True, "channel_supervision_office": True,
                "channel_online_platform": True, "delivered_on": "2026-03-03",
                "platform_export_files": ["att-export"]}, unit)
            _do(engine, iid, "sign_monthly_report", {"sign_decision": "approve"}, unit)
        _do(engine, iid, "reconcile_ledger", {"reconcile_result": "match"})
        _do(engine, iid, "audit_ledger", {"site_visit": "no"})
        _do(engine, iid, "compile_supervision_report", {"supervision_report": "3月督查报告"})
        close = _open(engine, iid, "close_ledger_rows")
        before = engine.get_task(close.id, actor(engine, "admin")).data
        submitted = {"closed_row_ids": ["R1"], "closure_evidence": ["att-1"],
                     "closure_note": "已完成"}
        assert closing.calls == []
        _do(engine, iid, "close_ledger_rows", submitted)
        after = engine.get_instance(iid, actor(engine, "admin"), with_data=True).data

    assert len(opening.calls) == 1
    (data, params, closed), = closing.calls
    assert params == submitted  # the 销账 form's rows, evidence and note
    assert (data["round_month"], data["ledger"]) == ("2026-03", before["ledger"])
    assert closed["ledger"] == after["ledger"]
    assert closed["closed_ledger"] == after["closed_ledger"]
    assert (closed["closed"], closed["rolled_over"]) == (["R1"], ["R2"])
    assert closed == ledger.close_rows({**before, **submitted})
    assert after["round_history"][0]["closed"] == ["R1"]
    assert after["round_history"][0]["rolled_over"] == ["R2"]
    assert after["round_history"][0]["lights"] == {r["row_id"]: r["light"]
                                                   for r in before["ledger"]}
    table = ledger_table(after)
    assert [(r["row_id"], r["status"], r["unit"]) for r in table] == [
        ("R1", "closed", "drc"), ("R2", "open", "housing")]
    assert all(tuple(r) == TABLE_COLUMNS for r in table)
    assert table[0]["closed_in"] == "2026-03" and table[1]["rolled_over_from"] == "2026-03"
    assert table[0]["closure_evidence"] == ["att-1"]

    # 销账 only for finished rows, and only with evidence
    with pytest.raises(ValueError, match="尚未完成"):
        ledger.close_rows({**before, "closed_row_ids": ["R2"], "closure_evidence": ["att"]})
    with pytest.raises(ValueError, match="佐证"):
        ledger.close_rows({**before, "closed_row_ids": ["R1"], "closure_evidence": []})
    with pytest.raises(ValueError, match="不在组织架构中"):
        ledger.open_rows({}, ledger=[{"row_id": "X", "unit": "区不存在局"}])
    with pytest.raises(ValueError, match="重复"):
        ledger.open_rows({}, ledger=[{"row_id": "X", "unit": "drc"}, {"row_id": "X", "unit": "drc"}])
