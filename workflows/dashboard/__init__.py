"""驾驶舱 (manager dashboard): summary tables kept in each step's transaction and the
aggregates the dashboard's pages read (docs/dashboard.md)."""

from __future__ import annotations

from .tables import TABLES, dash_case_link, dash_project, dash_stage_span, dash_task_stat

__all__ = ["TABLES", "dash_case_link", "dash_project", "dash_stage_span", "dash_task_stat"]
