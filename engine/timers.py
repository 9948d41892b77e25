"""Timers: when an instance next needs the scheduler, and the boundary timer kunflow uses.

``next_timer_due`` gives the earliest due time of a workflow's waiting timers (the instance row
keeps it for the scheduler). ``BoundaryTimerEvent`` replaces SpiffWorkflow's boundary event so
that

- of several interrupting boundary timers on one task that are due at the same refresh, only
  the earliest due (on a tie, the first in document order) fires: SpiffWorkflow 3.2 fires every
  due timer of the refresh before any of them runs, so each would take its own path;
- a timer held while its task's deadline clock is paused (``HELD``) does not fire.

Deadline timers: a boundary timer *follows its task's deadline* when its expression calls
``task_due()`` (the due time of the task it is attached to, optionally shifted by working days)
or when it falls due at the task's due time (within a minute: ``due_in_working_days(n)`` on a
task with ``due_working_days = n``). While the task's clock is paused such timers are held; on
resume they move with the due date (``docs/timers.md``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .clock import naive_utc

# PendingBpmnEvent.event_type is the event definition's class name.
TIMER_EVENT_TYPES = frozenset({
    "TimerEventDefinition",
    "TimeDateEventDefinition",
    "DurationTimerEventDefinition",
    "CycleTimerEventDefinition",
})

# internal_data key of a boundary timer that waits without firing (its task's clock is paused)
HELD = "kunflow_held"
# internal_data key: the working-day shift a ``task_due(n)`` timer was defined with
DUE_OFFSET = "kunflow_due_offset"
# a timer this close to the task's due time is taken to be the deadline itself
_SAME_TIME = timedelta(seconds=60)


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
    return naive_utc(when)


def timer_due(task) -> datetime | None:
    """The due time (naive UTC) of a waiting timer task, once the library evaluated it."""
    return _as_naive_utc(task.internal_data.get("event_value"))


def is_timer(task_spec) -> bool:
    return isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)


def next_timer_due(workflow) -> datetime | None:
    """Earliest due time (naive UTC) over the workflow's waiting timer events, or None.

    Held timers (their task's clock is paused) are left out: they move when it resumes.
    """
    due = None
    for task in list(workflow.event_manager.tasks.values()):
        if task.internal_data.get(HELD):
            continue
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


class BoundaryTimerEvent(BoundaryEvent):
    """A boundary event whose timer yields to an earlier interrupting sibling, and waits while
    held. Other boundary events (messages, errors, escalations) behave as the library's."""

    def _update_hook(self, my_task):
        if my_task.state == TaskState.WAITING and is_timer(self):
            if my_task.internal_data.get(HELD):
                my_task.workflow.top_workflow.event_manager.add_task(my_task)
                return False
            if self.cancel_activity and _yields_to_sibling(my_task):
                return False
        return super()._update_hook(my_task)


def _document_order(task) -> int:
    outputs = task.parent.task_spec.outputs if task.parent is not None else []
    return outputs.index(task.task_spec) if task.task_spec in outputs else len(outputs)


def _yields_to_sibling(my_task) -> bool:
    """True when another interrupting timer on the same task is due (or has just fired) and
    comes first: due earlier, or due at the same time and earlier in the document."""
    mine = timer_due(my_task)
    now = datetime.now(UTC).replace(tzinfo=None)
    if mine is None or mine >= now or my_task.parent is None:
        return False  # not evaluated yet, or not due: nothing to decide
    my_order = _document_order(my_task)
    for other in my_task.parent.children:
        spec = other.task_spec
        if other is my_task or not getattr(spec, "cancel_activity", False) or not is_timer(spec):
            continue
        if not other.has_state(TaskState.WAITING | TaskState.READY):
            continue
        if other.internal_data.get(HELD):
            continue
        due = timer_due(other)
        if due is None or due >= now:
            continue
        if due < mine or (due == mine and _document_order(other) < my_order):
            return True
    return False


def attached_task(boundary_task):
    """The task a boundary event task is attached to (its split's main child), or None."""
    split = boundary_task.parent if boundary_task is not None else None
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return None
    if not isinstance(boundary_task.task_spec, BoundaryEvent):
        return None
    for child in split.children:
        if not isinstance(child.task_spec, BoundaryEvent):
            return child
    return None


def waiting_boundary_timers(task) -> list:
    """The boundary timers attached to ``task`` that are waiting."""
    split = task.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return []
    return [
        child for child in split.children
        if child is not task and isinstance(child.task_spec, BoundaryEvent)
        and is_timer(child.task_spec) and child.state == TaskState.WAITING
    ]


def follows_deadline(timer_task, due_at: datetime | None) -> bool:
    """Whether a boundary timer is defined relative to its task's due time (see the module)."""
    expression = getattr(timer_task.task_spec.event_definition, "expression", None) or ""
    if DUE_OFFSET in timer_task.internal_data or "task_due(" in expression:
        return True
    when = timer_due(timer_task)
    return when is not None and due_at is not None and abs(when - due_at) <= _SAME_TIME


def hold_deadline_timers(task, due_at: datetime | None) -> list[str]:
    """Hold the waiting boundary timers of ``task`` that follow its deadline; their ids."""
    held = []
    for timer in waiting_boundary_timers(task):
        if not timer.internal_data.get(HELD) and follows_deadline(timer, due_at):
            timer.internal_data[HELD] = True
            held.append(timer.task_spec.bpmn_id)
    return held


def release_deadline_timers(task, moved) -> dict[str, datetime]:
    """Release the held timers of ``task``; ``moved(due, offset)`` gives each one's new due time
    (naive UTC) from its old one and its ``task_due`` offset (None if it has none)."""
    out = {}
    for timer in waiting_boundary_timers(task):
        if not timer.internal_data.pop(HELD, None):
            continue
        when = timer_due(timer)
        if when is None:
            continue
        new = moved(when, timer.internal_data.get(DUE_OFFSET))
        timer.internal_data["event_value"] = new.replace(tzinfo=UTC).isoformat()
        out[timer.task_spec.bpmn_id] = new
    return out
