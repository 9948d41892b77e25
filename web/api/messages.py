"""Message correlation for external systems: ``POST /messages``."""

from __future__ import annotations

from flask import g, jsonify

from engine import Forbidden

from ..auth.identity import current_engine
from ..inputs import int_field, json_body, object_field, only_fields, text_field
from ..serialize import message_outcome_json
from . import bp

DEFAULT_TTL_DAYS = 30
MAX_TTL_DAYS = 3650


@bp.post("/messages")
def correlate_message():
    """Deliver to the waiting instance with that name and key, start a process with a
    matching message start event, or keep the message waiting for ``ttl_days``."""
    if not g.actor.is_admin:  # before reading the body: it is for external systems
        raise Forbidden("只有流程管理员或系统管理员可以投递消息")
    body = json_body()
    only_fields(body, {"name", "correlation_key", "payload", "ttl_days"})
    name = text_field(body, "name", required=True, max_length=200)
    key = text_field(body, "correlation_key", max_length=200)
    payload = object_field(body, "payload")
    ttl_days = int_field(body, "ttl_days", DEFAULT_TTL_DAYS, minimum=1, maximum=MAX_TTL_DAYS)
    outcome = current_engine().correlate_message(
        name, key, payload, actor=g.actor, ttl_days=ttl_days
    )
    return jsonify(message_outcome_json(outcome))
