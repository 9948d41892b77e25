"""The violations that stop diagram code: refused, out of time, out of memory."""

from __future__ import annotations


class ScriptViolation(Exception):  # noqa: N818 - the family name reads better without "Error"
    """Diagram code was stopped: refused, out of time or out of memory."""

    reason = "脚本安全限制"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.task = None  # the SpiffWorkflow task whose code was running, when known

    def incident_message(self, element_id: str | None) -> str:
        where = f"元素 {element_id} " if element_id else ""
        return f"{self.reason}：{where}{self.detail}"


class ScriptRejected(ScriptViolation):
    """Code that uses what the restricted environment does not allow."""

    reason = "脚本安全限制"


class ScriptTimeout(ScriptViolation):
    reason = "脚本超时"


class ScriptMemoryExceeded(ScriptViolation):
    reason = "脚本内存超限"
