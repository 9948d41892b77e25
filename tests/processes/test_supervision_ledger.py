"""supervision_monthly on the ledger's tables: a 分解表 imported from Excel gives every 牵头单位 and
责任单位 its monthly report step (routed by the ledger row in the role lane 责任单位), each unit's
form lists its rows, progress and lights land in the tables, and a row red two rounds running
goes to a 会商 organised by 区政府办公室 with the units' opinions and a recorded outcome. Warm
and cold (a new Engine before every step)."""

from __future__ import annotations

import pytest
import time_machine

from tests.processes.conftest import library_deploy
from tests.processes.test_supervision_monthly import DELIVERED, PROCESS, Round, cn
from tests.workflows.test_ledger import DIRECTORY, breakdown
from workflows.ledger import commit_import, operations

ROWS = [
    [
        1,
        "全年重点项目开工率达到90%以上",
        "王志军",
        "区发改委",
        "区住建局、昆北街道办事处",
        "2026年12月底",
    ],
    [2, "历史遗留矿山生态修复", "邓志远", "区自然资源分局", "卜尔汉图镇", "长期"],
]


@pytest.fixture
def deployed(engine):
    return library_deploy(engine, PROCESS)


def import_breakdown(r: Round, rows) -> dict[str, str]:
    """The 督查室 imports the 分解表 (as the ledger page does): number -> row id."""
    with r.d.reader.unit_of_work() as uow:
        result = commit_import(
            uow.conn, DIRECTORY, "分解表.xlsx", breakdown(rows), "supervision-clerk"
        )
        assert result["ok"], result["errors"]
        uow.commit()
    return {n: x["row_id"] for n, x in r.rows().items()}


def report_all(r: Round, percent: dict[str, int]) -> None:
    """Every unit with an open report step reports its rows and its head signs."""
    for t in [t for t in r.open() if t.element_id == "prepare_monthly_report"]:
        unit = t.department_code
        rows = t.data["unit_rows"]
        r.do(
            "prepare_monthly_report",
            unit,
            {
                "report_summary": "上月重点任务推进情况：按计划推进。",
                "row_progress": [
                    {
                        "row_id": x["row_id"],
                        "actual_pct": percent[x["number"]],
                        "progress_note": "推进中",
                    }
                    for x in rows
                ],
                "head_available": "yes",
                **DELIVERED,
            },
            unit=unit,
        )
        r.do("sign_monthly_report", unit, {"sign_decision": "approve"})


def test_imported_breakdown_routes_each_unit_its_report_and_records_progress_and_lights(
    deployed, driver, rebuild
):
    with time_machine.travel(cn(2026, 2, 20, 10), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        ids = import_breakdown(r, ROWS)
        r.start(cn(2026, 2, 20, 10))
        assert r.at(cn(2026, 3, 1, 0, 0, 1)) == 1
        r.do("build_ledger", "supervision", {"ledger_note": "分解表已导入"})
        # every 牵头单位 and 责任单位 of the open rows reports, in the role lane 责任单位
        assert r.routes() == [
            ("prepare_monthly_report", u)
            for u in ("buerhantu", "drc", "housing", "kunbei", "natres")
        ]
        assert {t.lane for t in r.open()} == {"责任单位"}
        kunbei = r.task("prepare_monthly_report", "kunbei")
        assert [(x["row_id"], x["task"], x["deadline"]) for x in kunbei.data["unit_rows"]] == [
            (ids["1"], "全年重点项目开工率达到90%以上", "2026年12月31日")
        ]
        assert kunbei.data["row_progress"] == [  # the form lists the unit's rows
            {"row_id": ids["1"], "actual_pct": None, "progress_note": None}
        ]
        r.clock.move_to(cn(2026, 3, 5, 10))
        report_all(r, {"1": 9, "2": 30})
        r.reconcile_and_audit()
        r.do("compile_supervision_report", "supervision", {"supervision_report": "3月督查报告"})
        rows = r.rows()
        # progress per row and unit of the month reported, in the table
        assert sorted(
            (p["department_code"], p["percent"], p["late"], p["signed"])
            for p in rows["1"]["reports"]
        ) == [("drc", 9, False, True), ("housing", 9, False, True), ("kunbei", 9, False, True)]
        key = r.eng.get_instance(r.iid, r.admin).business_key
        assert all(
            p["instance_key"] == key and p["month"] == "2026-02" for p in rows["1"]["reports"]
        )
        # planned for February: linear from February to December (1/11); 长期: never behind
        assert (rows["1"]["light"], rows["1"]["actual_pct"]) == ("green", 9)
        assert (rows["2"]["light"], rows["2"]["actual_pct"]) == ("green", 30)
        with r.d.reader.unit_of_work(readonly=True) as uow:
            kinds = {e["kind"] for e in operations.events(uow.conn)}
        assert {"import", "open", "progress", "reconcile", "audit", "light"} <= kinds


def test_a_row_red_two_rounds_running_goes_to_a_consultation(deployed, driver, rebuild):
    """“针对工作推进中的堵点难点问题，由区政府办组织相关部门单位共同会商研究”: red in two rounds
    running (DMN supervision_schedule consult_red_rounds, local) → 区政府办公室 organises the
    会商, each unit of the row gives its opinion, the outcome is recorded on the row."""
    with time_machine.travel(cn(2026, 2, 20, 10), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        ids = import_breakdown(r, ROWS[:1])
        r.start(cn(2026, 2, 20, 10))
        for month, plan in ((3, 50), (4, 60)):
            assert r.at(cn(2026, month, 1, 0, 0, 1)) == 1
            r.do(
                "build_ledger",
                "supervision",
                {"planned_progress": [{"row_id": ids["1"], "planned_pct": plan}]},
            )
            r.clock.move_to(cn(2026, month, 3, 10))
            report_all(r, {"1": 10})
            if month == 3:  # red once: no 会商 yet
                r.reconcile_and_audit()
                assert r.rows()["1"]["light"] == "red"
                r.do("compile_supervision_report", "supervision", {"supervision_report": "3月"})
        r.do("reconcile_ledger", "supervision", {"reconcile_result": "match"})
        r.do("audit_ledger", "supervision", {"site_visit": "no"})
        assert r.routes() == [("organise_consultation", "gov-office")]
        assert r.data()["blocked_row_ids"] == [ids["1"]]
        r.do(
            "organise_consultation",
            "gov-office",
            {"consult_date": "2026-04-10", "consult_topic": "开工率滞后会商"},
        )
        assert r.routes() == [("consultation_opinion", u) for u in ("drc", "housing", "kunbei")]
        assert {t.lane for t in r.open()} == {"责任单位"}
        for unit in ("drc", "housing", "kunbei"):
            r.do(
                "consultation_opinion",
                unit,
                {"consult_opinion": f"{unit}：用地手续滞后", "consult_unit_measures": "倒排工期"},
            )
        assert r.routes() == [("record_consultation_outcome", "gov-office")]
        r.do(
            "record_consultation_outcome",
            "gov-office",
            {"consult_outcome": "并联办理用地手续", "consult_measures": "自然资源部门5日内办结"},
        )
        assert r.routes() == [("compile_supervision_report", "supervision")]
        row = r.rows()["1"]
        assert (row["light"], row["red_rounds"]) == ("red", 2)
        with r.d.reader.unit_of_work(readonly=True) as uow:
            (consulted,) = operations.events(uow.conn, "consult")
        assert consulted["row_id"] == int(ids["1"])
        assert consulted["detail"]["outcome"] == "并联办理用地手续"
        assert [o["unit"] for o in consulted["detail"]["opinions"]] == ["drc", "housing", "kunbei"]
