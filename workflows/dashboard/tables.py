"""Summary tables of the 驾驶舱 (manager dashboard), on ``workflows.schema.metadata``.

Kept by the dashboard's read model (``workflows/dashboard/projection.py``) in the transaction of
every step that changes them (``Engine.add_read_model``), and rebuildable from the engine's
task rows and the cases' data (``rebuild``); the dashboard's pages read only these tables, the
engine's indexed ``task`` / ``instance`` rows and the ledger's tables — never the serialized
workflow state.

- ``dash_project``: one row per project_lifecycle case: who and where (街镇, lead department,
  包联 leader, key project), the stage it stands in, its light, the agreed and actual dates.
- ``dash_stage_span``: one row per stage a project entered: entered / left, working days spent
  (the forecast's dwell times).
- ``dash_task_stat``: a histogram of completed human tasks: per process, element, department
  and month of completion, how many took ``days`` working days and how many met their deadline
  (medians per task type, on-time rates by month, the heatmap's dwell times).
- ``dash_case_link``: other cases of a project (called processes; cases naming its code).
"""

from __future__ import annotations

import sqlalchemy as sa

from workflows.schema import metadata

dash_project = sa.Table(
    "dash_project",
    metadata,
    sa.Column("instance_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("business_key", sa.String(200), nullable=True),  # 项目代码
    sa.Column("name", sa.String(400), nullable=True),
    sa.Column("investor", sa.String(400), nullable=True),
    sa.Column("industry", sa.String(100), nullable=True),
    # mine (非煤矿山) / ratify (核准) / file (备案) / approve (审批) / unknown: the forecast's
    # project type
    sa.Column("project_type", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("street", sa.String(64), nullable=True),  # department code of its 街镇
    sa.Column("lead_department", sa.String(64), nullable=True),
    sa.Column("leader", sa.String(64), nullable=True),  # 包联区领导 (username)
    sa.Column("is_key", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("investment", sa.Float, nullable=True),  # 万元
    sa.Column("stage", sa.String(200), nullable=True),
    sa.Column("stage_number", sa.Integer, nullable=True),  # 1..13 (workflows/lifecycle.py)
    sa.Column("phase", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # the instance's status
    sa.Column("light", sa.String(8), nullable=False, server_default="green"),
    sa.Column("light_reason", sa.String(200), nullable=True),
    # the latest monthly progress report's light (part of the light; kept so the light can be
    # recomputed as deadlines pass without the case's data: ``refresh_lights``)
    sa.Column("report_light", sa.String(8), nullable=True),
    sa.Column("signed_on", sa.Date, nullable=True),
    sa.Column("planned_start", sa.Date, nullable=True),  # 计划开工
    sa.Column("planned_production", sa.Date, nullable=True),  # 计划投产
    sa.Column("planned_full_production", sa.Date, nullable=True),  # 计划达产
    sa.Column("actual_start", sa.Date, nullable=True),
    sa.Column("actual_production", sa.Date, nullable=True),
    sa.Column("open_tasks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("overdue_tasks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=True),
    sa.Index(None, "phase", "stage_number"),
    sa.Index(None, "street"),
    sa.Index(None, "lead_department"),
    sa.Index(None, "leader"),
    sa.Index(None, "light"),
    sa.Index(None, "business_key"),
)

dash_stage_span = sa.Table(
    "dash_stage_span",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instance_id", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(200), nullable=False),
    sa.Column("stage_number", sa.Integer, nullable=False),
    sa.Column("project_type", sa.String(16), nullable=False),
    sa.Column("entered_at", sa.DateTime, nullable=False),
    sa.Column("left_at", sa.DateTime, nullable=True),
    sa.Column("working_days", sa.Integer, nullable=True),  # set when left
    sa.Index(None, "instance_id", "stage_number"),
    sa.Index(None, "stage", "project_type", "left_at"),
)

dash_task_stat = sa.Table(
    "dash_task_stat",
    metadata,
    sa.Column("process_key", sa.String(200), primary_key=True),
    sa.Column("element_id", sa.String(200), primary_key=True),
    sa.Column("department_code", sa.String(64), primary_key=True),  # "" when none
    sa.Column("month", sa.String(7), primary_key=True),  # month completed, YYYY-MM (China)
    sa.Column("days", sa.Integer, primary_key=True),  # working days taken (capped at 99)
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("on_time", sa.Integer, nullable=False),  # of with_due, completed by their due time
    sa.Column("with_due", sa.Integer, nullable=False),  # of count, that had a due time
    sa.Index(None, "department_code", "month"),
    sa.Index(None, "month", "process_key"),
)

dash_case_link = sa.Table(
    "dash_case_link",
    metadata,
    sa.Column("case_instance_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("project_instance_id", sa.Integer, nullable=False),
    sa.Column("process_key", sa.String(200), nullable=False),
    sa.Column("link", sa.String(8), nullable=False),  # child (called) / code (names the project)
    sa.Index(None, "project_instance_id"),
)

TABLES = (dash_project, dash_stage_span, dash_task_stat, dash_case_link)
