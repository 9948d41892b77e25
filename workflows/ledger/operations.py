"""Operations on the supervision ledger's tables: 建账 (rows checked against the org chart and
entered in one go), 现场交办, the rounds' 进度 / 对账 / 查账 / 亮灯 / 销账, and the reads the pages
and the diagram need. Every function takes the Connection of the caller's unit of work and never
commits (the engine does, with the step or with ``Engine.unit_of_work``)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from engine import DepartmentInfo

from .tables import ledger_event, ledger_progress, ledger_row, ledger_row_unit

EVENT_LABELS = {
    "open": "建账",
    "reconcile": "对账",
    "audit": "查账",
    "close": "销账",
    "progress": "进度",
    "light": "亮灯",
    "import": "导入",
    "onsite": "现场交办",
    "consult": "会商",
    "urge": "催办",  # from the 驾驶舱 (workflows/ledger/urges.py)
    "notice": "督办单",  # issued from the 驾驶舱 (workflows/dashboard/notice_sheet.py)
}
LIGHT_LABELS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
STATUS_LABELS = {"open": "在办", "closed": "已销账"}
ORIGIN_LABELS = {"breakdown": "分解表", "onsite": "现场交办", "round": "督查室建账"}
ONSITE_SOURCE = "现场交办"
ROUND_SOURCE = "督查室建账"
LONG_TERM = "长期"

_UNIT_SPLIT = re.compile(r"[、，,；;\n\r/]+")


def now() -> datetime:
    """Naive UTC (the engine's convention for stored moments)."""
    return datetime.now(UTC).replace(tzinfo=None)


class UnitDirectory:
    """Departments of the org chart by code and by name (a 分解表 may write either)."""

    def __init__(self, departments: list[DepartmentInfo]):
        self._names = {d.code: d.name for d in departments}
        self._codes = {d.code: d.code for d in departments} | {d.name: d.code for d in departments}

    def code(self, text) -> str | None:
        return self._codes.get(str(text or "").strip())

    def name(self, code: str | None) -> str:
        return self._names.get(code or "", code or "")

    def split(self, text) -> list[str]:
        """The unit names of a cell (separated by 、，, ; or new lines), blanks dropped."""
        return [p.strip() for p in _UNIT_SPLIT.split(str(text or "")) if p.strip()]

    def options(self) -> list[tuple[str, str]]:
        return sorted(self._names.items(), key=lambda kv: kv[1])


# ------------------------------------------------------------------ deadlines

_YMD = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_YM_END = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(底|末|前|份|)$")
_Y_END = re.compile(r"^(\d{4})\s*年\s*(底|末|年底|年末|内|)$")
_LONG = ("长期", "持续", "常态化")


def parse_deadline(value) -> tuple[date | None, str | None, str | None]:
    """(date, text, error) of a 完成时限 cell. A date cell or ISO date is that day;
    ``2026年12月31日`` that day; ``2026年6月底`` (月底/月末/月前/月份) the month's last day;
    ``2026年底`` (年底/年末/年内) 31 December; ``长期`` / ``持续推进`` / ``常态化`` no date (长期:
    the row stays open until 销账 and is never behind its plan)."""
    if isinstance(value, datetime):
        return value.date(), None, None
    if isinstance(value, date):
        return value, None, None
    text = re.sub(r"\s+", "", str(value or ""))
    if not text:
        return None, None, "缺少完成时限"
    if any(text.startswith(w) for w in _LONG):
        return None, text, None
    try:
        return date.fromisoformat(text.replace("/", "-").replace(".", "-")), text, None
    except ValueError:
        pass
    try:
        if m := _YMD.match(text):
            return date(int(m[1]), int(m[2]), int(m[3])), text, None
        if m := _YM_END.match(text):
            y, mo = int(m[1]), int(m[2])
            return date(y, mo, calendar.monthrange(y, mo)[1]), text, None
        if m := _Y_END.match(text):
            return date(int(m[1]), 12, 31), text, None
    except ValueError:
        pass
    return None, text, f"完成时限“{text}”无法识别（可写日期、2026年6月底、2026年12月31日或长期）"


def deadline_label(deadline: date | None, text: str | None) -> str:
    if deadline is None:
        return text or LONG_TERM
    return f"{deadline.year}年{deadline.month}月{deadline.day}日"


# ------------------------------------------------------------------ checking rows


@dataclass
class RowError:
    line: int | None  # the row's line in the file (or its place in a list)
    field: str
    message: str

    def as_dict(self) -> dict:
        where = f"第 {self.line} 行" if self.line is not None else ""
        return {
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "text": f"{where} · {self.field}：{self.message}"
            if where
            else f"{self.field}：{self.message}",
        }


def check_rows(
    conn, directory: UnitDirectory, raw_rows: list[dict]
) -> tuple[list[dict], list[dict]]:
    """Rows as parsed, and row-level Chinese errors. A raw row: ``line``, ``source_table``,
    ``number``, ``task``, ``lead_leader``, ``lead_unit`` (name or code), ``units`` (a cell of
    names or codes, or a list), ``deadline`` (date or text)."""
    parsed, errors = [], []
    seen: set[tuple[str, str]] = set()
    existing = {
        (s, n) for s, n in conn.execute(sa.select(ledger_row.c.source_table, ledger_row.c.number))
    }
    for raw in raw_rows:
        line = raw.get("line")
        row_errors: list[RowError] = []
        source = str(raw.get("source_table") or "").strip()
        number = str(raw.get("number") or "").strip()
        if number.endswith(".0") and number[:-2].isdigit():
            number = number[:-2]
        task = str(raw.get("task") or "").strip()
        if not source:
            row_errors.append(RowError(line, "来源分解表", "缺少来源分解表"))
        if not number:
            row_errors.append(RowError(line, "序号", "缺少序号"))
        elif (source, number) in seen:
            row_errors.append(RowError(line, "序号", f"序号 {number} 在《{source}》中重复"))
        elif (source, number) in existing:
            row_errors.append(RowError(line, "序号", f"序号 {number} 已在台账《{source}》中"))
        seen.add((source, number))
        if not task:
            row_errors.append(RowError(line, "工作任务", "工作任务为空"))
        lead_text = str(raw.get("lead_unit") or "").strip()
        lead = None
        if lead_text:
            lead = directory.code(lead_text)
            if lead is None:
                row_errors.append(RowError(line, "牵头单位", f"单位“{lead_text}”不在组织架构中"))
        cell = raw.get("units")
        names = list(cell) if isinstance(cell, list | tuple) else directory.split(cell)
        units = []
        for name in names:
            code = directory.code(name)
            if code is None:
                row_errors.append(RowError(line, "责任单位", f"单位“{name}”不在组织架构中"))
            elif code not in units:
                units.append(code)
        if not units and not lead:
            row_errors.append(RowError(line, "责任单位", "缺少牵头单位和责任单位"))
        deadline, deadline_text, problem = parse_deadline(raw.get("deadline"))
        if problem:
            row_errors.append(RowError(line, "完成时限", problem))
        errors += [e.as_dict() for e in row_errors]
        parsed.append(
            {
                "line": line,
                "source_table": source,
                "number": number,
                "task": task,
                "lead_leader": str(raw.get("lead_leader") or "").strip() or None,
                "lead_unit": lead,
                "units": units,
                "deadline": deadline.isoformat() if deadline else None,
                "deadline_text": deadline_text,
                "deadline_label": deadline_label(deadline, deadline_text),
                "planned_pct": raw.get("planned_pct"),
                "months_behind": raw.get("months_behind"),
                "ok": not row_errors,
            }
        )
    return parsed, errors


def enter_rows(
    conn,
    parsed: list[dict],
    actor: str | None,
    origin: str = "breakdown",
    origin_note: str | None = None,
    detail: dict | None = None,
) -> list[int]:
    """建账: insert checked rows (``check_rows`` without errors), their units, a 建账 event per row
    and, for an import, one 导入 event. Returns the new row ids."""
    moment = now()
    ids = []
    for p in parsed:
        row_id = conn.execute(
            sa.insert(ledger_row).values(
                source_table=p["source_table"],
                number=p["number"],
                task=p["task"],
                lead_leader=p.get("lead_leader"),
                lead_unit=p.get("lead_unit"),
                deadline=date.fromisoformat(p["deadline"]) if p.get("deadline") else None,
                deadline_text=p.get("deadline_text"),
                status="open",
                origin=origin,
                origin_note=origin_note,
                planned_pct=_pct(p.get("planned_pct")),
                months_behind=int(p.get("months_behind") or 0),
                created_at=moment,
            )
        ).inserted_primary_key[0]
        units = [("lead", p["lead_unit"])] if p.get("lead_unit") else []
        units += [("responsible", u) for u in p["units"]]
        for role, code in units:
            conn.execute(
                sa.insert(ledger_row_unit).values(row_id=row_id, department_code=code, role=role)
            )
        ids.append(row_id)
        add_event(
            conn,
            row_id,
            "open",
            actor,
            {"source_table": p["source_table"], "number": p["number"], "origin": origin},
        )
    if origin == "breakdown":
        add_event(conn, None, "import", actor, {**(detail or {}), "rows": len(ids), "row_ids": ids})
    return ids


def add_event(conn, row_id: int | None, kind: str, actor: str | None, detail: dict | None) -> None:
    conn.execute(
        sa.insert(ledger_event).values(
            row_id=row_id, kind=kind, actor=actor, at=now(), detail=detail or {}
        )
    )


def add_onsite_row(
    conn,
    directory: UnitDirectory,
    *,
    task: str,
    leader: str,
    assigned_on,
    units,
    lead_unit=None,
    deadline=None,
    occasion: str | None = None,
    actor: str | None = None,
) -> tuple[int | None, list[dict]]:
    """A leader's 现场交办 as a ledger row (origin ``onsite``; source: the leader, the date and
    the occasion). Returns (row id, errors); nothing is written when there are errors."""
    errors = []
    if not str(leader or "").strip():
        errors.append(RowError(None, "交办领导", "必填").as_dict())
    try:
        day = assigned_on if isinstance(assigned_on, date) else date.fromisoformat(str(assigned_on))
    except ValueError:
        day = None
        errors.append(RowError(None, "交办日期", "日期格式应为 YYYY-MM-DD").as_dict())
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(ledger_row)
        .where(ledger_row.c.source_table == ONSITE_SOURCE)
    ).scalar_one()
    number = f"XC-{count + 1:03d}"
    parsed, row_errors = check_rows(
        conn,
        directory,
        [
            {
                "line": None,
                "source_table": ONSITE_SOURCE,
                "number": number,
                "task": task,
                "lead_leader": leader,
                "lead_unit": lead_unit,
                "units": units,
                "deadline": deadline,
            }
        ],
    )
    errors += row_errors
    if errors:
        return None, errors
    note = f"{str(leader).strip()} {day.isoformat()} 现场交办" + (
        f"（{occasion}）" if occasion else ""
    )
    (row_id,) = enter_rows(conn, parsed, actor, origin="onsite", origin_note=note)
    add_event(
        conn,
        row_id,
        "onsite",
        actor,
        {"leader": leader, "assigned_on": day.isoformat(), "occasion": occasion},
    )
    return row_id, []


