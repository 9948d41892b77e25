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
find their split two levels up), earlier arrivals at a join that is still pending, and tasks
that own a running sub-process. Ancestry between the
remaining tasks is preserved, which is all that joins and loops compare.
"""

from __future__ import annotations

from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

_KEEP_ANCESTORS = 2


def compact_workflow(workflow) -> int:
    """Compact the top workflow and its sub-processes in place; returns tasks removed."""
    if workflow.completed:
        return 0
    owners = set(workflow.subprocesses)
    removed = _compact_tree(workflow, owners)
    for sub in list(workflow.subprocesses.values()):
        removed += _compact_tree(sub, owners)
    return removed


def _compact_tree(wf, owners: set) -> int:
    tasks = wf.tasks
    root = wf.task_tree
    if root is None:
        return 0
    protected = {root.id, *root._children, *(o for o in owners if o in tasks)}
    # A parallel/inclusive join cancels each earlier arrival and, when the last branch arrives,
    # counts the cancelled arrivals' parents: keep those while a task of that join is pending.
    pending_joins = {
        t.task_spec
        for t in tasks.values()
        if isinstance(t.task_spec, Join) and not t.has_state(TaskState.FINISHED_MASK)
    }
    live = set()  # ancestors-or-self of kept tasks: never dropped
    for task in tasks.values():
        if task.has_state(TaskState.FINISHED_MASK) and task.task_spec not in pending_joins:
            continue
        protected.add(task.id)
        node, depth = task, 0
        while node is not None and node.id not in live:
            live.add(node.id)
            if depth < _KEEP_ANCESTORS and node._parent is not None:
                protected.add(node._parent)
            depth += 1
            node = tasks.get(node._parent) if node._parent is not None else None
    protected.update(o for o in owners if o in tasks)

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
