"""Routes of the 名录 pages."""

from __future__ import annotations

import base64
import binascii

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine import InvalidInput
from workflows.registers.entries import Registers, check_kind
from workflows.registers.excel import RegisterImport, ensure_editor, export, template
from workflows.registers.fields import FIELDS, KIND_NAMES, KINDS
from workflows.registers.starts import RegisterCases

from ..auth.identity import enter_page, open_task_counts
from . import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The columns of each list, after the name
LIST_COLUMNS = {
    "enterprise": (("credit_code", "统一社会信用代码"), ("industry", "行业")),
    "mine": (
        ("mineral", "矿种"),
        ("mining_licence_expiry", "采矿许可证至"),
        ("safety_licence_expiry", "安全生产许可证至"),
    ),
    "plant": (("capacity", "处理能力"), ("safety_licence_expiry", "安全生产许可证至")),
    "tailings": (("grade", "等别"), ("capacity", "库容"), ("closed_on", "闭库日期")),
}


def _registers() -> Registers:
    return Registers(current_app.extensions["kunflow"])


def _kind(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return check_kind(kind)


@bp.before_request
def _require_login():
    answer = enter_page()
    if answer is None and request.method == "GET":  # the header's 待办 badge
        g.kf_counts = open_task_counts()
    return answer


@bp.app_context_processor
def _register_globals():
    return {"REGISTER_KINDS": KIND_NAMES}


@bp.get("/")
def index():
    return redirect(url_for("registers.entries", kind="mine"))


@bp.get("/<kind>")
def entries(kind: str):
    kind, regs = _kind(kind), _registers()
    statuses = next(f.choices for f in FIELDS[kind] if f.name == "status")
    status = request.args.get("status") or None
    status = status if status in statuses else None
    towns = regs.towns()
    town = request.args.get("town") or None
    town = town if town in towns else None
    q = (request.args.get("q") or "").strip()[:100] or None
    expiring = request.args.get("expiring") == "1"
    rows = regs.list(kind, g.actor, status=status, town=town, q=q, expiring=expiring)
    return render_template(
        "registers/list.html",
        kind=kind,
        rows=rows,
        statuses=statuses,
        towns=towns,
        filters={"status": status or "", "town": town or "", "q": q or "", "expiring": expiring},
        columns=LIST_COLUMNS[kind],
        can_edit=regs.can_edit(g.actor, kind),
        own_town=regs.own_town(g.actor),
        expiry_months=regs.expiry_months,
    )


@bp.get("/<kind>/<int:entry_id>")
def entry(kind: str, entry_id: int):
    kind = _kind(kind)
    regs = _registers()
    page = RegisterCases(regs).entry_page(kind, entry_id, g.actor)
    return render_template(
        "registers/entry.html",
        page=page,
        fields=FIELDS[kind],
        events=regs.events(kind, entry_id)[:20],
        expiry_months=regs.expiry_months,
    )


@bp.route("/<kind>/new", methods=["GET", "POST"])
def create(kind: str):
    kind, regs = _kind(kind), _registers()
    regs.check_edit(g.actor, kind)
    values = dict(request.args) if request.method == "GET" else request.form.to_dict()
    values.pop("csrf_token", None)
    problems = {}
    if request.method == "POST":
        try:
            made = regs.create(kind, values, g.actor)
        except InvalidInput as exc:
            problems = _problems(exc)
        else:
            flash(f"已登记{KIND_NAMES[kind]}：{made['name']}")
            return redirect(url_for("registers.entry", kind=kind, entry_id=made["id"]))
    return _form(kind, None, values, problems)


@bp.route("/<kind>/<int:entry_id>/edit", methods=["GET", "POST"])
def edit(kind: str, entry_id: int):
    kind, regs = _kind(kind), _registers()
    regs.check_edit(g.actor, kind)
    current = regs.get(kind, entry_id, g.actor)
    problems = {}
    if request.method == "POST":
        values = request.form.to_dict()
        values.pop("csrf_token", None)
        try:
            regs.update(kind, entry_id, values, g.actor)
        except InvalidInput as exc:
            problems = _problems(exc)
        else:
            flash("已保存修改")
            return redirect(url_for("registers.entry", kind=kind, entry_id=entry_id))
    else:
        values = {f.name: current.get(f.name) for f in FIELDS[kind]}
    return _form(kind, current, values, problems)


def _problems(exc: InvalidInput) -> dict:
    found = (exc.details or {}).get("problems") or [{"field": None, "message": exc.message}]
    return {p["field"]: p["message"] for p in found}


def _form(kind: str, current, values: dict, problems: dict):
    regs = _registers()
    enterprises = regs.list("enterprise", g.actor) if kind != "enterprise" else []
    shown = {k: ("" if v is None else str(v)) for k, v in values.items()}
    return render_template(
        "registers/form.html",
        kind=kind,
        current=current,
        fields=FIELDS[kind],
        values=shown,
        problems=problems,
        towns=regs.towns(),
        enterprises=enterprises,
    ), (422 if problems else 200)


@bp.post("/<kind>/<int:entry_id>/start")
def start(kind: str, entry_id: int):
    kind = _kind(kind)
    process_key = (request.form.get("process_key") or "").strip()[:200]
    info = RegisterCases(_registers()).start(kind, entry_id, process_key, g.actor)
    flash(f"已发起：{info.title}（{info.business_key}）")
    return redirect(url_for("caseworker.case_page", instance_id=info.id))


@bp.route("/import", methods=["GET", "POST"])
def import_page():
    regs = _registers()
    ensure_editor(regs, g.actor)
    result, content_b64 = None, ""
    if request.method == "POST":
        content = _uploaded()
        importer = RegisterImport(regs)
        if request.form.get("action") == "commit":
            try:
                result = importer.commit(content, g.actor)
            except InvalidInput as exc:
                result = {
                    "ok": False,
                    "committed": False,
                    "sheets": [],
                    "errors": exc.details.get("problems", [])
                    if exc.details
                    else [{"sheet": "", "row": "", "message": exc.message}],
                }
            else:
                flash(
                    "已导入："
                    + "，".join(
                        f"{s['sheet']}新增 {s['created']} 条、更新 {s['updated']} 条"
                        for s in result["sheets"]
                    )
                )
                return redirect(url_for("registers.import_page"))
        else:
            try:
                result = importer.preview(content, g.actor)
            except InvalidInput as exc:
                result = {
                    "ok": False,
                    "committed": False,
                    "sheets": [],
                    "errors": [
                        {"sheet": "", "row": "", **p}
                        for p in (exc.details or {}).get("problems", [])
                    ]
                    or [{"sheet": "", "row": "", "message": exc.message}],
                }
            if result["ok"]:
                content_b64 = base64.b64encode(content).decode()
    return render_template(
        "registers/import.html",
        result=result,
        content_b64=content_b64,
        kinds=[KIND_NAMES[k] for k in regs.editable_kinds(g.actor)],
    ), (422 if result and not result["ok"] else 200)


def _uploaded() -> bytes:
    """The workbook: a new upload, or the previewed one sent back for 确认导入."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read()
    try:
        content = base64.b64decode(request.form.get("content") or "", validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content:
        raise InvalidInput("请选择要导入的 Excel 文件")
    return content


@bp.get("/import/template.xlsx")
def import_template():
    return Response(
        template(),
        mimetype=XLSX,
        headers={
            "Content-Disposition": "attachment; filename=registers-template.xlsx; "
            "filename*=UTF-8''%E5%90%8D%E5%BD%95%E5%AF%BC%E5%85%A5%E6%A8%A1"
            "%E6%9D%BF.xlsx"
        },
    )


@bp.get("/export.xlsx")
def export_workbook():
    return Response(
        export(_registers(), g.actor),
        mimetype=XLSX,
        headers={
            "Content-Disposition": "attachment; filename=registers.xlsx; "
            "filename*=UTF-8''%E5%90%8D%E5%BD%95.xlsx"
        },
    )