# ------------------------------------------------------------------ reads


def _units_of(conn, ids) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {i: {"lead": [], "responsible": []} for i in ids}
    if not ids:
        return out
    for rid, code, role in conn.execute(
        sa.select(
            ledger_row_unit.c.row_id, ledger_row_unit.c.department_code, ledger_row_unit.c.role
        )
        .where(ledger_row_unit.c.row_id.in_(ids))
        .order_by(ledger_row_unit.c.department_code)
    ):
        out[rid][role].append(code)
    return out


def _as_dict(r, units) -> dict:
    row = dict(r._mapping)
    row["responsible_units"] = units.get(row["id"], {}).get("responsible", [])
    row["units"] = sorted(
        set(row["responsible_units"]) | ({row["lead_unit"]} if row["lead_unit"] else set())
    )
    row["row_id"] = str(row["id"])
    return row


def list_rows(
    conn,
    *,
    source_table=None,
    unit=None,
    light=None,
    status=None,
    origin=None,
    ids=None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict]:
    """Ledger rows (units attached) filtered as the ledger page does, in source and number order."""
    q = sa.select(ledger_row)
    if source_table:
        q = q.where(ledger_row.c.source_table == source_table)
    if light:
        q = q.where(ledger_row.c.light == light)
    if status:
        q = q.where(ledger_row.c.status == status)
    if origin:
        q = q.where(ledger_row.c.origin == origin)
    if ids is not None:
        q = q.where(ledger_row.c.id.in_([int(i) for i in ids]))
    if unit:
        q = q.where(
            ledger_row.c.id.in_(
                sa.select(ledger_row_unit.c.row_id).where(ledger_row_unit.c.department_code == unit)
            )
        )
    q = q.order_by(
        ledger_row.c.source_table,
        sa.func.length(ledger_row.c.number),
        ledger_row.c.number,
        ledger_row.c.id,
    )
    if limit is not None:
        q = q.limit(limit).offset(offset)
    rows = conn.execute(q).all()
    units = _units_of(conn, [r.id for r in rows])
    return [_as_dict(r, units) for r in rows]


