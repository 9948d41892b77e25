"""Query: a trial run (试运行) of a process in memory. The spec is parsed from the given XML and
files (or the process's draft, or its newest version), a workflow runs with the engine's
sandboxed script engine: the start data, then each step completes the READY user task of its
element with its data. Nothing is stored: no instance row, no task rows, no events, no
decision log; service tasks and called processes are not called (listed as skipped), messages
are not sent, timers are listed with their due time. Every call replays from the start."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .. import routing
from ..checks import check_data, check_field_names, text
from ..clock import utcnow
from ..context import Context
from ..decisions import plain, take_decisions
from ..definitions import parse
from ..deployments import Deployments
from ..dto import (
    Actor,
    TrialDecision,
    TrialError,
    TrialMessage,
    TrialResult,
    TrialStep,
    TrialTask,
    TrialTimer,
)
from ..errors import Forbidden, InvalidInput
from ..messages import requested_calls, thrown_messages
from ..model import department, process_draft
from ..persistence import Persistence, info_of
from ..scripting import KunflowScriptEngine, bind_business_key
from ..specs import CALL_STATE, element_type
from ..timers import is_timer, timer_due
from .decisions import check_files

MAX_STEPS = 200
# A trial's whole run (all steps, each with the script budget of a command) stops after this
# many script time limits: 200 steps of a loop just under the limit would hold a worker for
# minutes otherwise.
RUN_LIMIT_FACTOR = 15
_clock = time.monotonic  # the tests replace it
TRIAL_BUSINESS_KEY = "试运行"
SKIPPED_ATTR = "kunflow_trial_skipped"

DRAFT = sa.select(process_draft.c.bpmn_xml, process_draft.c.files_json).where(
    process_draft.c.process_key == sa.bindparam("key"))

def _top(workflow):
    return getattr(workflow, "top_workflow", None) or workflow


class TrialScriptEngine(KunflowScriptEngine):
    """The engine's script engine (same sandbox, helpers and limits) that calls no service:
    a service task is noted as skipped and its result variable gets None."""

    def call_service(self, task, **kwargs):
        _top(task.workflow).__dict__.setdefault(SKIPPED_ATTR, []).append(task)
        return "null"


class TrialRun:
    def __init__(self, ctx: Context, persistence: Persistence, deployments: Deployments):
        self.ctx = ctx
        self.persistence = persistence
        self.deployments = deployments
        self.script_engine = None

    def engine(self) -> TrialScriptEngine:
        if self.script_engine is None:
            self.script_engine = TrialScriptEngine(environment=self.ctx.script_engine.environment)
        return self.script_engine

    def trial_run(self, key: str, actor: Actor, bpmn_xml: str | None = None,
                  files: dict[str, str] | None = None, start_data: dict | None = None,
                  steps=()) -> TrialResult:
        """Run ``key``'s process (``bpmn_xml`` and ``files``; else its draft; else its newest
        version) in memory: start with ``start_data``, then per step complete the READY user
        task ``step["element_id"]`` with ``step["data"]``. The state after the last step."""
        if not actor.is_admin:
            raise Forbidden("只有流程管理员可以试运行流程")
        text(key, "process_key", 200, required=True)
        start_data = self.checked_data(start_data, "start_data")
        steps = self.checked_steps(steps)
        if bpmn_xml is not None:
            text(bpmn_xml, "bpmn_xml", 5_000_000, required=True)
        if files is not None:
            check_files(files)
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            loaded = self.spec(conn, key, bpmn_xml, files)
            self.ctx.calendar.current(conn)
            return self.run(conn, loaded, start_data, steps)

    # ------------------------------------------------------------------ input

    def checked_data(self, data, name: str) -> dict:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidInput(f"{name} 必须是 JSON 对象")
        check_data(data, name)
        check_field_names(data, self.ctx.script_engine.environment.globals)
        return data

    def checked_steps(self, steps) -> list[tuple[str, dict]]:
        if not isinstance(steps, list | tuple):
            raise InvalidInput("steps 必须是列表")
        if len(steps) > MAX_STEPS:
            raise InvalidInput(f"一次试运行最多 {MAX_STEPS} 步")
        out = []
        for i, step in enumerate(steps, 1):
            if not isinstance(step, dict):
                raise InvalidInput(f"第 {i} 步必须是 {{element_id, data}} 对象")
            element = text(step.get("element_id"), f"第 {i} 步的 element_id", 200,
                           required=True)
            out.append((element, self.checked_data(step.get("data"), f"第 {i} 步的 data")))
        return out

    def spec(self, conn, key: str, bpmn_xml: str | None, files: dict | None):
        """The parsed spec to try: the given XML, else the draft's, else the newest
        version's; files: the given ones, else the draft's, else the newest version's."""
        draft = conn.execute(DRAFT, {"key": key}).first()
        if bpmn_xml is None and draft is None and files is None:
            return self.ctx.spec(self.deployments.definition_row(conn, key, None).id)
        if bpmn_xml is None or files is None:
            if draft is not None:
                bpmn_xml = bpmn_xml if bpmn_xml is not None else draft.bpmn_xml
                files = files if files is not None else json.loads(draft.files_json or "{}")
            else:
                drow = self.deployments.definition_row(conn, key, None)
                _, bpmn, stored = self.ctx.definition_source(drow.id)
                bpmn_xml = bpmn_xml if bpmn_xml is not None else bpmn.decode("utf-8")
                if files is None:
                    files = {n: c.decode("utf-8") for n, c in stored.items()}
        parsed, loaded = parse(f"{key}.bpmn", bpmn_xml.encode("utf-8"),
                               {n: c.encode("utf-8") for n, c in files.items()}, validate=False)
        if parsed.key != key:
            raise InvalidInput(f"流程图的流程标识 {parsed.key} 与 {key} 不一致")
        return loaded

    # ------------------------------------------------------------------ the run

    def run(self, conn, loaded, start_data: dict, steps) -> TrialResult:
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.engine())
        bind_business_key(wf, TRIAL_BUSINESS_KEY)
        wf.task_tree.data.update(start_data)
        skipped_calls: list = []
        messages: list = []
        deadline = _clock() + RUN_LIMIT_FACTOR * self.ctx.script_limits.seconds
        error = self.advance(wf, None, skipped_calls, messages, deadline)
        for i, (element, data) in enumerate(steps, 1):
            if error is not None:
                break
            error = self.out_of_time(deadline, element, i)
            if error is not None:
                break
            task = next((t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                         if (getattr(t.task_spec, "bpmn_id", None) or t.task_spec.name)
                         == element), None)
            if task is None:
                error = TrialError(element, f"第 {i} 步：{element} 不是当前可办理的用户任务")
                break

            def complete(task=task, data=data):
                task.data.update(data)
                task.run()

            error = self.advance(wf, complete, skipped_calls, messages, deadline)
        return self.result(conn, wf, loaded, error, skipped_calls, messages)

    def advance(self, wf, action, skipped_calls: list, messages: list, deadline: float
                ) -> TrialError | None:
        """Run ``action`` and the engine steps as a real command does; a called process is
        not started: its call activity completes at once (skipped)."""
        running = self.persistence.running
        incident = running.advance(wf, action)
        for _ in range(MAX_STEPS):
            messages.extend(thrown_messages(wf))
            calls = requested_calls(wf) if incident is None else []
            if not calls:
                break
            late = self.out_of_time(deadline, calls[0].task_spec.bpmn_id, None)
            if late is not None:
                running.take_budget(wf)
                return late

            def skip(calls=calls):
                for call_task in calls:
                    call_task.internal_data[CALL_STATE]["state"] = "done"
                    skipped_calls.append(call_task)
                    call_task.task_spec._update(call_task)

            incident = running.advance(wf, skip)
        running.take_budget(wf)
        if incident is None:
            return None
        message = incident["message"]
        if not message.startswith("脚本"):
            message = f"执行出错：{message}"
        return TrialError(incident["element_id"], message)

    def out_of_time(self, deadline: float, element: str | None, step: int | None
                    ) -> TrialError | None:
        if _clock() <= deadline:
            return None
        seconds = int(RUN_LIMIT_FACTOR * self.ctx.script_limits.seconds)
        where = f"第 {step} 步前" if step else "调用活动处"
        return TrialError(element, f"试运行超过时间上限（{seconds} 秒），在{where}停止："
                                   "请减少步数，或简化循环与脚本")

    # ------------------------------------------------------------------ the result

    def result(self, conn, wf, loaded, error, skipped_calls, messages) -> TrialResult:
        now = utcnow()
        running = self.persistence.running
        ready, prepared, _, incident = running.prepare(
            conn, wf, loaded, {}, now, running.take_budget(wf), None, error is None)
        if error is None and incident is not None:
            error = TrialError(incident["element_id"], incident["message"])
        directory = self.ctx.directory()
        names = dict(conn.execute(sa.select(department.c.code, department.c.name)).all())
        tasks = []
        for tid, t in ready.items():
            info = info_of(loaded, t)
            props, assignee, due_at, _ = prepared.get(tid) or (info.properties, None, None, None)
            code = routing.department_for(t.lane, loaded.parsed.lanes, props, directory)
            tasks.append(TrialTask(
                element_id=t.element_id, name=t.name, lane=t.lane, department_code=code,
                department_name=names.get(code), candidate_role=info.candidate_role,
                form_key=info.form_key,
                form=loaded.forms.get(info.form_key) if info.form_key else None,
                assignee=assignee, due_at=due_at))
        skipped_ids = {t.id for t in [*wf.__dict__.pop(SKIPPED_ATTR, []), *skipped_calls]}
        completed = []
        skipped = []
        for task in self.finished(wf):
            spec = task.task_spec
            step = TrialStep(element_id=spec.bpmn_id, name=getattr(spec, "bpmn_name", None),
                             element_type=element_type(spec), skipped=task.id in skipped_ids)
            completed.append(step)
            if step.skipped:
                skipped.append(step)
        ended = error is None and wf.is_completed()
        if ended:
            data = wf.data
        else:
            last = wf.last_task
            data = last.data if last is not None else wf.task_tree.data
        return TrialResult(
            status="error" if error is not None else ("completed" if ended else "running"),
            ended=ended,
            completed=tuple(completed),
            ready=tuple(tasks),
            decisions=tuple(TrialDecision(e.element_id, e.decision_id, e.inputs, e.outputs)
                            for e in take_decisions(wf)),
            data=plain({k: v for k, v in data.items() if k != "data_objects"}),
            error=error,
            skipped=tuple(skipped),
            timers=self.timers(wf),
            messages=tuple(TrialMessage(name, plain(payload)) for name, payload in messages),
        )

    @staticmethod
    def finished(wf) -> list:
        """The workflow's completed BPMN elements (its sub-processes' too), in the order they
        ran; SpiffWorkflow's own tasks (root, start, end joins) left out."""
        done = [
            task
            for flow in (wf, *wf.subprocesses.values())
            for task in flow.tasks.values()
            if task.state == TaskState.COMPLETED and getattr(task.task_spec, "bpmn_id", None)
        ]
        return sorted(done, key=lambda t: t.last_state_change)

    @staticmethod
    def timers(wf) -> tuple:
        out = []
        for task in list(wf.event_manager.tasks.values()):
            spec = task.task_spec
            if not is_timer(spec):
                continue
            out.append(TrialTimer(element_id=getattr(spec, "bpmn_id", None) or spec.name,
                                  name=getattr(spec, "bpmn_name", None), due=timer_due(task)))
        return tuple(out)
