"""Every read of the engine, each returning frozen DTOs: ``instances`` (cases, their events and
incidents), ``tasks`` (task lists, one task, its clock's stops), ``messages`` (messages thrown or posted), ``casefile`` (what the task and
case pages show besides those: context, related cases, diagram marks, attachments, drafts)."""

from __future__ import annotations

from .casefile import CaseFileQueries, file_field_problems
from .instances import Instances, check_instance_access, instance_head, read_instance
from .messages import Messages
from .repair import RepairQueries
from .tasks import Tasks, task_row

__all__ = ["CaseFileQueries", "Instances", "Messages", "RepairQueries", "Tasks", "check_instance_access",
           "file_field_problems", "instance_head", "read_instance", "task_row"]

# area: versions (issue 11)
from .catalogue import Catalogue  # noqa: E402

__all__ += ["Catalogue"]
