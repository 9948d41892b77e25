"""Messages between instances: what a workflow waits for and what it threw outward."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from .specs import CALL_STATE


def waiting_message_names(workflow) -> frozenset[str]:
    """Names of the messages the workflow's catch events / receive tasks / event-based
    gateways wait for."""
    names = set()
    for task in list(workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        for d in (definition, *(getattr(definition, "event_definitions", None) or ())):
            if d is not None and "Message" in type(d).__name__ and getattr(d, "name", None):
                names.add(d.name)
    return frozenset(names)


def thrown_messages(workflow) -> list[tuple[str, object]]:
    """Pop the message events thrown that no catcher inside this workflow took."""
    out = []
    for evt in workflow.get_events():
        definition = evt.event_definition
        if isinstance(definition, MessageEventDefinition) or "Message" in type(definition).__name__:
            out.append((definition.name, evt.payload))
    return out


def message_event(name: str, payload) -> BpmnEvent:
    # The definition must be the spiff class the parser produced: events compare by class.
    return BpmnEvent(MessageEventDefinition(name), payload)


def requested_calls(workflow) -> list:
    """Call-activity tasks (top level or in sub-processes) waiting for their child instance."""
    out = []
    for wf in [workflow, *workflow.subprocesses.values()]:
        for task in wf.tasks.values():
            call = task.internal_data.get(CALL_STATE)
            if call is not None and call.get("state") == "requested":
                out.append(task)
    return out


def message_start_names(spec) -> frozenset[str]:
    """Message names that start this process (message start events)."""
    names = set()
    for ts in spec.task_specs.values():
        if type(ts).__name__ == "StartEvent":
            definition = getattr(ts, "event_definition", None)
            if definition is not None and "Message" in type(definition).__name__:
                names.add(definition.name)
    return frozenset(names)
