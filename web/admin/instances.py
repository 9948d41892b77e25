"""案件与迁移 /admin/instances: the cases of a process version, filtered; select some or all
matching and migrate them to another version (dry run first) or suspend / resume / terminate
them with a reason. The actions are the admin API's (pages.js ``mountInstances``)."""

from __future__ import annotations

import math

from flask import g, render_template, request
from lxml import etree

from engine import MAX_SELECTED, OPEN_STATES, EngineError

from . import bp
from .catalogue import STATUS_NAMES, engine, names

PAGE_SIZE = 20
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Elements a token can wait in: what a migration mapping is about.
TOKEN_ELEMENTS = {
    "userTask": "用户任务", "manualTask": "人工任务", "task": "任务", "serviceTask": "服务任务",
    "scriptTask": "脚本任务", "businessRuleTask": "业务规则任务", "sendTask": "发送任务",
    "receiveTask": "接收任务", "callActivity": "调用活动", "subProcess": "子流程",
    "intermediateCatchEvent": "中间捕获事件", "eventBasedGateway": "事件网关",
}


def _arg(name: str, max_len: int = 200) -> str:
    return (request.args.get(name) or "").strip()[:max_len]


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def version_elements(key: str, version: int) -> list[dict]:
    """The elements of one version a token can wait in: id, name, type (Chinese), diagram order."""
    root = etree.fromstring(engine().get_definition_xml(key, version).encode("utf-8"))
    elements = []
    for node in root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in TOKEN_ELEMENTS)):
        tag = etree.QName(node).localname
        elements.append({"id": node.get("id"), "name": node.get("name") or node.get("id"),
                         "type": TOKEN_ELEMENTS[tag]})
    return elements


@bp.get("/instances")
def instances():
    eng, actor = engine(), g.actor
    n = names()
    filters = {
        "process": _arg("process"),
        "version": _int_arg("version"),
        "status": _arg("status", 16),
        "stage": _arg("stage"),
        "department": _arg("department", 64),
        "business_key": _arg("business_key"),
    }
    if filters["process"] not in n["processes"]:
        filters["process"] = ""
    if filters["status"] not in STATUS_NAMES:
        filters["status"] = ""
    if not filters["process"]:
        filters["version"] = None
    page_no = max(1, min(_int_arg("page") or 1, 100000))
    query = {"process_key": filters["process"], "version": filters["version"],
             "status": filters["status"], "stage": filters["stage"],
             "department": filters["department"],
             "business_key_contains": filters["business_key"]}
    query = {k: v for k, v in query.items() if v}
    error = None
    try:
        page = eng.list_instances(actor, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE,
                                  **query)
        items, total = list(page.items), page.total
    except EngineError as exc:  # a filter the engine refuses: say so, show nothing
        items, total, error = [], 0, str(exc)
    rows = []
    for inst in items:
        open_tasks = [t for t in eng.case_tasks(inst.id, actor) if t.state in OPEN_STATES]
        rows.append({"instance": inst, "tasks": open_tasks})
    versions, elements = [], {}
    if filters["process"]:
        versions = sorted((d.version for d in eng.list_definition_versions(filters["process"])),
                          reverse=True)
        elements = {v: version_elements(filters["process"], v) for v in versions}
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return render_template(
        "admin/instances.html", rows=rows, total=total, page_no=page_no, pages=pages,
        filters=filters, active_filters={k: v for k, v in filters.items() if v}, names=n, status_names=STATUS_NAMES, versions=versions,
        elements=elements, error=error, max_selected=MAX_SELECTED,
        stages=eng.stage_options(n["definitions"], filters["process"] or None),
        departments=eng.list_departments(),
    )
