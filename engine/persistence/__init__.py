"""Persistence of instances: ``store`` (load and save one instance's workflow and read
models), ``running`` (engine steps within the limits of diagram code; routing and deadlines of
new tasks), ``cascade`` (calls, messages and terminations across instances). ``Persistence``
builds the three over the shared context and wires the cascade into the store."""

from __future__ import annotations

from ..context import Context
from ..deployments import Deployments
from .cascade import Cascade
from .running import Running, element_of, info_of, violation_incident
from .store import Step, Store, spiff_task

__all__ = ["Cascade", "Persistence", "Running", "Step", "Store", "element_of", "info_of",
           "spiff_task", "violation_incident"]


class Persistence:
    def __init__(self, ctx: Context, deployments: Deployments):
        self.running = Running(ctx)
        self.store = Store(ctx, self.running)
        self.cascade = Cascade(ctx, self.store, self.running, deployments)
        self.store.effects = self.cascade
