"""DMN evaluations: the record of each one a business rule task makes (for ``decision_log``),
and evaluating a decision table against a recorded set of inputs (the change preview).

The parser gives every business rule task a ``RecordingDMNEngine`` (``specs.py``): it decides
exactly as SpiffWorkflow's ``DMNEngine`` (same rules, same hit policies) and, once the result
is known, notes on the workflow the decision id, the values of the table's input expressions
and the result. ``Store.save`` writes the notes of the step it saves (``log_decisions``) in the
same transaction; a trial run reads them (``take_decisions``) and writes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import SimpleNamespace

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from .model import decision_log
from .sandbox import ScriptViolation

# The workflow attribute that holds the evaluations not yet stored (never serialized).
DECISIONS_ATTR = "kunflow_decisions"

INSERT_DECISION = decision_log.insert()

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a decision table by a business rule task. ``inputs``: input
    expression (or label, without one) -> its value; ``outputs``: the result as merged into the
    task data (hit policy COLLECT: a list per output)."""

    element_id: str
    decision_id: str
    inputs: dict
    outputs: dict


def plain(value):
    """``value`` as JSON gives it back (what a log row holds)."""
    return json.loads(dumps(value))


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def input_key(table_input) -> str:
    return table_input.expression or table_input.label or table_input.id


def input_values(table, task) -> dict:
    """The value of each input expression of ``table`` in ``task``'s data (None where one
    fails: the rules that test it failed too, or did not test it)."""
    script_engine = task.workflow.script_engine
    values = {}
    for table_input in table.inputs:
        key = input_key(table_input)
        try:
            if table_input.expression:
                value = script_engine.evaluate(task, table_input.expression)
            else:
                value = task.data.get(table_input.label)
        except ScriptViolation:
            raise
        except Exception:  # recording never changes what the task does
            value = None
        values[key] = value
    return values


class RecordingDMNEngine(DMNEngine):
    """SpiffWorkflow's ``DMNEngine`` that notes each result on the workflow."""

    def __init__(self, decision_table, decision_id: str):
        super().__init__(decision_table)
        self.decision_id = decision_id

    def result(self, task):
        outputs = super().result(task)
        workflow = getattr(task.workflow, "top_workflow", None) or task.workflow
        spec = task.task_spec
        evaluation = Evaluation(
            element_id=getattr(spec, "bpmn_id", None) or spec.name,
            decision_id=self.decision_id,
            inputs=plain(input_values(self.decision_table, task)),
            outputs=plain(outputs),
        )
        workflow.__dict__.setdefault(DECISIONS_ATTR, []).append(evaluation)
        return outputs


def take_decisions(wf) -> list[Evaluation]:
    """The evaluations noted on ``wf`` since the last take (removed from it)."""
    return wf.__dict__.pop(DECISIONS_ATTR, None) or []


def log_decisions(conn, head, wf, now) -> None:
    """Write the evaluations of the step being saved to ``decision_log`` (one statement, none
    when the step evaluated no decision table)."""
    evaluations = take_decisions(wf)
    if not evaluations:
        return
    conn.execute(INSERT_DECISION, [
        {"process_key": head.process_key, "definition_id": head.definition_id,
         "instance_id": head.id, "element_id": e.element_id, "decision_id": e.decision_id,
         "inputs_json": dumps(e.inputs), "outputs_json": dumps(e.outputs), "at": now}
        for e in evaluations
    ])


# ---------------------------------------------------------------------- replaying inputs


class _Spec(SimpleNamespace):
    pass


def _replay_task(script_engine, data: dict):
    """The smallest task the DMN engine and the script engine evaluate in: its data and a
    workflow carrying the script engine (errors name it as a trial of the table)."""
    workflow = SimpleNamespace(script_engine=script_engine, spec=SimpleNamespace(file="dmn"),
                               data={})
    workflow.top_workflow = workflow
    spec = _Spec(name="dmn_preview", bpmn_id="dmn_preview", bpmn_name="决策变更预览")
    return SimpleNamespace(data=data, workflow=workflow, task_spec=spec, id=None)


def replay_table(table, inputs: dict, script_engine) -> dict:
    """The result of ``table`` (SpiffWorkflow's DMN engine and hit policies) for a recorded
    input set ``inputs`` (input expression -> value).

    Each of the table's input expressions that was recorded takes the recorded value; a
    recorded expression that is a plain name is also in the data, for output expressions that
    use it. An input expression that was never recorded is evaluated against those names (and
    fails when it needs more). Raises what the evaluation raises."""
    data = {k: v for k, v in inputs.items() if _NAME.match(k)}
    saved = []
    for i, table_input in enumerate(table.inputs):
        key = input_key(table_input)
        if not table_input.expression and key in inputs:
            data[key] = inputs[key]  # the DMN engine reads an input without expression so
        elif key in inputs and not _NAME.match(key):
            name = f"dmn_input_{i}"
            data[name] = inputs[key]
            saved.append((table_input, table_input.expression))
            table_input.expression = name
    try:
        return plain(DMNEngine(table).result(_replay_task(script_engine, data)))
    finally:
        for table_input, expression in saved:
            table_input.expression = expression
