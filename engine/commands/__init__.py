"""Every command of the engine, each one unit of work: ``start`` (a case, with the
business-key rule), ``tasks`` (claim … complete, the deadline clock, send-back), ``instances``
(suspend, resume, terminate, retry an incident), ``due_timers`` (the scheduler's run),
``messages`` (a message from outside), ``casework`` (attachment rows, drafts, comments)."""

from __future__ import annotations

from .casework import Casework
from .due_timers import DueTimers
from .instances import InstanceCommands
from .messages import MessageCommands
from .repair import RepairCommands
from .start import StartCommand, new_business_key
from .tasks import TaskCommands

__all__ = ["Casework", "DueTimers", "InstanceCommands", "MessageCommands", "RepairCommands", "StartCommand",
           "TaskCommands", "new_business_key"]

# area 4: migration, batch
from .batch import BatchCommands  # noqa: E402
from .migration import MigrationCommands  # noqa: E402

__all__ += ["BatchCommands", "MigrationCommands"]
# area: versions (issue 11)
from .drafts import ProcessDrafts  # noqa: E402

__all__ += ["ProcessDrafts"]
