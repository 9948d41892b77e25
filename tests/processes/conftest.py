"""Fixtures for driving the shipped process library (bpmn/) through the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine, TaskInfo
from tests.conftest import BPMN, actor, district_engine


def library_deploy(engine: Engine, stem: str):
    """Deploy ``bpmn/<stem>.bpmn`` as ``kunflow init`` does: with every DMN file of bpmn/ and
    the ``bpmn/forms/<form_key>.form`` files that exist (the engine stores only what the
    diagram uses)."""
    from web.provision import library_files

    for path, extra in library_files(BPMN):
        if path.stem == stem:
            return engine.deploy(path.name, path.read_bytes(), extra, actor=actor(engine, "admin"))
    raise AssertionError(f"bpmn/{stem}.bpmn not found")


class Driver:
    """Drives instances as the users of the departments the tasks route to.

    ``cold=True`` builds a new Engine before every step (save/restore between steps), with the
    district's service-task handlers registered as the app does."""

    def __init__(self, engine: Engine, cold: bool):
        self._engine, self.cold = engine, cold
        self._current: Engine | None = None

    @property
    def engine(self) -> Engine:
        if not self.cold:
            return self._engine
        if self._current is not None:  # one restarted engine at a time: dispose the last one
            self._current.db.dispose()
        self._current = district_engine(self._engine.database_url)
        return self._current

    def close(self) -> None:
        if self._current is not None:
            self._current.db.dispose()
            self._current = None

    @property
    def reader(self) -> Engine:
        """What a test only reads to assert goes through the fixture's engine, so that in cold
        mode only the commands pay for a brand-new Engine."""
        return self._engine

    def user(self, username: str):
        return actor(self._engine, username)

    def open_tasks(self, iid: int) -> dict[str, TaskInfo]:
        return {t.element_id: t for t in
                self.reader.get_instance(iid, actor(self._engine, "admin")).tasks}

    def clerk_for(self, task: TaskInfo) -> str:
        """The department's caseworker, or its head when the task needs the head role."""
        assert task.department_code, f"{task.element_id} routes to no department"
        role = "head" if task.candidate_role == "head" else "clerk"
        return f"{task.department_code}-{role}"

    def complete(self, iid: int, element_id: str, data: dict | None = None,
                 expect_department: str | None = None) -> TaskInfo:
        tasks = self.open_tasks(iid)
        assert element_id in tasks, f"{element_id} not open; open: {sorted(tasks)}"
        task = tasks[element_id]
        if expect_department is not None:
            assert task.department_code == expect_department, (
                f"{element_id} routed to {task.department_code}, expected {expect_department}")
        who = self.user(self.clerk_for(task))
        return self.engine.complete(task.id, who, data or {})


@pytest.fixture(params=["warm", "cold"])
def driver(request, engine):
    drv = Driver(engine, request.param == "cold")
    yield drv
    drv.close()


def pytest_collection_modifyitems(config, items):
    """Each path runs cold on both databases (a new Engine before every step: the state is
    saved and loaded again through the database each time, the stronger check of persistence)
    and warm (the live workflow cache) on SQLite only: what the warm run adds, the cache and
    its version check, does not depend on the database, and the engine's own tests run it on
    PostgreSQL. The fourth combination, warm on PostgreSQL, repeated that at a quarter of the
    suite's time for the process library."""
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:  # every test of the session reaches this hook: only this folder's
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (item.path.is_relative_to(here) and params.get("driver") == "warm"
                and params.get("db_url") == "postgresql"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
