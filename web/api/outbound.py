"""Outbound delivery of notices (the district's messaging platform): the admin's list of
deliveries and the retry of a failed one (docs/notices-webhook.md)."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .blueprint import DELIVERY_ID
from .schemas import Empty, NoticeDelivery, NoticeDeliveryPage, NoticeDeliveryQuery

TAGS = ["outbound"]


@bp.get(
    "/admin/notice-deliveries",
    tags=TAGS,
    summary="通知外发记录（管理员）",
    description="每条通知向每个外发渠道一条记录，最新的在前；未配置外发渠道时为空。",
)
@bp.arguments(NoticeDeliveryQuery, location="query")
@bp.response(200, NoticeDeliveryPage)
@bp.errors(403, 422)
def list_notice_deliveries(query):
    return current_engine().list_notice_deliveries(g.actor, **query)


@bp.post(
    f"/admin/notice-deliveries/{DELIVERY_ID}/retry",
    tags=TAGS,
    summary="重试发送失败的通知外发（管理员）",
    description="失败的记录改为待发送，立即进入下一轮发送，重新按退避计划尝试；"
    "不是失败状态时返回 409。",
)
@bp.arguments(Empty, required=False)
@bp.response(200, NoticeDelivery)
@bp.errors(403, 404, 409)
def retry_notice_delivery(_body, delivery_id: int):
    return current_engine().retry_notice_delivery(g.actor, delivery_id)
