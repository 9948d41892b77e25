"""Routes of the 转办 and 委托 pages, and the globals the task pages read."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for

from engine import OPEN_STATES, ROLE_HEAD, EngineError, Forbidden, local_today

from ..auth.identity import enter_page, open_task_counts
from ..display_names import display_names
from . import bp

STATUS_NAMES = {"upcoming": "未开始", "active": "生效中", "ended": "已结束", "revoked": "已撤销"}


def _engine():
    return current_app.extensions["kunflow"]


@bp.before_request
def _require_login():
    answer = enter_page()
    if answer is None and request.method == "GET":  # the header's 待办 badge
        g.kf_counts = open_task_counts()
    return answer


# ---------------------------------------------------------------- template globals


@bp.app_template_global()
def handover_task(t) -> dict:
    """What the task page's 转办 / 代办 panel needs: who the task may be handed to, and the
    principal when the user stands in for someone on it (委托)."""
    eng, actor = _engine(), g.actor
    if t.state not in OPEN_STATES:
        return {"candidates": [], "may_hand": False, "principal": None}
    candidates = eng.transfer_candidates(t.id, actor)
    may_hand = bool(candidates) or (t.assignee == actor.username)
    principal = eng.stand_in_for(t.id, actor)
    # a stand-in claims in the principal's name what the principal holds or could claim
    may_claim_for = principal is not None and t.assignee != actor.username
    return {"candidates": candidates, "may_hand": may_hand, "principal": principal,
            "may_claim_for": may_claim_for}


@bp.app_template_global()
def delegated_tasks(limit: int = 50):
    """The open tasks the user may work today for someone away (代办)."""
    return _engine().list_tasks(g.actor, scope="delegated", limit=limit)


# ---------------------------------------------------------------- 转办


@bp.post("/tasks/<task_id>/transfer")
def transfer(task_id: str):
    to = (request.form.get("to") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    back = redirect(url_for("caseworker.task_page", task_id=task_id))
    if not reason:
        flash("转办须填写理由", "error")
        return back
    if not to:
        flash("请选择接收人，或选择“退回部门待办”", "error")
        return back
    target = None if to == "__queue__" else to
    try:
        done = _engine().transfer(task_id, g.actor, target, reason[:2000])
    except Forbidden:
        raise
    except EngineError as exc:
        flash(exc.message, "error")
        return back
    names = display_names()
    if target:
        flash(f"已转办给 {names['users'].get(target, target)}：{done.name or done.element_id}")
    else:
        flash(f"已退回部门待办：{done.name or done.element_id}")
    return redirect(url_for("caseworker.tasks", view="mine"))


# ---------------------------------------------------------------- 委托


@bp.get("/delegations")
def delegations():
    eng, actor = _engine(), g.actor
    include_past = request.args.get("past") == "1"
    rows = eng.list_delegations(actor, include_past=include_past)
    today = local_today()
    colleagues = [u for u in eng.list_users(actor.department_code) if u.active]
    is_head = ROLE_HEAD in actor.roles
    return render_template(
        "handover/delegations.html", rows=rows, today=today, status_names=STATUS_NAMES,
        names=display_names(), colleagues=colleagues, is_head=is_head,
        include_past=include_past, default_end=today + timedelta(days=4),
        mine=[d for d in rows if d.username == actor.username],
        for_me=[d for d in rows if d.deputy == actor.username],
        members=[d for d in rows if d.username != actor.username and d.deputy != actor.username],
    )


@bp.post("/delegations")
def set_delegation():
    actor = g.actor
    form = request.form
    username = (form.get("username") or "").strip() or actor.username
    deputy = (form.get("deputy") or "").strip()
    if not deputy:
        flash("请选择代办人", "error")
        return redirect(url_for("handover.delegations"))
    try:
        d = _engine().set_delegation(actor, username, deputy, form.get("starts_on") or "",
                                     form.get("ends_on") or "",
                                     (form.get("reason") or "").strip()[:2000] or None)
    except EngineError as exc:
        flash(exc.message, "error")
        return redirect(url_for("handover.delegations"))
    names = display_names()["users"]
    flash(f"已设置委托：{names.get(d.deputy, d.deputy)} 于 {d.starts_on} 至 {d.ends_on} "
          f"代 {names.get(d.username, d.username)} 办理")
    return redirect(url_for("handover.delegations"))


@bp.post("/delegations/<int:delegation_id>/revoke")
def revoke_delegation(delegation_id: int):
    try:
        _engine().revoke_delegation(g.actor, delegation_id)
    except Forbidden:
        raise
    except EngineError as exc:
        flash(exc.message, "error")
        return redirect(url_for("handover.delegations"))
    flash("已撤销委托")
    return redirect(url_for("handover.delegations"))
