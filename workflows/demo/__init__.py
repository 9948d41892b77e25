"""Demo data: a year of the district's work, made by driving the real engine (``kunflow demo``).

Every case is started, claimed and completed through the Engine's commands by the users of the
departments its tasks route to; timers fire from ``Engine.fire_due_timers`` and the mine cases
report back by message — nothing is written to a table directly. The clock is moved with
time-machine through the past months (SpiffWorkflow and the engine read the clock themselves),
so created, due and completed times look like real work, and what was not done by "today"
(28 November 2026) is open, some of it overdue, with the escalations its timers raised.

The cases run side by side on one timeline: each case is a generator that does a step and
yields when it wants to act next; the simulation wakes the earliest, firing on the way every
timer that falls due, at its due time. A seeded random generator picks names, amounts and
durations: the same seed gives the same cases. What the demo contains: ``docs/demo.md``.

The package, in the order a load runs:

- ``world.py``: the clock (China time, time-machine), the users' commands, timers, the
  simulation of many cases on one timeline
- ``planner.py``: every case drawn from the seed (``plan_demo``)
- one module per process: ``project_lifecycle.py``, ``mine_approval.py``,
  ``supervision_monthly.py``, ``whistle_referral.py``, ``hazard_rectification.py``
- ``registers.py``: the demo register (firms, mines in each status, 选矿厂, 尾矿库), loaded first;
  ``register_cases.py``: cases started from its entries as the entry page's 发起 starts them
  (daily supervision, 伴生放射性, 河道采砂, 三在三找), and the hook ``start_mine_closure``
- ``loading.py``: ``load_demo`` spawns the cases, runs the simulation and sums up
- ``catalog.py``: what the cases are about (projects, firms, people, reports): plain data
"""

from __future__ import annotations

from .loading import (
    DEMO_SEED,
    SERVICE_HANDLERS,
    DemoSummary,
    caseworkers,
    instance_count,
    load_demo,
)
from .planner import (
    DEMO_STREETS,
    MINE_STATES,
    MINE_STREETS,
    PROJECT_STOPS,
    DemoPlan,
    Planner,
    Project,
    plan_demo,
)
from .register_cases import REGISTER_SCRIPTS, start_mine_closure
from .supervision_monthly import SUPERVISION_KEY, supervision_title
from .world import TODAY, DemoError, Simulation, World, china, utc

__all__ = [
    "DEMO_SEED", "DEMO_STREETS", "MINE_STATES", "MINE_STREETS", "REGISTER_SCRIPTS", "PROJECT_STOPS", "SERVICE_HANDLERS", "SUPERVISION_KEY",
    "TODAY", "DemoError", "DemoPlan", "DemoSummary", "Planner", "Project", "Simulation", "World",
    "caseworkers", "china", "instance_count", "load_demo", "plan_demo", "start_mine_closure", "supervision_title",
    "utc",
]
