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


def next_timer_due(workflow) -> datetime | None:
    """Earliest due time (naive UTC) over the workflow's waiting timer events, or None."""
    due = None
    for pending in workflow.waiting_events():
        if pending.event_type not in TIMER_EVENT_TYPES:
            continue
        when = _as_naive_utc(pending.value)
        if when is not None and (due is None or when < due):
            due = when
    return due
