"""Process instances: start, list, read, suspend/resume/terminate, audit events."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .blueprint import INSTANCE_ID
from .schemas import EventList, Instance, InstancePage, InstanceQuery, Reason, StartInstance

TAGS = ["instances"]
_ACTION_ERRORS = (403, 404, 409, 422)


@bp.post("/instances", tags=TAGS, summary="发起流程（最新版本）")
@bp.arguments(StartInstance)
@bp.response(201, Instance, description="已发起")
@bp.errors(403, 404, 422)
def start_instance(body):
    return current_engine().start(
        body["process_key"],
        g.actor,
        business_key=body["business_key"],
        title=body["title"],
        data=body["data"],
    )


@bp.get(
    "/instances",
    tags=TAGS,
    summary="流程实例列表",
    description="督查室、区领导、管理员看到全部；其他人看到本部门参与过或本人发起的实例。",
)
@bp.arguments(InstanceQuery, location="query")
@bp.response(200, InstancePage)
@bp.errors(422)
def list_instances(query):
    return current_engine().list_instances(g.actor, **query)


@bp.get(f"/instances/{INSTANCE_ID}", tags=TAGS, summary="流程实例（含未办结任务和流程数据）")
@bp.response(200, Instance)
@bp.errors(403, 404)
def get_instance(instance_id: int):
    return current_engine().get_instance(instance_id, g.actor, with_data=True)


@bp.post(f"/instances/{INSTANCE_ID}/suspend", tags=TAGS, summary="挂起（流程管理员）")
@bp.arguments(Reason, required=False)
@bp.response(200, Instance)
@bp.errors(*_ACTION_ERRORS)
def suspend_instance(body, instance_id: int):
    return current_engine().suspend(instance_id, g.actor, body["reason"])


@bp.post(f"/instances/{INSTANCE_ID}/resume", tags=TAGS, summary="恢复（流程管理员）")
@bp.arguments(Reason, required=False)
@bp.response(200, Instance)
@bp.errors(*_ACTION_ERRORS)
def resume_instance(body, instance_id: int):
    return current_engine().resume(instance_id, g.actor, body["reason"])


@bp.post(f"/instances/{INSTANCE_ID}/terminate", tags=TAGS, summary="终止（流程管理员）")
@bp.arguments(Reason, required=False)
@bp.response(200, Instance)
@bp.errors(*_ACTION_ERRORS)
def terminate_instance(body, instance_id: int):
    return current_engine().terminate(instance_id, g.actor, body["reason"])


@bp.get(f"/instances/{INSTANCE_ID}/events", tags=TAGS, summary="实例的操作日志")
@bp.response(200, EventList)
@bp.errors(403, 404)
def list_instance_events(instance_id: int):
    return {"items": current_engine().list_events(instance_id, g.actor)}
