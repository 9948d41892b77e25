"""Task specs kunflow uses in place of SpiffWorkflow's defaults, and the parser that uses them;
``element_type``: the BPMN element type a spec stands for.

Only runtime behaviour differs; kunflow serializes state without specs, so no serializer
configuration is involved.
"""

from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser
from SpiffWorkflow.spiff.specs.defaults import CallActivity
from SpiffWorkflow.util.task import TaskState

from .decisions import RecordingDMNEngine

# SpiffWorkflow spec classes -> the BPMN element type they stand for. Any class in a spec's MRO
# counts, first match wins, so kunflow's own specs (subclasses, below and in timers.py) need
# no entry of their own.
_TYPES = {
    "UserTask": "UserTask", "ManualTask": "ManualTask", "ScriptTask": "ScriptTask",
    "ServiceTask": "ServiceTask", "BusinessRuleTask": "BusinessRuleTask",
    "BusinessRuleTaskMixin": "BusinessRuleTask", "SendTask": "SendTask",
    "ReceiveTask": "ReceiveTask", "NoneTask": "Task", "CallActivity": "CallActivity",
    "TransactionSubprocess": "Transaction", "EventSubprocess": "SubProcess",
    "SubWorkflowTask": "SubProcess", "ExclusiveGateway": "ExclusiveGateway",
    "ParallelGateway": "ParallelGateway", "InclusiveGateway": "InclusiveGateway",
    "EventBasedGateway": "EventBasedGateway", "StartEvent": "StartEvent",
    "EndEvent": "EndEvent", "BoundaryEvent": "BoundaryEvent",
    "IntermediateCatchEvent": "IntermediateCatchEvent",
    "IntermediateThrowEvent": "IntermediateThrowEvent",
}
_MULTI = ("StandardLoopTask", "ParallelMultiInstanceTask", "SequentialMultiInstanceTask")


def _class_names(spec) -> list[str]:
    return [cls.__name__ for cls in type(spec).__mro__]


def element_type(spec) -> str:
    """The BPMN type of a task spec (``UserTask``, ``ExclusiveGateway`` …; ``Task`` for the
    library's own specs), the one naming of the repair tools, incidents and the trial run; a
    loop or multi-instance activity has the type of the activity it repeats."""
    names = _class_names(spec)
    if any(n in _MULTI for n in names) and getattr(spec, "task_spec", None):
        inner = spec._wf_spec.task_specs.get(spec.task_spec)
        if inner is not None and inner is not spec:
            return element_type(inner)
    for name in names:
        if name in _TYPES:
            return _TYPES[name]
    return "Task"


def merge_branch_data(join_spec, my_task) -> None:
    """Merge the data of parallel branches by what each branch *changed*.

    SpiffWorkflow merges every branch's whole data dict, the last arrival winning. When a field
    existed before the split (a form started with blank fields), the last branch's untouched
    blank overwrites what the other departments filled in. Here each branch contributes only
    the keys it changed relative to the task where the branches split (the lowest common
    ancestor of the arrivals), in arrival order.
    """
    # In a loop, arrivals from earlier rounds hang off an earlier firing of this join (an
    # ancestor of my_task): those were consumed then and must not count again.
    previous = my_task.parent.find_ancestor(join_spec.name) if my_task.parent else None
    arrivals = [
        t
        for t in my_task.workflow.tasks.values()
        if t.task_spec == join_spec
        and t is not my_task
        and t.has_state(TaskState.FINISHED_MASK)
        and not my_task.is_descendant_of(t)
        and (previous is None or t.is_descendant_of(previous))
    ]
    arrivals.sort(key=lambda t: t.last_state_change)
    parents = [t.parent for t in arrivals if t.parent is not None] + [my_task.parent]
    base = _common_ancestor(parents)
    base_data = base.data if base is not None else {}
    merged = deepcopy(base_data)
    for parent in parents:
        data = parent.data
        for key, value in data.items():
            if key not in base_data or base_data[key] != value:
                merged[key] = deepcopy(value)
        for key in base_data:
            if key not in data:
                merged.pop(key, None)
    # SpiffWorkflow drops the children of completed earlier arrivals (a branch reset case).
    for task in arrivals:
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)
    my_task.data = merged


