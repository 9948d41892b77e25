"""Tables of the supervision ledger (督查台账, 昆府发〔2026〕10号), on ``workflows.schema.metadata``.

- ``ledger_row``: one task of a 分解表 (or a leader's 现场交办): source table, number, task text,
  牵头领导, 牵头单位, 完成时限, status, current light, 销账 evidence and date, origin.
- ``ledger_row_unit``: the units of a row (role ``lead`` = 牵头单位, ``responsible`` = 责任单位;
  any department of the org chart, several allowed).
- ``ledger_progress``: a unit's monthly report on a row (month reported, percent, text, light,
  reported at, late, signed, the instance's business key).
- ``ledger_event``: what happened to a row (or to an import): 建账/对账/查账/销账/进度/亮灯/导入/
  现场交办/会商/催办/督办单, who, when, detail.
- ``ledger_urge``: a 催办 the 督查室 sent a unit for a month's report (from the 驾驶舱): the
  unit's open report task of that round when there is one, message, who, when, seen.
- ``ledger_notice``: a 督办单 issued to a unit on a row, numbered per year in issue order
  (督办〔2026〕N号); reprinting reads the number back.
"""

from __future__ import annotations

import sqlalchemy as sa

from workflows.schema import metadata

ledger_row = sa.Table(
    "ledger_row",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_table", sa.String(200), nullable=False),  # 分解表 name, or 现场交办
    sa.Column("number", sa.String(40), nullable=False),  # 序号 within its source table
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("lead_leader", sa.String(200), nullable=True),  # 牵头领导
    sa.Column("lead_unit", sa.String(64), nullable=True),  # 牵头单位 (department code)
    sa.Column("deadline", sa.Date, nullable=True),  # None: 长期 (see deadline_text)
    sa.Column("deadline_text", sa.String(100), nullable=True),  # as written in the 分解表
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("light", sa.String(16), nullable=True),  # red / yellow / green
    sa.Column("light_reason", sa.String(200), nullable=True),
    sa.Column("months_behind", sa.Integer, nullable=False, server_default="0"),
    sa.Column("red_rounds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("planned_pct", sa.Integer, nullable=True),  # this month's plan (None: linear)
    sa.Column("actual_pct", sa.Integer, nullable=True),  # latest verified progress
    sa.Column("closure_evidence", sa.JSON, nullable=True),
    sa.Column("closure_note", sa.Text, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("origin", sa.String(16), nullable=False, server_default="breakdown"),
    sa.Column("origin_note", sa.Text, nullable=True),  # 现场交办: leader, date, occasion
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("source_table", "number"),
    sa.Index(None, "status", "source_table"),
    sa.Index(None, "light"),
)

ledger_row_unit = sa.Table(
    "ledger_row_unit",
    metadata,
    sa.Column("row_id", sa.Integer, sa.ForeignKey("ledger_row.id"), primary_key=True),
    sa.Column("department_code", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),  # lead / responsible
    sa.Index(None, "department_code"),
)

ledger_progress = sa.Table(
    "ledger_progress",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("row_id", sa.Integer, sa.ForeignKey("ledger_row.id"), nullable=False),
    sa.Column("department_code", sa.String(64), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),  # the month reported (YYYY-MM)
    sa.Column("percent", sa.Integer, nullable=True),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("light", sa.String(16), nullable=True),
    sa.Column("reported_at", sa.DateTime, nullable=True),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("signed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False, server_default="submitted"),
    sa.Column("instance_key", sa.String(120), nullable=True),  # the round instance's business key
    sa.UniqueConstraint("row_id", "department_code", "month"),
    sa.Index(None, "month"),
)

ledger_event = sa.Table(
    "ledger_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("row_id", sa.Integer, sa.ForeignKey("ledger_row.id"), nullable=True),
    sa.Column(
        "kind", sa.String(16), nullable=False
    ),  # 建账 对账 查账 销账 进度 亮灯 导入 现场交办 会商
    sa.Column("actor", sa.String(120), nullable=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Index(None, "row_id", "at"),
    sa.Index(None, "kind"),
)

ledger_urge = sa.Table(
    "ledger_urge",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("month", sa.String(7), nullable=False),  # the month reported (YYYY-MM)
    sa.Column("department_code", sa.String(64), nullable=False),
    sa.Column("row_id", sa.Integer, sa.ForeignKey("ledger_row.id"), nullable=True),
    sa.Column("task_id", sa.String(36), nullable=True),  # the unit's open report task, if any
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("urged_by", sa.String(64), nullable=False),
    sa.Column("urged_at", sa.DateTime, nullable=False),
    sa.Column("seen_at", sa.DateTime, nullable=True),
    sa.Column("seen_by", sa.String(64), nullable=True),
    sa.Index(None, "department_code", "seen_at"),
    sa.Index(None, "month", "department_code"),
)

ledger_notice = sa.Table(
    "ledger_notice",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("year", sa.Integer, nullable=False),  # China's year of issue
    sa.Column("number", sa.Integer, nullable=False),  # N of 督办〔year〕N号
    sa.Column("row_id", sa.Integer, sa.ForeignKey("ledger_row.id"), nullable=False),
    sa.Column("department_code", sa.String(64), nullable=False),
    sa.Column("requirement", sa.Text, nullable=True),
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("year", "number"),
    sa.UniqueConstraint("row_id", "department_code", "year"),
)

TABLES = (ledger_row, ledger_row_unit, ledger_progress, ledger_event, ledger_urge, ledger_notice)
