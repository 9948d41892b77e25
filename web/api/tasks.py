"""Human tasks: queues, read, claim, unclaim, reassign, complete, pause/resume the deadline
clock, send back to an earlier step."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .casefiles import current_casefiles
from .schemas import (
    Complete,
    Empty,
    Reason,
    Reassign,
    SendBack,
    Task,
    TaskPage,
    TaskPauseList,
    TaskQuery,
)

TAGS = ["tasks"]
_ACTION_ERRORS = (403, 404, 409, 422)


@bp.get("/tasks", tags=TAGS, summary="任务列表")
@bp.arguments(TaskQuery, location="query")
@bp.response(200, TaskPage)
@bp.errors(403, 422)
def list_tasks(query):
    return current_engine().list_tasks(g.actor, **query)


@bp.get("/tasks/<task_id>", tags=TAGS, summary="任务（含流程数据）")
@bp.response(200, Task)
@bp.errors(403, 404)
def get_task(task_id: str):
    return current_engine().get_task(task_id, g.actor, with_data=True)


@bp.post("/tasks/<task_id>/claim", tags=TAGS, summary="认领")
@bp.arguments(Empty, required=False)
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def claim_task(_body, task_id: str):
    return current_engine().claim(task_id, g.actor)


@bp.post("/tasks/<task_id>/unclaim", tags=TAGS, summary="退回部门待办")
@bp.arguments(Empty, required=False)
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def unclaim_task(_body, task_id: str):
    return current_engine().unclaim(task_id, g.actor)


@bp.post("/tasks/<task_id>/reassign", tags=TAGS, summary="转派给本部门其他人（负责人）")
@bp.arguments(Reassign)
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def reassign_task(body, task_id: str):
    return current_engine().reassign(task_id, g.actor, body["username"])


@bp.post("/tasks/<task_id>/complete", tags=TAGS, summary="办结任务")
@bp.arguments(Complete, required=False, example={"data": {"approved": True}})
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def complete_task(body, task_id: str):
    # file fields must cite this case's attachments; the task's drafts end with it
    return current_casefiles().complete(task_id, g.actor, body["data"])


@bp.post(
    "/tasks/<task_id>/pause",
    tags=TAGS,
    summary="暂停办理时限的计时（专家评审、听证、公示等）",
    description="只有流程图允许暂停（pausable）的环节可以暂停；已暂停、已办结时返回 409。",
)
@bp.arguments(Reason, required=False, example={"reason": "专家评审"})
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def pause_task(body, task_id: str):
    return current_engine().pause_task(task_id, g.actor, body["reason"])


@bp.post("/tasks/<task_id>/resume", tags=TAGS, summary="恢复计时（时限顺延暂停的工作日数）")
@bp.arguments(Empty, required=False)
@bp.response(200, Task)
@bp.errors(*_ACTION_ERRORS)
def resume_task(_body, task_id: str):
    return current_engine().resume_task(task_id, g.actor)


@bp.get("/tasks/<task_id>/pauses", tags=TAGS, summary="任务的暂停计时记录")
@bp.response(200, TaskPauseList)
@bp.errors(403, 404)
def list_task_pauses(task_id: str):
    return {"items": current_engine().list_task_pauses(task_id, g.actor)}


@bp.post(
    "/tasks/<task_id>/send-back",
    tags=TAGS,
    summary="退回到此前办理过的环节",
    description="target 须在该环节的 send_back_targets 中（否则 422）；"
    "本案件尚未办理过 target 或任务已被他人认领时返回 409。",
)
@bp.arguments(
    SendBack, example={"target": "submit_application", "reason": "材料不全，请补充环评批复"}
)
@bp.response(200, Task, description="已退回：返回本任务（已取消），被退回的环节重新打开")
@bp.errors(*_ACTION_ERRORS)
def send_back_task(body, task_id: str):
    return current_engine().send_back(task_id, g.actor, body["target"], body["reason"])
