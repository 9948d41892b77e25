"""The notice inbox: the caller's notices (to them and to their department), the unread count,
mark one or all read. Read marks are the caller's own."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from ..inputs import MAX_ID
from . import bp
from .schemas import Empty, Notice, NoticePage, NoticeQuery, NoticesMarked, UnreadNotices

TAGS = ["notices"]
NOTICE_ID = f"<int(max={MAX_ID}):notice_id>"


@bp.get("/notices", tags=TAGS, summary="我的通知（发给我和本部门的，最新在前）")
@bp.arguments(NoticeQuery, location="query")
@bp.response(200, NoticePage)
@bp.errors(422)
def list_notices(query):
    return current_engine().list_notices(
        g.actor, unread=query["unread"] == "true", kind=query["kind"], limit=query["limit"],
        offset=query["offset"])


@bp.get("/notices/unread-count", tags=TAGS, summary="未读通知数")
@bp.response(200, UnreadNotices)
def unread_notice_count():
    return {"unread": current_engine().unread_notice_count(g.actor)}


@bp.post(f"/notices/{NOTICE_ID}/read", tags=TAGS, summary="标为已读",
         description="只能标记调用者可见的通知（发给本人或本部门的）；其他 id 答 404。")
@bp.arguments(Empty, required=False)
@bp.response(200, Notice)
@bp.errors(404, 422)
def read_notice(_body, notice_id: int):
    return current_engine().mark_notice_read(g.actor, notice_id)


@bp.post("/notices/read-all", tags=TAGS, summary="全部标为已读")
@bp.arguments(Empty, required=False)
@bp.response(200, NoticesMarked)
@bp.errors(422)
def read_all_notices(_body):
    return {"marked": current_engine().mark_all_notices_read(g.actor)}
