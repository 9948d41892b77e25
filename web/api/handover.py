"""转办 (hand a task over) and 委托 (a stand-in while away)."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from ..inputs import MAX_ID
from . import bp
from .schemas import (
    Delegation,
    DelegationBody,
    DelegationList,
    DelegationQuery,
    Empty,
    Task,
    Transfer,
)

TAGS = ["handover"]


@bp.post(
    "/tasks/<task_id>/transfer",
    tags=["tasks"],
    summary="转办给本部门其他人员，或退回部门待办",
    description="认领人、可办理该任务的本部门人员（未认领时）或部门负责人可以转办；须填写理由。"
    "接收人须为本部门在岗人员并具有任务所需角色；流程图的 transfer_departments 属性可放开到"
    "其他部门（任务随之转到接收人的部门）。其他部门的人员：403。",
)
@bp.arguments(Transfer, example={"to": "drc-clerk2", "reason": "本人出差，请代为出具意见"})
@bp.response(200, Task)
@bp.errors(403, 404, 409, 422)
def transfer_task(body, task_id: str):
    return current_engine().transfer(task_id, g.actor, body["to"], body["reason"])


@bp.get("/delegations", tags=TAGS, summary="委托列表（我委托的、委托我的；负责人含本部门人员的）")
@bp.arguments(DelegationQuery, location="query")
@bp.response(200, DelegationList)
@bp.errors(403, 422)
def list_delegations(query):
    items = current_engine().list_delegations(
        g.actor, username=query["username"], include_past=query["include_past"] == "true")
    return {"items": items}


@bp.post(
    "/delegations",
    tags=TAGS,
    summary="设置委托（代办人与起止日期）",
    description="本人为自己设置；部门负责人或管理员可为本部门人员设置。代办人须为同一部门的在岗"
    "人员；期间最长 366 天，不能与该委托人未撤销的委托重叠。期间内代办人可查看、认领、办结委托人"
    "的待办，记录双方姓名。",
)
@bp.arguments(DelegationBody, example={"deputy": "drc-head", "starts_on": "2026-06-01",
                                       "ends_on": "2026-06-05", "reason": "外出学习"})
@bp.response(201, Delegation, description="已设置")
@bp.errors(403, 422)
def create_delegation(body):
    return current_engine().set_delegation(
        g.actor, body["username"] or g.actor.username, body["deputy"], body["starts_on"],
        body["ends_on"], body["reason"])


@bp.post(f"/delegations/<int(max={MAX_ID}):delegation_id>/revoke", tags=TAGS, summary="撤销委托")
@bp.arguments(Empty, required=False)
@bp.response(200, Delegation)
@bp.errors(403, 404)
def revoke_delegation(_body, delegation_id: int):
    return current_engine().revoke_delegation(g.actor, delegation_id)