def count_rows(conn, **filters) -> int:
    return len(list_rows(conn, **filters))


def source_tables(conn) -> list[str]:
    return [
        s
        for (s,) in conn.execute(
            sa.select(ledger_row.c.source_table).distinct().order_by(ledger_row.c.source_table)
        )
    ]


def get_row(conn, row_id: int) -> dict | None:
    """A row with its units, monthly progress and events."""
    rows = list_rows(conn, ids=[row_id])
    if not rows:
        return None
    row = rows[0]
    row["progress"] = [
        dict(p._mapping)
        for p in conn.execute(
            sa.select(ledger_progress)
            .where(ledger_progress.c.row_id == row_id)
            .order_by(ledger_progress.c.month, ledger_progress.c.department_code)
        )
    ]
    row["events"] = [
        dict(e._mapping)
        for e in conn.execute(
            sa.select(ledger_event)
            .where(ledger_event.c.row_id == row_id)
            .order_by(ledger_event.c.at, ledger_event.c.id)
        )
    ]
    return row


def events(conn, kind: str | None = None, row_id: int | None = None) -> list[dict]:
    q = sa.select(ledger_event).order_by(ledger_event.c.id)
    if kind:
        q = q.where(ledger_event.c.kind == kind)
    if row_id is not None:
        q = q.where(ledger_event.c.row_id == row_id)
    return [dict(e._mapping) for e in conn.execute(q)]


