"""kunflow's runtime around SpiffWorkflow: definitions, instances, human tasks, audit log.

Knows BPMN, not Flask and not the district: departments, users and roles are data. This is the
engine's public face: the web layer, ``workflows/`` and ``config/`` import from here only.
"""

from .casefiles import CaseFiles, FileStore, clean_filename
from .clock import CHINA_TZ, local_day, to_local, utcnow
from .commands import new_business_key
from .deadlines import traffic_light
from .dto import (
    OPEN_STATES,
    SYSTEM,
    Actor,
    AttachmentInfo,
    CaseRef,
    DefinitionInfo,
    DepartmentInfo,
    DeployResult,
    DiagramMarks,
    DraftInfo,
    EventInfo,
    IncidentInfo,
    InstanceInfo,
    MessageOutcome,
    Page,
    RelatedCases,
    TaskContext,
    TaskInfo,
    TaskPauseInfo,
    UserInfo,
)
from .errors import Conflict, EngineError, Forbidden, InvalidInput, InvalidModel, NotFound
from .facade import Engine

__all__ = [
    "CHINA_TZ", "OPEN_STATES", "SYSTEM", "Actor", "AttachmentInfo", "CaseFiles", "CaseRef",
    "Conflict", "DefinitionInfo", "DepartmentInfo", "DeployResult", "DiagramMarks", "DraftInfo",
    "Engine", "EngineError", "EventInfo", "FileStore", "Forbidden", "IncidentInfo",
    "InstanceInfo", "InvalidInput", "InvalidModel", "MessageOutcome", "NotFound", "Page",
    "RelatedCases", "TaskContext", "TaskInfo", "TaskPauseInfo", "UserInfo", "clean_filename",
    "local_day", "new_business_key", "to_local", "traffic_light", "utcnow",
]
