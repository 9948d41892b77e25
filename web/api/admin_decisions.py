"""Process admin tools for decisions (issue 11): the DMN change preview and the trial run of a
draft. Both read only: nothing they do is stored."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .schemas import DecisionPreviewList, DmnPreviewRequest, TrialRequest, TrialResult

TAGS = ["admin"]


@bp.post(
    "/admin/processes/<key>/dmn-preview",
    tags=TAGS,
    summary="决策表变更预览（流程管理员）",
    description="用草稿（或 files 给出）的每张决策表，重新计算该表最近 limit 次真实决策的输入，"
    "列出结果会改变的案件。不保存任何数据。",
)
@bp.arguments(DmnPreviewRequest, required=False)
@bp.response(200, DecisionPreviewList)
@bp.errors(403, 404, 422)
def dmn_preview(body, key: str):
    items = current_engine().preview_decision_change(key, g.actor, body["files"], body["limit"])
    return {"items": items}


@bp.post(
    "/admin/processes/<key>/trial",
    tags=TAGS,
    summary="试运行流程（流程管理员）",
    description="在内存中运行流程图（缺省为草稿，没有草稿时为最新版本）：先以 start_data 启动，"
    "再依次办理 steps 中的用户任务。返回各环节的部门、决策结果、数据与出错信息；"
    "服务任务与调用活动不调用，消息不发送，定时器只列出到期时间。不保存任何数据。",
)
@bp.arguments(TrialRequest, required=False,
              example={"start_data": {}, "steps": [{"element_id": "register_project",
                                                    "data": {"total_investment": 3}}]})
@bp.response(200, TrialResult)
@bp.errors(403, 404, 422)
def trial_run(body, key: str):
    steps = [{"element_id": s["element_id"], "data": s.get("data") or {}}
             for s in body["steps"]]
    return current_engine().trial_run(key, g.actor, body["bpmn_xml"], body["files"],
                                      body["start_data"], steps)
