"""督查台账 pages (supervision office; leaders read; a unit reads its own rows): the ledger with
filters, a row's units, monthly progress and events, 分解表 import with a preview, 现场交办, export.

Thin over ``workflows.ledger.service.LedgerService``. The preview carries the uploaded file in
a hidden field (base64, at most the import limit) so that confirming re-reads and re-checks
exactly what was previewed, with no server-side state between the two requests.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine import InvalidInput
from workflows.ledger import MAX_IMPORT_BYTES
from workflows.ledger.operations import (
    EVENT_LABELS,
    LIGHT_LABELS,
    ORIGIN_LABELS,
    STATUS_LABELS,
    deadline_label,
)
from workflows.ledger.service import (
    FILTERS,
    OFFICE_ONLY,
    LedgerService,
    can_manage,
    unit_scope,
)

from ..auth.identity import current_engine, enter_page, open_task_counts
from ..errors import ApiError

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
PAGE_SIZE = 50
DETAIL_LABELS = {
    "source_table": "来源",
    "number": "序号",
    "file": "文件",
    "rows": "事项数",
    "month": "月份",
    "percent": "进度（%）",
    "reported_pct": "填报进度（%）",
    "actual_pct": "核实进度（%）",
    "status": "报送",
    "late": "逾期",
    "signed": "签字",
    "corrected": "查账更正",
    "result": "对账结果",
    "site_visit": "实地核查",
    "findings": "核查情况",
    "notes": "说明",
    "light": "灯色",
    "reason": "原因",
    "red_rounds": "连续红灯轮数",
    "leader": "交办领导",
    "assigned_on": "交办日期",
    "occasion": "场合",
    "date": "会商日期",
    "outcome": "会商结果",
    "measures": "措施",
    "closed_on": "销账日期",
    "evidence": "佐证",
    "note": "说明",
}
VALUE_LABELS = {
    True: "是",
    False: "否",
    "submitted": "已报送",
    "missing": "未报送",
    "match": "一致",
    "mismatch": "有差异",
    "yes": "是",
    "no": "否",
}


def _value(value) -> str:
    if isinstance(value, list):
        return f"{len(value)} 项"
    if isinstance(value, bool) or value in VALUE_LABELS:
        return VALUE_LABELS.get(value, str(value))
    return LIGHT_LABELS.get(value, str(value)) if isinstance(value, str) else str(value)


@bp.before_request
def _require_login():
    answer = enter_page()
    if answer is None and request.method == "GET":  # the header's 待办 badge
        g.kf_counts = open_task_counts()
    return answer


def _service() -> LedgerService:
    return LedgerService(current_engine())


def _common(service: LedgerService) -> dict:
    directory = service.directory
    return {
        "unit_name": directory.name,
        "unit_options": directory.options(),
        "can_manage": can_manage(g.actor),
        "own_unit": unit_scope(g.actor),
        "LIGHT_LABELS": LIGHT_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
        "ORIGIN_LABELS": ORIGIN_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "deadline_label": deadline_label,
        "DETAIL_LABELS": DETAIL_LABELS,
        "detail_value": _value,
    }


def _filters() -> dict:
    return {k: (request.args.get(k) or "").strip() for k in FILTERS}


@bp.get("/")
def rows():
    service = _service()
    filters = _filters()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    items, total = service.list_rows(g.actor, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render_template(
        "ledger/list.html",
        items=items,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        filters=filters,
        source_tables=service.source_tables(),
        max_mb=MAX_IMPORT_BYTES // (1024 * 1024),
        **_common(service),
    )


@bp.get("/rows/<int:row_id>")
def row(row_id: int):
    service = _service()
    return render_template(
        "ledger/row.html", row=service.get_row(g.actor, row_id), **_common(service)
    )


@bp.get("/export")
def export():
    filename, content = _service().export(g.actor, _filters())
    disposition = f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        headers={"Content-Disposition": disposition},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.post("/import")
def import_breakdown():
    """Preview (a new file) or confirm (the previewed file, from the hidden field)."""
    if not can_manage(g.actor):  # the 403 page before the form is read, not a flashed "选择文件"
        raise ApiError(403, OFFICE_ONLY)
    service = _service()
    if request.form.get("confirm"):
        filename = request.form.get("filename") or ""
        try:
            content = base64.b64decode(request.form.get("content") or "", validate=True)
        except (binascii.Error, ValueError):
            flash("预览的文件已失效，请重新选择分解表", "error")
            return redirect(url_for("ledger.rows"))
        try:
            result = service.commit(g.actor, filename, content)
        except InvalidInput as exc:
            flash(
                f"{exc.message}：{'；'.join(e['text'] for e in (exc.details or [])[:5])}", "error"
            )
            return redirect(url_for("ledger.rows"))
        flash(f"已导入 {len(result['row_ids'])} 项，逐项建账", "ok")
        return redirect(url_for("ledger.rows"))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择分解表（.xlsx）", "error")
        return redirect(url_for("ledger.rows"))
    try:
        filename, content = upload.filename, upload.read(MAX_IMPORT_BYTES + 1)
    finally:
        upload.close()
    try:
        preview = service.preview(g.actor, filename, content)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("ledger.rows"))
    return render_template(
        "ledger/preview.html",
        preview=preview,
        filename=filename,
        content=base64.b64encode(content).decode("ascii") if preview["ok"] else "",
        **_common(service),
    )


@bp.route("/onsite", methods=["GET", "POST"])
def onsite():
    service = _service()
    form = {
        "task": "",
        "leader": "",
        "assigned_on": "",
        "units": [],
        "lead_unit": "",
        "deadline": "",
        "occasion": "",
    }
    errors: list[dict] = []
    if request.method == "POST":
        form = {
            k: (request.form.getlist(k) if k == "units" else (request.form.get(k) or "").strip())
            for k in form
        }
        try:
            made = service.add_onsite(g.actor, form)
        except InvalidInput as exc:
            errors = list(exc.details or [])
        else:
            flash(f"现场交办事项已记入台账（{made['number']}）", "ok")
            return redirect(url_for("ledger.row", row_id=made["id"]))
    elif not can_manage(g.actor):
        raise ApiError(403, "只有区政府督查室可以维护督查台账")
    return render_template("ledger/onsite.html", form=form, errors=errors, **_common(service))
