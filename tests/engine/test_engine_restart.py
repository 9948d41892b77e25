"""Every path of sample_review gives the same result whether one engine runs it, a brand-new
engine (cold spec and live-workflow caches) runs each step, or the live cache is off."""

from __future__ import annotations

import pytest

from engine import Engine

OPINION_ORDER = ["opinion_eco", "opinion_drc", "opinion_natres"]
DEPARTMENT_OF = {"opinion_drc": "drc", "opinion_natres": "natres", "opinion_eco": "eco"}


class _OneEngine:
    def __init__(self, engine):
        self.engine = engine

    def __call__(self):
        return self.engine

    def close(self):
        pass


class _ColdEngines:
    """A new Engine for every step; the previous one is disposed of (a restarted process)."""

    def __init__(self, db_url):
        self.db_url = db_url
        self.current = None
        self.built = 0

    def __call__(self):
        self.close()
        self.current = Engine(self.db_url)
        self.built += 1
        return self.current

    def close(self):
        if self.current is not None:
            self.current.db.dispose()
            self.current = None


class _NoLiveCache(_OneEngine):
    def __init__(self, db_url):
        super().__init__(Engine(db_url, live_cache_size=0))

    def close(self):
        self.engine.db.dispose()


def _snapshot(engine, admin, iid):
    info = engine.get_instance(iid, admin)
    tasks = []
    for t in sorted(info.tasks, key=lambda t: t.element_id):
        full = engine.get_task(t.id, admin)
        tasks.append((t.element_id, t.department_code, t.state, t.assignee, full.data))
    return (info.status, info.version, info.definition_version, tuple(tasks))


def _drive(next_engine, people, approved):
    """Run the scenario, one command per step, each on ``next_engine()``; returns what was seen."""
    admin = people["admin"]
    invest, head = people["invest-clerk"], people["invest-head"]
    seen = []

    def step(command):
        engine = next_engine()
        command(engine)
        seen.append(_snapshot(next_engine(), admin, iid))

    def task_id(engine, element_id):
        (t,) = [t for t in engine.get_instance(iid, admin).tasks if t.element_id == element_id]
        return t.id

    engine = next_engine()
    iid = engine.start(
        "sample_review", invest, business_key="RS-1", title="重启", data={"area_mu": 80}
    ).id
    seen.append(_snapshot(next_engine(), admin, iid))
    step(lambda e: e.claim(task_id(e, "register_project"), invest))
    step(lambda e: e.complete(task_id(e, "register_project"), invest, {"project_name": "光伏"}))
    for element_id in OPINION_ORDER:
        clerk = people[f"{DEPARTMENT_OF[element_id]}-clerk"]
        step(lambda e, el=element_id, c=clerk: e.complete(task_id(e, el), c, {el: f"{el} 同意"}))
    step(lambda e: e.claim(task_id(e, "consolidate_review"), head))
    step(lambda e: e.reassign(task_id(e, "consolidate_review"), head, "invest-clerk"))
    step(lambda e: e.suspend(iid, admin))
    step(lambda e: e.resume(iid, admin))
    step(lambda e: e.complete(task_id(e, "consolidate_review"), invest, {"approved": approved}))
    if approved:
        step(lambda e: e.complete(task_id(e, "sign_agreement"), head, {"signed": True}))

    engine = next_engine()
    info = engine.get_instance(iid, admin, with_data=True)
    names = {
        t.id: t.element_id for t in engine.list_tasks(admin, scope="all", instance_id=iid).items
    }
    events = [
        (e.kind, e.actor, names.get(e.task_id), e.data)
        for e in engine.list_events(iid, admin)
        if e.kind != "instance_started"
    ]
    rows = sorted(
        (t.element_id, t.department_code, t.state, t.assignee, t.completed_by)
        for t in engine.list_tasks(admin, scope="all", instance_id=iid).items
    )
    return {"steps": seen, "status": info.status, "data": info.data, "events": events, "rows": rows}


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "rejected"])
def test_cold_engines_give_the_same_result(engine, db_url, people, approved):
    drivers = {
        "one engine": _OneEngine(engine),
        "cold engine per step": _ColdEngines(db_url),
        "no live cache": _NoLiveCache(db_url),
    }
    results = {}
    try:
        for name, driver in drivers.items():
            results[name] = _drive(driver, people, approved)
    finally:
        for driver in drivers.values():
            driver.close()
    assert drivers["cold engine per step"].built > 20

    reference = results["one engine"]
    assert reference["status"] == "completed"
    expected_data = {
        "area_mu": 80,
        "project_name": "光伏",
        "approved": approved,
        **{e: f"{e} 同意" for e in OPINION_ORDER},
    }
    if approved:
        expected_data["signed"] = True
    assert reference["data"] == expected_data
    expected_rows = sorted(
        [
            ("register_project", "invest", "completed", "invest-clerk", "invest-clerk"),
            ("consolidate_review", "invest", "completed", "invest-clerk", "invest-clerk"),
        ]
        + [(e, d, "completed", None, f"{d}-clerk") for e, d in DEPARTMENT_OF.items()]
        + ([("sign_agreement", "invest", "completed", None, "invest-head")] if approved else [])
    )
    assert reference["rows"] == expected_rows
    final_kinds = [k for k, *_ in reference["events"]][-3:]
    if approved:
        assert final_kinds == ["task_created", "task_completed", "instance_completed"]
    else:
        assert final_kinds == ["instance_running", "task_completed", "instance_completed"]

    for name, result in results.items():
        assert result["steps"] == reference["steps"], name
        assert result == reference, name
