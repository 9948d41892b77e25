"""Repair commands of the process administrator (area 5): skip the step an incident stopped on,
and move tokens (cancel active elements, activate another, or add a token).

Each is one unit of work on the locked instance, saved through ``Store.save`` (version check,
task rows routed and timed as after any step, events), and audited (``incident_skipped``,
``token_moved``). The moves use SpiffWorkflow's own operations: ``Task.cancel`` for a token
that is taken away, ``BpmnWorkflow.reset_from_task_id`` to go back to an element the token
passed on its way (as a send-back does), and, for any other target, a new task of the target's
spec created the way the library creates a triggered task (``_add_child`` as FUTURE, predict,
update), under the finished task the token stood after.
"""

from __future__ import annotations

from copy import deepcopy

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.util.task import TaskState

from ..checks import check_fix_data, text
from ..checks import instance_id as checked_instance_id
from ..clock import utcnow
from ..compaction import prune_event_manager, restore_boundary_events
from ..context import Context
from ..dto import Actor, InstanceInfo
from ..errors import Conflict, Forbidden, InvalidInput
from ..model import definition
from ..model import incident as incident_table
from ..persistence import Persistence, Step
from ..queries import instance_head, read_instance
from ..queries.repair import (
    XML_KINDS,
    active_tasks,
    element_id,
    element_type,
    find_element,
    label,
    running_scopes,
    target_problem,
)
from ..rows import Head, event_row
from ..unit_of_work import retry_on_deadlock

MAX_CANCEL = 50
# Elements whose step cannot be "done without running it": a gateway would open every path,
# a (called) sub-process would be left half done.
_NOT_SKIPPABLE = {
    "ExclusiveGateway": "网关", "ParallelGateway": "网关", "InclusiveGateway": "网关",
    "EventBasedGateway": "网关", "SubProcess": "子流程", "Transaction": "子流程",
    "CallActivity": "调用活动",
}


def refuse_suspended(head) -> None:
    """A suspended case runs nothing until it is resumed (no task can be completed, no timer
    fires, resuming only changes the status): a skip or a move, which run the automatic steps
    after the new position, is refused rather than held."""
    if head.status == "suspended":
        raise Conflict("实例已挂起，请先恢复后再调整环节")


def _owners(wf, task):
    """The tasks that own the sub-processes ``task`` runs in, innermost first."""
    flow = task.workflow
    while flow is not wf and flow.parent_task_id is not None:
        owner = wf.get_task_from_id(flow.parent_task_id)
        if owner is None:
            return
        yield owner
        flow = owner.workflow


def _attach_point(task):
    """The finished task a token stands after: a new token goes under it."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
        parent = parent.parent
    while parent is not None and not parent.has_state(TaskState.COMPLETED):
        parent = parent.parent
    return parent or task.workflow.task_tree


def _cancel_token(task) -> None:
    """Cancel a token; a task with boundary events takes its waiting events with it."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
        for sibling in parent.children:
            if not sibling.has_state(TaskState.FINISHED_MASK):
                sibling.cancel()
    elif not task.has_state(TaskState.FINISHED_MASK):
        task.cancel()


def _create_token(parent, spec, data: dict):
    """A new task of ``spec`` under ``parent``, made ready as the library makes a triggered
    task (``BpmnStartTask.trigger_wf``); an activity with boundary events starts at its
    boundary split, so that its events wait again."""
    for inp in spec.inputs:
        if isinstance(inp, BoundaryEventSplit):
            spec = inp
            break
    child = parent._add_child(spec, TaskState.FUTURE)
    child.triggered = True
    child.data = deepcopy(data)
    spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
    spec._update(child)
    return child


def _xml_kind(bpmn_xml: str, eid: str) -> str | None:
    """What the diagram's element ``eid`` is when it is not a flow node (顺序流, 泳道 …)."""
    try:
        root = etree.fromstring(bpmn_xml.encode("utf-8"))
    except (etree.XMLSyntaxError, ValueError):
        return None
    found = root.xpath("//*[@id=$eid]", eid=eid)
    if not found:
        return None
    tag = etree.QName(found[0]).localname
    return XML_KINDS.get(tag, tag)


