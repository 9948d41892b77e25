"""An application's own read models, kept in the same transaction as each step.

``Engine.add_read_model(observer)`` registers a callable ``observer(conn, saved)`` that every
save of an instance calls after the engine's own rows (instance, tasks) are written and before
the transaction commits: an application keeps its summary tables (a dashboard's projects,
per-element dwell histograms) exactly as current as the task list, with no second pass over the
serialized state. An observer that raises rolls the whole command back, like any other part of
the save; observers read ``saved.data`` and must not change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SavedStep:
    """What one save did to one instance."""

    instance_id: int
    process_key: str
    business_key: str | None
    status: str  # running | incident | completed | suspended | terminated
    stage: str | None
    phase: str | None
    # the workflow's data after the step (read only); None when only the status changed
    # (suspend, resume, terminate: the business key is then None too)
    data: Mapping | None
    opened: tuple[str, ...]  # ids of task rows the step inserted
    closed: tuple[str, ...]  # ids of task rows the step completed or cancelled
    now: datetime
    # the messages the step threw that no catcher inside the workflow took: (name, payload)
    messages: tuple = ()


ReadModel = Callable[[object, SavedStep], None]


def observe_status(observers, conn, instance_id: int, process_key: str, status: str,
                   closed: tuple[str, ...], now: datetime) -> None:
    """Tell the read models of a status change made without a workflow step."""
    if not observers:
        return
    saved = SavedStep(instance_id=instance_id, process_key=process_key, business_key=None,
                      status=status, stage=None, phase=None, data=None, opened=(),
                      closed=closed, now=now)
    for observe in observers:
        observe(conn, saved)


@dataclass(frozen=True)
class ReadTables:
    """The engine's read-model tables that an application's queries may read (never write):
    dashboards group and count these indexed rows instead of touching the serialized state."""

    definition: object
    instance: object
    task: object
    task_pause: object
    event: object


def read_tables() -> ReadTables:
    from . import model

    return ReadTables(model.definition, model.instance, model.task, model.task_pause,
                      model.event)


READ_TABLES = read_tables()
