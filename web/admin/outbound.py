"""通知外发 /admin/notice-deliveries: every notice's delivery to the outbound channels (the
district's messaging platform) with its status, attempts and last error, and a retry for the
failed ones (docs/notices-webhook.md)."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from . import bp
from .catalogue import engine, names

STATUS_NAMES = {"pending": "待发送", "sent": "已发送", "failed": "失败"}
STATUS_TAGS = {"pending": "tag-blue", "sent": "tag-ok", "failed": "tag-bad"}
CHANNEL_NAMES = {"webhook": "消息平台（Webhook）"}
PER_PAGE = 50


@bp.get("/notice-deliveries")
def notice_deliveries():
    status = request.args.get("status") or None
    if status not in STATUS_NAMES:
        status = None
    try:
        page_no = max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        page_no = 1
    eng = engine()
    page = eng.list_notice_deliveries(g.actor, status=status, limit=PER_PAGE,
                                      offset=(page_no - 1) * PER_PAGE)
    counts = {key: eng.list_notice_deliveries(g.actor, status=key, limit=1).total
              for key in STATUS_NAMES}
    retried = request.args.get("retried", type=int)
    return render_template(
        "admin/outbound.html", deliveries=page.items, total=page.total, status=status,
        counts=counts, page_no=page_no, pages=max(1, -(-page.total // PER_PAGE)),
        status_names=STATUS_NAMES, status_tags=STATUS_TAGS, channel_names=CHANNEL_NAMES,
        names=names(), retried=retried,
        configured=bool(getattr(eng.context, "notice_channels", None)),
    )


@bp.post("/notice-deliveries/<int(max=2147483647):delivery_id>/retry")
def retry_notice_delivery(delivery_id: int):
    engine().retry_notice_delivery(g.actor, delivery_id)
    return redirect(url_for("admin.notice_deliveries", status=request.form.get("status") or None,
                            retried=delivery_id))
