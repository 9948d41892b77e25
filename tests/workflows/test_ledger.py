"""The supervision ledger as the office's own data (workflows/ledger): a 分解表 imported from
Excel (preview, row-level Chinese errors, all or nothing), 现场交办 rows, 销账, and the export
that opens in openpyxl with its title, merged headers, frozen header, print set-up and lights."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import Workbook, load_workbook

from tests.conftest import ROOT
from workflows.ledger import (
    ImportRefused,
    UnitDirectory,
    commit_import,
    export_ledger,
    ledger_event,
    ledger_row,
    ledger_row_unit,
    operations,
    preview_import,
)
from workflows.ledger.operations import parse_deadline
from workflows.org import load_org

DIRECTORY = UnitDirectory(load_org(ROOT / "config" / "org.yaml")[0])
TITLE = "2026年《政府工作报告》重点任务分解表"
FROZEN = datetime(2026, 2, 20, 2, 0)


def breakdown(rows: list[list], title: str = TITLE, merge_leader: str | None = None) -> bytes:
    """A 分解表 in the gazette's layout: a title row, the header, the rows."""
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "工作任务", "牵头领导", "牵头单位", "责任单位", "完成时限"])
    for r in rows:
        ws.append(r)
    if merge_leader:  # one leader for a group of tasks, written once in a merged cell
        ws.merge_cells(merge_leader)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD = [
    [
        1,
        "全年重点项目开工率达到90%以上",
        "王志军",
        "区发改委",
        "区住建局、昆北街道办事处",
        "2026年12月底",
    ],
    [
        2,
        "新增工业用地供应1500亩",
        None,
        "natres",
        "卜尔汉图镇，区农牧局\n区生态环境分局",
        "2026年6月30日",
    ],
    [3, "安全生产治本攻坚三年行动", "邓志远", "区应急局", "区住建局", "长期"],
    [4, "政务服务事项网上可办", "邓志远", "区政数局", "区政府办公室", datetime(2026, 9, 30)],
]


