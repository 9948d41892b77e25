"""Reads of the repair tools (area 5): the active tokens of a case and the elements a token may
be moved to (``instance_tokens``), and the element and data of an incident's failing step. The
helpers that name an element (its name; its BPMN type is ``specs.element_type``, shared with the
trial run) and say whether it can hold a token are shared with ``commands/repair.py``."""

from __future__ import annotations

import json

from SpiffWorkflow.util.task import TaskState

from ..checks import instance_id as checked_instance_id
from ..context import Context
from ..dto import ActiveToken, Actor, TokenTarget, TokenView
from ..errors import Forbidden, NotFound
from ..persistence import Store, spiff_task
from ..rows import INSTANCE_HEAD
from ..specs import element_type

# Task states that hold a token: waiting to be worked on, running, waiting for an event, failed.
TOKEN_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR

# Element kinds in the XML that are not flow nodes (a refused target names what it is).
XML_KINDS = {
    "sequenceFlow": "顺序流", "messageFlow": "消息流", "lane": "泳道", "laneSet": "泳道",
    "participant": "池", "process": "流程", "collaboration": "协作图", "textAnnotation": "注释",
    "association": "关联", "dataObject": "数据对象", "dataObjectReference": "数据对象",
    "dataStoreReference": "数据存储", "group": "分组", "message": "消息", "signal": "信号",
    "error": "错误定义", "escalation": "升级定义",
}

MAX_VALUE_CHARS = 2000  # a larger value of an incident's data is cut to its JSON's start
MAX_DATA_CHARS = 16000  # an incident carries at most about this much data


def element_id(spec) -> str | None:
    """The BPMN id of a spec that stands for a diagram element; None for the library's own
    (start, end, boundary splits and joins)."""
    return getattr(spec, "bpmn_id", None)


def element_name(spec) -> str:
    return getattr(spec, "bpmn_name", None) or element_id(spec) or spec.name


def is_element(spec) -> bool:
    """A spec of a diagram element itself (not the repeated child of a multi-instance)."""
    eid = element_id(spec)
    return eid is not None and spec.name == eid


def label(spec) -> str:
    """How a refusal names an element: “name”（id）."""
    eid = element_id(spec)
    name = getattr(spec, "bpmn_name", None)
    return f"“{name}”（{eid}）" if name and name != eid else f"“{eid}”"


def target_problem(spec) -> str | None:
    """Why a token cannot be placed on this element (Chinese), or None when it can."""
    kind = element_type(spec)
    names = [cls.__name__ for cls in type(spec).__mro__]
    if kind == "StartEvent":
        return f"{label(spec)}是开始事件，不能放置令牌：开始事件只在发起时触发"
    if kind == "BoundaryEvent":
        return f"{label(spec)}是边界事件，不能放置令牌：它只能由所附着的环节触发"
    if "EventSubprocess" in names:
        return f"{label(spec)}是事件子流程，不能放置令牌：它只能由事件触发"
    if kind in ("ParallelGateway", "InclusiveGateway") and len(spec.inputs) > 1:
        return (f"{label(spec)}是汇聚网关，不能放置令牌：它会一直等待其他分支到达；"
                "请把令牌放到网关之后的环节")
    return None


def scopes_of(loaded) -> list:
    """The process spec and the specs of its embedded sub-processes."""
    return [loaded.spec, *loaded.subprocess_specs.values()]


def find_element(loaded, eid: str):
    """(spec, process spec holding it) of the element ``eid``, or (None, None)."""
    for process in scopes_of(loaded):
        spec = process.task_specs.get(eid)
        if spec is not None and is_element(spec):
            return spec, process
    return None, None


def workflows_of(wf) -> list:
    """The workflow and its sub-process workflows still there."""
    return [wf, *wf.subprocesses.values()]


def active_tasks(wf) -> list:
    """The tasks that hold a token, in tree order per (sub-)workflow: the repeated children of
    a multi-instance are held by the multi-instance task itself, boundary events by the task
    they are attached to."""
    out, seen = [], set()
    for flow in workflows_of(wf):
        if flow is not wf and flow.completed:
            continue
        # The top workflow's iterator walks into its sub-processes too: each task once.
        for task in flow.get_tasks(state=TOKEN_STATES):
            spec = task.task_spec
            if task.id in seen or not is_element(spec) or element_type(spec) == "BoundaryEvent":
                continue
            seen.add(task.id)
            out.append(task)
    return out


