"""Diagram code has a time and a memory limit (issue 9, item 3).

A script that never ends, recurses without end, or allocates far too much in one operation; an
automatic run that loops through a gateway with no wait state; a timer whose script loops: each
becomes an incident naming the element ("脚本超时" / "脚本内存超限") instead of holding the
database's write lock, and afterwards a write on the same database goes through at once. The
engines here have a 0.3 s limit; the tests check the outcome, not the time it took (except that
it ends at all: each command runs in a thread that must finish within a generous bound).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine.model import instance
from tests.conftest import _backends
from tests.engine.sandbox_support import (
    loop_diagram,
    script_diagram,
    seeded_engine,
    task_then_script_diagram,
    timer_script_diagram,
)

LIMIT = 0.3  # seconds of diagram code per instance and command in these tests
HANG = 60  # a command still running after this long hangs

TIMEOUT = "脚本超时"
MEMORY = "脚本内存超限"
EITHER = (TIMEOUT, MEMORY)  # whichever limit it reaches first

# name -> (script, what the incident says)
RUNAWAY = {
    "while_true": ("while True:\n    pass", TIMEOUT),
    "busy_loop_swallowing": (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except Exception:\n        pass", TIMEOUT),
    "exponential_recursion": (
        "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(200)", TIMEOUT),
    "deep_recursion": ("def f(n):\n    return f(n + 1)\nx = f(0)", None),  # RecursionError
    "huge_string": ("x = 'x' * 10**10", MEMORY),
    "huge_string_literal": ("x = 'x' * 10000000000", MEMORY),
    "huge_power_literal": ("x = 2 ** 10000000000", MEMORY),
    "huge_power": ("x = 2 ** 10**10", MEMORY),
    "huge_shift": ("x = 1 << 10**10", MEMORY),
    "huge_range_list": ("x = list(range(10**10))", MEMORY),
    "huge_range_sum": ("x = sum(range(10**15))", TIMEOUT),
    "huge_padding": ("x = 'a'.ljust(10**10)", MEMORY),
    "huge_format_width": ("x = f'{1:>{10**10}}'", MEMORY),
    "huge_percent_width": ("x = '%*d' % (10**10, 1)", MEMORY),
    "doubling_list": ("x = [0]\nfor i in range(64):\n    x = x + x", EITHER),
    "doubling_in_place": ("x = [0]\nfor i in range(64):\n    x.extend(x)", EITHER),
    "doubling_unpacking": ("x = [0]\nfor i in range(64):\n    x = [*x, *x]", EITHER),
    "growing_comprehension": ("x = [str(i) * 50 for i in range(10**9)]", EITHER),
}


@pytest.fixture(scope="module", params=_backends())
def limited(request, tmp_path_factory):
    with seeded_engine(request.param, tmp_path_factory.mktemp("limits"),
                       script_time_limit=LIMIT, script_memory_mb=128) as eng:
        yield eng


def _people(eng):
    return eng.get_user("drc-clerk").actor(), eng.get_user("admin").actor()


def finishes(command, *args, **kwargs):
    """Run ``command`` in a thread; it must end within HANG seconds. Returns its result."""
    out: dict = {}

    def run():
        try:
            out["value"] = command(*args, **kwargs)
        except BaseException as exc:  # reported below
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive(), f"{command.__name__} still running after {HANG} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def assert_write_goes_through(eng, iid: int) -> None:
    """Another connection writes to the database at once (the write lock was released)."""
    if eng.db.dialect.name == "sqlite":
        conn = sqlite3.connect(eng.db.url.database, timeout=1)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE instance SET updated_at = updated_at WHERE id = ?", (iid,))
            conn.execute("COMMIT")
        finally:
            conn.close()
    else:
        with eng.db.connect() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
            conn.execute(sa.text("UPDATE instance SET updated_at = updated_at WHERE id = :i"),
                         {"i": iid})
            conn.commit()


def incident_of(eng, iid: int) -> dict:
    _, admin = _people(eng)
    assert eng.get_instance(iid, admin).status == "incident"
    (found,) = eng.list_incidents(admin, instance_id=iid)
    return found


@pytest.mark.parametrize("name", sorted(RUNAWAY))
def test_runaway_script_becomes_an_incident(limited, name):
    code, reason = RUNAWAY[name]
    key = f"runaway_{name}"
    clerk, admin = _people(limited)
    limited.deploy(f"{key}.bpmn", script_diagram(key, code), actor=admin)
    inst = finishes(limited.start, key, clerk, business_key=f"R-{name}")
    assert inst.status == "incident"
    found = incident_of(limited, inst.id)
    assert found["element_id"] == "escape"
    if reason is not None:
        reasons = reason if isinstance(reason, tuple) else (reason,)
        assert any(found["message"].startswith(f"{r}：元素 escape ") for r in reasons), found
    else:  # an ordinary error (RecursionError)
        assert "escape" == found["element_id"] and found["message"]
    assert_write_goes_through(limited, inst.id)
    # the stopped script left nothing in the data, and a retry stops it again
    assert "x" not in limited.get_instance(inst.id, admin, with_data=True).data
    again = finishes(limited.retry_incident, inst.id, admin)
    assert again.status == "incident"
    assert_write_goes_through(limited, inst.id)


def test_completion_that_runs_a_runaway_script(limited):
    """The command that reaches the script is a caseworker's completion: it answers, the
    completion is kept, the instance is an incident on the script."""
    key = "runaway_after_task"
    clerk, admin = _people(limited)
    bpmn = task_then_script_diagram(key, "while True:\n    pass")
    limited.deploy(f"{key}.bpmn", bpmn, actor=admin)
    inst = limited.start(key, clerk)
    (fill,) = limited.get_instance(inst.id, admin).tasks
    finishes(limited.complete, fill.id, clerk, {"opinion": "同意"})
    found = incident_of(limited, inst.id)
    assert found["element_id"] == "escape" and found["message"].startswith(TIMEOUT)
    assert limited.get_task(fill.id, clerk).state == "completed"
    assert_write_goes_through(limited, inst.id)


def test_gateway_loop_without_wait_state_becomes_an_incident(limited):
    key = "runaway_gateway_loop"
    clerk, admin = _people(limited)
    limited.deploy(f"{key}.bpmn", loop_diagram(key), actor=admin)
    inst = finishes(limited.start, key, clerk)
    assert inst.status == "incident"
    found = incident_of(limited, inst.id)
    assert found["element_id"] in ("count", "again")
    assert found["message"].startswith(TIMEOUT)
    assert_write_goes_through(limited, inst.id)


def test_timer_whose_script_loops_is_parked_and_others_fire(limited):
    """Two instances fall due: the one whose timer leads into a loop becomes an incident, the
    other advances in the same run; the next run leaves the parked one alone."""
    clerk, admin = _people(limited)
    limited.deploy("timer_loop.bpmn", timer_script_diagram("timer_loop", "while True:\n    pass"),
                   actor=admin)
    limited.deploy("timer_fine.bpmn", timer_script_diagram("timer_fine", "done = True"),
                   actor=admin)
    t0 = datetime(2026, 10, 1, 2, 0)
    with time_machine.travel(t0, tick=True) as clock:
        looping = limited.start("timer_loop", clerk).id
        fine = limited.start("timer_fine", clerk).id
        clock.move_to(t0 + timedelta(hours=2))
        assert finishes(limited.fire_due_timers) == 2
        found = incident_of(limited, looping)
        assert found["element_id"] == "escape" and found["message"].startswith(TIMEOUT)
        assert [t.element_id for t in limited.get_instance(fine, admin).tasks] == ["after"]
        assert_write_goes_through(limited, looping)

        clock.move_to(t0 + timedelta(hours=3))
        assert finishes(limited.fire_due_timers) == 0
        assert len(limited.list_incidents(admin, instance_id=looping)) == 1
        with limited.db.connect() as conn:
            row = conn.execute(sa.select(instance.c.status, instance.c.next_due_at)
                               .where(instance.c.id == looping)).one()
        assert row.status == "incident" and row.next_due_at is None


def test_timer_step_that_cannot_be_stored_is_parked(limited, monkeypatch):
    """A timer step that fails outside the engine's incident handling is rolled back and the
    instance parked as an incident; the other due instance still advances."""
    clerk, admin = _people(limited)
    limited.deploy("timer_store.bpmn", timer_script_diagram("timer_store", "done = True"),
                   actor=admin)
    t0 = datetime(2026, 11, 1, 2, 0)
    with time_machine.travel(t0, tick=True) as clock:
        broken = limited.start("timer_store", clerk, business_key="BROKEN").id
        fine = limited.start("timer_store", clerk, business_key="FINE").id
        clock.move_to(t0 + timedelta(hours=2))
        original = limited._save

        def failing_save(conn, uow, head, *args, **kwargs):
            if head.id == broken:
                raise RuntimeError("状态无法保存")
            return original(conn, uow, head, *args, **kwargs)

        monkeypatch.setattr(limited, "_save", failing_save)
        assert finishes(limited.fire_due_timers) == 2
        monkeypatch.undo()
        found = incident_of(limited, broken)
        assert "状态无法保存" in found["message"]
        assert [t.element_id for t in limited.get_instance(fine, admin).tasks] == ["after"]
        assert finishes(limited.fire_due_timers) == 0
