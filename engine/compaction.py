"""Keep a workflow's task tree small: SpiffWorkflow keeps every finished task forever.

Every loop round adds a level to the task tree, and `do_engine_steps()` walks the whole tree,
so a long-running instance gets slower with each completed task and, at depth 1000, stalls
silently (the library's iterators stop descending there). kunflow keeps its own history in the
`task` and `event` tables, so the engine does not need finished branches. After each command:

- finished tasks that lead to no unfinished task (closed side branches, cancelled paths,
  completed leaves) are dropped;
- finished tasks with exactly one child are spliced out of the chain (the child is attached to
  the grandparent), so the distance from the root to the live frontier stays bounded.

Kept untouched: the root and its direct children (SpiffWorkflow's start task), every unfinished
task with its parent and grandparent (joins read their inputs from parents, boundary-event joins
find their split two levels up), arrivals at a parallel/inclusive join that the join has not
consumed yet, tasks that own a sub-process still there, and the direct children of every kept
boundary-event split (a send-back to the task resets each child of its split: without its
boundary events the reopened task would have no timers, and a spliced-in successor of a fired
event would be reset in its place). Ancestry between the remaining tasks is preserved, which is
all that joins and loops compare.

Finished embedded sub-processes (a process that passes through one every month, the instances
of a multi-instance sub-process) are deleted once their owning task has finished and nothing
reads them (``drop_finished_subprocesses``): their results are in the owning task's data.

The library leaves tasks that a reset removes from the tree in the workflow's event manager;
``prune_event_manager`` forgets them (they would be refreshed as timers without a parent).
"""

from __future__ import annotations

from collections.abc import Mapping

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

from .definitions import entries

_KEEP_ANCESTORS = 2


def compact_workflow(workflow, send_back: Mapping[str, tuple] | None = None) -> int:
    """Compact the top workflow and its sub-processes in place; returns tasks removed.

    ``send_back``: element id -> the element ids its task may send the case back to, as the
    definition's task infos hold them (``ParsedDefinition.send_back``); see
    ``send_back_targets`` for a caller without it."""
    prune_event_manager(workflow)
    if workflow.completed:
        return 0
    removed = drop_finished_subprocesses(workflow, send_back)
    # Only the owners of the sub-processes still there (running ones, and finished ones that
    # are still read) must stay in the tree.
    owners = set(workflow.subprocesses)
    removed += _compact_tree(workflow, owners, send_back)
    for sub in list(workflow.subprocesses.values()):
        removed += _compact_tree(sub, owners, send_back)
    if removed:
        prune_event_manager(workflow)
    return removed


def drop_finished_subprocesses(workflow, send_back: Mapping[str, tuple] | None = None) -> int:
    """Delete embedded sub-processes that are over and that nothing reads any more; returns
    the tasks removed with them.

    A sub-process is over when it has completed (or was cancelled) and the task that owns it
    has finished: its results are then in the owning task's data. It is kept while

    - the owning task's parent is still running: a multi-instance (or loop) task reads its
      finished instances until it completes itself;
    - an open task may send the case back into it: ``Engine.send_back`` looks for the target
      among the open task's ancestors in the open task's own (sub-)workflow, so only a
      sub-process that contains an open task with ``send_back_targets`` (or contains the
      sub-process of one) can be reached. A finished sub-process holds no open task, so this
      keeps nothing today; the check guards a sub-process that is reopened by a reset.

    A send-back to the owning task itself needs no old sub-process: the reset deletes it anyway
    and the task creates a new one when it runs again.
    """
    subprocesses = workflow.subprocesses
    if not subprocesses:
        return 0
    # The workflow each sub-process's owning task lives in (the library's parent_workflow
    # searches every sub-process for the task, each time it is asked).
    holder = {}
    for wf in (workflow, *subprocesses.values()):
        for tid in subprocesses.keys() & wf.tasks.keys():
            holder[tid] = wf
    reachable = set()  # ids of (sub-)workflows an open task's send-back may walk into
    for wf in (workflow, *subprocesses.values()):
        for task in wf.tasks.values():
            if (task.has_state(TaskState.FINISHED_MASK)
                    or not send_back_targets(task.task_spec, send_back)):
                continue
            node = wf
            while node is not None and id(node) not in reachable:
                reachable.add(id(node))
                node = holder.get(node.parent_task_id) if node is not workflow else None
    inside = {}  # id of a sub-process -> the sub-processes directly inside it
    for owner_id, sub in subprocesses.items():
        inside.setdefault(id(holder.get(owner_id)), []).append(sub)
    removed = 0
    for owner_id, sub in list(subprocesses.items()):
        if owner_id not in subprocesses or not sub.completed:
            continue
        owner = holder[owner_id].tasks.get(owner_id) if owner_id in holder else None
        if owner is None or not owner.has_state(TaskState.COMPLETED | TaskState.CANCELLED):
            continue
        parent = owner.parent
        if parent is not None and not parent.has_state(TaskState.FINISHED_MASK):
            continue  # a running multi-instance/loop task still reads this instance
        if _any_reachable(sub, inside, reachable):
            continue
        removed += len(workflow.delete_subprocess(owner))
    return removed


