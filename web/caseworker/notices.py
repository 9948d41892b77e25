"""The notice inbox ``/notices``: a user's notices (to them and to their department), all or
unread, by kind; opening one marks it read and goes to its task, case or link; mark all read.
The header's 通知 count comes from here too (``kf_unread_notices``, once per page)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for

from engine import NOTICE_KINDS, NotFound

from . import bp

PAGE_SIZE = 20
TABS = {"all": "全部", "unread": "未读"}


def _engine():
    return current_app.extensions["kunflow"]


def unread_count() -> int | None:
    """The signed-in user's unread notices, read once per request (None: nobody signed in)."""
    actor = g.get("actor")
    if actor is None:
        return None
    if "kf_unread_notices" not in g:
        g.kf_unread_notices = _engine().unread_notice_count(actor)
    return g.kf_unread_notices


@bp.app_context_processor
def _inbox_globals():
    return {"kf_unread_notices": unread_count, "NOTICE_KINDS": NOTICE_KINDS}


def same_site(target: str | None) -> bool:
    """A path of this site (``/tasks/…``), never another host or a scheme's URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


@bp.get("/notices")
def notices():
    eng, actor = _engine(), g.actor
    tab = request.args.get("tab") or "all"
    if tab not in TABS:
        tab = "all"
    kind = request.args.get("kind") or ""
    if kind not in NOTICE_KINDS:
        kind = ""
    try:
        page_no = max(1, min(int(request.args.get("page", 1)), 100000))
    except ValueError:
        page_no = 1
    page = eng.list_notices(actor, unread=tab == "unread", kind=kind or None, limit=PAGE_SIZE,
                            offset=(page_no - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(page.total / PAGE_SIZE))
    return render_template(
        "notices.html", notices=page.items, total=page.total, page_no=page_no, pages=pages,
        tab=tab, tabs=TABS, kind=kind, kinds=NOTICE_KINDS, unread=unread_count(),
        same_site=same_site,
    )


@bp.get("/notices/<int(max=2147483647):notice_id>/open")
def open_notice(notice_id: int):
    """Mark the notice read and go where it leads (a path of this site only)."""
    try:
        item = _engine().mark_notice_read(g.actor, notice_id)
    except NotFound:
        flash("该通知不存在或不属于您", "error")
        return redirect(url_for("caseworker.notices"))
    target = item.target
    return redirect(target if same_site(target) else url_for("caseworker.notices"))


@bp.post("/notices/read-all")
def read_all_notices():
    marked = _engine().mark_all_notices_read(g.actor)
    flash(f"已将 {marked} 条通知标为已读" if marked else "没有未读通知", "ok")
    tab = request.form.get("tab")
    return redirect(url_for("caseworker.notices", tab=tab if tab == "unread" else None))
