"""kunflow's runtime around SpiffWorkflow: definitions, instances, human tasks, audit log.

Knows BPMN, not Flask and not the district: departments, users and roles are data. This is the
engine's public face: the web layer, ``workflows/`` and ``config/`` import from here only (an
import-linter contract in pyproject.toml holds them to it). docs/architecture.md shows the
rooms behind it.
"""

from .access import EVENT_KINDS, Access, LoginPolicy
from .calendar import (
    WorkCalendar,
    calendar_service,
    local_today,
    parse_date,
    parse_schedule,
    schedule_from_data,
)
from .casefiles import CaseFiles, FileStore, clean_filename
from .clock import CHINA_TZ, local_day, to_local, utcnow
from .commands import new_business_key
from .deadlines import traffic_light
from .dto import (
    OPEN_STATES,
    ROLE_HEAD,
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
    MessageInfo,
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
from .forms import FieldLabel
from .read_models import READ_TABLES, SavedStep
from .schema_extensions import NAMING_CONVENTION, SchemaExtension
from .scripting import ServiceRegistry
from .unit_of_work import UnitOfWork, active_connection

__all__ = [
    "CHINA_TZ", "EVENT_KINDS", "NAMING_CONVENTION", "OPEN_STATES", "READ_TABLES", "ROLE_HEAD", "SYSTEM", "Access", "Actor", "AttachmentInfo",
    "CaseFiles", "CaseRef", "Conflict", "DefinitionInfo", "DepartmentInfo", "DeployResult",
    "DiagramMarks", "DraftInfo", "Engine", "EngineError", "EventInfo", "FieldLabel", "FileStore",
    "Forbidden", "IncidentInfo", "InstanceInfo", "InvalidInput", "InvalidModel", "LoginPolicy",
    "MessageInfo", "MessageOutcome", "NotFound", "Page", "RelatedCases", "SavedStep", "SchemaExtension",
    "ServiceRegistry",
    "TaskContext", "TaskInfo", "TaskPauseInfo", "UserInfo", "WorkCalendar", "calendar_service",
    "clean_filename", "local_day", "local_today", "new_business_key", "parse_date",
    "parse_schedule", "schedule_from_data", "to_local", "traffic_light", "UnitOfWork", "active_connection", "utcnow",
]

# issue 11 area 3: decisions (DMN change preview, trial run)
from .dto import (  # noqa: E402
    DecisionChange,
    DecisionPreview,
    TrialDecision,
    TrialError,
    TrialMessage,
    TrialResult,
    TrialStep,
    TrialTask,
    TrialTimer,
)

__all__ += [
    "DecisionChange", "DecisionPreview", "TrialDecision", "TrialError", "TrialMessage",
    "TrialResult", "TrialStep", "TrialTask", "TrialTimer",
]

# area 4: migration, batch
from .dto import BatchReport, BatchResult, MigrationReport, MigrationResult  # noqa: E402
from .queries.instances import MAX_SELECTED  # noqa: E402

__all__ += ["BatchReport", "BatchResult", "MAX_SELECTED", "MigrationReport", "MigrationResult"]
# area: versions (issue 11)
from .dto import (  # noqa: E402
    DecisionDiff,
    DecisionRuleChange,
    ElementChange,
    FormDiff,
    FormFieldChange,
    ProcessDraftInfo,
    ProcessSummary,
    PropertyChange,
    VersionDiff,
    VersionSummary,
)

__all__ += [
    "DecisionDiff", "DecisionRuleChange", "ElementChange", "FormDiff", "FormFieldChange",
    "ProcessDraftInfo", "ProcessSummary", "PropertyChange", "VersionDiff", "VersionSummary",
]

# ------------------------------------------------------------------ area 5 (repair)
from .dto import ActiveToken, TokenTarget, TokenView  # noqa: E402

__all__ += ["ActiveToken", "TokenTarget", "TokenView"]

# area "checks" (issue 11): the model check and the import
from .dto import ImportReport, ModelReport, Problem, Translation  # noqa: E402

__all__ += ["ImportReport", "ModelReport", "Problem", "Translation"]

# >>> outbound: notice delivery (issue 14)
from .outbound import (  # noqa: E402
    DeliveryError,
    NoticeDeliveryInfo,
    NoticeSender,
    WebhookSender,
    sign,
)

__all__ += ["DeliveryError", "NoticeDeliveryInfo", "NoticeSender", "WebhookSender", "sign"]
# <<< outbound
# >>> consult: 加签 (issue 14)
from .queries.consults import AskedContext, ConsultInfo  # noqa: E402

__all__ += ["AskedContext", "ConsultInfo"]
# <<< consult
# >>> inbox: notices (issue 14)
from .dto import NoticeInfo  # noqa: E402
from .notices import KINDS as NOTICE_KINDS  # noqa: E402
from .notices import post_notice  # noqa: E402

__all__ += ["NOTICE_KINDS", "NoticeInfo", "post_notice"]
# <<< inbox
# >>> faults: database outages (issue 15)
from .outages import database_unavailable  # noqa: E402

__all__ += ["database_unavailable"]
# <<< faults

# >>> audit: the audit log's hash chains (issue 15)
from .audit import AnchorError, AuditBreak, AuditReport, describe_break  # noqa: E402

__all__ += ["AnchorError", "AuditBreak", "AuditReport", "describe_break"]
# <<< audit