def _any_reachable(sub, inside, reachable) -> bool:
    """Whether ``sub`` or a sub-process inside it (at any depth) is in ``reachable``."""
    frontier = [sub]
    while frontier:
        node = frontier.pop()
        if id(node) in reachable:
            return True
        frontier.extend(inside.get(id(node), ()))
    return False


def _compact_tree(wf, owners: set, send_back: Mapping[str, tuple] | None) -> int:
    tasks = wf.tasks
    root = wf.task_tree
    if root is None:
        return 0
    protected = {root.id, *root._children, *(o for o in owners if o in tasks)}
    keep = _pending_arrivals(tasks)
    live = set()  # ancestors-or-self of kept tasks: never dropped
    for task in tasks.values():
        if task.has_state(TaskState.FINISHED_MASK) and task.id not in keep:
            continue
        protected.add(task.id)
        node, depth = task, 0
        while node is not None and (depth <= _KEEP_ANCESTORS or node.id not in live):
            live.add(node.id)
            if depth < _KEEP_ANCESTORS and node._parent is not None:
                protected.add(node._parent)
            depth += 1
            node = tasks.get(node._parent) if node._parent is not None else None
    protected.update(o for o in owners if o in tasks)
    # A task that is still running with finished children (a multi-instance or loop task
    # counting its instances) reads those children: keep them.
    for task in list(tasks.values()):
        if task._children and not task.has_state(TaskState.FINISHED_MASK):
            for child_id in task._children:
                child = tasks.get(child_id)
                if child is not None and child.has_state(TaskState.FINISHED_MASK):
                    protected.add(child_id)
                    live.add(child_id)
    # Earlier user tasks that an open task may send the case back to (退回) stay in the tree.
    for task in list(tasks.values()):
        if task.has_state(TaskState.FINISHED_MASK):
            continue
        targets = send_back_targets(task.task_spec, send_back)
        node = task.parent
        while targets and node is not None:
            if getattr(node.task_spec, "bpmn_id", None) in targets:
                protected.add(node.id)
                if node._parent is not None:
                    protected.add(node._parent)
            node = node.parent
    # The boundary events of a kept split: a reset of its task resets each of them.
    for tid in list(protected):
        task = tasks.get(tid)
        if task is not None and isinstance(task.task_spec, BoundaryEventSplit):
            protected.update(task._children)

    # Post-order over the tree without recursion (legacy trees can be very deep).
    order = []
    stack = [root.id]
    while stack:
        tid = stack.pop()
        order.append(tid)
        stack.extend(tasks[tid]._children)
    removed = 0
    for tid in reversed(order):
        if tid in protected:
            continue
        task = tasks.get(tid)
        if task is None or not task.has_state(TaskState.FINISHED_MASK):
            continue
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            continue
        if not task._children and tid not in live:
            parent._children.remove(tid)
            del tasks[tid]
            removed += 1
        elif len(task._children) == 1:
            child = tasks[task._children[0]]
            parent._children[parent._children.index(tid)] = child.id
            child._parent = parent.id
            del tasks[tid]
            removed += 1
    if removed and wf.last_task is not None and wf.last_task.id not in tasks:
        wf.last_task = None
    return removed


