"""System administrators: end a user's every login, read the security audit log."""

from __future__ import annotations

from flask import g, jsonify

from engine.access import EVENT_KINDS

from ..auth.identity import current_access
from ..inputs import MAX_ID, query_choice, query_int, query_text
from ..serialize import event_json, page_json
from . import bp


@bp.delete("/users/<username>/sessions")
def revoke_user_access(username: str):
    """Every browser session and bearer token of the user ends now (e.g. a lost laptop)."""
    revoked = current_access().end_user_access(username, g.actor)
    return jsonify(
        {"username": revoked.username, "sessions": revoked.sessions, "tokens": revoked.tokens}
    )


@bp.get("/security-events")
def list_security_events():
    """Failed and throttled logins, password changes, deactivations, revocations; newest first."""
    kind = query_choice("kind", EVENT_KINDS)
    username = query_text("username", max_length=64)
    limit = query_int("limit", 50, minimum=1, maximum=500)
    offset = query_int("offset", 0, minimum=0, maximum=MAX_ID)
    page = current_access().list_events(
        g.actor, kind=kind, username=username, limit=limit, offset=offset
    )
    return jsonify(page_json(page, event_json))
