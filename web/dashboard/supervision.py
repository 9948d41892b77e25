"""督查督办 (驾驶舱): the month's report state of each responsible unit, 催办 from the 督查室, the
month's ledger as Excel, the 督办单 (A4 page and Word). Thin over ``workflows.dashboard``."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine import local_day, local_today, utcnow
from workflows.dashboard import notice_sheet
from workflows.dashboard import supervision as sv
from workflows.ledger.operations import LIGHT_LABELS, UnitDirectory
from workflows.ledger.service import can_manage
from workflows.ledger.urges import ESCALATION, MAX_MESSAGE, check_month, record_urges

from ..auth.identity import current_engine
from ..errors import ApiError
from . import bp
from .access import current_scope

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _directory() -> UnitDirectory:
    return UnitDirectory(current_engine().list_departments())


def _departments():
    scope = current_scope()
    return None if scope.everything else scope.departments


def _month(conn, months: list[str]) -> str:
    given = request.values.get("month")
    if given in (None, ""):
        return months[0] if months else local_today().strftime("%Y-%m")
    month = check_month(given)
    if month is None:
        raise ApiError(400, "月份格式应为 YYYY-MM（如 2026-10）")
    return month


def _unit(directory: UnitDirectory, code: str | None, required: bool = True) -> str | None:
    code = (code or "").strip()
    if not code:
        if required:
            raise ApiError(400, "请指定单位")
        return None
    if directory.code(code) != code:
        raise ApiError(400, f"单位“{code[:40]}”不在组织架构中")
    if not current_scope().covers(code):
        raise ApiError(403, "只能查看本单位的督查督办情况")
    return code


def _download(content: bytes, filename: str, ascii_name: str, mimetype: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, headers={"Content-Disposition": disposition}, mimetype=mimetype)


@bp.get("/supervision")
def supervision():
    directory = _directory()
    with current_engine().unit_of_work(readonly=True) as uow:
        months = sv.months(uow.conn)
        month = _month(uow.conn, months)
        board = sv.unit_lines(uow.conn, month, _departments(), utcnow(), directory.name)
        unit = _unit(directory, request.args.get("unit"), required=False)
        rows = sv.unit_rows(uow.conn, month, unit) if unit else []
    if month not in months:
        months = sorted({*months, month}, reverse=True)
    chart = {
        "states": [
            {"key": k, "label": v, "value": board["totals"]["states"][k]}
            for k, v in sv.REPORT_STATES.items()
            if board["totals"]["states"][k]
        ],
        "lights": [
            {"key": k, "label": LIGHT_LABELS[k], "value": board["totals"]["lights"][k]}
            for k in sv.LIGHTS
        ],
    }
    return render_template(
        "dashboard/supervision.html",
        dashboard_page="supervision",
        board=board,
        month=month,
        month_label=sv.month_label,
        months=months,
        unit=unit,
        unit_rows=rows,
        may_urge=can_manage(g.actor),
        states=sv.REPORT_STATES,
        steps=[label for _e, label in ESCALATION],
        light_labels=LIGHT_LABELS,
        closure_labels=sv.CLOSURE_LABELS,
        max_message=MAX_MESSAGE,
        data=chart,
    )


@bp.post("/supervision/urge")
def supervision_urge():
    if not can_manage(g.actor):
        raise ApiError(403, "只有区政府督查室可以催办")
    month = check_month(request.form.get("month"))
    if month is None:
        raise ApiError(400, "月份格式应为 YYYY-MM（如 2026-10）")
    directory = _directory()
    units = [_unit(directory, code) for code in request.form.getlist("units")][:200]
    if not units:
        flash("请先勾选要催办的单位", "error")
        return redirect(url_for("dashboard.supervision", month=month))
    message = request.form.get("message") or ""
    with current_engine().unit_of_work() as uow:
        made = record_urges(
            uow.conn, month=month, units=units, message=message, actor=g.actor.username
        )
        uow.commit()
    names = "、".join(directory.name(u["department_code"]) for u in made)
    flash(f"已催办 {len(made)} 个单位：{names}", "ok")
    return redirect(url_for("dashboard.supervision", month=month))


@bp.get("/export/supervision.xlsx")
def supervision_export():
    directory = _directory()
    with current_engine().unit_of_work(readonly=True) as uow:
        month = _month(uow.conn, sv.months(uow.conn))
        lines = sv.ledger_lines(uow.conn, month, _departments())
    content = sv.export_supervision(lines, month, directory.name)
    return _download(content, f"督查督办台账-{month}.xlsx", f"supervision-{month}.xlsx", XLSX)


def _notice(row_id: int):
    directory = _directory()
    unit = _unit(directory, request.values.get("unit"))
    year = local_today().year
    with current_engine().unit_of_work(readonly=True) as uow:
        row = notice_sheet.row_for_unit(uow.conn, row_id, unit)
        if row is None:
            raise ApiError(404, f"台账事项 {row_id} 不存在，或该单位不是其牵头、责任单位")
        notice = notice_sheet.find_notice(uow.conn, row_id, unit, year)
    return row, unit, notice, notice_sheet.sheet(row, directory.name(unit), notice, local_today())


@bp.get("/supervision/notice/<int:row_id>")
def supervision_notice(row_id: int):
    row, unit, notice, fields = _notice(row_id)
    return render_template(
        "dashboard/notice_sheet.html",
        fields=fields,
        row=row,
        unit=unit,
        issued=notice is not None,
        may_issue=can_manage(g.actor),
    )


@bp.post("/supervision/notice/<int:row_id>")
def supervision_notice_issue(row_id: int):
    if not can_manage(g.actor):
        raise ApiError(403, "只有区政府督查室可以签发督办单")
    row, unit, notice, _fields = _notice(row_id)
    if notice is None:
        moment = utcnow()
        with current_engine().unit_of_work() as uow:
            notice = notice_sheet.issue_notice(
                uow.conn,
                row_id=row_id,
                unit=unit,
                actor=g.actor.username,
                issued_at=moment,
                year=local_day(moment).year,
                requirement=request.form.get("requirement"),
            )
            uow.commit()
        number = notice_sheet.notice_number(notice["year"], notice["number"])
        flash(f"督办单已签发：{number}", "ok")
    return redirect(url_for("dashboard.supervision_notice", row_id=row_id, unit=unit))


@bp.get("/supervision/notice/<int:row_id>.docx")
def supervision_notice_docx(row_id: int):
    _row, unit, _notice_row, fields = _notice(row_id)
    name = f"督办单-{fields['number'] or '未签发'}-{fields['unit']}.docx"
    return _download(notice_sheet.docx(fields), name, f"notice-{row_id}-{unit}.docx", DOCX)
