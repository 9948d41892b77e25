"""Read-model rows rebuilt from the workflow after each step (human tasks for now)."""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.util.task import TaskState


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    name: str | None
    lane: str | None
    properties: dict
    spiff_task: object


def ready_human_tasks(workflow) -> dict[str, ReadyTask]:
    """READY user/manual tasks of the workflow and its sub-processes, by task id."""
    out = {}
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        props = (getattr(spec, "extensions", None) or {}).get("properties") or {}
        out[str(task.id)] = ReadyTask(
            id=str(task.id),
            element_id=getattr(spec, "bpmn_id", None) or spec.name,
            name=getattr(spec, "bpmn_name", None) or spec.name,
            lane=spec.lane,
            properties=dict(props),
            spiff_task=task,
        )
    return out
