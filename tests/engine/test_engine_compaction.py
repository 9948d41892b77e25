"""Differential tests of engine.compaction in pure SpiffWorkflow (no database).

Each model is driven twice by the same deterministic policy, with a save/restore
(engine.serialization) between all steps: once compacting before every save, once not. Both runs
must offer the same ready tasks at every step and end with the same data; the compacted tree must
stay bounded where the uncompacted one grows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.compaction import compact_workflow
from engine.definitions import parse
from engine.serialization import SERIALIZER_VERSION, dump_state, load_state

TESTS = Path(__file__).resolve().parent.parent
# The reference model beside the repository (../shared), as bench/engine.py uses it.
# A copy of ../shared/reference/models/lifecycle.bpmn (the benchmark reference model).
LIFECYCLE = TESTS / "fixtures" / "bpmn" / "reference_lifecycle.bpmn"
PARALLEL_LOOP = TESTS / "fixtures" / "bpmn" / "parallel_loop.bpmn"
QUOTED_TIMER = TESTS / "fixtures" / "bpmn" / "quoted_timer.bpmn"
START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
MAX_STEPS = 500


@cache
def _spec(path: Path):
    _, loaded = parse(path.name, path.read_bytes())
    return loaded


def _save_restore(wf, path: Path, compact: bool):
    if compact:
        compact_workflow(wf)
    loaded = _spec(path)
    return load_state(dump_state(wf), SERIALIZER_VERSION, loaded.spec, loaded.subprocess_specs)


def _ready(wf):
    return sorted(wf.get_tasks(state=TaskState.READY, manual=True), key=lambda t: t.task_spec.name)


def _drive(path: Path, data: dict, compact: bool, pick, timer_at: str | None = None):
    """Complete ready tasks chosen by ``pick(step, ready)`` until none is left.

    When ``timer_at`` is ready for the first time, 31 days pass instead of a completion.
    Returns (ready spec names per step, final data, tree sizes, completed?).
    """
    loaded = _spec(path)
    with time_machine.travel(START, tick=False) as clock:
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
        wf.task_tree.data.update(data)
        wf.do_engine_steps()
        steps, sizes, fired = [], [], False
        for step in range(MAX_STEPS):
            wf = _save_restore(wf, path, compact)
            sizes.append(len(wf.tasks))
            ready = _ready(wf)
            steps.append(tuple(t.task_spec.name for t in ready))
            if not ready:
                break
            if timer_at in steps[-1] and not fired:
                fired = True
                clock.shift(timedelta(days=31))
                wf.refresh_timers()
                wf.do_engine_steps()
                continue
            task = ready[pick(step, ready)]
            task.data.update({f"{task.task_spec.name}_step": step})
            task.run()
            wf.do_engine_steps()
        else:
            pytest.fail(f"{path.name} did not finish in {MAX_STEPS} steps")
    return steps, dict(wf.data), sizes, wf.is_completed()


def _first(step, ready):
    return 0


def _last(step, ready):
    return len(ready) - 1


@pytest.mark.parametrize(
    ("data", "timer_at", "expect"),
    [
        ({"total_investment_bn": 10}, None, "Task_ChairmanApproval"),
        ({"total_investment_bn": 2000}, None, "Task_CouncilApproval"),
        ({"total_investment_bn": 2000}, "Task_AppraiseFeasibility", "Task_EscalateAppraisal"),
    ],
    ids=["below_threshold", "above_threshold", "appraisal_overdue"],
)
@pytest.mark.parametrize("pick", [_first, _last], ids=["first_ready", "last_ready"])
def test_lifecycle_same_with_and_without_compaction(data, timer_at, expect, pick):
    plain = _drive(LIFECYCLE, data, compact=False, pick=pick, timer_at=timer_at)
    compacted = _drive(LIFECYCLE, data, compact=True, pick=pick, timer_at=timer_at)
    steps, final, sizes, completed = compacted
    assert completed and plain[3]
    assert steps == plain[0]
    assert final == plain[1]
    assert final["total_investment_bn"] == data["total_investment_bn"]
    assert f"{expect}_step" in final
    # The parallel appraisal: four opinions open together.
    assert max(len(s) for s in steps) == 4
    if timer_at:
        assert "Task_AppraiseFeasibility_step" not in final
    else:
        assert "Task_EscalateAppraisal_step" not in final
    assert max(sizes) <= max(plain[2])


@pytest.mark.parametrize("pick", [_first, _last], ids=["first_ready", "last_ready"])
def test_parallel_loop_same_with_and_without_compaction(pick):
    """A parallel split/join inside a loop, 20 rounds. Branches finish in the same order every
    round (the library's own join miscounts otherwise, see test_engine_parallel.py)."""
    data = {"rounds_done": 0, "target_rounds": 20}
    steps, final, sizes, completed = _drive(PARALLEL_LOOP, data, compact=True, pick=pick)
    plain_steps, plain_final, plain_sizes, plain_completed = _drive(
        PARALLEL_LOOP, data, compact=False, pick=pick
    )
    assert completed and plain_completed
    assert steps == plain_steps
    assert final == plain_final
    assert final["rounds_done"] == 20
    assert len(steps) == 3 * 20 + 1
    assert steps[:3] == [
        ("opinion_a", "opinion_b", "opinion_c"),
        *(
            [("opinion_b", "opinion_c"), ("opinion_c",)]
            if pick is _first
            else [("opinion_a", "opinion_b"), ("opinion_a",)]
        ),
    ]
    # Uncompacted, every round adds its tasks to the tree; compacted, rounds leave nothing.
    assert plain_sizes[-2] > 150
    assert max(sizes) <= 40, f"compacted tree grew to {max(sizes)} tasks"
    assert max(sizes[-10:]) <= max(sizes[3:13]) + 3


def _timer_run(compact: bool):
    """quoted_timer: fill_form with an interrupting "P30D" boundary timer, left undone."""
    loaded = _spec(QUOTED_TIMER)
    seen = []

    def look(wf, label):
        fill = wf.get_tasks(spec_name="fill_form")
        seen.append(
            (
                label,
                tuple(t.task_spec.name for t in _ready(wf)),
                tuple(TaskState.get_name(t.state) for t in fill),
                tuple(
                    sorted(
                        t.task_spec.name
                        for t in wf.get_tasks(state=TaskState.COMPLETED)
                        if t.task_spec.name in ("form_done", "form_expired")
                    )
                ),
                wf.is_completed(),
            )
        )

    with time_machine.travel(START, tick=False) as clock:
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
        wf.do_engine_steps()
        wf = _save_restore(wf, QUOTED_TIMER, compact)
        (pending,) = wf.waiting_events()
        due = datetime.fromisoformat(pending.value)
        look(wf, "start")
        for days, label in ((1, "day 1"), (28, "day 29"), (2, "day 31")):
            clock.shift(timedelta(days=days))
            # Restored after the clock moved: the due time must come from the stored state.
            wf = _save_restore(wf, QUOTED_TIMER, compact)
            wf.refresh_timers()
            wf.do_engine_steps()
            look(wf, label)
    return seen, due


@pytest.mark.parametrize("compact", [True, False], ids=["compacted", "plain"])
def test_boundary_timer_fires_after_30_days(compact):
    seen, due = _timer_run(compact)
    assert due == START + timedelta(days=30)
    by_label = {s[0]: s[1:] for s in seen}
    waiting = (("fill_form",), ("READY",), (), False)
    assert by_label["start"] == waiting
    assert by_label["day 1"] == waiting
    assert by_label["day 29"] == waiting
    ready, fill_states, ends, completed = by_label["day 31"]
    assert ready == ()
    assert completed is True
    assert ends == ("form_expired",)
    assert fill_states == ("CANCELLED",)
    if compact:
        assert seen == _timer_run(False)[0]
