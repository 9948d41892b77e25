"""故障处理 /admin/incidents: the open incidents (a failed script, service task or expression)
and, per incident, the repair: fix the failing step's data and retry, skip the step, or move a
token. The actions are the API's (pages.js ``mountIncidents``)."""

from __future__ import annotations

from flask import g, render_template, request

from ..errors import ApiError
from . import bp
from .catalogue import STATUS_NAMES, engine, names
from .instances import TOKEN_ELEMENTS

ELEMENT_TYPES = {**TOKEN_ELEMENTS, "exclusiveGateway": "排他网关", "parallelGateway": "并行网关",
                 "inclusiveGateway": "包容网关", "boundaryEvent": "边界事件",
                 "intermediateThrowEvent": "中间抛出事件", "startEvent": "开始事件",
                 "endEvent": "结束事件", "sequenceFlow": "顺序流"}


def type_name(element_type: str | None) -> str:
    """A BPMN element type (``scriptTask`` or ``ScriptTask``) in Chinese."""
    if not element_type:
        return ""
    return ELEMENT_TYPES.get(element_type) or ELEMENT_TYPES.get(
        element_type[:1].lower() + element_type[1:], element_type)


@bp.get("/incidents")
def incidents():
    items = engine().list_incidents(g.actor)
    resolved = (request.args.get("resolved") or "").strip()[:200]
    return render_template("admin/incidents.html", incidents=items, names=names(),
                           resolved=resolved, type_name=type_name)


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id: int):
    eng, actor = engine(), g.actor
    found = [i for i in eng.list_incidents(actor, open_only=False) if i.id == incident_id]
    if not found:
        raise ApiError(404, "找不到该故障，可能已处理或已清理")
    inc = found[0]
    inst = eng.get_instance(inc.instance_id, actor, with_data=True)
    data = getattr(inc, "data", None)  # the failing task's data (IncidentInfo.data)
    if data is None:
        data = inst.data or {}
    history = [i for i in eng.list_incidents(actor, instance_id=inc.instance_id, open_only=False)
               if i.id != inc.id]
    return render_template("admin/incident.html", incident=inc, instance=inst, data=data,
                           history=history, names=names(), status_names=STATUS_NAMES,
                           type_name=type_name,
                           truncated=bool(getattr(inc, "data_truncated", False)))