class RepairCommands:
    def __init__(self, ctx: Context, persistence: Persistence):
        self.ctx = ctx
        self.persistence = persistence

    # ------------------------------------------------------------------ skip

    @retry_on_deadlock
    def skip_incident(self, instance_id: int, actor: Actor, reason: str,
                      data: dict | None = None) -> InstanceInfo:
        """Complete the step an incident stopped on without running it (``data``, if any, is
        merged into its data as its result); the case goes on and the incident is resolved."""
        instance_id = checked_instance_id(instance_id)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以跳过出错的环节")
        text(reason, "reason", 2000, required=True)
        check_fix_data(data, self.ctx.script_engine.environment.globals,
                       self.ctx.max_step_data_bytes)
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_instance(conn, instance_id)
            head = instance_head(conn, instance_id)
            refuse_suspended(head)
            if head.status != "incident":
                raise Conflict("该实例没有待处理的故障")
            loaded = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            failed = wf.get_tasks(state=TaskState.ERROR)
            if not failed:
                raise Conflict("出错的环节已不在流程中，不能跳过；请重试或移动令牌")
            for task in failed:
                kind = _NOT_SKIPPABLE.get(element_type(task.task_spec))
                if kind:
                    raise InvalidInput(
                        f"出错的环节{label(task.task_spec)}是{kind}，不能跳过：跳过{kind}会使"
                        "流程走向不确定；请修正数据后重试，或移动令牌")
            skipped = [element_id(t.task_spec) or t.task_spec.name for t in failed]
            now = utcnow()

            def skip():
                for task in failed:
                    if data:
                        task.data.update(deepcopy(data))
                    task.complete()  # as ``Task.run`` does once the step has run

            incident = self.persistence.running.advance(wf, skip)
            self.resolve_incidents(conn, instance_id, actor, now)
            events = [event_row(instance_id, str(failed[0].id), actor, "incident_skipped", now,
                                {"elements": skipped, "reason": reason, "data": data or {}})]
            self.persistence.store.save(conn, uow, self.head(head),
                                        Step(wf, loaded, now, events, incident=incident))
            info = read_instance(conn, instance_id)
            uow.commit()
        return info

    # ------------------------------------------------------------------ tokens

    @retry_on_deadlock
    def move_token(self, instance_id: int, actor: Actor, cancel: list[str] | None = None,
                   activate: str | None = None, reason: str | None = None) -> InstanceInfo:
        """Cancel the active tokens of the elements ``cancel`` and/or put a token on the
        element ``activate`` (both: a move; only ``activate``: an added token). Refused, with
        the reason, where the target cannot hold a token."""
        instance_id = checked_instance_id(instance_id)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以移动令牌")
        cancel = self.checked_cancel(cancel)
        text(activate, "activate", 200)
        text(reason, "reason", 2000, required=True)
        activate = activate or None
        if not cancel and activate is None:
            raise InvalidInput("请指定要取消的环节或要激活的环节")
        with self.ctx.uow() as uow:
            conn = uow.conn
            self.ctx.locks.lock_instance(conn, instance_id)
            head = instance_head(conn, instance_id)
            if head.status == "completed":
                raise Conflict("实例已办结，不能移动令牌")
            if head.status == "terminated":
                raise Conflict("实例已终止，不能移动令牌")
            refuse_suspended(head)
            loaded = self.ctx.spec(head.definition_id)
            wf = self.persistence.store.load_workflow(conn, head)
            tokens = active_tasks(wf)
            by_element: dict[str, list] = {}
            for task in tokens:
                by_element.setdefault(element_id(task.task_spec), []).append(task)

            cancelled = []
            for eid in cancel:
                if eid not in by_element:
                    spec, _ = find_element(loaded, eid)
                    if spec is None:
                        raise InvalidInput(f"流程图中没有标识为“{eid}”的流程节点，无法取消")
                    raise Conflict(f"环节{label(spec)}当前没有活动令牌，请刷新后重试")
                cancelled.extend(by_element[eid])
            gone = set(map(id, cancelled))

            def removed(task) -> bool:
                return id(task) in gone or any(id(o) in gone for o in _owners(wf, task))

            remaining = [t for t in tokens if not removed(t)]
            if head.status == "incident":
                errored = [t for t in wf.get_tasks(state=TaskState.ERROR) if not removed(t)]
                if errored:
                    raise Conflict("实例有待处理的故障：请先重试或跳过出错的环节，"
                                   f"或把出错的环节{label(errored[0].task_spec)}一并取消")

            target = flow = None
            if activate is not None:
                target, flow = self.target(conn, head, loaded, wf, activate, cancelled)
                holders = [t for t in by_element.get(activate, ()) if not removed(t)]
                if holders:
                    raise InvalidInput(f"环节{label(target)}已有活动令牌，不能再放置一个；"
                                       "如需重新办理，请同时取消它")
            elif not remaining:
                raise InvalidInput("取消后实例将没有任何活动环节；要结束实例请使用“终止”")

            earlier = self.reached_before(wf, target, flow, cancelled, remaining)
            reference = [t for t in cancelled if t.workflow is flow] or [
                t for t in remaining if t.workflow is flow]
            now = utcnow()

            def move():
                for task in cancelled:
                    if earlier is None or not earlier_covers(task):
                        _cancel_token(task)
                if earlier is not None:
                    data = deepcopy(reference[0].data)
                    restore_boundary_events(earlier)
                    wf.reset_from_task_id(earlier.id, data)
                    prune_event_manager(wf)
                elif target is not None:
                    ref = max(reference, key=lambda t: t.last_state_change) if reference else None
                    parent = _attach_point(ref) if ref is not None else flow.task_tree
                    _create_token(parent, target, ref.data if ref is not None else {})

            def earlier_covers(task) -> bool:
                return task.is_descendant_of(earlier) or any(
                    o.is_descendant_of(earlier) for o in _owners(wf, task))

            incident = self.persistence.running.advance(wf, move)
            if head.status == "incident":
                self.resolve_incidents(conn, instance_id, actor, now)
            events = [event_row(instance_id, None, actor, "token_moved", now, {
                "cancelled": cancel, "activated": activate, "reason": reason,
                "how": "reset" if earlier is not None else ("created" if target else None)})]
            self.persistence.store.save(conn, uow, self.head(head), Step(
                wf, loaded, now, events, incident=incident,
                reopened=str(earlier.id) if earlier is not None else None))
            info = read_instance(conn, instance_id)
            uow.commit()
        return info

    # ------------------------------------------------------------------ parts

    @staticmethod
    def head(row) -> Head:
        return Head(row.id, row.definition_id, row.process_key, row.status, row.version,
                    row.completed_tasks)

    @staticmethod
    def checked_cancel(cancel) -> list[str]:
        if cancel is None:
            return []
        if not isinstance(cancel, list | tuple):
            raise InvalidInput("cancel 必须是环节标识的列表")
        if len(cancel) > MAX_CANCEL:
            raise InvalidInput(f"一次最多取消 {MAX_CANCEL} 个环节")
        seen = []
        for eid in cancel:
            text(eid, "cancel", 200, required=True)
            if eid in seen:
                raise InvalidInput(f"要取消的环节“{eid}”重复出现")
            seen.append(eid)
        return seen

    def target(self, conn, head, loaded, wf, eid: str, cancelled: list):
        """(target spec, the workflow its token goes into), or InvalidInput with the reason."""
        spec, process = find_element(loaded, eid)
        if spec is None:
            xml = conn.execute(sa.select(definition.c.bpmn_xml)
                               .where(definition.c.id == head.definition_id)).scalar_one()
            kind = _xml_kind(xml, eid)
            if kind is None:
                raise InvalidInput(f"流程图中没有标识为“{eid}”的元素")
            raise InvalidInput(f"“{eid}”是{kind}，不是流程节点，不能放置令牌")
        problem = target_problem(spec)
        if problem:
            raise InvalidInput(problem)
        if cancelled:
            flows = {id(t.workflow): t.workflow for t in cancelled}
            if len(flows) > 1:
                raise InvalidInput("要取消的环节位于不同的（子）流程中，不能移到同一个环节")
            (flow,) = flows.values()
            if flow.spec.name != process.name:
                raise InvalidInput(f"环节{label(spec)}与要取消的环节不在同一个（子）流程中；"
                                   "令牌只能在同一（子）流程内移动")
            return spec, flow
        flows = running_scopes(wf).get(process.name, [])
        if not flows:
            raise InvalidInput(f"环节{label(spec)}所在的子流程“{process.name}”当前没有运行，"
                               "不能在其中放置令牌")
        if len(flows) > 1:
            raise InvalidInput(f"环节{label(spec)}所在的子流程“{process.name}”有多个实例在运行；"
                               "请同时指定要取消的环节")
        return spec, flows[0]

    @staticmethod
    def reached_before(wf, target, flow, cancelled, remaining):
        """The completed task of ``target`` that the cancelled tokens passed on their way
        (their ancestor in the same workflow), when going back to it removes no other token;
        else None (the target gets a new task)."""
        if target is None or not cancelled:
            return None
        token = next((t for t in cancelled if t.workflow is flow), None)
        node = token.parent if token is not None else None
        while node is not None:
            if node.task_spec is target and node.has_state(TaskState.COMPLETED):
                break
            node = node.parent
        if node is None:
            return None
        top = node.parent if isinstance(node.parent.task_spec, BoundaryEventSplit) else node
        for task in remaining:
            if task.is_descendant_of(top) or any(o.is_descendant_of(top)
                                                 for o in _owners(wf, task)):
                return None  # going back would take another token with it
        return node

    def resolve_incidents(self, conn, instance_id: int, actor: Actor, now) -> None:
        conn.execute(
            incident_table.update()
            .where(incident_table.c.instance_id == instance_id,
                   incident_table.c.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by=actor.username)
        )
