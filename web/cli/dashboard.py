"""``kunflow dashboard-rebuild``: the 驾驶舱's summary tables recomputed from the cases (after an
upgrade, or a change of the read model's rules); idempotent, prints its progress."""

from __future__ import annotations

import time

import click

from config import settings as settings_module
from workflows.dashboard.projection import rebuild

from .commands import command_engine

TABLE_NAMES = {"dash_project": "项目", "dash_stage_span": "阶段记录",
               "dash_task_stat": "任务用时统计", "dash_case_link": "关联案件"}


@click.command("dashboard-rebuild", help="按现有案件重新计算驾驶舱汇总表（可重复执行）")
def dashboard_rebuild() -> None:
    settings = settings_module.load()
    engine = command_engine(settings)
    began = time.perf_counter()
    try:
        with engine.setup_lock:
            engine.migrate()
            counts = rebuild(engine, progress=lambda line: click.echo(f"  {line}"))
    finally:
        engine.close()
    summary = "，".join(f"{TABLE_NAMES[name]} {n} 行" for name, n in counts.items())
    click.echo(f"驾驶舱汇总表已重建（用时 {time.perf_counter() - began:.1f} 秒）：{summary}")
