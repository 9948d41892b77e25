"""Service-task handlers of ``supervision_monthly`` on the ledger's tables. Each runs in the step's
own transaction (``engine.active_connection``): what it writes is saved with the step, or not at
all. The diagram keeps only what its forms and loops need (the round's units, a unit's rows to
report on, the grading inputs); status, light and progress live in the tables.

| operation | service task | what |
| --- | --- | --- |
| ``ledger_open_round`` | ``open_ledger_rows`` | rows the 督查室 adds at 建账 (checked as an import: all or nothing, errors back to 建账), plans set; the units of the open rows |
| ``ledger_unit_rows`` | ``load_unit_rows`` | the open rows a unit reports on |
| ``ledger_record_progress`` | ``record_unit_progress`` | the unit's report: progress per row, late, signed |
| ``ledger_check_round`` | ``prepare_light_inputs`` | 对账 / 查账 events, corrections, grading inputs |
| ``ledger_record_lights`` | ``record_row_lights`` | lights on the rows; 堵点难点 for 会商 |
| ``ledger_record_consultation`` | ``record_consultation`` | the 会商's outcome on its rows |
| ``ledger_close_rows`` | ``settle_ledger_rows`` | 销账 with evidence and date |
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engine import DepartmentInfo, active_connection

from . import operations as ops

PROCESS_ACTOR = "supervision"  # the 督查室's process steps


class LedgerHandlers:
    def __init__(self, departments: list[DepartmentInfo]):
        self.directory = ops.UnitDirectory(departments)

    def handlers(self) -> dict:
        return {
            "ledger_open_round": self.open_round,
            "ledger_unit_rows": self.unit_rows,
            "ledger_record_progress": self.record_progress,
            "ledger_check_round": self.check_round,
            "ledger_record_lights": self.record_lights,
            "ledger_record_consultation": self.record_consultation,
            "ledger_close_rows": self.close_rows,
        }

    def open_round(self, data: dict, additions=None, planned_progress=None, **_params) -> dict:
        """建账 of a round: the rows typed at 建账 (``additions``: row_id = its number, task, unit,
        owner, deadline, planned_pct, months_behind) enter the ledger as one batch or not at all
        (``errors``: Chinese, per row; the diagram goes back to 建账); then the units that report
        (every 牵头单位 and 责任单位 of the open rows)."""
        conn = active_connection()
        raw = [
            {
                "line": n,
                "source_table": ops.ROUND_SOURCE,
                "number": a.get("row_id"),
                "task": a.get("task"),
                "lead_leader": a.get("owner"),
                "units": [a.get("unit")],
                "deadline": a.get("deadline") or ops.LONG_TERM,
                "planned_pct": a.get("planned_pct"),
                "months_behind": a.get("months_behind"),
            }
            for n, a in enumerate(additions or [], start=1)
        ]
        parsed, errors = ops.check_rows(conn, self.directory, raw)
        if errors:
            return {"errors": [e["text"] for e in errors], "units": [], "row_count": 0}
        if parsed:
            ops.enter_rows(
                conn, parsed, PROCESS_ACTOR, origin="round", origin_note="督查室建账时补充"
            )
        ops.set_plans(conn, planned_progress)
        rows = ops.list_rows(conn, status="open")
        return {
            "errors": [],
            "units": sorted({u for r in rows for u in r["units"]}),
            "row_count": len(rows),
        }

    def unit_rows(self, data: dict, unit=None, report_period=None, **_params) -> list[dict]:
        conn = active_connection()
        return [
            {
                "row_id": r["row_id"],
                "source_table": r["source_table"],
                "number": r["number"],
                "task": r["task"],
                "deadline": ops.deadline_label(r["deadline"], r["deadline_text"]),
                "planned_pct": ops.planned_for(r, report_period) if report_period else None,
            }
            for r in ops.list_rows(conn, unit=unit, status="open")
        ]

    def record_progress(
        self,
        data: dict,
        unit=None,
        report_period=None,
        row_progress=None,
        status=None,
        late=False,
        signed=False,
        submitted_at=None,
        instance_key=None,
        **_params,
    ) -> list[str]:
        reported = None
        if submitted_at:
            reported = datetime.fromisoformat(str(submitted_at).replace("Z", "+00:00"))
            if reported.tzinfo is not None:
                reported = reported.astimezone(UTC).replace(tzinfo=None)
        ids = ops.record_progress(
            active_connection(),
            unit=unit,
            month=report_period,
            progress=row_progress or [],
            status=status or "missing",
            late=bool(late),
            signed=bool(signed),
            reported_at=reported,
            instance_key=instance_key,
        )
        return [str(i) for i in ids]

    def check_round(
        self,
        data: dict,
        report_period=None,
        verified_progress=None,
        reconcile_result=None,
        reconcile_notes=None,
        audit_notes=None,
        site_visit=None,
        visit_findings=None,
        **_params,
    ) -> list[dict]:
        return ops.check_round(
            active_connection(),
            month=report_period,
            corrections=verified_progress,
            reconcile={"result": reconcile_result, "notes": reconcile_notes},
            audit={"notes": audit_notes, "site_visit": site_visit, "findings": visit_findings},
            actor=PROCESS_ACTOR,
        )

    def record_lights(
        self, data: dict, report_period=None, graded_rows=None, consult_red_rounds=2, **_params
    ) -> dict:
        return ops.record_lights(
            active_connection(),
            month=report_period,
            graded=graded_rows or [],
            consult_red_rounds=int(consult_red_rounds or 2),
            actor=PROCESS_ACTOR,
        )

    def record_consultation(
        self,
        data: dict,
        blocked_row_ids=None,
        consult_date=None,
        consult_outcome=None,
        consult_measures=None,
        opinions=None,
        **_params,
    ) -> int:
        ops.record_consultation(
            active_connection(),
            row_ids=blocked_row_ids,
            actor="gov-office",
            detail={
                "date": consult_date,
                "outcome": consult_outcome,
                "measures": consult_measures,
                "opinions": opinions or [],
            },
        )
        return len(blocked_row_ids or [])

    def close_rows(
        self,
        data: dict,
        closed_row_ids=None,
        closure_evidence=None,
        closure_note=None,
        closed_on=None,
        **_params,
    ) -> dict:
        day = (
            date.fromisoformat(str(closed_on)[:10])
            if closed_on
            else (ops.now() + timedelta(hours=8)).date()
        )  # China's date
        return ops.close_rows(
            active_connection(),
            row_ids=closed_row_ids or [],
            evidence=closure_evidence,
            note=closure_note,
            closed_on=day,
            actor=PROCESS_ACTOR,
        )
