"""kunflow's runtime around SpiffWorkflow: definitions, instances, human tasks, audit log.

Knows BPMN, not Flask and not the district: departments, users and roles are data.
"""

from .dto import (
    SYSTEM,
    Actor,
    DefinitionInfo,
    DepartmentInfo,
    DeployResult,
    EventInfo,
    InstanceInfo,
    Page,
    TaskInfo,
    UserInfo,
)
from .errors import Conflict, EngineError, Forbidden, InvalidInput, InvalidModel, NotFound
from .runtime import Engine, utcnow

__all__ = [
    "SYSTEM", "Actor", "Conflict", "DefinitionInfo", "DepartmentInfo", "DeployResult", "Engine",
    "EngineError", "EventInfo", "Forbidden", "InstanceInfo", "InvalidInput", "InvalidModel",
    "NotFound", "Page", "TaskInfo", "UserInfo", "utcnow",
]

# The public face that web/, workflows/ and the command line use (issue 10): what they need of
# the engine's modules, so that they import the package only.
from .access import Access, LoginPolicy  # noqa: E402
from .calendar import (  # noqa: E402
    WorkCalendar,
    calendar_service,
    local_today,
    parse_date,
    parse_schedule,
)
from .casefiles import CaseFiles, FileStore  # noqa: E402
from .dto import MessageInfo  # noqa: E402
from .scripting import ServiceRegistry  # noqa: E402

__all__ += [
    "Access", "CaseFiles", "FileStore", "LoginPolicy", "MessageInfo", "ServiceRegistry",
    "WorkCalendar", "calendar_service", "local_today", "parse_date", "parse_schedule",
]
