"""What the API tests of one case share: a moment in a year with published holidays, a task id
that does not exist, and starting a case, reading its open tasks, completing a task."""

from __future__ import annotations

from datetime import datetime

# 2026-09-18 10:00 in Beijing = 02:00 UTC
T0 = datetime(2026, 9, 18, 2, 0, 0)
MISSING_TASK = "00000000-0000-4000-8000-000000000000"


def start(user, process_key, **body) -> dict:
    r = user.post("/api/v1/instances", json={"process_key": process_key, **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def open_tasks(user, instance_id) -> dict:
    r = user.get(f"/api/v1/instances/{instance_id}")
    assert r.status_code == 200, r.get_json()
    return {t["element_id"]: t for t in r.get_json()["tasks"]}


def complete(user, task_id, data) -> dict:
    r = user.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert r.status_code == 200, r.get_json()
    return r.get_json()
