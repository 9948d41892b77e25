"""Human tasks: queues, read, claim, unclaim, reassign, complete, pause/resume the deadline
clock, send back to an earlier step."""

from __future__ import annotations

from flask import g, jsonify

from ..auth.identity import current_engine
from ..inputs import (
    MAX_ID,
    json_body,
    object_field,
    only_fields,
    query_choice,
    query_int,
    query_text,
    text_field,
)
from ..serialize import page_json, pause_json, task_json
from . import bp
from .casefiles import current_casefiles

SCOPES = ("mine", "department", "done", "all")
STATES = ("ready", "claimed", "completed", "cancelled", "open")
LIGHTS = ("red", "yellow", "green")
SORTS = ("created", "-created", "due", "-due", "completed", "-completed")
MAX_PAGE = 500


@bp.get("/tasks")
def list_tasks():
    page = current_engine().list_tasks(
        g.actor,
        scope=query_choice("scope", SCOPES, default="department"),
        state=query_choice("state", STATES),
        process_key=query_text("process_key"),
        instance_id=query_int("instance_id", None, minimum=1, maximum=MAX_ID),
        stage=query_text("stage"),
        light=query_choice("light", LIGHTS),
        q=query_text("q"),
        sort=query_choice("sort", SORTS),
        limit=query_int("limit", 50, minimum=1, maximum=MAX_PAGE),
        offset=query_int("offset", 0, minimum=0),
    )
    return jsonify(page_json(page, task_json))


@bp.get("/tasks/<task_id>")
def get_task(task_id: str):
    return jsonify(task_json(current_engine().get_task(task_id, g.actor, with_data=True)))


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str):
    only_fields(json_body(required=False), set())
    return jsonify(task_json(current_engine().claim(task_id, g.actor)))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str):
    only_fields(json_body(required=False), set())
    return jsonify(task_json(current_engine().unclaim(task_id, g.actor)))


@bp.post("/tasks/<task_id>/reassign")
def reassign_task(task_id: str):
    body = json_body()
    only_fields(body, {"username"})
    username = text_field(body, "username", required=True, max_length=64)
    return jsonify(task_json(current_engine().reassign(task_id, g.actor, username)))


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str):
    body = json_body(required=False)
    only_fields(body, {"data"})
    # file fields must cite this case's attachments; the task's drafts end with it
    done = current_casefiles().complete(task_id, g.actor, object_field(body, "data"))
    return jsonify(task_json(done))


@bp.post("/tasks/<task_id>/pause")
def pause_task(task_id: str):
    body = json_body(required=False)
    only_fields(body, {"reason"})
    reason = text_field(body, "reason", max_length=2000)
    return jsonify(task_json(current_engine().pause_task(task_id, g.actor, reason)))


@bp.post("/tasks/<task_id>/resume")
def resume_task(task_id: str):
    only_fields(json_body(required=False), set())
    return jsonify(task_json(current_engine().resume_task(task_id, g.actor)))


@bp.get("/tasks/<task_id>/pauses")
def list_task_pauses(task_id: str):
    pauses = current_engine().list_task_pauses(task_id, g.actor)
    return jsonify({"items": [pause_json(p) for p in pauses]})


@bp.post("/tasks/<task_id>/send-back")
def send_back_task(task_id: str):
    body = json_body()
    only_fields(body, {"target", "reason"})
    target = text_field(body, "target", required=True, max_length=200)
    reason = text_field(body, "reason", required=True, max_length=2000)
    return jsonify(task_json(current_engine().send_back(task_id, g.actor, target, reason)))
