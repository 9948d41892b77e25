"""Incidents (a failed script, service task or expression): list them, retry after a fix."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .blueprint import INSTANCE_ID
from .schemas import IncidentList, IncidentQuery, Instance, Retry

TAGS = ["incidents"]


@bp.get(
    "/incidents",
    tags=TAGS,
    summary="故障列表（督查室、区领导、管理员）",
    description="最新的在前，最多 500 条。",
)
@bp.arguments(IncidentQuery, location="query")
@bp.response(200, IncidentList)
@bp.errors(403, 422)
def list_incidents(query):
    """Newest first; supervisors, leaders and admins only (the engine says 403 to others)."""
    items = current_engine().list_incidents(
        g.actor, instance_id=query["instance_id"], open_only=query["open"] == "true"
    )
    return {"items": items}


@bp.post(
    f"/instances/{INSTANCE_ID}/retry",
    tags=TAGS,
    summary="修正数据后重试出错的环节（流程管理员）",
    description="data 并入出错环节的数据后重新执行；实例没有待处理的故障时返回 409。"
    "再次出错时实例仍为 incident 状态，并记录新的故障。",
)
@bp.arguments(Retry, required=False, example={"data": {"total": 20}})
@bp.response(200, Instance)
@bp.errors(403, 404, 409, 422)
def retry_instance(body, instance_id: int):
    """Run the failed step again with ``data`` (the fix) merged into its task data."""
    return current_engine().retry_incident(instance_id, g.actor, body["data"])
