"""SIGKILL the server during a stream of completions; after restart nothing acknowledged is lost."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.system.support import Server, token

pytestmark = pytest.mark.slow


@pytest.fixture
def crash_db(db_url):
    return db_url


def test_sigkill_during_completions_loses_nothing_acknowledged(crash_db, tmp_path):
    server = Server(crash_db, tmp_path)
    server.start()
    try:
        base = server.url
        invest = token(base, "invest-clerk")
        drc = token(base, "drc-clerk")
        instances = []
        for i in range(12):
            r = requests.post(f"{base}/api/v1/instances", headers=invest, timeout=10, json={
                "process_key": "sample_loop", "business_key": f"CRASH-{i}",
                "title": f"崩溃恢复 {i}", "data": {"target_rounds": 10_000, "review_round": 0}})
            assert r.status_code == 201, r.text
            inst = r.json()
            task = inst["tasks"][0]
            r = requests.post(f"{base}/api/v1/tasks/{task['id']}/complete", headers=invest,
                              json={"data": {}}, timeout=10)
            assert r.status_code == 200, r.text
            instances.append(inst["id"])

        acknowledged: list[str] = []
        errors: list[str] = []
        stop = threading.Event()

        def stream(iid: int):
            session = requests.Session()
            round_no = 0
            while not stop.is_set():
                try:
                    r = session.get(f"{base}/api/v1/tasks", headers=drc, timeout=5,
                                    params={"scope": "department", "instance_id": iid})
                    if r.status_code != 200:
                        continue
                    items = r.json()["items"]
                    if not items:
                        continue
                    tid = items[0]["id"]
                    round_no += 1
                    r = session.post(f"{base}/api/v1/tasks/{tid}/complete", headers=drc,
                                     json={"data": {"review_round": round_no}}, timeout=5)
                    if r.status_code == 200:
                        acknowledged.append(tid)
                    elif r.status_code not in (409,):
                        errors.append(f"{r.status_code} {r.text[:200]}")
                except requests.RequestException:
                    return  # the server died under us: the request is not acknowledged

        threads = [threading.Thread(target=stream, args=(iid,)) for iid in instances]
        for t in threads:
            t.start()
        # Let the stream run, then kill the server mid-flight.
        deadline = time.monotonic() + 30
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors[:5]
        assert len(acknowledged) >= 50, "the stream did not get going before the kill"
    finally:
        server.stop()

    server = Server(crash_db, tmp_path)
    server.start()
    try:
        base = server.url
        admin = token(base, "admin")
        drc = token(base, "drc-clerk")
        for tid in acknowledged:
            r = requests.get(f"{base}/api/v1/tasks/{tid}", headers=drc, timeout=10)
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "completed", tid
        for iid in instances:
            r = requests.get(f"{base}/api/v1/instances/{iid}", headers=admin, timeout=10)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["status"] == "running"
            assert len(body["tasks"]) == 1  # exactly one open review task, no duplicate
            # and the instance still works after the crash
            tid = body["tasks"][0]["id"]
            r = requests.post(f"{base}/api/v1/tasks/{tid}/complete", headers=drc,
                              json={"data": {"review_round": 1}}, timeout=10)
            assert r.status_code == 200, r.text
    finally:
        server.stop()
