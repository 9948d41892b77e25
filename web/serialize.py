"""Engine DTOs as JSON-ready dicts: one small function per type, datetimes as ISO 8601 (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask.json.provider import DefaultJSONProvider

from engine import (
    DefinitionInfo,
    DepartmentInfo,
    DeployResult,
    EventInfo,
    InstanceInfo,
    Page,
    TaskInfo,
    UserInfo,
)
from engine.casefiles import AttachmentInfo, DiagramMarks, DraftInfo


def iso(value: datetime | None) -> str | None:
    """The engine keeps naive UTC; say so in the string."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class JSONProvider(DefaultJSONProvider):
    """Chinese text unescaped; datetimes inside process data as ISO 8601 too."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return iso(o)
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        return str(o)  # process data may hold values JSON cannot; never fail a response on them


def user_json(u: UserInfo) -> dict:
    return {
        "username": u.username,
        "display_name": u.display_name,
        "department_code": u.department_code,
        "roles": list(u.roles),
        "active": u.active,
    }


def department_json(d: DepartmentInfo) -> dict:
    return {"code": d.code, "name": d.name, "kind": d.kind, "parent_code": d.parent_code}


def definition_json(d: DefinitionInfo) -> dict:
    return {
        "id": d.id,
        "key": d.key,
        "version": d.version,
        "name": d.name,
        "filename": d.filename,
        "checksum": d.checksum,
        "deployed_by": d.deployed_by,
        "deployed_at": iso(d.deployed_at),
        "lanes": dict(d.lanes),
        "files": list(d.files),
        "warnings": [dict(w) for w in d.warnings],
        "manual_start": d.manual_start,
        "start_departments": (
            None if d.start_departments is None else list(d.start_departments)
        ),
        "start_form_key": d.start_form_key,
    }


def deploy_json(r: DeployResult) -> dict:
    return {**definition_json(r.definition), "created": r.created}


def task_json(t: TaskInfo) -> dict:
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "process_key": t.process_key,
        "element_id": t.element_id,
        "name": t.name,
        "lane": t.lane,
        "department_code": t.department_code,
        "candidate_role": t.candidate_role,
        "assignee": t.assignee,
        "state": t.state,
        "created_at": iso(t.created_at),
        "claimed_at": iso(t.claimed_at),
        "due_at": iso(t.due_at),
        "due_provisional": t.due_provisional,
        "paused_at": iso(t.paused_at),
        "completed_at": iso(t.completed_at),
        "completed_by": t.completed_by,
        "form_key": t.form_key,
        "stage": t.stage,
        "business_key": t.business_key,
        "title": t.title,
        "data": t.data,
    }


def instance_json(i: InstanceInfo) -> dict:
    return {
        "id": i.id,
        "process_key": i.process_key,
        "definition_version": i.definition_version,
        "business_key": i.business_key,
        "title": i.title,
        "status": i.status,
        "version": i.version,
        "started_by": i.started_by,
        "started_at": iso(i.started_at),
        "updated_at": iso(i.updated_at),
        "ended_at": iso(i.ended_at),
        "tasks": [task_json(t) for t in i.tasks],
        "data": i.data,
        "stage": i.stage,
        "phase": i.phase,
        "parent_instance_id": i.parent_instance_id,
    }


def event_json(e: EventInfo) -> dict:
    return {
        "id": e.id,
        "instance_id": e.instance_id,
        "task_id": e.task_id,
        "actor": e.actor,
        "kind": e.kind,
        "at": iso(e.at),
        "data": e.data,
    }


def page_json(page: Page, item) -> dict:
    return {
        "items": [item(x) for x in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


def incident_json(i: dict) -> dict:
    return {
        "id": i["id"],
        "instance_id": i["instance_id"],
        "process_key": i["process_key"],
        "business_key": i["business_key"],
        "task_id": i["task_id"],
        "element_id": i["element_id"],
        "message": i["message"],
        "created_at": iso(i["created_at"]),
        "resolved_at": iso(i["resolved_at"]),
        "resolved_by": i["resolved_by"],
    }


def pause_json(p: dict) -> dict:
    return {
        "id": p["id"],
        "task_id": p["task_id"],
        "paused_at": iso(p["paused_at"]),
        "paused_by": p["paused_by"],
        "reason": p["reason"],
        "resumed_at": iso(p["resumed_at"]),
        "resumed_by": p["resumed_by"],
    }


def message_outcome_json(outcome: dict) -> dict:
    """``status`` delivered / started (with ``instance_id``) or waiting (with ``message_id``)."""
    keys = ("status", "instance_id", "message_id")
    return {k: outcome[k] for k in keys if outcome.get(k) is not None}


def attachment_json(a: AttachmentInfo) -> dict:
    return {
        "id": a.id,
        "instance_id": a.instance_id,
        "task_id": a.task_id,
        "field": a.field,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "uploaded_by": a.uploaded_by,
        "uploaded_at": iso(a.uploaded_at),
    }


def draft_json(d: DraftInfo, *, with_data: bool = True) -> dict:
    out = {"task_id": d.task_id, "saved_at": iso(d.saved_at)}
    if with_data:
        out["data"] = d.data
    return out


def diagram_json(m: DiagramMarks) -> dict:
    return {
        "definition_key": m.definition_key,
        "definition_version": m.definition_version,
        "completed": list(m.completed),
        "current": list(m.current),
        "overdue": list(m.overdue),
        "task_links": dict(m.task_links),
    }


def task_context_json(ctx: dict) -> dict:
    """``CaseFiles.task_context``: what a task page shows besides the task."""
    return {
        "process_name": ctx["process_name"],
        "form": ctx["form"],
        "send_back_targets": [{"id": i, "name": n} for i, n in ctx["send_back_targets"]],
        "pausable": ctx["pausable"],
        "can_work": ctx["can_work"],
        "instance_status": ctx["instance_status"],
    }


def case_ref_json(c: dict) -> dict:
    return {
        "id": c["id"],
        "process_key": c["process_key"],
        "business_key": c["business_key"],
        "title": c["title"],
        "status": c["status"],
    }


def related_json(related: dict) -> dict:
    parent = related["parent"]
    return {
        "parent": case_ref_json(parent) if parent is not None else None,
        "children": [case_ref_json(c) for c in related["children"]],
    }
