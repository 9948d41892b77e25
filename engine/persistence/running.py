"""Running the engine's steps on a workflow within the limits of diagram code (``advance``: a
failure becomes an incident, never a half-saved state), and what diagram code decides before a
step is stored (``prepare``): the department, assignee and deadline of each new human task, and
when the waiting timers fall due."""

from __future__ import annotations

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..context import Context
from ..deadlines import deadline_of
from ..definitions import LoadedSpec, TaskSpecInfo
from ..projections import ReadyTask, ready_human_tasks
from ..sandbox import Budget, ScriptViolation
from ..timers import next_timer_due

# The workflow attribute that carries a run's budget from ``advance`` to the save.
BUDGET_ATTR = "kunflow_budget"


def element_of(task) -> str | None:
    """The BPMN element id of a SpiffWorkflow task (None for no task)."""
    if task is None:
        return None
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def info_of(loaded: LoadedSpec, ready: ReadyTask) -> TaskSpecInfo:
    """The typed info of a ready human task, as its definition was parsed."""
    info = loaded.parsed.tasks.get(ready.element_id)
    if info is None:  # not expected: every human task of the spec is described at parse
        info = TaskSpecInfo.of(ready.element_id, ready.name, ready.lane, ready.properties)
    return info


def violation_incident(violation: ScriptViolation, task) -> dict:
    """The incident of diagram code stopped on ``task``: the task is left ERROR (when it
    was about to run or running) so that ``retry_incident`` runs it again."""
    if task is not None and task.state in (TaskState.READY, TaskState.STARTED):
        task.error()
    element = element_of(task)
    return {
        "task_id": str(task.id) if task is not None else None,
        "element_id": element,
        "message": violation.incident_message(element)[:4000],
    }


# What a process admin reads for the commonest Python errors of diagram code and handlers.
_EXPLAINED = {
    "ZeroDivisionError": "除数为零",
    "NameError": "使用了未定义的变量",
    "KeyError": "缺少数据项",
    "IndexError": "列表下标越界",
    "TypeError": "数据类型不符",
    "ValueError": "数据值无效",
    "AttributeError": "数据没有该属性",
    "SyntaxError": "表达式或脚本有语法错误",
    "LookupError": "找不到所需的项",
}


def failure_message(exc: Exception, task) -> str:
    """The incident message of a failed step: a Chinese sentence naming the element, with the
    error's own text (a SpiffWorkflow error carries the underlying one in ``error_msg``)."""
    detail = (getattr(exc, "error_msg", None) or str(exc) or type(exc).__name__).strip()
    detail = detail.rstrip(".").strip()
    if not isinstance(exc, SpiffWorkflowException):  # the library's own text names the error
        detail = f"{type(exc).__name__}: {detail}"
    known = next((text for name, text in _EXPLAINED.items() if name in detail), None)
    if known and not any("\u4e00" <= ch <= "\u9fff" for ch in detail):
        detail = f"{known}（{detail}）"
    if task is None:
        return f"流程执行出错：{detail}"
    spec = task.task_spec
    element = element_of(task)
    name = getattr(spec, "bpmn_name", None)
    where = f"“{name}”（{element}）" if name and name != element else f"“{element}”"
    return f"环节{where}执行出错：{detail}"


