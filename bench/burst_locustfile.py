"""The clients of bench/burst.py (a locustfile; run by ``locust``, not imported by kunflow).

Each simulated client is a clerk of one department (``BURST_TOKENS``, ``user:token`` pairs
handed out in turn so that the departments are spread over the clients) with a bearer token
issued before the run; with no think time it lists its department's open tasks
(``GET /api/v1/tasks?scope=department``), opens one of those it may do (not a head's sign-off)
(``GET /api/v1/tasks/{id}``; tasks whose form
wants an upload are left alone) and completes it (``POST /api/v1/tasks/{id}/complete``) with the
task's form filled in as bench/populate.py fills it. A 409 (a colleague took it first, the
case moved on) is counted under ``complete 409`` as a success: it is the answer the platform
owes; any other failure is an error. A clerk whose queue is empty waits a second (``idle``).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path

from locust import HttpUser, events, task

ROOT = Path(__file__).resolve().parent.parent
# locust puts this file's folder first on the path, where bench/engine.py would shadow the
# engine package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.populate import fill_form  # noqa: E402
from engine.forms import fields as form_fields  # noqa: E402

# "username:token" pairs, issued by bench/burst.py before the clock starts (a login hashes the
# password with argon2 on purpose: not what a month-end burst is made of)
TOKENS = [pair.split(":", 1) for pair in os.environ.get("BURST_TOKENS", "").split(",") if pair]
FORMS = {p.stem: json.loads(p.read_text(encoding="utf-8"))
         for p in (ROOT / "bpmn" / "forms").glob("*.form")}
# forms that want evidence uploaded to the case first: the clients leave those tasks alone
NEEDS_UPLOAD = {key for key, schema in FORMS.items()
                if any(c.get("type") == "filepicker" and (c.get("validate") or {}).get("required")
                       for c in form_fields(schema))}
_next_user = itertools.count()


class Clerk(HttpUser):
    # no think time: month-end, every unit at once

    def on_start(self) -> None:
        self.rng = random.Random()
        self.username, token = TOKENS[next(_next_user) % len(TOKENS)]
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task
    def work(self) -> None:
        with self.client.get("/api/v1/tasks?scope=department&limit=50", name="list",
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"list {response.status_code}")
                return
            items = response.json().get("items") or []
        doable = [t for t in items if t.get("candidate_role") != "head"
                  and t.get("assignee") in (None, self.username)
                  and t.get("form_key") not in NEEDS_UPLOAD]
        if not doable:
            events.request.fire(request_type="-", name="idle", response_time=0,
                                response_length=0, exception=None, context={})
            self.wait_a_second()
            return
        chosen = self.rng.choice(doable)
        with self.client.get(f"/api/v1/tasks/{chosen['id']}", name="open",
                             catch_response=True) as response:
            if response.status_code == 404:
                response.success()  # gone meanwhile (the case moved on)
                return
            if response.status_code != 200:
                response.failure(f"open {response.status_code}")
                return
        data = fill_form(FORMS.get(chosen.get("form_key") or ""), self.rng, 0.8)
        with self.client.post(f"/api/v1/tasks/{chosen['id']}/complete", name="complete",
                              json={"data": data}, catch_response=True) as response:
            if response.status_code == 409:
                # reported under a name of its own, so that "complete" holds completions only
                response.request_meta["name"] = "complete 409"
                response.success()
            elif response.status_code != 200:
                response.failure(f"complete {response.status_code}: {response.text[:200]}")

    def wait_a_second(self) -> None:
        import gevent

        gevent.sleep(1.0)
