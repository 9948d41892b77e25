"""Process instances: start, list, read, suspend/resume/terminate, audit events."""

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
from ..serialize import event_json, instance_json, page_json
from . import bp

STATUSES = ("running", "suspended", "incident", "completed", "terminated")
MAX_PAGE = 500


@bp.post("/instances")
def start_instance():
    body = json_body()
    only_fields(body, {"process_key", "business_key", "title", "data"})
    info = current_engine().start(
        text_field(body, "process_key", required=True, max_length=200),
        g.actor,
        business_key=text_field(body, "business_key", max_length=200),
        title=text_field(body, "title", max_length=400),
        data=object_field(body, "data"),
    )
    return jsonify(instance_json(info)), 201


@bp.get("/instances")
def list_instances():
    page = current_engine().list_instances(
        g.actor,
        status=query_choice("status", STATUSES),
        process_key=query_text("process_key"),
        business_key=query_text("business_key"),
        started_by=query_text("started_by", max_length=64),
        stage=query_text("stage"),
        q=query_text("q"),
        limit=query_int("limit", 50, minimum=1, maximum=MAX_PAGE),
        offset=query_int("offset", 0, minimum=0),
    )
    return jsonify(page_json(page, instance_json))


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>")
def get_instance(instance_id: int):
    return jsonify(
        instance_json(current_engine().get_instance(instance_id, g.actor, with_data=True))
    )


@bp.post(f"/instances/<int(max={MAX_ID}):instance_id>/suspend")
def suspend_instance(instance_id: int):
    body = json_body(required=False)
    only_fields(body, {"reason"})
    reason = text_field(body, "reason", max_length=2000)
    return jsonify(instance_json(current_engine().suspend(instance_id, g.actor, reason)))


@bp.post(f"/instances/<int(max={MAX_ID}):instance_id>/resume")
def resume_instance(instance_id: int):
    body = json_body(required=False)
    only_fields(body, {"reason"})
    reason = text_field(body, "reason", max_length=2000)
    return jsonify(instance_json(current_engine().resume(instance_id, g.actor, reason)))


@bp.post(f"/instances/<int(max={MAX_ID}):instance_id>/terminate")
def terminate_instance(instance_id: int):
    body = json_body(required=False)
    only_fields(body, {"reason"})
    reason = text_field(body, "reason", max_length=2000)
    return jsonify(instance_json(current_engine().terminate(instance_id, g.actor, reason)))


@bp.get(f"/instances/<int(max={MAX_ID}):instance_id>/events")
def list_instance_events(instance_id: int):
    events = current_engine().list_events(instance_id, g.actor)
    return jsonify({"items": [event_json(e) for e in events]})
