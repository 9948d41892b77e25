"""Where diagram code runs: the restricted environment of ``engine/sandbox.py`` with explicit
helpers, and the registry of service-task handlers.

Scripts, conditions, timer and assignee expressions see the task's data plus the helpers given
here, and only a small set of builtins: no imports, no underscore names or attributes, no
``str.format``, no attributes of anything but plain data, no file or process access, within a
time and a memory limit (``engine/sandbox.py``, ``docs/scripting.md``). Service tasks call Python
handlers that ``workflows/`` registers by operation name.

Helpers that depend on the instance (``business_key()``) or on the task being evaluated
(``task_due()``) read ``current_task()``: the script engine records the task for the duration of
each evaluation. The business key is read-only: it lives on the workflow object, not in task
data, and a script that assigns the name only shadows it until the script ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import TimeDateEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import sandbox
from .calendar import date_only, end_of_local_day
from .sandbox import (
    DEFAULT_LIMITS,
    RESTRICTED_NAMES,
    SAFE_BUILTINS,
    ScriptLimits,
    ScriptRejected,
    ScriptViolation,
)

__all__ = ["SAFE_BUILTINS", "ScriptRejected", "ScriptViolation", "ServiceRegistry",
           "bind_business_key", "business_key", "check_code", "current_task",
           "make_script_engine"]

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


def check_code(source: str, mode: str = "exec") -> None:
    """Compile ``source`` as diagram code: SyntaxError, or ScriptRejected for what the
    restricted environment refuses (imports, underscore names, classes …)."""
    sandbox.check(source, mode)


class RestrictedEnvironment(TaskDataEnvironment):
    """Runs diagram code compiled by ``engine/sandbox.py``, with helpers and service dispatch.

    ``globals`` are the helpers (what task data may not shadow). A script runs in a namespace
    of its own and its names are copied back into the task data only when it ends without an
    error: a failing or stopped script leaves the data as it was (containers it changed in
    place excepted).
    """

    def __init__(self, helpers: dict[str, Callable], services: ServiceRegistry,
                 limits: ScriptLimits = DEFAULT_LIMITS):
        super().__init__(dict(helpers))
        self.services = services
        self.limits = limits

    def evaluate(self, expression, context, external_context=None):
        code = sandbox.compile_code(expression, "eval")
        with sandbox.evaluation(self.limits) as budget:
            return eval(code, sandbox.namespace(self.globals, external_context, context, budget))

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = sandbox.compile_code(script, "exec")
        with sandbox.evaluation(self.limits) as budget:
            ns = sandbox.namespace(self.globals, external_context, context, budget)
            exec(code, ns)
            budget.check_memory(0)  # what straight-line code allocated without a check
        for key in [k for k in context if k not in ns]:
            del context[key]  # ``del name`` in the script
        for key, value in ns.items():
            if (key in RESTRICTED_NAMES or key in self.globals or key in external_context
                    or callable(value)):
                continue
            context[key] = value
        return True

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
    """Records the task being evaluated (``current_task()``) around each evaluation; a
    ``ScriptViolation`` passes through unwrapped, naming its task."""

    def evaluate(self, task, expression, external_context=None):
        token = _CURRENT_TASK.set(task)
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except ScriptViolation as violation:
            if violation.task is None:
                violation.task = task
            raise
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}'",
                                        task=task, exception=err) from err
        finally:
            _CURRENT_TASK.reset(token)
        return _timer_date(task, expression, value)

    def execute(self, task, script, external_context=None):
        token = _CURRENT_TASK.set(task)
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptViolation as violation:
            if violation.task is None:
                violation.task = task
            raise
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err
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


def make_script_engine(helpers: dict[str, Callable], services: ServiceRegistry,
                       limits: ScriptLimits = DEFAULT_LIMITS):
    """The script engine of an Engine: ``helpers`` plus ``business_key()``."""
    helpers = {"business_key": business_key, **helpers}
    return KunflowScriptEngine(environment=RestrictedEnvironment(helpers, services, limits))
