"""加签 over the API: ask other departments or users for an opinion on a task, list the
requests, answer an asked task, withdraw a request."""

from __future__ import annotations

from flask import g

from ..auth.identity import current_engine
from . import bp
from .schemas import AnswerOpinion, AskOpinion, Opinion, OpinionList, Reason

TAGS = ["consult"]
_ERRORS = (403, 404, 409, 422)


@bp.post("/tasks/<task_id>/opinions", tags=TAGS, summary="加签：征求其他部门或人员的意见",
         description="只有认领该任务的办理人可以发起；每个被征求的部门或人员得到一个加签任务，"
                     "期限按工作日计算。有未答复的加签时，该任务不能提交（409）。")
@bp.arguments(AskOpinion, example={"question": "请就用地情况提出意见", "departments": ["natres"],
                                   "users": [], "due_days": 3})
@bp.response(201, OpinionList)
@bp.errors(*_ERRORS)
def ask_opinion(body, task_id: str):
    items = current_engine().ask_opinion(task_id, g.actor, body["question"],
                                         body["departments"], body["users"], body["due_days"])
    return {"items": items}


@bp.get("/tasks/<task_id>/opinions", tags=TAGS, summary="任务的加签及其答复",
        description="对发起加签的任务：向各方征求意见的情况；对加签任务：它自己的请求。")
@bp.response(200, OpinionList)
@bp.errors(403, 404)
def list_opinions(task_id: str):
    return {"items": current_engine().list_opinions(task_id, g.actor)}


@bp.post("/tasks/<task_id>/opinion", tags=TAGS, summary="答复加签（办结加签任务）")
@bp.arguments(AnswerOpinion, example={"opinion": "符合规划，同意。", "agree": True})
@bp.response(200, Opinion)
@bp.errors(*_ERRORS)
def answer_opinion(body, task_id: str):
    return current_engine().answer_opinion(task_id, g.actor, body["opinion"], body["agree"])


@bp.post("/opinions/<task_id>/withdraw", tags=TAGS, summary="撤回加签",
         description="task_id 为加签任务的 id；发起人、被加签任务的办理人或其部门负责人可撤回。")
@bp.arguments(Reason, required=False)
@bp.response(200, Opinion)
@bp.errors(*_ERRORS)
def withdraw_opinion(body, task_id: str):
    return current_engine().withdraw_opinion(task_id, g.actor, (body or {}).get("reason"))
