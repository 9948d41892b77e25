"""Fixtures of the engine suite (no Flask). The shared `db_url`/`engine` fixtures live one level up.

Helpers that read the database take the engine as an argument, so that a test can hand them a
freshly built Engine (a restarted process, a second node).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import Actor, Engine, TaskInfo
from engine.definitions import parse
from engine.model import instance
from engine.serialization import load_state

TESTS = Path(__file__).resolve().parent.parent


class People:
    """Demo users of config/org.yaml as engine actors: ``people["drc-clerk"]``."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._actors: dict[str, Actor] = {}

    def __getitem__(self, username: str) -> Actor:
        if username not in self._actors:
            user = self._engine.get_user(username)
            assert user is not None, f"demo user {username} missing from the org chart"
            self._actors[username] = user.actor()
        return self._actors[username]


@pytest.fixture
def people(engine) -> People:
    return People(engine)


@pytest.fixture
def bpmn_fixture():
    """Bytes of a diagram in tests/fixtures/bpmn by stem: ``bpmn_fixture("quoted_timer")``."""

    def read(stem: str) -> bytes:
        return (TESTS / "fixtures" / "bpmn" / f"{stem}.bpmn").read_bytes()

    return read


@pytest.fixture
def sample_bpmn():
    """Bytes of a shipped diagram in bpmn/ by stem: ``sample_bpmn("sample_review")``."""

    def read(stem: str) -> bytes:
        return (TESTS.parent / "bpmn" / f"{stem}.bpmn").read_bytes()

    return read


@pytest.fixture
def open_tasks(people):
    """``open_tasks(engine, instance_id)`` -> {element_id: TaskInfo} of the instance's open tasks.

    Takes the engine as an argument so that tests can pass a freshly built one.
    """

    def read(engine: Engine, instance_id: int) -> dict[str, TaskInfo]:
        page = engine.list_tasks(
            people["admin"], scope="all", state="open", instance_id=instance_id, limit=500
        )
        tasks = {}
        for t in page.items:
            assert t.element_id not in tasks, f"two open {t.element_id} tasks in one instance"
            tasks[t.element_id] = t
        return tasks

    return read


@pytest.fixture
def stored_state():
    """``stored_state(engine, instance_id)`` -> the instance row's state_json,
    serializer_version and completed_tasks, read straight from the table."""

    def read(engine: Engine, instance_id: int):
        with engine.db.connect() as conn:
            return conn.execute(
                sa.select(
                    instance.c.state_json, instance.c.serializer_version, instance.c.completed_tasks
                ).where(instance.c.id == instance_id)
            ).one()

    return read


@pytest.fixture
def tree_shape():
    """``tree_shape(row, filename, bpmn_bytes)`` -> (tasks, depth of the deepest task) of the
    workflow stored in ``row`` (a ``stored_state`` result)."""

    def shape(row, filename: str, bpmn: bytes) -> tuple[int, int]:
        _, loaded = parse(filename, bpmn)
        wf = load_state(
            row.state_json, row.serializer_version, loaded.spec, loaded.subprocess_specs
        )
        depth = 0
        for task in wf.tasks.values():
            d, node = 0, task
            while node.parent is not None:
                d, node = d + 1, node.parent
            depth = max(depth, d)
        return len(wf.tasks), depth

    return shape


@pytest.fixture
def second_node(db_url, engine):
    """Another Engine on the same database (another node): its own connection pool and
    caches."""
    node = Engine(db_url)
    yield node
    node.db.dispose()
