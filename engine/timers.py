"""When an instance next needs the scheduler: the earliest due time of its waiting timers."""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

# PendingBpmnEvent.event_type is the event definition's class name.
TIMER_EVENT_TYPES = frozenset({
    "TimerEventDefinition",
    "TimeDateEventDefinition",
    "DurationTimerEventDefinition",
    "CycleTimerEventDefinition",
})


def _as_naive_utc(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, dict):  # cycle timers keep {"cycles", "next", "duration"}
        value = value.get("next")
    try:
        when = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else value
    except Exception:  # an unparsable value must not block the save; the timer stays visible
        return None
    if not isinstance(when, datetime):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def timer_due(task) -> datetime | None:
    """The due time (naive UTC) of a waiting timer task, once the library evaluated it."""
    return _as_naive_utc(task.internal_data.get("event_value"))


def next_timer_due(workflow) -> datetime | None:
    """Earliest due time (naive UTC) over the workflow's waiting timer events, or None."""
    due = None
    for task in list(workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        # An event-based gateway waits as one task with a MultipleEventDefinition; its timer
        # keeps the due time on that task.
        for sub in getattr(definition, "event_definitions", None) or ():
            if type(sub).__name__ in TIMER_EVENT_TYPES:
                definition = sub
                break
        if type(definition).__name__ not in TIMER_EVENT_TYPES:
            continue
        value = task.internal_data.get("event_value")
        if value is None and hasattr(definition, "has_fired"):
            # Timers behind an event-based gateway are only evaluated when first refreshed;
            # evaluating now stores the due time in the task as the library itself would.
            try:
                definition.has_fired(task)
            except Exception:  # a failing expression surfaces when the timer is refreshed
                continue
            value = task.internal_data.get("event_value")
        when = _as_naive_utc(value)
        if when is not None and (due is None or when < due):
            due = when
    return due
