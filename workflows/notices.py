"""相互通报: results that one department's step makes known to the others.

A diagram notifies by throwing a message whose payload names the recipients (``departments``,
department codes) and a ``subject``; the engine stores thrown messages in the same transaction
as the step (its outbox, the ``message`` table), so a notice exists exactly when the step that
made it was committed. ``mine_approval`` throws ``mine_notice`` this way. ``notify_departments``
is the service handler that builds such a payload (recipients checked against the org chart);
``notices_for`` is what a department sees: the notices addressed to it, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import DepartmentInfo, Engine, utcnow

# Messages that carry notices (their payload has ``subject`` and ``departments``).
NOTICE_MESSAGES = ("mine_notice",)
_SCAN = 5000  # newest notice messages a listing looks through


@dataclass(frozen=True)
class Notice:
    id: int
    name: str
    subject: str
    departments: tuple[str, ...]
    project_code: str | None
    at: datetime
    source_instance_id: int | None
    payload: dict


class Notifier:
    """Service handler ``notify_departments`` bound to the org chart's departments."""

    def __init__(self, departments: list[DepartmentInfo]):
        self._codes = {d.code: d.code for d in departments} | {d.name: d.code for d in departments}

    def codes(self, departments) -> list[str]:
        """Department codes for codes or names, in order, without repeats; unknown ones raise."""
        if isinstance(departments, str):
            departments = [departments]
        result = []
        for item in departments or []:
            code = self._codes.get(str(item).strip())
            if code is None:
                raise ValueError(f"通报对象“{item}”不在组织架构中")
            if code not in result:
                result.append(code)
        return result

    def handler(self, data: dict, departments=None, subject=None, text=None, **extra) -> dict:
        """The payload of a notice: who is told (codes), what about, for which project. The
        diagram throws it as a message (e.g. ``mine_notice``) right after this task."""
        recipients = self.codes(departments if departments is not None
                                else data.get("notice_departments"))
        if not recipients:
            raise ValueError("通报须至少有一个接收部门")
        if not subject:
            raise ValueError("通报须有事由（subject）")
        payload = {
            "subject": str(subject),
            "departments": recipients,
            "project_code": data.get("project_code"),
            "notified_at": utcnow().isoformat() + "Z",
        }
        if text:
            payload["text"] = str(text)
        payload.update(extra)
        return payload


def notices_for(engine: Engine, department_code: str | None = None, *,
                project_code: str | None = None, limit: int = 50) -> list[Notice]:
    """Notices addressed to ``department_code`` (all notices when None), newest first."""
    found: list[Notice] = []
    for m in engine.list_messages(NOTICE_MESSAGES, correlation_key=project_code, limit=_SCAN):
        payload = m.payload if m.payload is not None else {}
        if not isinstance(payload, dict):
            continue
        recipients = tuple(str(d) for d in payload.get("departments") or ())
        if department_code is not None and department_code not in recipients:
            continue
        found.append(Notice(m.id, m.name, str(payload.get("subject") or ""), recipients,
                            payload.get("project_code") or m.correlation_key, m.created_at,
                            m.source_instance_id, payload))
        if len(found) >= limit:
            break
    return found
