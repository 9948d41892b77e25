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