def _count(conn, table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def uow(engine):
    with time_machine.travel(FROZEN, tick=False), engine.unit_of_work() as u:
        yield u


def test_deadlines_are_read_as_dates_chinese_text_or_long_term():
    assert parse_deadline("2026年6月底")[0] == date(2026, 6, 30)
    assert parse_deadline("2026年2月底")[0] == date(2026, 2, 28)
    assert parse_deadline("2026年12月31日")[0] == date(2026, 12, 31)
    assert parse_deadline("2026年底")[0] == date(2026, 12, 31)
    assert parse_deadline("2026-05-01")[0] == date(2026, 5, 1)
    assert parse_deadline(datetime(2026, 7, 1, 0, 0))[0] == date(2026, 7, 1)
    assert parse_deadline("长期") == (None, "长期", None)
    assert parse_deadline("")[2] == "缺少完成时限"
    assert "无法识别" in parse_deadline("年内尽快")[2]


def test_a_good_breakdown_is_previewed_then_imported_whole(uow):
    content = breakdown(GOOD, merge_leader="C3:C4")
    preview = preview_import(uow.conn, DIRECTORY, "分解表.xlsx", content)
    assert preview["ok"] and preview["errors"] == [] and preview["source_tables"] == [TITLE]
    assert _count(uow.conn, ledger_row) == 0  # the preview writes nothing
    by_number = {p["number"]: p for p in preview["rows"]}
    assert by_number["1"]["units"] == ["housing", "kunbei"] and by_number["1"]["lead_unit"] == "drc"
    assert by_number["2"]["units"] == ["buerhantu", "agri", "eco"]  # 、，and new lines
    # the leader merged over rows 1–2 counts for both
    assert by_number["2"]["lead_leader"] == "王志军" and by_number["3"]["lead_leader"] == "邓志远"
    assert by_number["3"]["deadline"] is None and by_number["3"]["deadline_label"] == "长期"
    assert by_number["4"]["deadline"] == "2026-09-30"

    result = commit_import(uow.conn, DIRECTORY, "分解表.xlsx", content, "supervision-clerk")
    assert len(result["row_ids"]) == 4
    rows = {r["number"]: r for r in operations.list_rows(uow.conn)}
    assert {n: (r["status"], r["origin"], r["source_table"]) for n, r in rows.items()} == {
        n: ("open", "breakdown", TITLE) for n in "1234"
    }
    assert rows["1"]["units"] == ["drc", "housing", "kunbei"]  # 牵头单位 and 责任单位 report
    assert rows["1"]["deadline"] == date(2026, 12, 31)
    kinds = [e["kind"] for e in operations.events(uow.conn)]
    assert kinds.count("open") == 4 and kinds.count("import") == 1
    # read for a unit: its own rows (as lead or responsible)
    assert [r["number"] for r in operations.list_rows(uow.conn, unit="housing")] == ["1", "3"]
    # the same file again: every number is already on the ledger, nothing is added
    again = commit_import(uow.conn, DIRECTORY, "分解表.xlsx", content, "supervision-clerk")
    assert again["row_ids"] == [] and len(again["errors"]) == 4
    assert again["errors"][0]["message"] == f"序号 1 已在台账《{TITLE}》中"


def test_a_breakdown_with_bad_rows_is_refused_whole_with_row_level_errors(uow):
    bad = GOOD + [
        [5, "推进城市更新", "王志军", "区发改委", "区星际开发局、某某办", "2026年12月底"],
        [6, "", "王志军", "区发改委", "区住建局", "2026年12月底"],
        [7, "老旧小区改造", "王志军", "区住建局", "昆北街道办事处", None],
        [1, "重复的序号", "王志军", "区住建局", "区住建局", "2026年8月底"],
    ]
    result = commit_import(uow.conn, DIRECTORY, "分解表.xlsx", breakdown(bad), "supervision-clerk")
    assert not result["ok"] and result["row_ids"] == []
    assert [e["text"] for e in result["errors"]] == [
        "第 7 行 · 责任单位：单位“区星际开发局”不在组织架构中",
        "第 7 行 · 责任单位：单位“某某办”不在组织架构中",
        "第 8 行 · 工作任务：工作任务为空",
        "第 9 行 · 完成时限：缺少完成时限",
        f"第 10 行 · 序号：序号 1 在《{TITLE}》中重复",
    ]
    # nothing half-imported: the good rows of the file are not written either
    for table in (ledger_row, ledger_row_unit, ledger_event):
        assert _count(uow.conn, table) == 0


def test_files_that_are_not_xlsx_or_too_large_are_refused_in_chinese(uow):
    with pytest.raises(ImportRefused, match=r"只能导入 Excel 工作簿（\.xlsx）"):
        preview_import(uow.conn, DIRECTORY, "分解表.xls", b"old")
    with pytest.raises(ImportRefused, match="不是有效的 Excel 工作簿"):
        preview_import(uow.conn, DIRECTORY, "分解表.xlsx", b"not a zip")
    with pytest.raises(ImportRefused, match="文件超过 1 KB，不予导入"):
        preview_import(uow.conn, DIRECTORY, "分解表.xlsx", breakdown(GOOD), max_bytes=1024)
    with pytest.raises(ImportRefused, match="未找到分解表"):
        wb = Workbook()
        wb.active.append(["名称", "内容"])
        out = io.BytesIO()
        wb.save(out)
        preview_import(uow.conn, DIRECTORY, "分解表.xlsx", out.getvalue())


def test_onsite_assignment_becomes_a_row_with_its_source(uow):
    row_id, errors = operations.add_onsite_row(
        uow.conn,
        DIRECTORY,
        task="协调解决施工用电接入",
        leader="王志军",
        assigned_on="2026-02-18",
        units=["区住建局", "drc"],
        deadline="2026年4月底",
        occasion="重点项目现场调研",
        actor="supervision-clerk",
    )
    assert errors == []
    row = operations.get_row(uow.conn, row_id)
    assert (row["origin"], row["source_table"], row["number"]) == ("onsite", "现场交办", "XC-001")
    assert row["origin_note"] == "王志军 2026-02-18 现场交办（重点项目现场调研）"
    assert row["units"] == ["drc", "housing"]
    assert [e["kind"] for e in row["events"]] == ["open", "onsite"]
    _none, errors = operations.add_onsite_row(
        uow.conn, DIRECTORY, task="", leader="", assigned_on="昨天", units=["某局"], deadline=None
    )
    assert {e["field"] for e in errors} == {
        "交办领导",
        "交办日期",
        "工作任务",
        "责任单位",
        "完成时限",
    }


def test_closing_needs_a_finished_row_and_evidence(uow):
    ids = commit_import(uow.conn, DIRECTORY, "分解表.xlsx", breakdown(GOOD), "s")["row_ids"]
    uow.conn.execute(sa.update(ledger_row).where(ledger_row.c.id == ids[0]).values(actual_pct=100))
    with pytest.raises(ValueError, match="尚未完成"):
        operations.close_rows(
            uow.conn,
            row_ids=[ids[1]],
            evidence=["att"],
            note=None,
            closed_on=date(2026, 3, 12),
            actor="s",
        )
    with pytest.raises(ValueError, match="佐证"):
        operations.close_rows(
            uow.conn,
            row_ids=[ids[0]],
            evidence=[],
            note=None,
            closed_on=date(2026, 3, 12),
            actor="s",
        )
    done = operations.close_rows(
        uow.conn,
        row_ids=[ids[0]],
        evidence=["att-1"],
        note="已完成",
        closed_on=date(2026, 3, 12),
        actor="s",
    )
    assert done["closed"] == [str(ids[0])] and str(ids[0]) not in done["rolled_over"]
    row = operations.get_row(uow.conn, ids[0])
    assert (row["status"], row["closure_evidence"], row["closed_on"]) == (
        "closed",
        ["att-1"],
        date(2026, 3, 12),
    )
    assert row["events"][-1]["kind"] == "close"


def test_the_export_opens_with_openpyxl_with_rows_lights_and_headers(uow):
    ids = commit_import(uow.conn, DIRECTORY, "分解表.xlsx", breakdown(GOOD), "s")["row_ids"]
    for row_id, light in zip(ids, ("red", "yellow", "green"), strict=False):
        uow.conn.execute(
            sa.update(ledger_row)
            .where(ledger_row.c.id == row_id)
            .values(light=light, light_reason="测试", actual_pct=40)
        )
    rows = operations.list_rows(uow.conn)
    content = export_ledger(rows, DIRECTORY.name, date(2026, 3, 15))
    ws = load_workbook(io.BytesIO(content)).active
    assert ws["A1"].value == "昆都仑区重点工作督查台账（截至2026年3月15日）"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:O1", "E2:G2", "I2:K2", "M2:N2", "A2:A3", "D2:D3"} <= merged
    assert [ws.cell(2, c).value for c in (1, 4, 5, 9, 13)] == [
        "序号",
        "工作任务",
        "责任分工",
        "推进情况",
        "销账",
    ]
    assert [ws.cell(3, c).value for c in (5, 6, 7, 10)] == [
        "牵头领导",
        "牵头单位",
        "责任单位",
        "灯色",
    ]
    assert ws.freeze_panes == "A4"
    assert ws.print_area == "'督查台账'!$A$1:$O$7"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    body = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    assert [r[3] for r in body] == [g[1] for g in GOOD]
    assert body[0][5:8] == ["区发改委", "区住建局、昆北街道办事处", "2026年12月31日"]
    assert body[2][7] == "长期" and body[3][7] == "2026年9月30日"
    assert [r[9] for r in body] == ["红灯", "黄灯", "绿灯", "未亮灯"]
    fills = [ws.cell(4 + n, 10).fill.fgColor.rgb for n in range(3)]
    assert fills == ["FFE53935", "FFFFD54F", "FF43A047"]
    # every data row is as tall as its longest wrapped cell needs (the 来源分解表 wraps to two
    # lines at least), so printed text never runs into the next row
    assert all(ws.row_dimensions[4 + n].height >= 2 * 15 for n in range(len(body)))
