"""相互通报: results that one department's step makes known to the others.

A diagram notifies by throwing a message whose payload names the recipients (``departments``,
department codes) and a ``subject``; the engine stores thrown messages in the same transaction
as the step (its outbox, the ``message`` table), so a notice exists exactly when the step that
made it was committed. ``mine_approval`` throws ``mine_notice`` this way. ``notify_departments``
is the service handler that builds such a payload (recipients checked against the org chart);
``notices_for`` is what a department sees: the notices addressed to it, newest first.

``NoticeInbox`` (a read model, ``workflows.add_read_models``) also writes each such message into
the receiving departments' notice inboxes (``/notices``), in the transaction of the step that
threw it: the inbox notice exists exactly when the step committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine import READ_TABLES, DepartmentInfo, Engine, SavedStep, post_notice, utcnow

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


# What a 相互通报's body says about the payload's facts, in this order (``text`` comes first).
FACT_LABELS = (
    ("project_code", "项目代码"),
    ("mine_name", "矿山"),
    ("approval_kind", "审批方式"),
    ("approved", "结果"),
    ("licence_no", "许可证号"),
    ("licence_expires_on", "有效期至"),
    ("findings", "检查发现"),
    ("issue", "问题"),
    ("decision", "研判结论"),
)


def notice_body(payload: dict) -> str | None:
    """The body of a 相互通报: the payload's ``text``, then its known facts, one a line."""
    lines = [str(payload["text"])] if payload.get("text") else []
    for key, label in FACT_LABELS:
        value = payload.get(key)
        if value is None or value == "":
            continue
        if key == "approved":
            value = "准予" if value is True else "不予" if value is False else value
        lines.append(f"{label}：{value}")
    return "\n".join(lines) or None


class NoticeInbox:
    """Read model: every ``NOTICE_MESSAGES`` message a step throws (a payload with ``subject``
    and ``departments``) becomes a notice of kind ``notice`` to each receiving department,
    written in the step's transaction. The sender is the department whose completed task made
    the step (else the payload's ``sender``, else the process's name)."""

    def __init__(self, departments: list[DepartmentInfo]):
        self._codes = {d.code: d.code for d in departments} | {d.name: d.code for d in departments}
        self._names = {d.code: d.name for d in departments}

    def __eq__(self, other) -> bool:  # one inbox per engine, however often it is added
        return isinstance(other, NoticeInbox)

    def __hash__(self) -> int:
        return hash(NoticeInbox)

    def recipients(self, departments) -> list[str]:
        """Department codes for codes or names, in order, without repeats; unknown ones are
        left out (a diagram's list is checked when it is built, by ``notify_departments``)."""
        if isinstance(departments, str):
            departments = [departments]
        if not isinstance(departments, list | tuple):
            return []
        result = []
        for item in departments:
            code = self._codes.get(str(item).strip())
            if code is not None and code not in result:
                result.append(code)
        return result

    def __call__(self, conn, saved: SavedStep) -> None:
        found = [(i, p) for i, (name, p) in enumerate(saved.messages)
                 if name in NOTICE_MESSAGES and isinstance(p, dict) and p.get("subject")
                 and p.get("departments")]
        if not found:
            return
        sender = None
        # the instance row's version, as this save wrote it: unique per step of the case
        instances = READ_TABLES.instance
        version = conn.execute(sa.select(instances.c.version)
                               .where(instances.c.id == saved.instance_id)).scalar()
        for index, payload in found:
            recipients = self.recipients(payload["departments"])
            if not recipients:
                continue
            if sender is None:
                sender = self._sender(conn, saved)
            for code in recipients:
                post_notice(
                    conn, kind="notice", subject=str(payload["subject"]),
                    body=notice_body(payload), now=saved.now, department_code=code,
                    instance_id=saved.instance_id, sender=str(payload.get("sender") or sender),
                    dedup_key=f"notice:{saved.instance_id}:{version}:{index}:{code}")

    def _sender(self, conn, saved: SavedStep) -> str:
        tasks = READ_TABLES.task
        if saved.closed:
            codes = conn.execute(
                sa.select(tasks.c.department_code)
                .where(tasks.c.id.in_(saved.closed), tasks.c.state == "completed",
                       tasks.c.department_code.is_not(None))
                .order_by(tasks.c.completed_at.desc())).scalars().all()
            if codes:
                return self._names.get(codes[0], codes[0])
        definitions = READ_TABLES.definition
        name = conn.execute(
            sa.select(definitions.c.name).where(definitions.c.key == saved.process_key)
            .order_by(definitions.c.version.desc()).limit(1)).scalar()
        return name or saved.process_key
