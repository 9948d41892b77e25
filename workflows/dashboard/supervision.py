"""督查督办 on the 驾驶舱: for a month, each responsible unit's report state, the lights of its
rows, the escalation step its late report reached and the 销账 state of its rows; and the same
month as one line per ledger row (the Excel export).

Read from the ledger's tables (``ledger_row``, ``ledger_row_unit``, ``ledger_progress``,
``ledger_urge``) and the engine's indexed task rows of the round — a handful of grouped queries
for all units, never one per unit, never the serialized state.

How a unit's round is read from the task rows: its report task (``prepare_monthly_report``)
carries its department. The escalation tasks (催办, 督办单 with the 督查室; 约谈, 通报 with the
leaders) carry no unit: each is made by a timer of that unit's report sub-process while the
report is still open, so a unit reached a step when a task of that step was created in the same
instance while its report task was open.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa

from engine import to_local

from ..ledger.operations import LIGHT_LABELS, deadline_label
from ..ledger.tables import ledger_notice, ledger_progress, ledger_row, ledger_row_unit
from ..ledger.urges import (
    ESCALATION,
    OPEN_STATES,
    PROCESS_KEY,
    REPORT_ELEMENT,
    REPORT_STAGES,
    month_start_utc,
    next_month,
    round_tasks,
    round_window,
    task_rows,
    urges_by_unit,
)
from ..printed_table import chinese_date, printed_workbook

REPORT_STATES = {
    "on_time": "按时报送",
    "late": "逾期报送",
    "unsigned": "未签字（附情况说明）",
    "missing": "未报送",
    "overdue": "逾期未报",
    "submitted": "已报送待审签",
    "pending": "待报送",
    "none": "无报送任务",
}
STATE_ORDER = ("missing", "overdue", "late", "unsigned", "pending", "submitted", "on_time", "none")
LIGHTS = ("red", "yellow", "green")
CLOSURE_LABELS = {"closed": "已销账", "open": "在办", "rolled": "结转"}
EXPLAIN_ELEMENT = "explain_unsigned_report"


def month_label(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:7])}月"


def _round_days(month: str) -> tuple[date, date]:
    """First and last day (China) of the month the round on ``month`` runs in."""
    m = next_month(month)
    y, mo = int(m[:4]), int(m[5:7])
    return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])


def months(conn) -> list[str]:
    """Months with data, newest first: reported months, and the month of a round still open."""
    found = {m for (m,) in conn.execute(sa.select(ledger_progress.c.month).distinct())}
    opened = conn.execute(
        sa.select(sa.func.max(task_rows.c.created_at)).where(
            task_rows.c.process_key == PROCESS_KEY,
            task_rows.c.stage == REPORT_STAGES[0],
            task_rows.c.element_id == REPORT_ELEMENT,
        )
    ).scalar()
    if opened is not None:
        found.add(next_month(to_local(opened).strftime("%Y-%m"), -1))
    return sorted(found, reverse=True)


def _scoped(column, departments):
    return column.in_(sorted(departments)) if departments is not None else sa.true()


def _row_counts(conn, month: str, departments) -> dict[str, dict]:
    """unit -> lights and 销账 counts of its rows as of the round on ``month``."""
    first, last = _round_days(month)
    _start, round_end = round_window(month)
    units = (
        sa.select(ledger_row_unit.c.row_id, ledger_row_unit.c.department_code)
        .where(_scoped(ledger_row_unit.c.department_code, departments))
        .distinct()
        .subquery()
    )
    r, p = ledger_row, ledger_progress
    closure = sa.case(
        (sa.and_(r.c.status == "closed", r.c.closed_on < first), "before"),
        (sa.and_(r.c.status == "closed", r.c.closed_on <= last), "closed"),
        else_="open",
    )
    carried = sa.case((r.c.created_at < month_start_utc(month), 1), else_=0)
    light = sa.func.coalesce(p.c.light, r.c.light, "none")
    q = (
        sa.select(units.c.department_code, light, closure, carried, sa.func.count())
        .select_from(
            units.join(r, r.c.id == units.c.row_id).outerjoin(
                p,
                sa.and_(
                    p.c.row_id == units.c.row_id,
                    p.c.department_code == units.c.department_code,
                    p.c.month == month,
                ),
            )
        )
        .where(r.c.created_at < round_end)
        .group_by(units.c.department_code, light, closure, carried)
    )
    out: dict[str, dict] = {}
    for code, lit, state, was_carried, n in conn.execute(q):
        line = out.setdefault(
            code,
            {"lights": dict.fromkeys(LIGHTS, 0), "closed": 0, "open": 0, "rolled": 0, "rows": 0},
        )
        if state == "before":  # closed in an earlier month: not this round's business
            continue
        line["rows"] += n
        if lit in line["lights"]:
            line["lights"][lit] += n
        if state == "closed":
            line["closed"] += n
        else:
            line["open"] += n
            line["rolled"] += n if was_carried else 0
    return {code: line for code, line in out.items() if line["rows"]}


def _reports(conn, month: str, departments) -> dict[str, dict]:
    p = ledger_progress
    q = (
        sa.select(
            p.c.department_code,
            sa.func.count(),
            sa.func.sum(sa.case((p.c.status == "missing", 1), else_=0)),
            sa.func.sum(sa.case((p.c.late, 1), else_=0)),
            sa.func.sum(sa.case((p.c.signed, 0), else_=1)),
            sa.func.max(p.c.reported_at),
            sa.func.min(p.c.percent),
        )
        .where(p.c.month == month, _scoped(p.c.department_code, departments))
        .group_by(p.c.department_code)
    )
    return {
        code: {
            "rows": n,
            "missing": int(missing or 0),
            "late": int(late or 0),
            "unsigned": int(unsigned or 0),
            "reported_at": at,
            "min_percent": low,
        }
        for code, n, missing, late, unsigned, at, low in conn.execute(q)
    }


def _round_facts(tasks) -> dict[str, dict]:
    """unit -> its report task (latest), the escalation step reached (index into ESCALATION,
    -1 none), whether it explained an unsigned report."""
    rank = {element: n for n, (element, _label) in enumerate(ESCALATION)}
    escalations = defaultdict(list)  # instance -> [(created_at, rank)]
    reports = defaultdict(list)
    explained = set()
    for t in tasks:
        if t.element_id in rank:
            escalations[t.instance_id].append((t.created_at, rank[t.element_id]))
        elif t.element_id == REPORT_ELEMENT and t.department_code:
            reports[t.department_code].append(t)
        elif t.element_id == EXPLAIN_ELEMENT and t.state == "completed":
            explained.add(t.department_code)
    out = {}
    for unit, mine in reports.items():
        step = -1
        for t in mine:
            for created, n in escalations.get(t.instance_id, ()):
                if created >= t.created_at and (t.completed_at is None or created <= t.completed_at):
                    step = max(step, n)
        out[unit] = {
            "task": max(mine, key=lambda t: t.created_at),
            "step": step,
            "explained": unit in explained,
        }
    return out


def _state(report: dict | None, facts: dict | None, now: datetime) -> str:
    if report:
        if report["missing"]:
            return "missing"
        if report["late"]:
            return "late"
        if report["unsigned"]:
            return "unsigned"
        return "on_time"
    task = facts["task"] if facts else None
    if task is None:
        return "none"
    if task.state in OPEN_STATES:
        return "overdue" if task.due_at is not None and now > task.due_at else "pending"
    if task.state == "cancelled":
        return "missing"
    return "submitted"


def unit_lines(conn, month: str, departments, now: datetime, unit_name) -> dict:
    """The month's lines, one per unit with rows (or a report) in the round, worst first:
    ``lines`` (unit, name, state, state_label, lights, step, urges, closed/open/rolled, the
    open report task id), ``totals`` per report state and per light."""
    counts = _row_counts(conn, month, departments)
    reports = _reports(conn, month, departments)
    units = set(counts) | set(reports)
    facts = _round_facts(round_tasks(conn, month, units))
    urges = urges_by_unit(conn, month, units)
    lines = []
    for code in units:
        c = counts.get(code) or {
            "lights": dict.fromkeys(LIGHTS, 0),
            "closed": 0,
            "open": 0,
            "rolled": 0,
            "rows": 0,
        }
        f = facts.get(code)
        state = _state(reports.get(code), f, now)
        step = f["step"] if f else -1
        task = f["task"] if f else None
        label = REPORT_STATES[state]
        if state == "unsigned" and not (f and f["explained"]):
            label = "未签字"
        lines.append(
            {
                "unit": code,
                "name": unit_name(code),
                "state": state,
                "state_label": label,
                "reported_at": (reports.get(code) or {}).get("reported_at"),
                "lights": c["lights"],
                "rows": c["rows"],
                "closed": c["closed"],
                "open": c["open"],
                "rolled": c["rolled"],
                "step": ESCALATION[step][1] if step >= 0 else None,
                "step_rank": step,
                "urges": urges.get(code, {"count": 0, "open": 0, "last": None}),
                "task_id": task.id if task is not None and task.state in OPEN_STATES else None,
            }
        )
    lines.sort(key=lambda x: (STATE_ORDER.index(x["state"]), -x["lights"]["red"], x["name"]))
    totals = {
        "states": {s: sum(1 for x in lines if x["state"] == s) for s in REPORT_STATES},
        "lights": {lit: sum(x["lights"][lit] for x in lines) for lit in LIGHTS},
        "units": len(lines),
        "closed": sum(x["closed"] for x in lines),
        "open": sum(x["open"] for x in lines),
    }
    return {"month": month, "lines": lines, "totals": totals}


def ledger_lines(conn, month: str, departments) -> list[dict]:
    """One line per ledger row of the round on ``month`` (rows closed in an earlier month left
    out; a head's: rows of their unit), with this month's report state over its units in scope,
    the lowest progress reported (else the verified one), the light and the 销账 state."""
    first, last = _round_days(month)
    _start, round_end = round_window(month)
    r = ledger_row
    q = sa.select(r).where(
        r.c.created_at < round_end,
        sa.or_(r.c.status != "closed", r.c.closed_on >= first),
    )
    if departments is not None:
        q = q.where(
            r.c.id.in_(
                sa.select(ledger_row_unit.c.row_id).where(
                    _scoped(ledger_row_unit.c.department_code, departments)
                )
            )
        )
    q = q.order_by(r.c.source_table, sa.func.length(r.c.number), r.c.number, r.c.id)
    rows = conn.execute(q).all()
    ids = [row.id for row in rows]
    units: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"lead": [], "responsible": []})
    reports: dict[int, list] = defaultdict(list)
    if ids:
        for rid, code, role in conn.execute(
            sa.select(
                ledger_row_unit.c.row_id, ledger_row_unit.c.department_code, ledger_row_unit.c.role
            )
            .where(ledger_row_unit.c.row_id.in_(ids))
            .order_by(ledger_row_unit.c.department_code)
        ):
            units[rid][role].append(code)
        for p in conn.execute(
            sa.select(ledger_progress).where(
                ledger_progress.c.month == month,
                _scoped(ledger_progress.c.department_code, departments),
            )
        ):
            reports[p.row_id].append(p)
    carried_from = month_start_utc(month)
    out = []
    for row in rows:
        mine = reports.get(row.id, [])
        states = defaultdict(int)
        for p in mine:
            state = (
                "missing"
                if p.status == "missing"
                else "late"
                if p.late
                else "unsigned"
                if not p.signed
                else "on_time"
            )
            states[state] += 1
        percents = [p.percent for p in mine if p.percent is not None]
        lights = [p.light for p in mine if p.light]
        closed = row.status == "closed" and row.closed_on is not None and row.closed_on <= last
        out.append(
            {
                "id": row.id,
                "source_table": row.source_table,
                "number": row.number,
                "task": row.task,
                "lead_leader": row.lead_leader,
                "lead_unit": row.lead_unit,
                "responsible_units": units[row.id]["responsible"],
                "deadline": row.deadline,
                "deadline_text": row.deadline_text,
                "report_states": dict(states),
                "percent": min(percents) if percents else row.actual_pct,
                "light": _worst(lights) or row.light,
                "closure": "closed"
                if closed
                else ("rolled" if row.created_at < carried_from else "open"),
                "closed_on": row.closed_on if closed else None,
            }
        )
    return out


def _worst(lights: list[str]) -> str | None:
    for lit in LIGHTS:
        if lit in lights:
            return lit
    return None


def unit_rows(conn, month: str, unit: str) -> list[dict]:
    """The rows of one unit for the month (the page's drill-down), with the 督办单 issued."""
    lines = ledger_lines(conn, month, frozenset({unit}))
    ids = [x["id"] for x in lines]
    issued = {}
    if ids:
        for rid, year, number in conn.execute(
            sa.select(ledger_notice.c.row_id, ledger_notice.c.year, ledger_notice.c.number).where(
                ledger_notice.c.department_code == unit, ledger_notice.c.row_id.in_(ids)
            )
        ):
            issued[rid] = f"督办〔{year}〕{number}号"
    for x in lines:
        x["notice"] = issued.get(x["id"])
        x["light_label"] = LIGHT_LABELS.get(x["light"] or "", "未亮灯")
    return lines


EXPORT_COLUMNS = [  # (group, header, width)
    (None, "序号", 6),
    (None, "来源分解表", 22),
    (None, "工作任务", 42),
    ("责任分工", "牵头单位", 16),
    ("责任分工", "责任单位", 26),
    (None, "完成时限", 16),
    ("本月推进情况", "报送情况", 18),
    ("本月推进情况", "进度（%）", 9),
    ("本月推进情况", "灯色", 8),
    ("销账", "状态", 9),
    ("销账", "销账日期", 16),
]
REPORT_SHORT = {"on_time": "按时报送", "late": "逾期报送", "unsigned": "未签字", "missing": "未报送"}


def report_summary(states: dict) -> str:
    """按时报送 3、未报送 1 (the units' reports on a row this month)."""
    parts = [f"{REPORT_SHORT[k]} {states[k]}" for k in REPORT_SHORT if states.get(k)]
    return "、".join(parts) or "未报"


def export_supervision(lines: list[dict], month: str, unit_name) -> bytes:
    """The month's supervision ledger as an .xlsx workbook, one row per ledger row."""
    values, lights = [], {}
    for n, x in enumerate(lines, start=1):
        values.append(
            [
                n,
                f"{x['source_table']} 第{x['number']}项",
                x["task"],
                unit_name(x["lead_unit"]) if x.get("lead_unit") else "",
                "、".join(unit_name(u) for u in x["responsible_units"]),
                deadline_label(x["deadline"], x["deadline_text"]),
                report_summary(x["report_states"]),
                x["percent"] if x["percent"] is not None else "",
                LIGHT_LABELS.get(x["light"] or "", "未亮灯"),
                CLOSURE_LABELS[x["closure"]],
                chinese_date(x["closed_on"]),
            ]
        )
        lights[n - 1] = x["light"]
    return printed_workbook(
        f"督查督办{month}",
        title=f"昆都仑区督查督办台账（{month_label(month)}）",
        columns=EXPORT_COLUMNS,
        rows=values,
        wrap={2, 3, 5, 7},
        lights=lights,
    )