def _common_ancestor(tasks):
    first, rest = tasks[0], tasks[1:]
    chain = []
    node = first
    while node is not None:
        chain.append(node)
        node = node.parent
    common = {t.id: i for i, t in enumerate(chain)}
    lowest = 0
    for task in rest:
        node = task
        while node is not None and node.id not in common:
            node = node.parent
        if node is None:
            return None
        lowest = max(lowest, common[node.id])
    return chain[lowest]


class BranchMergeParallelGateway(ParallelGateway):
    def _run_hook(self, my_task):
        merge_branch_data(self, my_task)
        return True


def pending_tokens_can_reach(join_spec, my_task) -> bool:
    """Whether a token still on its way may arrive at ``join_spec`` by an input that has none
    yet: the inclusive join must then wait.

    A token is a task before the join (in the task tree) that is not finished: READY, WAITING
    or STARTED. It can arrive when its spec reaches, along sequence flows that do not pass
    through the join itself, an input of the join that has no token. Every path is followed,
    loops included (a refused review going back to its resubmission, a deadline extension going
    back to the review). SpiffWorkflow 3.2's own check follows only the first unvisited parent
    of each element, so a loop whose first incoming flow leads nowhere new hides the token
    behind its second one, and the join fires early.

    The BPMN rule's exception (a token that can also reach an input that has a token does not
    count) is left out: in a diagram where such a token exists — a whole application sent back
    before the split — the join must wait for the resubmitted branches, not fire twice.
    """
    arrivals, pending = [], set()
    for task in my_task.workflow.get_tasks(end_at_spec=join_spec.name):
        if task.task_spec == join_spec:
            arrivals.append(task)
        elif task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            pending.add(task.task_spec)
    filled = {t.parent.task_spec for t in arrivals if t.parent.state == TaskState.COMPLETED}
    # An input whose task is still on its way (the arrival not yet completed) is a token too.
    for task in arrivals:
        if task.parent.has_state(TaskState.DEFINITE_MASK) and task.parent.task_spec not in filled:
            return True
    empty = [spec for spec in join_spec.inputs if spec not in filled]
    # Walk backwards from the empty inputs over every incoming flow, never through the join.
    seen = set(empty)
    stack = list(empty)
    while stack:
        spec = stack.pop()
        if spec in pending:
            return True
        for parent in spec.inputs:
            if parent is not join_spec and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return False


class BranchMergeInclusiveGateway(InclusiveGateway):
    """SpiffWorkflow's inclusive gateway with branch-wise data merging and a reachability check
    over every path (``pending_tokens_can_reach``). Its class name stays out of serialized
    state: kunflow stores state without specs and rebuilds them from the deployed XML."""

    def _check_threshold_unstructured(self, my_task):
        return not pending_tokens_can_reach(self, my_task)

    def _run_hook(self, my_task):
        merge_branch_data(self, my_task)
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


CALL_STATE = "kunflow_call"


class SeparateCallActivity(CallActivity):
    """A call activity whose called process runs as its own instance (its own row).

    The task asks for a child when it is reached (internal data ``kunflow_call`` =
    ``requested``) and waits STARTED; the engine starts the child instance in the same
    transaction (``started``). When the child ends, the engine copies the child's data back,
    marks the call ``done`` and updates the task, which then completes like any task.
    """

    def _update_hook(self, my_task):
        call = my_task.internal_data.get(CALL_STATE)
        if call is None:
            my_task._inherit_data()
            my_task.internal_data[CALL_STATE] = {"process_key": self.spec, "state": "requested"}
            my_task._set_state(TaskState.STARTED)
            return False
        return call.get("state") == "done"

    def _on_cancel(self, my_task):
        call = my_task.internal_data.get(CALL_STATE)
        if call is not None and call.get("state") != "done":
            call["state"] = "cancelled"


class KunflowBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("callActivity"): (CallActivityParser, SeparateCallActivity),
        full_tag("parallelGateway"): (GatewayParser, BranchMergeParallelGateway),
        full_tag("inclusiveGateway"): (ConditionalGatewayParser, BranchMergeInclusiveGateway),
    }

    def get_engine(self, decision_ref, node):
        """SpiffWorkflow's DMN engine for the table, recording each evaluation
        (``engine/decisions.py``)."""
        dmn_engine = super().get_engine(decision_ref, node)
        return RecordingDMNEngine(dmn_engine.decision_table, decision_ref)
