"""Repair of a case by a process admin (area 5): skip the step an incident stopped on, see the
case's active tokens, move a token (cancel active elements, activate another, add a token)."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .blueprint import INSTANCE_ID, admin_only
from .schemas import Instance, MoveToken, Skip, TokenView

TAGS = ["incidents"]


@bp.post(
    f"/instances/{INSTANCE_ID}/skip",
    tags=TAGS,
    summary="跳过出错的环节（流程管理员）",
    description="出错的环节不再执行，视为已完成（data 作为其结果并入流程数据），流程继续；"
    "故障标记为已处理，记入操作日志（incident_skipped）。实例没有待处理的故障时返回 409；"
    "出错的是网关或子流程时不能跳过（422）。",
)
@admin_only("只有流程管理员可以跳过出错的环节")  # before the body: a caseworker learns nothing
@bp.arguments(Skip, example={"reason": "占比已人工核定", "data": {"share": 0.5}})
@bp.response(200, Instance)
@bp.errors(403, 404, 409, 422)
def skip_incident(body, instance_id: int):
    return current_engine().skip_incident(instance_id, g.actor, body["reason"], body["data"])


@bp.get(
    f"/instances/{INSTANCE_ID}/tokens",
    tags=TAGS,
    summary="实例的活动令牌和可放置令牌的环节（流程管理员）",
)
@bp.response(200, TokenView)
@bp.errors(403, 404)
def instance_tokens(instance_id: int):
    return current_engine().instance_tokens(instance_id, g.actor)


@bp.post(
    f"/instances/{INSTANCE_ID}/tokens",
    tags=TAGS,
    summary="移动令牌（流程管理员）",
    description="取消 cancel 中各环节的活动令牌，并（或）在 activate 环节放置令牌：两者都给为移动，"
    "只给 activate 为添加令牌。退回到令牌走过的环节时按原路重开；其他环节新建任务，"
    "按泳道派往部门并计算时限。不能放置令牌的环节（开始事件、边界事件、顺序流、泳道、"
    "另一（子）流程中的环节、不存在的标识、已有令牌的环节）返回 422 并说明原因；"
    "已办结或已终止的实例、没有活动令牌的环节返回 409。记入操作日志（token_moved）。",
)
@admin_only("只有流程管理员可以移动令牌")
@bp.arguments(MoveToken, example={"cancel": ["approve_case"], "activate": "review_case",
                                  "reason": "审查意见有误，重审"})
@bp.response(200, Instance)
@bp.errors(403, 404, 409, 422)
def move_token(body, instance_id: int):
    return current_engine().move_token(instance_id, g.actor, body["cancel"], body["activate"],
                                       body["reason"])
