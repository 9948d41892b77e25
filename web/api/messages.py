"""Message correlation for external systems: ``POST /messages``."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .blueprint import admin_only
from .schemas import Message, MessageOutcome

TAGS = ["messages"]


@bp.post(
    "/messages",
    tags=TAGS,
    summary="投递消息（外部系统；流程管理员或系统管理员）",
    description="按消息名和关联键送达最早等待的实例；否则启动以该消息开始的流程；"
    "都没有时消息保留，待接收方出现时送达，ttl_days 天后过期。",
)
@admin_only("只有流程管理员或系统管理员可以投递消息")  # the body is for external systems
@bp.arguments(
    Message,
    example={
        "name": "mine_result",
        "correlation_key": "XM-2026-001",
        "payload": {"approved": True},
    },
)
@bp.response(200, MessageOutcome)
@bp.errors(403, 409, 422)
def correlate_message(body):
    """Deliver to the waiting instance with that name and key, start a process with a
    matching message start event, or keep the message waiting for ``ttl_days``."""
    return current_engine().correlate_message(
        body["name"],
        body["correlation_key"],
        body["payload"],
        actor=g.actor,
        ttl_days=body["ttl_days"],
    )
