"""Process admins: the cases of a version (filters, pages), migrating them to another version
(dry run first), and batch suspend / resume / terminate (issue 11, area 4)."""

from __future__ import annotations

from flask import g

from engine import InvalidInput

from ..auth.identity import current_engine
from . import bp
from .blueprint import admin_only
from .schemas import (
    AdminInstanceQuery,
    BatchInstances,
    BatchReport,
    InstancePage,
    MigrateInstances,
    MigrationReport,
)

TAGS = ["admin-instances"]
FORBIDDEN = "只有流程管理员可以管理流程实例的版本迁移和批量操作"


def _department(value: str | None) -> str | None:
    """A department code or name -> its code (unknown text is kept: it matches nothing)."""
    if not value:
        return None
    return current_engine().directory().get(value, value)


def _filters(f: dict) -> dict:
    """The GET's filters (or a request's ``filter``) as the engine's keywords."""
    return {
        "process_key": f.get("process"),
        "version": f.get("version"),
        "status": f.get("status"),
        "stage": f.get("stage"),
        "department": _department(f.get("department")),
        "business_key_contains": f.get("business_key"),
    }


def _selected(body) -> tuple[list[int], dict | None]:
    """The instance ids a migrate or batch request names: ``instance_ids``, or every instance
    matching ``filter`` ("all matching"; a filter matching more than 5,000 is refused by the
    engine with 422, never cut short)."""
    ids, given = body.get("instance_ids"), body.get("filter")
    if (ids is None) == (given is None):
        raise InvalidInput("请给出 instance_ids 或 filter（二选一）")
    if ids is not None:
        if not ids:
            raise InvalidInput("请选择要处理的流程实例")
        return ids, None
    filters = _filters(given)
    ids = current_engine().select_instance_ids(g.actor, **filters)
    if not ids:
        raise InvalidInput("没有符合筛选条件的流程实例")
    return ids, filters


@bp.get(
    "/admin/instances",
    tags=TAGS,
    summary="流程实例（流程管理员）：按流程、版本、状态、阶段、部门、业务编号筛选",
    description="department：有未办结任务的部门（编码或名称）；business_key：业务编号中包含的文字；"
    "page 从 1 开始。",
)
@admin_only(FORBIDDEN)
@bp.arguments(AdminInstanceQuery, location="query")
@bp.response(200, InstancePage)
@bp.errors(403, 422)
def list_admin_instances(query):
    limit = query["limit"]
    return current_engine().list_instances(
        g.actor, offset=(query["page"] - 1) * limit, limit=limit, **_filters(query))


@bp.post(
    "/admin/instances/migrate",
    tags=TAGS,
    summary="把实例迁移到流程的另一个版本（流程管理员）",
    description="instance_ids 与 filter 二选一（filter：全部符合筛选条件的实例；超过 5000 个时"
    "整个请求以 422 拒绝，details 给出 matched 与 max，请缩小筛选范围）。"
    "每个实例单独一个事务；结果逐个列出能否迁移及原因。dry_run 为 true 时只检查，不做修改。"
    "mapping 缺省按相同节点标识对应。",
)
@admin_only(FORBIDDEN)
@bp.arguments(MigrateInstances, example={"instance_ids": [1, 2], "target_version": 2,
                                         "mapping": {"check": "joint_check"}, "dry_run": True})
@bp.response(200, MigrationReport)
@bp.errors(403, 404, 422)
def migrate_instances(body):
    ids, filters = _selected(body)
    process_key = body.get("process_key") or (filters or {}).get("process_key")
    return current_engine().migrate_instances(
        g.actor, ids, body["target_version"], body.get("mapping"),
        bool(body.get("dry_run")), process_key)


@bp.post(
    "/admin/instances/batch",
    tags=TAGS,
    summary="批量挂起、恢复或终止实例（流程管理员）",
    description="instance_ids 与 filter 二选一（filter 超过 5000 个实例时以 422 拒绝，请缩小筛选"
    "范围）；reason 必填，写入每个实例的操作日志。"
    "每个实例单独一个事务；结果逐个列出成功与否及原因。",
)
@admin_only(FORBIDDEN)
@bp.arguments(BatchInstances, example={"action": "suspend", "reason": "年度检查",
                                       "instance_ids": [1, 2]})
@bp.response(200, BatchReport)
@bp.errors(403, 422)
def batch_instances(body):
    ids, _ = _selected(body)
    return current_engine().batch_instances(g.actor, body["action"], ids, body["reason"])
