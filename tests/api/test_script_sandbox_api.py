"""The issue's attacks through the API (issue 9, items 2 and 3).

A process admin deploys a diagram whose script walks a format string to the app's signing key;
a caseworker starts a case. And a diagram whose script never ends: the start request answers
(an incident), and the next write answers at once.
"""

from __future__ import annotations

import io
import threading

from tests.engine.sandbox_support import script_diagram

SIGNING_KEY = "kf-app-signing-key-7e3a90c4b2"
LEAK = ('leak = "{0.__globals__[json].codecs.sys.modules[flask].current_app'
        '.config[SECRET_KEY]}".format(business_key)')


def _deploy(admin, key: str, script: str):
    data = {"file": (io.BytesIO(script_diagram(key, script)), f"{key}.bpmn")}
    return admin.post("/api/v1/definitions", data=data)


def test_signing_key_never_reaches_the_case(app_factory):
    from tests.api.conftest import UserClient

    app = app_factory(SECRET_KEY=SIGNING_KEY)
    client = app.test_client()

    def login(username):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        return UserClient(client, r.get_json()["token"])

    admin, clerk = login("admin"), login("drc-clerk")
    assert _deploy(admin, "leak_key", LEAK).status_code == 201
    r = clerk.post("/api/v1/instances", json={"process_key": "leak_key", "business_key": "K-1"})
    assert r.status_code == 201, r.get_json()
    started = r.get_json()
    assert started["status"] == "incident"
    bodies = [r.data]
    for path in (f"/api/v1/instances/{started['id']}", f"/api/v1/instances/{started['id']}/events"):
        got = clerk.get(path)
        assert got.status_code == 200
        bodies.append(got.data)
    incidents = admin.get(f"/api/v1/incidents?instance_id={started['id']}")
    (found,) = incidents.get_json()["items"]
    assert found["element_id"] == "escape" and found["message"].startswith("脚本安全限制")
    bodies.append(incidents.data)
    for body in bodies:
        assert SIGNING_KEY.encode() not in body


def test_start_with_a_script_that_never_ends_answers(app_factory):
    from tests.api.conftest import UserClient

    app = app_factory(SCRIPT_TIME_LIMIT=0.3)
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo"})
    admin = UserClient(client, r.get_json()["token"])
    r = client.post("/api/v1/auth/token", json={"username": "drc-clerk", "password": "demo"})
    clerk = UserClient(client, r.get_json()["token"])
    assert _deploy(admin, "never_ends", "while True:\n    pass").status_code == 201

    answers = {}

    def start():
        answers["start"] = clerk.post("/api/v1/instances", json={"process_key": "never_ends"})

    worker = threading.Thread(target=start, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "POST /api/v1/instances still running after 60 s"
    r = answers["start"]
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "incident"
    incidents = admin.get(f"/api/v1/incidents?instance_id={r.get_json()['id']}").get_json()
    (found,) = incidents["items"]
    assert found["element_id"] == "escape" and found["message"].startswith("脚本超时")
    # the write lock is free: the next write answers
    r = clerk.post("/api/v1/instances", json={"process_key": "sample_review"})
    assert r.status_code in (201, 403), r.get_json()
    r = admin.post("/api/v1/instances", json={"process_key": "sample_review"})
    assert r.status_code == 201, r.get_json()
