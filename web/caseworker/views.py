"""Routes of the caseworker pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from engine import OPEN_STATES, EngineError, Forbidden, InvalidInput, to_local, traffic_light
from workflows.ledger.urges import mark_seen, open_urges  # supervision: 催办

from ..attachments import attachment_response, check_upload
from ..auth.identity import csrf_token, enter_page, open_task_counts
from ..display_names import display_names
from ..errors import ApiError
from . import bp
from .submitted import submitted_pairs

PAGE_SIZE = 20
VIEWS = {"mine": "我的待办", "department": "部门待办", "done": "已办", "started": "我发起的"}
LIGHTS = {"red": "已逾期", "yellow": "1 个工作日内到期", "green": "按期"}
SORTS = {
    "": "默认排序",
    "due": "期限由近到远",
    "-due": "期限由远到近",
    "-created": "最新到达",
    "created": "最早到达",
}
STATUS_NAMES = {"running": "办理中", "suspended": "已挂起", "completed": "已办结",
                "terminated": "已终止"}
TASK_STATES = {"ready": "待认领", "claimed": "办理中", "completed": "已办结",
               "cancelled": "已取消"}
EVENT_NAMES = {
    "instance_started": "发起",
    "instance_completed": "流程办结",
    "instance_suspended": "挂起",
    "instance_running": "恢复办理",
    "instance_terminated": "终止",
    "task_created": "到达",
    "task_claimed": "认领",
    "task_unclaimed": "放回部门待办",
    "task_reassigned": "转派",
    "task_completed": "提交",
    "task_cancelled": "取消",
    "task_sent_back": "退回",
    "task_paused": "暂停计时",
    "task_resumed": "恢复计时",
    "timer_fired": "定时触发",
    "message_received": "收到消息",
    "call_completed": "子流程办结",
    "incident_raised": "出现异常",
    "incident_retried": "异常重试",
    "incident_skipped": "跳过出错环节",
    "token_moved": "管理员调整环节",
    "migrated": "迁移版本",
    "attachment_added": "上传附件",
    "comment": "意见",
    # >>> consult: 加签 (issue 14)
    "consult_asked": "加签（征求意见）",
    "consult_answered": "加签意见",
    "consult_withdrawn": "撤回加签",
    # <<< consult
}


# ---------------------------------------------------------------- helpers

def _engine():
    return current_app.extensions["kunflow"]


def _files():
    return current_app.extensions["kunflow.casefiles"]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


_names = display_names


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "请求体须为 JSON 对象")
    return body


@bp.app_template_filter("local")
def _local_filter(value, fmt="%Y-%m-%d %H:%M"):
    return local_time(value, fmt)


@bp.app_context_processor
def _globals():
    user = g.get("user")
    return {
        "csrf_token": csrf_token,
        "current_kf_user": user,
        "kf_department_name": (_names()["departments"].get(user.department_code)
                               if user else None),
        "kf_counts": g.get("kf_counts"),
        "VIEWS": VIEWS,
        "OPEN_STATES": OPEN_STATES,
    }


@bp.before_request
def _require_login():
    if request.endpoint == "static":
        return None
    answer = enter_page()
    if answer is None and request.method == "GET":
        g.kf_counts = open_task_counts()
    return answer


# ---------------------------------------------------------------- task lists

@bp.get("/tasks")
def tasks():
    eng, actor = _engine(), g.actor
    view = request.args.get("view") or "mine"
    if view not in VIEWS:
        view = "mine"
    process = (request.args.get("process") or "").strip()[:200] or None
    stage = (request.args.get("stage") or "").strip()[:200] or None
    light = request.args.get("light") or None
    if light not in LIGHTS:
        light = None
    q = (request.args.get("q") or "").strip()[:100] or None
    sort = request.args.get("sort") or ""
    if sort not in SORTS:
        sort = ""
    try:
        page_no = max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        page_no = 1
    offset = (page_no - 1) * PAGE_SIZE
    names = _names()
    counts = {
        "mine": g.kf_counts["mine"],
        "department": g.kf_counts["department"],
        "done": eng.list_tasks(actor, scope="done", count_only=True).total,
        "started": eng.list_instances(actor, started_by=actor.username, count_only=True).total,
    }
    rows, instances = [], []
    if view == "started":
        page = eng.list_instances(actor, started_by=actor.username, process_key=process,
                                  stage=stage, q=q, limit=PAGE_SIZE, offset=offset)
        instances = list(page.items)
    else:
        scope = {"mine": "mine", "department": "department", "done": "done"}[view]
        state = "ready" if view == "department" else None
        task_sort = sort or None
        if view == "done" and sort in ("created", "-created"):
            task_sort = sort.replace("created", "completed")
        page = eng.list_tasks(actor, scope=scope, state=state, process_key=process, stage=stage,
                              light=light, q=q, sort=task_sort, limit=PAGE_SIZE, offset=offset)
        bounds = eng.light_bounds()
        rows = [{"task": t, "light": traffic_light(t.due_at, bounds) if t.state in OPEN_STATES
                 else None} for t in page.items]
    pages = max(1, math.ceil(page.total / PAGE_SIZE))
    # {# area: supervision #} the 督查室's open 催办 to this user's department (驾驶舱)
    with eng.unit_of_work(readonly=True) as uow:
        urges = open_urges(uow.conn, actor.department_code)
    # {# /area: supervision #}
    filters = {"view": view, "process": process or "", "stage": stage or "",
               "light": light or "", "q": q or "", "sort": sort}
    return render_template(
        "tasks.html", view=view, rows=rows, instances=instances, total=page.total,
        page_no=page_no, pages=pages, counts=counts, filters=filters, names=names,
        stages=_files().stage_options(names["definitions"], process), lights=LIGHTS, sorts=SORTS,
        status_names=STATUS_NAMES, task_states=TASK_STATES,
        urges=urges, urged_tasks={u["task_id"] for u in urges if u["task_id"]},  # supervision
    )


# {# area: supervision #}
@bp.post("/tasks/urges/<int:urge_id>/seen")
def urge_seen(urge_id: int):
    """A unit's user marks a 催办 of the 督查室 seen (it leaves the unit's task lists)."""
    with _engine().unit_of_work() as uow:
        done = mark_seen(uow.conn, urge_id, g.actor.department_code, g.actor.username)
        uow.commit()
    flash("已确认收到催办" if done else "该催办已确认或不属于本部门", "ok" if done else "error")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("caseworker.tasks"))


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
# {# /area: supervision #}


# ---------------------------------------------------------------- task page

@bp.get("/tasks/<task_id>")
def task_page(task_id: str):
    eng, files, actor = _engine(), _files(), g.actor
    t = eng.get_task(task_id, actor, with_data=True)
    ctx = files.task_context(task_id, actor)
    draft = files.get_draft(task_id, actor)
    data = dict(t.data or {})
    if draft is not None:
        data.update(draft.data)
    editable = (t.state == "claimed" and t.assignee == actor.username
                and ctx["instance_status"] == "running")
    attachments = files.list_attachments(t.instance_id, actor)
    comments = [e for e in eng.list_events(t.instance_id, actor) if e.kind == "comment"]
    pauses = eng.list_task_pauses(task_id, actor) if ctx["pausable"] else []
    names = _names()
    return render_template(
        "task.html", t=t, ctx=ctx, data=data, draft=draft, editable=editable,
        attachments=attachments, comments=comments, pauses=pauses, names=names,
        light=traffic_light(t.due_at, eng.light_bounds()) if t.state in OPEN_STATES else None,
        lights=LIGHTS, task_states=TASK_STATES,
    )


def _back_to_task(task_id: str):
    return redirect(url_for("caseworker.task_page", task_id=task_id))


def _flash_engine_error(exc: EngineError) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    extra = "；".join(str(v) for v in details.values())
    flash(f"{exc.message}{('：' + extra) if extra else ''}", "error")


def _task_command(task_id: str, action, done, then=None):
    """Run a page's command on a task: on success flash ``done`` (text, or a function of the
    command's result) and go to ``then`` (default: back to the task); a refused command is
    flashed on the task page, except Forbidden, which is the 403 page."""
    try:
        result = action()
    except Forbidden:
        raise
    except EngineError as exc:
        _flash_engine_error(exc)
        return _back_to_task(task_id)
    flash(done(result) if callable(done) else done)
    return redirect(then) if then else _back_to_task(task_id)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    return _task_command(task_id, lambda: _engine().claim(task_id, g.actor), "已认领，可以办理了")


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    return _task_command(task_id, lambda: _engine().unclaim(task_id, g.actor), "已放回部门待办",
                         then=url_for("caseworker.tasks", view="department"))


@bp.post("/tasks/<task_id>/submit")
def submit(task_id: str):
    files, actor = _files(), g.actor
    body = _json_body()
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象", details={"data": "须为对象"})
    done = files.complete(task_id, actor, data)
    flash(f"已提交：{done.name or done.element_id}（{done.title or done.business_key or ''}）")
    return jsonify({"redirect": url_for("caseworker.tasks", view="mine"), "task_id": done.id})


@bp.post("/tasks/<task_id>/draft")
def save_draft(task_id: str):
    body = _json_body()
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象", details={"data": "须为对象"})
    draft = _files().save_draft(task_id, g.actor, data)
    return jsonify({"saved_at": draft.saved_at.replace(tzinfo=UTC).isoformat()})


@bp.post("/tasks/<task_id>/send-back")
def send_back(task_id: str):
    target = (request.form.get("target") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    if not target or not reason:
        flash("退回须选择环节并填写理由", "error")
        return _back_to_task(task_id)
    return _task_command(
        task_id, lambda: _engine().send_back(task_id, g.actor, target, reason[:2000]),
        lambda t: f"已退回至“{t.name or target}”", then=url_for("caseworker.tasks", view="mine"))


@bp.post("/tasks/<task_id>/pause")
def pause(task_id: str):
    reason = (request.form.get("reason") or "").strip()[:2000] or None
    return _task_command(task_id, lambda: _engine().pause_task(task_id, g.actor, reason),
                         "已暂停计时")


@bp.post("/tasks/<task_id>/resume")
def resume(task_id: str):
    return _task_command(task_id, lambda: _engine().resume_task(task_id, g.actor),
                         "已恢复计时，期限已顺延")


@bp.post("/tasks/<task_id>/attachments")
def upload(task_id: str):
    wants_json = request.accept_mimetypes.best == "application/json"
    upload_file = request.files.get("file")
    try:
        if upload_file is None or not upload_file.filename:
            raise InvalidInput("请选择要上传的文件", details={"file": "请选择文件"})
        content_type = check_upload(upload_file.filename, upload_file.stream)
        field = (request.form.get("field") or "").strip() or None
        att = _files().add_attachment(
            g.actor, task_id=task_id, filename=upload_file.filename,
            content_type=content_type, stream=upload_file.stream, field=field,
        )
    except EngineError as exc:
        if wants_json or isinstance(exc, Forbidden):
            raise
        _flash_engine_error(exc)
        return _back_to_task(task_id)
    finally:
        if upload_file is not None:
            upload_file.close()
    if wants_json:
        return jsonify({"attachment": {
            "id": att.id, "filename": att.filename, "size": att.size, "sha256": att.sha256,
            "url": url_for("caseworker.download", attachment_id=att.id)}}), 201
    flash(f"已上传：{att.filename}")
    return _back_to_task(task_id)


@bp.post("/tasks/<task_id>/comments")
def comment(task_id: str):
    text = (request.form.get("text") or "").strip()
    return _task_command(
        task_id, lambda: _files().add_comment(0, g.actor, text, task_id=task_id), "意见已记录")


@bp.get("/attachments/<attachment_id>")
def download(attachment_id: str):
    att, path = _files().get_attachment(attachment_id, g.actor)
    return attachment_response(att, path)


# ---------------------------------------------------------------- case view

@bp.get("/cases/<int:instance_id>")
def case_page(instance_id: int):
    eng, files, actor = _engine(), _files(), g.actor
    inst = eng.get_instance(instance_id, actor)
    events = eng.list_events(instance_id, actor)
    marks = files.diagram_marks(instance_id, actor)
    attachments = files.list_attachments(instance_id, actor)
    task_rows = files.case_tasks(instance_id, actor)
    bounds = eng.light_bounds()
    related = files.related_cases(instance_id, actor)
    names = _names()
    attachment_names = {a.id: a for a in attachments}
    task_names = {t.id: (t.name or t.element_id) for t in task_rows}
    # a submitted field reads as its form label, a chosen option as the option's label, a
    # list of rows as a table: whatever shape the data has (submitted.py)
    labels = files.field_labels(instance_id)
    task_fields = {t.id: labels.get(t.form_key, {}) for t in task_rows if t.form_key}
    file_names = {a.id: a.filename for a in attachments}
    submitted = {e.id: submitted_pairs(e.data, task_fields.get(e.task_id, {}), file_names)
                 for e in events if e.kind == "task_completed" and e.data}
    links = {el: url_for("caseworker.task_page", task_id=tid)
             for el, tid in marks.task_links.items()}
    return render_template(
        "case.html", inst=inst,
        # "arrived" rows repeat the steps table; the timeline keeps what people and timers did
        events=[e for e in reversed(events) if e.kind != "task_created"], marks=marks, links=links,
        attachments=attachments, attachment_names=attachment_names, task_rows=task_rows,
        task_names=task_names, submitted=submitted, names=names, event_names=EVENT_NAMES,
        status_names=STATUS_NAMES, task_states=TASK_STATES, related=related,
        lights={t.id: traffic_light(t.due_at, bounds) for t in task_rows
                if t.state in OPEN_STATES},
        light_names=LIGHTS,
    )


@bp.get("/cases/<int:instance_id>/diagram.xml")
def case_diagram(instance_id: int):
    marks = _files().diagram_marks(instance_id, g.actor)
    xml = _engine().get_definition_xml(marks.definition_key, marks.definition_version)
    response = current_app.response_class(xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


# ---------------------------------------------------------------- start a case

@bp.get("/start")
def start_list():
    defs = _files().startable(g.actor)
    return render_template("start.html", definitions=defs)


@bp.route("/start/<key>", methods=["GET", "POST"])
def start_case(key: str):
    eng, files, actor = _engine(), _files(), g.actor
    startable = {d.key: d for d in files.startable(actor)}
    if key not in startable:
        try:
            eng.get_definition(key)
        except EngineError:
            abort(404)
        raise Forbidden("本部门不能发起该流程")
    definition = startable[key]
    schema = files.start_schema(definition)
    if request.method == "GET":
        return render_template("start_form.html", definition=definition, schema=schema)
    body = _json_body()
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象", details={"data": "须为对象"})
    data = dict(data)
    title = data.pop("kf_title", None)
    business_key = data.pop("kf_business_key", None)
    problems = {}
    if not isinstance(title, str) or not title.strip():
        problems["kf_title"] = "请填写名称"
    elif len(title) > 400:
        problems["kf_title"] = "名称最长 400 字"
    if business_key not in (None, "") and (not isinstance(business_key, str)
                                           or len(business_key) > 200):
        problems["kf_business_key"] = "编号最长 200 字"
    if problems:
        raise InvalidInput("请更正标出的字段", details=problems)
    # left empty, the engine makes one up
    business_key = (business_key or "").strip() or None
    inst = eng.start(key, actor, business_key=business_key, title=title.strip(), data=data)
    flash(f"已发起：{title.strip()}（{inst.business_key}）")
    mine = eng.list_tasks(actor, scope="department", instance_id=inst.id, limit=1)
    if mine.items:
        target = url_for("caseworker.task_page", task_id=mine.items[0].id)
    else:
        target = url_for("caseworker.case_page", instance_id=inst.id)
    return jsonify({"redirect": target, "instance_id": inst.id})
