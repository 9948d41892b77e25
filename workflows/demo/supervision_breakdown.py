"""The demo's 任务分解表 (made up, marked 演示数据): two tables in the layout of the gazette's
分解表, built as an .xlsx at demo load from the table below and imported into the supervision
ledger like any office's file (``workflows.ledger.commit_import``).

Write the file itself with ``python -m workflows.demo.supervision_breakdown [path]`` (default
``workflows/demo/supervision_breakdown_demo.xlsx``; the file is not kept in git — it is built
from this table, so the two never disagree).

Units are written by name, as a 分解表 writes them; a 街镇 or 区属 unit that the org chart does
not (yet) hold is left out of the cell when the file is built for a given org chart, so the
demo imports with the org chart of the day (the 13 街道 and 2 镇 of issue 12 once they are in
config/org.yaml).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

DEFAULT_PATH = Path(__file__).resolve().parent / "supervision_breakdown_demo.xlsx"
WORK_REPORT = "2026年《政府工作报告》重点任务分解表（演示数据）"
LIVELIHOOD = "2026年民生实事任务分解表（演示数据）"

# (source, 序号, 工作任务, 牵头领导, 牵头单位, 责任单位 (、), 完成时限, finished month, lag)
# ``finished``: the month whose report says 100 %; ``lag``: points behind plan each month
BREAKDOWN = [
    (
        WORK_REPORT,
        1,
        "全年重点项目开工率达到90%以上",
        "王志军",
        "区发改委",
        "区住建局、区自然资源分局、卜尔汉图镇、昆北街道办事处",
        "2026年12月底",
        None,
        0,
    ),
    (
        WORK_REPORT,
        2,
        "规模以上工业企业技术改造投资增长10%",
        "邓志远",
        "区工业和信息化局",
        "区发改委、区招商部门",
        "2026年12月31日",
        None,
        8,
    ),
    (
        WORK_REPORT,
        3,
        "新增工业用地供应1500亩、盘活低效用地300亩",
        "邓志远",
        "区自然资源分局",
        "卜尔汉图镇、昆河镇",
        "2026年11月底",
        None,
        35,
    ),
    (
        WORK_REPORT,
        4,
        "中央生态环境保护督察反馈问题整改销号",
        "王志军",
        "区生态环境分局",
        "区农牧局、区应急局、卜尔汉图镇",
        "2026年8月31日",
        8,
        0,
    ),
    (
        WORK_REPORT,
        5,
        "安全生产治本攻坚三年行动年度任务",
        "邓志远",
        "区应急局",
        "区住建局、区市场监督管理局、少先路街道办事处、沼潭街道办事处、昆北街道办事处",
        "长期",
        None,
        0,
    ),
    (
        WORK_REPORT,
        6,
        "招商引资到位资金同比增长15%",
        "王志军",
        "区招商部门",
        "区发改委、区工业和信息化局",
        "2026年12月31日",
        None,
        12,
    ),
    (
        WORK_REPORT,
        7,
        "政务服务“一网通办”事项占比达到95%",
        "邓志远",
        "区政数局",
        "区政府办公室",
        "2026年6月底",
        6,
        0,
    ),
    (
        WORK_REPORT,
        8,
        "昆北片区城市更新征收拆迁",
        "王志军",
        "昆北街道办事处",
        "区住建局、区自然资源分局、林荫路街道办事处",
        "2026年12月底",
        None,
        15,
    ),
    (
        WORK_REPORT,
        9,
        "卜尔汉图镇历史遗留矿山生态修复",
        "邓志远",
        "卜尔汉图镇",
        "区自然资源分局、区生态环境分局",
        "2026年10月31日",
        10,
        0,
    ),
    (
        WORK_REPORT,
        10,
        "重点项目“三在三找”服务企业全覆盖",
        "王志军",
        "区工业和信息化局",
        "区政数局、友谊大街街道办事处、阿尔丁大街街道办事处、团结大街街道办事处",
        "2026年12月底",
        None,
        0,
    ),
    (
        LIVELIHOOD,
        1,
        "完成老旧小区改造12个",
        "邓志远",
        "区住建局",
        "鞍山道街道办事处、前进道街道办事处、市府东路街道办事处",
        "2026年10月底",
        10,
        5,
    ),
    (
        LIVELIHOOD,
        2,
        "新建城市社区嵌入式养老服务站5个",
        "邓志远",
        "区民政局",
        "白云路街道办事处、黄河西路街道办事处、昆工路街道办事处",
        "2026年11月30日",
        None,
        0,
    ),
    (
        LIVELIHOOD,
        3,
        "新增中小学学位1200个",
        "王志军",
        "区教育局",
        "区住建局、区财政局",
        "2026年8月底",
        8,
        0,
    ),
    (
        LIVELIHOOD,
        4,
        "农贸市场提档升级3处",
        "邓志远",
        "区市场监督管理局",
        "区城市管理综合执法局、沼潭街道办事处、少先路街道办事处",
        "2026年9月30日",
        9,
        0,
    ),
]


def _names(cell: str) -> list[str]:
    return [p.split("：")[-1] for p in cell.split("、") if p]


def build_rows(known_names: set[str] | None = None) -> list[tuple]:
    """The table, each unit cell keeping only the units ``known_names`` holds (all when None);
    a row whose 牵头单位 is unknown takes its first known 责任单位 as lead, and a row with no
    known unit at all is left out."""
    out = []
    for source, number, task, leader, lead, units, deadline, finished, lag in BREAKDOWN:
        names = _names(units)
        if known_names is not None:
            names = [n for n in names if n in known_names]
            if lead not in known_names:
                if not names:
                    continue
                lead = names.pop(0)
        out.append((source, number, task, leader, lead, "、".join(names), deadline, finished, lag))
    return out


def simulation() -> dict[tuple[str, str], tuple[int | None, int]]:
    """(source, number) -> (finished month, lag) for the demo's monthly reports."""
    return {(s, str(n)): (fin, lag) for s, n, *_rest, fin, lag in BREAKDOWN}


def breakdown_xlsx(known_names: set[str] | None = None) -> bytes:
    """The demo 分解表 as an .xlsx: one sheet per source table, a title row above the header."""
    wb = Workbook()
    wb.remove(wb.active)
    rows = build_rows(known_names)
    for n, source in enumerate((WORK_REPORT, LIVELIHOOD), start=1):
        ws = wb.create_sheet(f"表{n}")
        ws.append([source])
        ws.merge_cells("A1:F1")
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws.append(["序号", "工作任务", "牵头领导", "牵头单位", "责任单位", "完成时限"])
        for s, number, task, leader, lead, units, deadline, _fin, _lag in rows:
            if s == source:
                ws.append([number, task, leader, lead, units, deadline])
        for col, width in zip("ABCDEF", (6, 40, 10, 18, 40, 16), strict=True):
            ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


if __name__ == "__main__":  # python -m workflows.demo.supervision_breakdown [path]
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    target.write_bytes(breakdown_xlsx())
    print(target)