class Running:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def advance(self, wf, action) -> dict | None:
        """Run ``action`` (if any) and the engine steps; a failure becomes an incident.

        SpiffWorkflow marks the failing task ERROR and leaves every other task as it was, so the
        state saved with the incident is the last good state; ``retry_incident`` runs the failed
        task again.

        Diagram code and engine steps of the run share one budget (``ctx.script_limits``):
        beyond its time or memory, or on a refused operation, the run stops with a
        ScriptViolation and the step that was running becomes the incident ("脚本超时",
        "脚本内存超限", "脚本安全限制", naming the element); a script stopped so leaves no data
        behind. The budget goes on to the save with the workflow: the routing and deadline
        expressions and the timers evaluated there count against it.
        """
        budget = Budget(self.ctx.script_limits)
        setattr(wf, BUDGET_ATTR, budget)
        try:
            with budget.running():
                if action is not None:
                    action()
                wf.do_engine_steps(will_complete_task=budget.step)
            budget.check()  # a violation that diagram code or the library swallowed
            return None
        except Exception as exc:  # scripts, handlers and expressions may raise anything
            violation = budget.violation
            if violation is None and isinstance(exc, ScriptViolation):
                violation = exc
            failed = violation.task if violation is not None else None
            if failed is None:
                failed = getattr(exc, "task", None)
            if failed is None:
                errored = wf.get_tasks(state=TaskState.ERROR)
                failed = errored[0] if errored else None
            if violation is not None:
                return violation_incident(violation, failed)
            element = element_of(failed)
            return {
                "task_id": str(failed.id) if failed is not None else None,
                "element_id": element,
                "message": failure_message(exc, failed)[:4000],
            }

    def take_budget(self, wf) -> Budget:
        """The budget ``advance`` left on ``wf`` (removed from it), or a fresh one."""
        return wf.__dict__.pop(BUDGET_ATTR, None) or Budget(self.ctx.script_limits)

    def prepare(self, conn, wf, loaded: LoadedSpec, open_rows, now, budget, incident, running):
        """What diagram code decides before the instance is stored: the department, assignee
        and deadline of each new human task (``routing``), and when the waiting timers fall
        due. Returns (ready tasks, their routing by task id, next due time, incident).

        A violation here (a refused, too slow or too big expression) becomes the incident, on
        the task whose expression it was; without one, a failing expression only leaves its
        default (the lane's department, no assignee, no deadline).
        """
        ready = ready_human_tasks(wf)
        prepared: dict[str, tuple] = {}
        next_due = None
        current = None
        try:
            with budget.running():
                for tid, t in ready.items():
                    if tid not in open_rows:
                        current = t.spiff_task
                        prepared[tid] = self.routing(wf, t, info_of(loaded, t), now, conn)
                current = None
                if running and incident is None:
                    next_due = next_timer_due(wf)
            budget.check()
        except ScriptViolation as violation:
            next_due = None
            if incident is None:
                task = violation.task or current
                incident = violation_incident(violation, task)
                if task is not None:
                    ready.pop(str(task.id), None)
                    prepared.pop(str(task.id), None)
        return ready, prepared, next_due, incident

    def routing(self, wf, t: ReadyTask, info: TaskSpecInfo, now, conn, code: bool = True
                ) -> tuple:
        """(properties, assignee, due_at, provisional) of a new human task; ``code``: evaluate
        its ``department_expression``, ``assignee`` and ``due_expression``."""
        props = info.properties
        if not code:
            due_at, provisional = deadline_of(self.ctx, info, t.spiff_task, now, conn,
                                              code=False)
            return props, None, due_at, provisional
        if info.department_expression:
            value = self.evaluate(wf, t, info.department_expression)
            if isinstance(value, str) and value:
                props = {**props, "department": value}
        assignee = self.assignee(wf, t, info)
        due_at, provisional = deadline_of(self.ctx, info, t.spiff_task, now, conn)
        return props, assignee, due_at, provisional

    @staticmethod
    def evaluate(wf, ready_task: ReadyTask, expr):
        try:
            return wf.script_engine.evaluate(ready_task.spiff_task, expr)
        except ScriptViolation:
            raise  # refused, too slow, too big: an incident (``prepare``)
        except Exception:  # a failing routing/deadline expression leaves the default
            return None

    @staticmethod
    def assignee(wf, ready_task: ReadyTask, info: TaskSpecInfo) -> str | None:
        expr = info.assignee
        if not expr:
            return None
        try:
            value = wf.script_engine.evaluate(ready_task.spiff_task, expr)
        except ScriptViolation:
            raise
        except Exception:  # an assignee expression that fails leaves the task to the queue
            return None
        return value if isinstance(value, str) and value else None
