"""加签 on the caseworker pages: the panel of a task the user holds (ask other departments or
users for an opinion, the requests with their answers, withdraw), the asked side's answer form,
and the open requests waiting in the user's department at the top of 我的待办.

The templates call the two context functions (``kf_consult_panel``, ``kf_waiting_opinions``)
so that the task and list views stay as they are."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for

from engine import OPEN_STATES, EngineError, Forbidden, traffic_light

from ..display_names import display_names
from . import bp
from .submitted import submitted_pairs
from .views import LIGHTS

MAX_SHOWN_FIELDS = 60


def _engine():
    return current_app.extensions["kunflow"]


def _asked_pairs(eng, files, ctx, actor) -> tuple:
    """The case's data as the asked-on task sees it, as label/value pairs: the fields of the
    case's forms (the asked-on task's own form first) that hold a value."""
    data = ctx.parent_data or {}
    forms = files.field_labels(ctx.consult.instance_id)
    labels = dict(forms.get(ctx.parent_form_key, {}))
    for fields in forms.values():
        for key, label in fields.items():
            labels.setdefault(key, label)
    data = {k: v for k, v in data.items() if k in labels and v not in (None, "", [], {})}
    data = dict(list(data.items())[:MAX_SHOWN_FIELDS])
    names = {a.id: a.filename for a in files.list_attachments(ctx.consult.instance_id, actor)}
    return submitted_pairs(data, labels, names)


def consult_panel(t) -> dict:
    """What the task page's 加签 parts need for task ``t`` (a TaskInfo)."""
    eng, actor = _engine(), g.actor
    files = current_app.extensions["kunflow.casefiles"]
    bounds = eng.light_bounds()
    if t.parent_task_id:
        ctx = eng.asked_context(t.id, actor)
        if ctx is None:
            return {"kind": "none"}
        can_answer = (t.state in OPEN_STATES and t.assignee in (None, actor.username)
                      and ctx.consult.requested_by != actor.username
                      and actor.department_code == t.department_code)
        return {"kind": "asked", "ctx": ctx, "c": ctx.consult, "can_answer": can_answer,
                "pairs": _asked_pairs(eng, files, ctx, actor),
                "light": traffic_light(t.due_at, bounds) if t.state in OPEN_STATES else None}
    opinions = eng.list_opinions(t.id, actor)
    holder = t.state in OPEN_STATES and t.assignee == actor.username
    departments = eng.list_departments()
    users = [u for u in eng.list_users() if u.username != actor.username and u.active]
    return {
        "kind": "holder", "opinions": opinions, "can_ask": holder,
        "open": sum(1 for c in opinions if c.is_open),
        "lights": {c.task_id: traffic_light(c.due_at, bounds) for c in opinions if c.is_open},
        "departments": departments, "users": users,
        "may_withdraw": {c.task_id for c in opinions if c.is_open and (
            holder or c.requested_by == actor.username)},
    }


def waiting_opinions() -> list:
    """Open unclaimed 加签 requests to the user's department (the top of 我的待办)."""
    return _engine().waiting_opinions(g.actor, limit=20)


@bp.app_context_processor
def _consult_globals():
    return {"kf_consult_panel": consult_panel, "kf_waiting_opinions": waiting_opinions,
            "kf_consult_lights": LIGHTS, "kf_names": display_names}


# ---------------------------------------------------------------- commands

def _task_command(task_id: str, action, done, then=None):
    """Run a command from the task page: flash ``done`` (text, or a function of the result)
    and go to ``then`` (default: back to the task); a refusal is flashed on the task page,
    except Forbidden (the 403 page)."""
    try:
        result = action()
    except Forbidden:
        raise
    except EngineError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        extra = "；".join(str(v) for v in details.values())
        flash(f"{exc.message}{('：' + extra) if extra else ''}", "error")
        return redirect(url_for("caseworker.task_page", task_id=task_id))
    flash(done(result) if callable(done) else done)
    return redirect(then or url_for("caseworker.task_page", task_id=task_id))

def _due_days(raw) -> int | str:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return raw or 3


@bp.post("/tasks/<task_id>/opinions")
def ask_opinion(task_id: str):
    form = request.form
    departments = [d for d in form.getlist("departments") if d.strip()][:20]
    users = [u for u in form.getlist("users") if u.strip()][:20]
    question = (form.get("question") or "").strip()[:2000]
    due_days = _due_days(form.get("due_days"))
    return _task_command(
        task_id,
        lambda: _engine().ask_opinion(task_id, g.actor, question, departments, users, due_days),
        lambda asked: f"已向 {len(asked)} 方征求意见，答复前本任务暂不能提交")


@bp.post("/tasks/<task_id>/opinion")
def answer_opinion(task_id: str):
    opinion = (request.form.get("opinion") or "").strip()
    agree = {"yes": True, "no": False}.get(request.form.get("agree") or "")
    return _task_command(
        task_id, lambda: _engine().answer_opinion(task_id, g.actor, opinion[:4000], agree),
        "意见已提交", then=url_for("caseworker.tasks", view="mine"))


@bp.post("/opinions/<task_id>/withdraw")
def withdraw_opinion(task_id: str):
    back = (request.form.get("back") or "").strip()[:36] or task_id  # the asked-on task
    reason = (request.form.get("reason") or "").strip()[:2000] or None
    return _task_command(back, lambda: _engine().withdraw_opinion(task_id, g.actor, reason),
                         "已撤回加签")