def prune_event_manager(workflow) -> int:
    """Forget event-manager entries whose task is no longer in its workflow's tree (removed by
    a reset) or has finished; returns how many were dropped."""
    manager = workflow.event_manager
    live_workflows = {id(workflow), *(id(sp) for sp in workflow.subprocesses.values())}
    stale = [
        tid
        for tid, task in manager.tasks.items()
        if id(task.workflow) not in live_workflows
        or task.workflow.tasks.get(tid) is not task
        or task.has_state(TaskState.FINISHED_MASK)
    ]
    for tid in stale:
        del manager.tasks[tid]
    return len(stale)


def restore_boundary_events(task) -> None:
    """Make the split of ``task`` hold exactly its main task and its boundary events again.

    Trees compacted before the split's children were kept may have lost finished boundary
    events (the reopened task would get no timer) or have the successor of a fired one spliced
    in its place (a reset would reopen that successor under its old id). Such successors are
    removed, as the reset would remove them, and each missing boundary event is added back.
    """
    split = task.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return
    outputs = split.task_spec.outputs
    for child in list(split.children):
        if child.task_spec not in outputs:
            split.workflow._remove_task(child.id)
    present = {child.task_spec for child in split.children}
    for spec in outputs:
        if spec not in present:
            split._add_child(spec, TaskState.CANCELLED)


def send_back_targets(task_spec, send_back: Mapping[str, tuple] | None = None
                      ) -> tuple[str, ...]:
    """Element ids the diagram lets this task send the case back to: from ``send_back`` (the
    definition's task infos, read when it was parsed) when given; else the spec's
    ``send_back_targets`` property, read by the same rule (``definitions.entries``), for a
    caller that holds a bare workflow."""
    if send_back is not None:
        return send_back.get(getattr(task_spec, "bpmn_id", None) or task_spec.name, ())
    props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    return tuple(entries(props.get("send_back_targets")))


def _pending_arrivals(tasks) -> set:
    """Earlier arrivals at parallel/inclusive joins that the join has not consumed yet.

    When a branch arrives at a join that still waits for others, SpiffWorkflow cancels the
    previous arrival and, once the last branch arrives, counts the cancelled arrivals' parents as
    the inputs that are done. Arrivals from before the join last fired are consumed: only those
    below the deepest completed task of that join (or all, before it first fired) still count.
    The deepest completed task is kept as the anchor of that test.
    """
    by_spec: dict = {}
    for task in tasks.values():
        if isinstance(task.task_spec, UnstructuredJoin):
            by_spec.setdefault(task.task_spec, []).append(task)
    keep = set()
    for join_tasks in by_spec.values():
        fired = [t for t in join_tasks if t.state == TaskState.COMPLETED]
        anchor = max(fired, key=lambda t: t.depth) if fired else None
        if anchor is not None:
            keep.add(anchor.id)
        for t in join_tasks:
            if t.state == TaskState.COMPLETED or not t.has_state(TaskState.FINISHED_MASK):
                continue
            if anchor is None or t.is_descendant_of(anchor):
                keep.add(t.id)
    return keep


def raise_iterator_depth(limit: int = 1_000_000) -> None:
    """Lift the library's 1000-level walk limit as a second line of defence.

    Compaction keeps trees shallow; this only matters for trees loaded from before compaction.
    """
    from SpiffWorkflow.bpmn.util import task as bpmn_task_util
    from SpiffWorkflow.util import task as task_util

    for cls in (task_util.TaskIterator, bpmn_task_util.BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__)
        names = cls.__init__.__code__.co_varnames[1 : cls.__init__.__code__.co_argcount]
        idx = names.index("max_depth") - (len(names) - len(defaults))
        if defaults[idx] != limit:
            defaults[idx] = limit
            cls.__init__.__defaults__ = tuple(defaults)
