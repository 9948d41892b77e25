"""The inclusive join behind branches with loops (engine/specs.py ``pending_tokens_can_reach``).

SpiffWorkflow 3.2's own check walks back from each input of the join through the *first*
unvisited incoming flow of every element only. In ``inclusive_loops.bpmn`` the review's merge
lists the extension's flow first; once that walk has met the review gateway it stops, never
sees the token waiting at 受理 (after a rejection), and the join fires with a branch still
under way. Each scenario runs on one workflow and again with the state serialized and rebuilt
from the spec before every step.
"""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway
from SpiffWorkflow.util.task import TaskState

from engine.serialization import SERIALIZER_VERSION, dump_state, load_state
from engine.specs import KunflowBpmnParser
from tests.conftest import FIXTURES


def _spec():
    parser = KunflowBpmnParser()
    parser.add_bpmn_file(str(FIXTURES / "bpmn" / "inclusive_loops.bpmn"))
    return parser.get_spec("inclusive_loops")


class Run:
    """Drives ``inclusive_loops``; ``cold`` rebuilds the workflow from its state every step."""

    def __init__(self, cold: bool, **needs):
        self.spec, self.cold = _spec(), cold
        self.wf = BpmnWorkflow(self.spec)
        self.wf.task_tree.data.update({"needs_a": False, "needs_b": False, "needs_c": False})
        self.wf.task_tree.data.update(needs)
        self.wf.do_engine_steps()

    def open(self) -> set[str]:
        return {t.task_spec.name for t in self.wf.get_tasks(state=TaskState.READY, manual=True)}

    def complete(self, name: str, **data) -> set[str]:
        if self.cold:
            self.wf = load_state(dump_state(self.wf), SERIALIZER_VERSION, self.spec, {})
        (task,) = [
            t
            for t in self.wf.get_tasks(state=TaskState.READY, manual=True)
            if t.task_spec.name == name
        ]
        task.data.update(data)
        task.run()
        self.wf.do_engine_steps()
        return self.open()


@pytest.fixture(params=["warm", "cold"])
def cold(request):
    return request.param == "cold"


def test_the_library_uses_kunflows_inclusive_gateway():
    join = _spec().task_specs["loops_join"]
    assert isinstance(join, InclusiveGateway) and type(join) is not InclusiveGateway
    # The fixture's shape that misleads the stock check: the extension's flow comes first.
    assert [s.name for s in _spec().task_specs["review_merge"].inputs] == [
        "extension_b",
        "accept_b",
    ]


def test_join_waits_for_a_branch_sent_back_to_acceptance(cold):
    run = Run(cold, needs_a=True, needs_b=True)
    assert run.open() == {"task_a", "accept_b"}
    run.complete("accept_b")
    assert run.complete("review_b", b_conclusion="rejected") == {"task_a", "accept_b"}
    # A done: B's token waits at 受理, behind the review merge's second incoming flow.
    assert run.complete("task_a") == {"accept_b"}, "the join fired with branch B under way"
    run.complete("accept_b")
    assert run.complete("review_b", b_conclusion="approved") == {"after_join"}
    assert run.complete("after_join") == set()
    assert run.wf.is_completed()


def test_join_waits_for_an_extension_and_for_a_resubmitted_refusal(cold):
    run = Run(cold, needs_a=True, needs_b=True, needs_c=True)
    run.complete("accept_b")
    run.complete("review_b", b_conclusion="extension")
    assert run.complete("review_c", c_conclusion="refused") == {"task_a", "extension_b", "notify_c"}
    assert run.complete("task_a") == {"extension_b", "notify_c"}
    assert run.complete("extension_b") == {"review_b", "notify_c"}
    assert run.complete("review_b", b_conclusion="approved") == {"notify_c"}
    assert run.complete("notify_c") == {"review_c"}
    assert run.complete("review_c", c_conclusion="approved") == {"after_join"}


def test_join_waits_for_a_branch_still_before_its_review_and_fires_once(cold):
    run = Run(cold, needs_b=True, needs_c=True)
    assert run.open() == {"accept_b", "review_c"}
    assert run.complete("review_c", c_conclusion="approved") == {"accept_b"}
    run.complete("accept_b")
    assert run.complete("review_b", b_conclusion="approved") == {"after_join"}
    joins = [
        t for t in run.wf.get_tasks(spec_name="loops_join") if t.has_state(TaskState.COMPLETED)
    ]
    assert len(joins) == 1