# ------------------------------------------------------------------ rounds


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def planned_for(row: dict, month: str) -> int | None:
    """The plan of a row by the end of ``month`` (YYYY-MM): the 督查室's figure when set, else
    linear from the month the row was entered to its deadline's month; None for 长期 rows."""
    if row.get("planned_pct") is not None:
        return int(row["planned_pct"])
    deadline = row.get("deadline")
    if deadline is None:
        return None
    start = _month_index(row["created_at"].strftime("%Y-%m"))
    end = _month_index(deadline.strftime("%Y-%m"))
    at = _month_index(month)
    if at < start:
        return 0
    return (
        max(0, min(100, round(100 * (at - start + 1) / (end - start + 1)))) if end >= start else 100
    )


def record_progress(
    conn,
    *,
    unit: str,
    month: str,
    progress: list[dict],
    status: str,
    late: bool,
    signed: bool,
    reported_at: datetime | None,
    instance_key: str | None,
) -> list[int]:
    """A unit's monthly report on its open rows: one progress record per row of the unit
    (rows it did not fill get none percent), a 进度 event each. Reported again (a revision):
    the record is replaced."""
    mine = {r["id"]: r for r in list_rows(conn, unit=unit, status="open")}
    given = {}
    for p in progress or []:
        try:
            given[int(str(p.get("row_id")).strip())] = p
        except (TypeError, ValueError):
            continue
    done = []
    for row_id in mine:
        p = given.get(row_id, {})
        conn.execute(
            sa.delete(ledger_progress).where(
                ledger_progress.c.row_id == row_id,
                ledger_progress.c.department_code == unit,
                ledger_progress.c.month == month,
            )
        )
        conn.execute(
            sa.insert(ledger_progress).values(
                row_id=row_id,
                department_code=unit,
                month=month,
                percent=_pct(p.get("actual_pct")),
                text=p.get("progress_note"),
                reported_at=reported_at,
                late=bool(late),
                signed=bool(signed),
                status=status,
                instance_key=instance_key,
            )
        )
        add_event(
            conn,
            row_id,
            "progress",
            unit,
            {
                "month": month,
                "percent": _pct(p.get("actual_pct")),
                "status": status,
                "late": bool(late),
                "signed": bool(signed),
                "instance_key": instance_key,
            },
        )
        done.append(row_id)
    return done


