"""Incidents (a failed script, service task or expression): list them, retry after a fix."""

from __future__ import annotations

from flask import g, jsonify

from ..auth.identity import current_engine
from ..inputs import MAX_ID, json_body, object_field, only_fields, query_choice, query_int
from ..serialize import incident_json, instance_json
from . import bp

BOOLEANS = ("true", "false")


@bp.get("/incidents")
def list_incidents():
    """Newest first; supervisors, leaders and admins only (the engine says 403 to others)."""
    instance_id = query_int("instance_id", None, minimum=1, maximum=MAX_ID)
    open_only = query_choice("open", BOOLEANS, default="true") == "true"
    items = current_engine().list_incidents(g.actor, instance_id=instance_id, open_only=open_only)
    return jsonify({"items": [incident_json(i) for i in items]})


@bp.post(f"/instances/<int(max={MAX_ID}):instance_id>/retry")
def retry_instance(instance_id: int):
    """Run the failed step again with ``data`` (the fix) merged into its task data."""
    body = json_body(required=False)
    only_fields(body, {"data"})
    data = object_field(body, "data")
    return jsonify(instance_json(current_engine().retry_incident(instance_id, g.actor, data)))
