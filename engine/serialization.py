"""Workflow state <-> JSON, without the spec (specs come from the definition cache).

SpiffWorkflow embeds the whole parsed spec in every serialization by default and rebuilds it on
every load; kunflow keeps parsed specs in memory per definition version and stores only the
state. The serializer version is stored beside the state so that library upgrades can migrate.
"""

from __future__ import annotations

import json
import threading

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .errors import EngineError


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Leaves ``spec``/``subprocess_specs`` out; ``from_dict`` takes them as arguments."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None, script_engine=None):
        workflow = self.target_class(
            spec, subprocess_specs or {}, script_engine=script_engine, deserializing=True
        )
        from uuid import UUID

        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    _StateOnlyWorkflowConverter(BpmnWorkflow, registry)  # replaces the default registration
    return BpmnWorkflowSerializer(registry)


_local = threading.local()


def _serializer() -> BpmnWorkflowSerializer:
    # The registry toggles internal flags while converting; one serializer per thread.
    ser = getattr(_local, "serializer", None)
    if ser is None:
        ser = _local.serializer = _make_serializer()
    return ser


SERIALIZER_VERSION = _make_serializer().VERSION


class StateError(EngineError):
    code = "state_error"


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize the runtime state of ``workflow`` (no spec) to JSON."""
    ser = _serializer()
    dct = ser.to_dict(workflow)
    return json.dumps(dct, cls=ser._encoder_cls, ensure_ascii=False, separators=(",", ":"))


def load_state(
    state_json: str, serializer_version: str, spec, subprocess_specs, script_engine=None
) -> BpmnWorkflow:
    """Rebuild a workflow from stored state and the cached spec of its definition version."""
    ser = _serializer()
    dct = json.loads(state_json)
    if serializer_version != ser.VERSION:
        dct[ser.VERSION_KEY] = serializer_version
        ser.migrate(dct)
    return ser.from_dict(
        dct, spec=spec, subprocess_specs=subprocess_specs, script_engine=script_engine
    )
