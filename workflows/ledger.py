"""The supervision ledger (督查台账, 昆府发〔2026〕10号): 建账 → 对账 → 查账 → 销账.

``supervision_monthly`` keeps its ledger in the instance's data: ``ledger`` (open rows, rolled
over month by month) and ``closed_ledger`` (rows closed with evidence). A row: ``row_id``,
``task``, ``unit`` (department code), ``owner``, ``deadline``, ``planned_pct``, and what each
round adds (``actual_pct``, ``months_behind``, ``light`` …).

``open_rows`` and ``close_rows`` are the service handlers for 建账 and 销账: the shipped diagram
calls them from its service tasks ``open_ledger_rows`` (after the 督查室's 建账 form) and
``settle_ledger_rows`` (after 销账), and goes on with the ledger they return; a refusal
(unknown unit, repeated row id, closing an unfinished row or without evidence) stops the case
at an incident the process admin retries. ``ledger_table`` flattens an instance's ledger into
the 台账 the supervision office exports.
"""

from __future__ import annotations

from engine import DepartmentInfo

TABLE_COLUMNS = (
    "row_id", "task", "unit", "owner", "deadline", "planned_pct", "actual_pct", "behind_pct",
    "months_behind", "light", "light_reason", "report_late", "report_signed", "status",
    "rolled_over_from", "closed_in", "closure_evidence",
)


class Ledger:
    """建账 / 销账 handlers bound to the org chart (units may be written as names or codes)."""

    def __init__(self, departments: list[DepartmentInfo]):
        self._codes = {d.code: d.code for d in departments} | {d.name: d.code for d in departments}

    def open_rows(self, data: dict, ledger=None, **_params) -> dict:
        """Service handler ``ledger_open_rows`` (建账): every row open, its unit a department
        code, planned progress and months behind as numbers; the units that must report."""
        rows = []
        seen = set()
        for raw in (ledger if ledger is not None else data.get("ledger")) or []:
            row = dict(raw)
            row_id = row.get("row_id")
            if not row_id:
                raise ValueError("台账每一行都须有编号（row_id）")
            if row_id in seen:
                raise ValueError(f"台账编号 {row_id} 重复")
            seen.add(row_id)
            unit = self._codes.get(str(row.get("unit") or "").strip())
            if unit is None:
                raise ValueError(f"台账 {row_id} 的责任单位“{row.get('unit')}”不在组织架构中")
            row["unit"] = unit
            row["planned_pct"] = row.get("planned_pct") or 0
            row["months_behind"] = int(row.get("months_behind") or 0)
            row["status"] = "open"
            rows.append(row)
        return {"ledger": rows, "units": sorted({r["unit"] for r in rows})}

    @staticmethod
    def close_rows(data: dict, closed_row_ids=None, closure_evidence=None, closure_note=None,
                   **_params) -> dict:
        """Service handler ``ledger_close_rows`` (销账): the finished rows named are closed with
        their evidence, the rest roll over to next month."""
        ids = list(closed_row_ids if closed_row_ids is not None
                   else data.get("closed_row_ids") or [])
        evidence = closure_evidence if closure_evidence is not None else data.get(
            "closure_evidence")
        month = data.get("round_month")
        ledger = list(data.get("ledger") or [])
        known = {r["row_id"]: r for r in ledger}
        for row_id in ids:
            row = known.get(row_id)
            if row is None:
                raise ValueError(f"台账中没有在办事项 {row_id}")
            if (row.get("actual_pct") or 0) < 100:
                raise ValueError(f"事项 {row_id} 尚未完成，不能销账")
        if ids and not evidence:
            raise ValueError("销账须附佐证材料")
        closed = [dict(r, status="closed", closed_in=month, closure_evidence=list(evidence or []),
                       closure_note=closure_note if closure_note is not None
                       else data.get("closure_note"))
                  for r in ledger if r["row_id"] in ids]
        rolled = [dict(r, rolled_over_from=month) for r in ledger if r["row_id"] not in ids]
        return {
            "ledger": rolled,
            "closed_ledger": list(data.get("closed_ledger") or []) + closed,
            "closed": [r["row_id"] for r in closed],
            "rolled_over": [r["row_id"] for r in rolled],
        }


def ledger_table(data: dict) -> list[dict]:
    """The 台账 of one supervision instance: closed rows, then open ones, in their order, each
    with the columns of ``TABLE_COLUMNS`` (missing values None)."""
    rows = [dict(r, status="closed") for r in data.get("closed_ledger") or []]
    rows += [dict(r, status=r.get("status") or "open") for r in data.get("ledger") or []]
    return [{c: r.get(c) for c in TABLE_COLUMNS} for r in rows]