def check_round(
    conn,
    *,
    month: str,
    corrections: list[dict] | None,
    reconcile: dict,
    audit: dict,
    actor: str | None,
) -> list[dict]:
    """对账 and 查账 of a round: events on every open row, the 督查室's corrected progress kept on
    the row, and each row's grading inputs (for DMN progress_light): months_behind (the run of
    months behind its plan, this one included), behind_pct, report_late (a unit's report on it
    late or missing), actual_pct."""
    fixed = {}
    for c in corrections or []:
        try:
            fixed[int(str(c.get("row_id")).strip())] = _pct(c.get("actual_pct"))
        except (TypeError, ValueError):
            continue
    out = []
    for row in list_rows(conn, status="open"):
        reports = conn.execute(
            sa.select(ledger_progress).where(
                ledger_progress.c.row_id == row["id"], ledger_progress.c.month == month
            )
        ).all()
        percents = [p.percent for p in reports if p.percent is not None]
        reported = min(percents) if percents else None
        late = any(p.late for p in reports) or len(reports) < len(row["units"])
        add_event(
            conn,
            row["id"],
            "reconcile",
            actor,
            {
                "month": month,
                "reported_pct": reported,
                "reports": len(reports),
                "units": row["units"],
                **reconcile,
            },
        )
        actual = fixed.get(row["id"])
        if actual is None:
            actual = reported if reported is not None else (row.get("actual_pct") or 0)
        add_event(
            conn,
            row["id"],
            "audit",
            actor,
            {"month": month, "actual_pct": actual, "corrected": row["id"] in fixed, **audit},
        )
        planned = planned_for(row, month)
        behind = planned is not None and actual < planned
        months_behind = (int(row["months_behind"] or 0) + 1) if behind else 0
        conn.execute(
            sa.update(ledger_row)
            .where(ledger_row.c.id == row["id"])
            .values(actual_pct=actual, months_behind=months_behind)
        )
        out.append(
            {
                "row_id": row["row_id"],
                "number": row["number"],
                "task": row["task"],
                "units": row["units"],
                "planned_pct": planned,
                "actual_pct": actual,
                "months_behind": months_behind,
                "behind_pct": max(0, (planned or 0) - actual) if planned is not None else 0,
                "report_late": bool(late),
            }
        )
    return out


