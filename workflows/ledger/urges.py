"""催办 from the 驾驶舱: the 督查室 urges units about a month's report. Each urge is a
``ledger_urge`` row (with the unit's open report task of that round, when there is one) and a
催办 event on the ledger; the unit sees its open urges at the top of its task lists until one of
its users marks them seen; each urge is also a notice (kind ``urge``) in the unit's inbox.

The rounds of ``supervision_monthly`` are read from the engine's indexed task rows (never the
serialized state): a round reports on month M and runs in month M+1 (建账 on its first working
day, the report due on the 6th), so its tasks are those created in M+1, China time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from engine import CHINA_TZ, READ_TABLES, post_notice, utcnow

from .operations import add_event
from .tables import ledger_urge

PROCESS_KEY = "supervision_monthly"
REPORT_ELEMENT = "prepare_monthly_report"  # a unit's report task (department_expression = unit)
REPORT_STAGES = ("月报报送", "催办督办")  # the stages of the report and the escalation tasks
OPEN_STATES = ("ready", "claimed")
# The escalation of a unit's late report, in order (tasks of the 督查室 and the leaders).
ESCALATION = (
    ("urge_report", "催办"),
    ("issue_supervision_notice", "督办单"),
    ("interview_unit_head", "约谈"),
    ("issue_circular", "通报"),
)
ESCALATION_ELEMENTS = frozenset(e for e, _label in ESCALATION)
MAX_MESSAGE = 500

# The engine's task rows (``engine.READ_TABLES``), read only.
task_rows = READ_TABLES.task


def check_month(text) -> str | None:
    """``YYYY-MM`` as given, or None when it is not a month."""
    text = str(text or "").strip()
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        return None
    return text if 1 <= int(text[5:]) <= 12 and 2000 <= int(text[:4]) <= 2999 else None


def next_month(month: str, by: int = 1) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start_utc(month: str) -> datetime:
    """00:00 China time of the month's first day, as naive UTC (how moments are stored)."""
    local = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=CHINA_TZ)
    return local.astimezone(UTC).replace(tzinfo=None)


def round_window(month: str) -> tuple[datetime, datetime]:
    """When the round reporting on ``month`` runs: the next month, China time (naive UTC)."""
    return month_start_utc(next_month(month)), month_start_utc(next_month(month, 2))


def round_tasks(conn, month: str, units=None) -> list:
    """The report and escalation task rows of the round on ``month`` (of ``units`` when given:
    escalation tasks sit with the 督查室 and the leaders, so they are read for every unit)."""
    start, end = round_window(month)
    q = sa.select(
        task_rows.c.id,
        task_rows.c.instance_id,
        task_rows.c.element_id,
        task_rows.c.department_code,
        task_rows.c.state,
        task_rows.c.created_at,
        task_rows.c.due_at,
        task_rows.c.completed_at,
    ).where(
        task_rows.c.process_key == PROCESS_KEY,
        task_rows.c.stage.in_(REPORT_STAGES),
        task_rows.c.created_at >= start,
        task_rows.c.created_at < end,
    )
    rows = conn.execute(q).all()
    if units is not None:
        wanted = set(units)
        rows = [
            r for r in rows if r.element_id in ESCALATION_ELEMENTS or r.department_code in wanted
        ]
    return rows


def open_report_tasks(conn, month: str, units) -> dict[str, str]:
    """unit -> id of its report task of the round on ``month`` that is still open."""
    return {
        r.department_code: r.id
        for r in round_tasks(conn, month, units)
        if r.element_id == REPORT_ELEMENT and r.state in OPEN_STATES
    }


def record_urges(
    conn, *, month: str, units, message: str | None, actor: str, row_id: int | None = None
) -> list[dict]:
    """One 催办 per unit (with its open report task of the round, if any) and a 催办 event each.
    Returns the urges written."""
    message = (message or "").strip()[:MAX_MESSAGE] or None
    units = sorted(set(units))
    tasks = open_report_tasks(conn, month, units)
    moment = utcnow()
    made = []
    for unit in units:
        values = {
            "month": month,
            "department_code": unit,
            "row_id": row_id,
            "task_id": tasks.get(unit),
            "message": message,
            "urged_by": actor,
            "urged_at": moment,
        }
        urge_id = conn.execute(sa.insert(ledger_urge).values(**values)).inserted_primary_key[0]
        add_event(
            conn,
            row_id,
            "urge",
            actor,
            {"month": month, "unit": unit, "message": message, "task_id": tasks.get(unit)},
        )
        # >>> inbox: the 催办 in the unit's notice inbox, in the same transaction (issue 14)
        post_notice(
            conn, kind="urge", subject=f"催办：{month[:4]}年{int(month[5:])}月工作进展报送",
            body=message or "请按时报送本月工作进展。", now=moment, department_code=unit,
            task_id=tasks.get(unit),
            link=None if tasks.get(unit) else (f"/ledger/rows/{row_id}" if row_id else "/ledger/"),
            sender="督查室", dedup_key=f"urge:{urge_id}")
        # <<< inbox
        made.append({"id": urge_id, **values})
    return made


def open_urges(conn, department_code: str | None) -> list[dict]:
    """The unit's urges not yet marked seen, newest first."""
    if not department_code:
        return []
    q = (
        sa.select(ledger_urge)
        .where(ledger_urge.c.department_code == department_code, ledger_urge.c.seen_at.is_(None))
        .order_by(ledger_urge.c.urged_at.desc(), ledger_urge.c.id.desc())
        .limit(50)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def mark_seen(conn, urge_id: int, department_code: str | None, actor: str) -> bool:
    """A unit's user marks its urge seen; False when it is not an open urge of that unit."""
    if not department_code:
        return False
    done = conn.execute(
        sa.update(ledger_urge)
        .where(
            ledger_urge.c.id == urge_id,
            ledger_urge.c.department_code == department_code,
            ledger_urge.c.seen_at.is_(None),
        )
        .values(seen_at=utcnow(), seen_by=actor)
    )
    return done.rowcount == 1


def urges_by_unit(conn, month: str, units=None) -> dict[str, dict]:
    """unit -> {count, open (not seen), last (urged_at)} of the month's urges."""
    q = (
        sa.select(
            ledger_urge.c.department_code,
            sa.func.count(),
            sa.func.sum(sa.case((ledger_urge.c.seen_at.is_(None), 1), else_=0)),
            sa.func.max(ledger_urge.c.urged_at),
        )
        .where(ledger_urge.c.month == month)
        .group_by(ledger_urge.c.department_code)
    )
    if units is not None:
        q = q.where(ledger_urge.c.department_code.in_(list(units)))
    return {
        code: {"count": int(n), "open": int(unseen or 0), "last": last}
        for code, n, unseen, last in conn.execute(q)
    }
