"""Where diagram code runs: a restricted Python environment with explicit helpers, and the
registry of service-task handlers.

Scripts, conditions, timer and assignee expressions see the task's data plus the helpers given
here, and only a small set of builtins: no imports, no dunder attributes, no file or process
access. Service tasks call Python handlers that ``workflows/`` registers by operation name.

Helpers that depend on the instance (``business_key()``) or on the task being evaluated
(``task_due()``) read ``current_task()``: the script engine records the task for the duration of
each evaluation. The business key is read-only: it lives on the workflow object, not in task
data, and a script that assigns the name only shadows it until the script ends.
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Callable
from contextvars import ContextVar

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import TimeDateEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .calendar import date_only, end_of_local_day

_SAFE_BUILTIN_NAMES = (
    "abs all any bool dict divmod enumerate filter float format frozenset int isinstance "
    "issubclass len list map max min next pow range repr reversed round set slice sorted str "
    "sum tuple zip ValueError KeyError TypeError Exception True False None"
).split()
SAFE_BUILTINS = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}


# The workflow attribute that holds the instance's business key (set by the engine on every
# workflow object it creates or loads; never serialized, never in task data).
BUSINESS_KEY_ATTR = "kunflow_business_key"

_CURRENT_TASK: ContextVar = ContextVar("kunflow_current_task", default=None)


def current_task():
    """The SpiffWorkflow task whose diagram code is being evaluated, or None."""
    return _CURRENT_TASK.get()


def bind_business_key(workflow, business_key: str | None) -> None:
    """Make ``business_key()`` answer ``business_key`` for code evaluated in ``workflow``."""
    setattr(workflow, BUSINESS_KEY_ATTR, business_key)


def business_key() -> str | None:
    """Helper: the business key (案件编号/项目代码) of the instance the code runs in."""
    task = current_task()
    if task is None:
        return None
    workflow = getattr(task.workflow, "top_workflow", None) or task.workflow
    return getattr(workflow, BUSINESS_KEY_ATTR, None)


class ScriptRejected(ValueError):
    """Code that uses what the restricted environment does not allow."""


def check_code(source: str, mode: str = "exec") -> None:
    """Reject imports and dunder names/attributes (the usual ways out of a sandbox)."""
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected("脚本中不允许 import")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ScriptRejected(f"脚本中不允许访问以下划线开头的属性：{node.attr}")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ScriptRejected(f"脚本中不允许使用名称：{node.id}")
        if isinstance(node, ast.Global | ast.Nonlocal):
            raise ScriptRejected("脚本中不允许 global / nonlocal")


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment with checked code, limited builtins and service dispatch."""

    def __init__(self, helpers: dict[str, Callable], services: ServiceRegistry):
        super().__init__({"__builtins__": SAFE_BUILTINS, **helpers})
        self.services = services
        self._checked: set[tuple[str, str]] = set()

    def _check(self, source: str, mode: str) -> None:
        key = (mode, source)
        if key not in self._checked:
            check_code(source, mode)
            if len(self._checked) < 10_000:
                self._checked.add(key)

    def evaluate(self, expression, context, external_context=None):
        self._check(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self._check(script, "exec")
        return super().execute(script, context, external_context)

    def call_service(self, context, operation_name=None, operation_params=None, **kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        result = self.services.call(operation_name, dict(context), params)
        return json.dumps(result, ensure_ascii=False, default=str)


class ServiceRegistry:
    """Service-task handlers by operation name: ``handler(data: dict, **params) -> JSON value``."""

    def __init__(self):
        self._handlers: dict[str, Callable] = {}

    def register(self, name: str, handler: Callable) -> None:
        self._handlers[name] = handler

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def call(self, name: str | None, data: dict, params: dict):
        handler = self._handlers.get(name or "")
        if handler is None:
            raise LookupError(f"没有注册名为 “{name}” 的服务任务处理程序")
        return handler(data, **params)


class KunflowScriptEngine(PythonScriptEngine):
    """Records the task being evaluated (``current_task()``) around each evaluation."""

    def evaluate(self, task, expression, external_context=None):
        token = _CURRENT_TASK.set(task)
        try:
            value = super().evaluate(task, expression, external_context)
        finally:
            _CURRENT_TASK.reset(token)
        return _timer_date(task, expression, value)

    def execute(self, task, script, external_context=None):
        token = _CURRENT_TASK.set(task)
        try:
            return super().execute(task, script, external_context)
        finally:
            _CURRENT_TASK.reset(token)

    def call_service(self, task, **kwargs):
        # Not the library's call_service: SpiffWorkflow 3.2 wraps a handler's error with an
        # undefined name (``script``), so every failure read "NameError: name 'script' is not
        # defined". The incident names the operation and the handler's own error instead.
        token = _CURRENT_TASK.set(task)
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException as err:
            if getattr(err, "task", None) is None:
                err.task = task
            raise
        except Exception as err:
            operation = kwargs.get("operation_name") or "?"
            detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise WorkflowTaskException(
                f"服务任务 {operation} 执行失败：{detail}", task=task, exception=err
            ) from err
        finally:
            _CURRENT_TASK.reset(token)


def _timer_date(task, expression, value):
    """A timeDate timer whose expression gives a date without a time ("2026-12-01") falls due
    at the end of that day in China (23:59:59 Asia/Shanghai), like a date-only deadline; the
    library would read it as midnight in the server's time zone."""
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if not isinstance(definition, TimeDateEventDefinition) or definition.expression != expression:
        return value
    day = date_only(value)
    if day is None:
        return value
    return end_of_local_day(day).isoformat() + "+00:00"


def make_script_engine(helpers: dict[str, Callable], services: ServiceRegistry):
    """The script engine of an Engine: ``helpers`` plus ``business_key()``."""
    helpers = {"business_key": business_key, **helpers}
    return KunflowScriptEngine(environment=RestrictedEnvironment(helpers, services))