def record_lights(
    conn, *, month: str, graded: list[dict], consult_red_rounds: int, actor: str | None
) -> dict:
    """亮灯: each row's light (and reason) on the row and on its progress records of the month,
    a 亮灯 event each. Rows red ``consult_red_rounds`` rounds running are 堵点难点 (for 会商)."""
    blocked, finished = [], []
    for g in graded:
        row_id = int(g["row_id"])
        row = conn.execute(sa.select(ledger_row).where(ledger_row.c.id == row_id)).first()
        if row is None:
            continue
        red_rounds = (row.red_rounds + 1) if g.get("light") == "red" else 0
        conn.execute(
            sa.update(ledger_row)
            .where(ledger_row.c.id == row_id)
            .values(light=g.get("light"), light_reason=g.get("light_reason"), red_rounds=red_rounds)
        )
        conn.execute(
            sa.update(ledger_progress)
            .where(ledger_progress.c.row_id == row_id, ledger_progress.c.month == month)
            .values(light=g.get("light"))
        )
        add_event(
            conn,
            row_id,
            "light",
            actor,
            {
                "month": month,
                "light": g.get("light"),
                "reason": g.get("light_reason"),
                "red_rounds": red_rounds,
            },
        )
        if g.get("light") == "red" and red_rounds >= consult_red_rounds:
            blocked.append(str(row_id))
        if (g.get("actual_pct") or 0) >= 100:
            finished.append(str(row_id))
    units = sorted({u for r in list_rows(conn, ids=blocked) for u in r["units"]}) if blocked else []
    return {"blocked_row_ids": blocked, "consult_units": units, "finished_row_ids": finished}


def record_consultation(conn, *, row_ids: list, detail: dict, actor: str | None) -> None:
    for row_id in row_ids or []:
        add_event(conn, int(row_id), "consult", actor, detail)


def close_rows(
    conn,
    *,
    row_ids: list,
    evidence: list | None,
    note: str | None,
    closed_on: date,
    actor: str | None,
) -> dict:
    """销账: finished rows (progress 100 %) closed with their evidence and date; a refusal names
    the row. The rest stay open (roll over)."""
    ids = [int(str(i)) for i in row_ids or []]
    if ids and not evidence:
        raise ValueError("销账须附佐证材料")
    rows = {r["id"]: r for r in list_rows(conn, ids=ids)}
    for row_id in ids:
        row = rows.get(row_id)
        if row is None or row["status"] != "open":
            raise ValueError(f"台账中没有在办事项 {row_id}")
        if (row.get("actual_pct") or 0) < 100:
            raise ValueError(f"事项 {row['source_table']} 第{row['number']}项尚未完成，不能销账")
    for row_id in ids:
        conn.execute(
            sa.update(ledger_row)
            .where(ledger_row.c.id == row_id)
            .values(
                status="closed",
                closure_evidence=list(evidence or []),
                closure_note=note,
                closed_on=closed_on,
            )
        )
        add_event(
            conn,
            row_id,
            "close",
            actor,
            {"evidence": list(evidence or []), "note": note, "closed_on": closed_on.isoformat()},
        )
    still = [r["row_id"] for r in list_rows(conn, status="open")]
    return {"closed": [str(i) for i in ids], "rolled_over": still}


def set_plans(conn, plans: list[dict] | None) -> None:
    """The 督查室's planned progress for rows this month (``[{row_id, planned_pct}]``)."""
    for p in plans or []:
        try:
            row_id = int(str(p.get("row_id")).strip())
        except (TypeError, ValueError):
            continue
        conn.execute(
            sa.update(ledger_row)
            .where(ledger_row.c.id == row_id)
            .values(planned_pct=_pct(p.get("planned_pct")))
        )


def _pct(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return max(0, min(100, round(float(value))))
    except (TypeError, ValueError):
        return None
