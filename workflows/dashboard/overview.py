"""The 驾驶舱 overview: projects per phase and stage, lights, late 开工 / 投产, the forecast's
late projects, 非煤矿山 cases by stage and the supervision round of this month.

A handful of GROUP BY queries on ``dash_project`` (indexed), the engine's ``instance`` rows and
the ledger's tables; every count comes with the filter of the list behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from workflows.ledger.tables import ledger_progress, ledger_row, ledger_row_unit
from workflows.lifecycle import PHASES, STAGES

from .project import (
    LIGHTS,
    ProjectFilter,
    forecast_late_ids,
    instance_rows,
    late_production_clause,
    late_start_clause,
    local_start,
    where_of,
)
from .tables import dash_case_link, dash_project

MINE_PROCESS = "mine_approval"
SUPERVISION_PROCESS = "supervision_monthly"


@dataclass(frozen=True)
class Overview:
    total: int
    stages: list[dict]  # number, name, phase, count (every stage, zeros included)
    phases: list[dict]  # phase, count
    unstaged: int  # projects not yet standing in a stage
    lights: dict[str, int]
    late_start: int
    late_production: int
    forecast_late: int
    mine: list[dict]  # stage, status, count
    supervision: dict


def overview(engine, flt: ProjectFilter, departments, today: date) -> Overview:
    """The overview's figures for the projects matching ``flt`` in the viewer's scope (the
    stage and light filters narrow the other figures, not the chart they select on)."""
    p = dash_project.c
    with engine.unit_of_work(readonly=True) as uow:
        conn = uow.conn
        terms = where_of(flt, departments, today, ignore=("stage", "phase", "light", "late"))
        by_stage: dict[int | None, int] = {}
        lights = dict.fromkeys(LIGHTS, 0)
        for number, light, count in conn.execute(
            sa.select(p.stage_number, p.light, sa.func.count())
            .where(*terms).group_by(p.stage_number, p.light)
        ):
            by_stage[number] = by_stage.get(number, 0) + count
            if light in lights:
                lights[light] += count
        late_start, late_production = conn.execute(
            sa.select(
                sa.func.count().filter(late_start_clause(today)),
                sa.func.count().filter(late_production_clause(today)),
            ).where(*terms)
        ).one()
        forecast_late = len(forecast_late_ids(engine, conn, terms, today))
        mine = _mine_cases(conn, departments)
        supervision = _supervision(conn, departments, today)
    stages = [{"number": s.number, "name": s.name, "phase": s.phase,
               "count": by_stage.get(s.number, 0)} for s in STAGES]
    phases = [{"phase": ph, "count": sum(s["count"] for s in stages if s["phase"] == ph)}
              for ph in PHASES]
    unstaged = sum(c for n, c in by_stage.items() if n is None or not 1 <= n <= len(STAGES))
    return Overview(sum(by_stage.values()), stages, phases, unstaged, lights, int(late_start),
                    int(late_production), forecast_late, mine, supervision)


def _mine_cases(conn, departments) -> list[dict]:
    """非煤矿山 cases by stage and status (a department head: those of its projects)."""
    i = instance_rows.c
    q = sa.select(i.stage, i.status, sa.func.count()).where(i.process_key == MINE_PROCESS)
    if departments is not None:
        codes = sorted(departments)
        link, p = dash_case_link.c, dash_project.c
        q = q.where(i.id.in_(
            sa.select(link.case_instance_id)
            .join(dash_project, p.instance_id == link.project_instance_id)
            .where(sa.or_(p.lead_department.in_(codes), p.street.in_(codes)))))
    rows = conn.execute(q.group_by(i.stage, i.status)).all()
    return sorted(({"stage": s, "status": st, "count": n} for s, st, n in rows),
                  key=lambda r: (r["stage"] is None, r["stage"] or "", r["status"]))


def month_of(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


def _supervision(conn, departments, today: date) -> dict:
    """This month's supervision round (supervision_monthly cases started this month), the
    units' reports for the month, ledger rows opened and closed this month, rows still open."""
    first, nxt = month_of(today)
    month = first.strftime("%Y-%m")
    i = instance_rows.c
    rounds = {status: n for status, n in conn.execute(
        sa.select(i.status, sa.func.count())
        .where(i.process_key == SUPERVISION_PROCESS, i.started_at >= local_start(first),
               i.started_at < local_start(nxt))
        .group_by(i.status))}
    r, u, g = ledger_row.c, ledger_row_unit.c, ledger_progress.c
    row_scope = sa.true()
    report_scope = sa.true()
    if departments is not None:
        codes = sorted(departments)
        row_scope = r.id.in_(sa.select(u.row_id).where(u.department_code.in_(codes)))
        report_scope = g.department_code.in_(codes)
    opened, closed, still_open = conn.execute(
        sa.select(
            sa.func.count().filter(sa.and_(r.created_at >= local_start(first),
                                           r.created_at < local_start(nxt))),
            sa.func.count().filter(sa.and_(r.closed_on >= first, r.closed_on < nxt)),
            sa.func.count().filter(r.status == "open"),
        ).where(row_scope)
    ).one()
    reports = {status: n for status, n in conn.execute(
        sa.select(g.status, sa.func.count()).where(g.month == month, report_scope)
        .group_by(g.status))}
    late = conn.execute(sa.select(sa.func.count()).where(
        g.month == month, g.late.is_(True), report_scope)).scalar_one()
    return {"month": month, "month_label": f"{first.year}年{first.month}月", "rounds": rounds,
            "opened": int(opened), "closed": int(closed), "open": int(still_open),
            "reports": reports, "late_reports": int(late)}