def token_of(task) -> ActiveToken:
    spec = task.task_spec
    return ActiveToken(str(task.id), element_id(spec), element_name(spec), element_type(spec),
                       TaskState.get_name(task.state).lower(), task.workflow.spec.name)


def running_scopes(wf) -> dict:
    """Process spec name -> the workflows of it that hold a token (the top one always)."""
    scopes: dict[str, list] = {wf.spec.name: [wf]}
    for task in active_tasks(wf):
        flows = scopes.setdefault(task.workflow.spec.name, [])
        if task.workflow not in flows:
            flows.append(task.workflow)
    return scopes


def targets_of(wf) -> list[TokenTarget]:
    """Elements that may receive a token: those of the process and of each sub-process that
    runs once now, where a token can stand."""
    out = []
    for name, flows in running_scopes(wf).items():
        if len(flows) != 1:
            continue  # several instances of a sub-process: the target would be ambiguous
        for spec in flows[0].spec.task_specs.values():
            if is_element(spec) and target_problem(spec) is None:
                out.append(TokenTarget(element_id(spec), element_name(spec),
                                       element_type(spec), name))
    return out


def bounded_data(data: dict) -> tuple[dict, bool]:
    """``data`` with each value at most ``MAX_VALUE_CHARS`` of JSON and the whole at most
    about ``MAX_DATA_CHARS``; (the data, whether something was cut)."""
    out, used, cut = {}, 0, False
    for key in sorted(data, key=str):
        if key == "data_objects" and not data[key]:
            continue
        try:
            text = json.dumps(data[key], ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = json.dumps(str(data[key]), ensure_ascii=False)
        value = data[key]
        if len(text) > MAX_VALUE_CHARS:
            value, cut = text[:MAX_VALUE_CHARS] + "…", True
            text = value
        if used + len(text) > MAX_DATA_CHARS:
            return out, True
        out[str(key)] = value
        used += len(text) + len(str(key))
    return out, cut


def instance_head(conn, iid: int):
    """The instance's head row; NotFound when there is none (as ``instances.instance_head``,
    which imports this module)."""
    head = conn.execute(INSTANCE_HEAD, {"id": iid}).first()
    if head is None:
        raise NotFound(f"流程实例 {iid} 不存在")
    return head


_UNLOADABLE = object()  # a workflow that could not be loaded (in ``workflows``)


def incident_details(ctx: Context, store: Store, conn, row,
                     workflows: dict | None = None) -> dict:
    """Element name and type of an incident's failing step, and (open incidents of a parked
    case) its task's data, bounded: the extra fields of ``IncidentInfo``. ``workflows``: the
    cases already loaded by this request, by instance id (a list loads each case once, however
    many of its incidents are open)."""
    out: dict = {}
    try:
        loaded = ctx.spec(row.definition_id)
    except Exception:  # a definition that no longer parses: the row alone
        return out
    if row.element_id:
        spec, _ = find_element(loaded, row.element_id)
        if spec is not None:
            out["element_name"] = element_name(spec)
            out["element_type"] = element_type(spec)
    if row.resolved_at is None and row.task_id and row.status == "incident":
        workflows = {} if workflows is None else workflows
        wf = workflows.get(row.instance_id)
        if wf is None:
            head = conn.execute(INSTANCE_HEAD, {"id": row.instance_id}).first()
            try:
                wf = store.load_workflow(conn, head)
            except Exception:  # a state that cannot load: the incident's message says why
                wf = _UNLOADABLE
            else:
                ctx.live.checkin(head.id, head.version, wf)
            workflows[row.instance_id] = wf
        if wf is _UNLOADABLE:
            return out
        task = spiff_task(wf, row.task_id)
        if task is not None:
            out["data"], out["data_truncated"] = bounded_data(dict(task.data))
    return out


class RepairQueries:
    def __init__(self, ctx: Context, store: Store):
        self.ctx = ctx
        self.store = store

    def instance_tokens(self, instance_id: int, actor: Actor) -> TokenView:
        """The case's active tokens and where a token may be moved to (process admins)."""
        instance_id = checked_instance_id(instance_id)
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以查看和移动令牌")
        with self.ctx.uow(readonly=True) as uow:
            head = instance_head(uow.conn, instance_id)
            if head.status in ("completed", "terminated"):
                return TokenView(instance_id, head.status)
            wf = self.store.load_workflow(uow.conn, head)
        self.ctx.live.checkin(instance_id, head.version, wf)
        active = tuple(token_of(t) for t in active_tasks(wf))
        return TokenView(instance_id, head.status, active, tuple(targets_of(wf)))
