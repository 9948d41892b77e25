"""The project ledger (项目台账) as an Excel workbook, in the layout an office prints: one row per
project of ``dash_project`` under the project list's filters and the viewer's scope.

Columns: 基本情况 (序号, 项目代码, 项目名称, 投资方, 计划总投资（万元）, 所在街镇, 牵头部门, 包联区领导,
重点项目) | 推进阶段 (阶段, 所属环节 i.e. the phase) | 计划与实际 (计划开工, 实际开工, 计划投产,
实际投产) | 灯色 (灯色, 亮灯原因). The layout itself is ``workflows.printed_table``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..lifecycle import PHASES, STAGES
from ..printed_table import chinese_date, printed_workbook
from .tables import dash_project

LIGHTS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
MAX_ROWS = 20_000  # far above the district's projects; keeps one export's memory bounded

COLUMNS = [  # (group, header, width)
    (None, "序号", 6),
    ("基本情况", "项目代码", 16),
    ("基本情况", "项目名称", 30),
    ("基本情况", "投资方", 24),
    ("基本情况", "计划总投资（万元）", 12),
    ("基本情况", "所在街镇", 18),
    ("基本情况", "牵头部门", 16),
    ("基本情况", "包联区领导", 10),
    ("基本情况", "重点项目", 9),
    ("推进阶段", "阶段", 14),
    ("推进阶段", "所属环节", 9),
    ("计划与实际", "计划开工", 14),
    ("计划与实际", "实际开工", 14),
    ("计划与实际", "计划投产", 14),
    ("计划与实际", "实际投产", 14),
    ("灯色", "灯色", 7),
    ("灯色", "亮灯原因", 22),
]
WRAP = {3, 4, 6, 7, 10, 17}  # long text, left-aligned


class FilterRefused(ValueError):
    """A filter value that names no phase, stage, light, department or leader (Chinese)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ProjectFilter:
    """The project list's filters (``/dashboard/projects``): all optional."""

    phase: str | None = None
    stage: str | None = None
    light: str | None = None
    street: str | None = None  # department code of the 街镇
    lead: str | None = None  # lead department code
    leader: str | None = None  # username of the 包联区领导
    key: bool = False  # key projects only

    @classmethod
    def parse(cls, args, departments: dict[str, str], leaders: dict[str, str]
              ) -> ProjectFilter:
        """From query arguments; ``departments`` code -> name, ``leaders`` username -> name.
        FilterRefused for a value that is none of the known ones."""

        def value(name: str) -> str | None:
            raw = (args.get(name) or "").strip()
            return raw or None

        found = {}
        checks = {
            "phase": (set(PHASES), "阶段分组（phase）应为引得来、落得快、建得好或运营稳"),
            "stage": ({s.name for s in STAGES}, "阶段（stage）不是项目全生命周期的阶段"),
            "light": (set(LIGHTS), "灯色（light）应为 green、yellow 或 red"),
            "street": (set(departments), "街镇（street）不存在"),
            "lead": (set(departments), "牵头部门（lead）不存在"),
            "leader": (set(leaders), "包联区领导（leader）不存在"),
        }
        for name, (allowed, message) in checks.items():
            given = value(name)
            if given is not None and given not in allowed:
                raise FilterRefused(message, name)
            found[name] = given
        key = value("key")
        if key not in (None, "0", "1"):
            raise FilterRefused("重点项目（key）应为 1 或 0", "key")
        return cls(**found, key=key == "1")

    def describe(self, departments: dict[str, str], leaders: dict[str, str]) -> str:
        """The filter in words, for the title row (筛选：…; 全部项目 without one)."""
        parts = []
        if self.phase:
            parts.append(f"环节 {self.phase}")
        if self.stage:
            parts.append(f"阶段 {self.stage}")
        if self.light:
            parts.append(LIGHTS[self.light])
        if self.street:
            parts.append(f"街镇 {departments.get(self.street, self.street)}")
        if self.lead:
            parts.append(f"牵头部门 {departments.get(self.lead, self.lead)}")
        if self.leader:
            parts.append(f"包联区领导 {leaders.get(self.leader, self.leader)}")
        if self.key:
            parts.append("重点项目")
        return "筛选：" + "，".join(parts) if parts else "全部项目"


def _where(flt: ProjectFilter, departments_in_scope: frozenset | None) -> list:
    c = dash_project.c
    conds = []
    for column, given in ((c.phase, flt.phase), (c.stage, flt.stage), (c.light, flt.light),
                          (c.street, flt.street), (c.lead_department, flt.lead),
                          (c.leader, flt.leader)):
        if given is not None:
            conds.append(column == given)
    if flt.key:
        conds.append(c.is_key.is_(True))
    if departments_in_scope is not None:
        # a department head: the projects their department leads or, for a 街镇, hosts
        scope = sorted(departments_in_scope)
        conds.append(sa.or_(c.lead_department.in_(scope), c.street.in_(scope)))
    return conds


def project_rows(conn, flt: ProjectFilter, departments_in_scope: frozenset | None,
                 limit: int = MAX_ROWS):
    """The ledger's rows (Row objects of ``dash_project``), by stage then project code."""
    c = dash_project.c
    stmt = (sa.select(c.instance_id, c.business_key, c.name, c.investor, c.investment, c.street,
                      c.lead_department, c.leader, c.is_key, c.stage, c.stage_number, c.phase,
                      c.planned_start, c.actual_start, c.planned_production,
                      c.actual_production, c.light, c.light_reason)
            .where(*_where(flt, departments_in_scope))
            .order_by(c.stage_number.nulls_last(), c.business_key, c.instance_id)
            .limit(limit))
    return conn.execute(stmt)


def export_projects(rows, departments: dict[str, str], leaders: dict[str, str], as_of: date,
                    filter_text: str) -> bytes:
    """The 项目台账 workbook of ``rows`` (from ``project_rows``)."""
    values, lights = [], {}
    for n, row in enumerate(rows, start=1):
        values.append([
            n,
            row.business_key or "",
            row.name or "",
            row.investor or "",
            round(row.investment, 2) if row.investment is not None else "",
            departments.get(row.street, row.street or ""),
            departments.get(row.lead_department, row.lead_department or ""),
            leaders.get(row.leader, row.leader or ""),
            "是" if row.is_key else "",
            row.stage or "",
            row.phase or "",
            chinese_date(row.planned_start),
            chinese_date(row.actual_start),
            chinese_date(row.planned_production),
            chinese_date(row.actual_production),
            LIGHTS.get(row.light, row.light or ""),
            row.light_reason or "",
        ])
        lights[n - 1] = row.light
    return printed_workbook("项目台账", title="昆都仑区重点项目全生命周期台账",
                            subtitle=f"{filter_text}　　截至{chinese_date(as_of)}",
                            columns=COLUMNS, rows=values, wrap=WRAP, lights=lights,
                            formats={5: "#,##0"})
