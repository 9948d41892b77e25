"""The clients of bench/burst.py (a locustfile; run by ``locust``, not imported by kunflow).

Month-end: every unit works its queue at once and nobody waits for work that is there. Each
simulated client is a desk that the clerks and heads of the units take in turn
(``BURST_TOKENS``: ``user:token`` pairs issued before the run; client *i* starts with the
*i*-th). With no think time, as the person now at the desk:

1. list the unit's open tasks (``GET /api/v1/tasks?scope=department``);
2. keep those this person may do: a head's sign-off only for the head, a task held by a
   colleague for nobody;
3. none: the next person takes the desk at once (``switch``); only when a whole round of
   people found nothing does the desk wait a second (``idle``);
4. else open one (``GET /api/v1/tasks/{id}``), upload a one-page PDF for every file field its
   form requires (``POST /api/v1/tasks/{id}/attachments``: the signed report, the photos),
   and complete it (``POST /api/v1/tasks/{id}/complete``) with the form filled in as
   bench/populate.py fills it.

A 409 (a colleague took it first, the case moved on) is counted under ``complete 409`` as a
success: it is the answer the platform owes; any other failure is an error.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path

from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from urllib3 import encode_multipart_formdata

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
# the file fields each form requires: evidence uploaded before the task is completed
UPLOADS = {key: [c["key"] for c in form_fields(schema) if c.get("type") == "filepicker"
                 and (c.get("validate") or {}).get("required")]
           for key, schema in FORMS.items()}
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
_next_desk = itertools.count()


def may_do(item: dict, username: str) -> bool:
    """Whether ``username`` (a unit's clerk or head) may take up this task of the unit's list."""
    if item.get("assignee") not in (None, username):
        return False
    return item.get("candidate_role") != "head" or username.endswith("-head")


class Desk(FastHttpUser):
    # no think time: month-end, every unit at once. FastHttpUser (geventhttpclient): locust's
    # own work per request is a fraction of HttpUser's (requests), and the load tool shares
    # the machine's cores with the server.

    def on_start(self) -> None:
        self.rng = random.Random()
        self.turn = next(_next_desk) % len(TOKENS)
        self.empty_in_a_row = 0

    @property
    def person(self) -> tuple[str, str]:
        return TOKENS[self.turn]

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.person[1]}"}

    @task
    def work(self) -> None:
        username = self.person[0]
        with self.client.get("/api/v1/tasks?scope=department&limit=50", name="list",
                             headers=self.auth(), catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"list {response.status_code}")
                return
            items = response.json().get("items") or []
        doable = [t for t in items if may_do(t, username)]
        if not doable:
            self.next_person()
            return
        self.empty_in_a_row = 0
        chosen = self.rng.choice(doable)
        with self.client.get(f"/api/v1/tasks/{chosen['id']}", name="open",
                             headers=self.auth(), catch_response=True) as response:
            if response.status_code == 404:
                response.success()  # gone meanwhile (the case moved on)
                return
            if response.status_code != 200:
                response.failure(f"open {response.status_code}")
                return
        form_key = chosen.get("form_key") or ""
        data = fill_form(FORMS.get(form_key), self.rng, 0.8)
        for field in UPLOADS.get(form_key, ()):
            attachment = self.upload(chosen["id"], field)
            if attachment is None:
                return
            data[field] = [attachment]
        with self.client.post(f"/api/v1/tasks/{chosen['id']}/complete", name="complete",
                              json={"data": data}, headers=self.auth(),
                              catch_response=True) as response:
            if response.status_code == 409:
                # reported under a name of its own, so that "complete" holds completions only
                response.request_meta["name"] = "complete 409"
                response.success()
            elif response.status_code != 200:
                response.failure(f"complete {response.status_code}: {(response.text or '')[:200]}")

    def upload(self, task_id: str, field: str) -> str | None:
        """A one-page PDF for ``field``; its attachment id, or None when the task went away."""
        body, content_type = encode_multipart_formdata(
            {"field": field, "file": ("扫描件.pdf", PDF, "application/pdf")})
        with self.client.post(f"/api/v1/tasks/{task_id}/attachments", name="upload",
                              headers={**self.auth(), "Content-Type": content_type},
                              data=body, catch_response=True) as response:
            if response.status_code == 201:
                return response.json()["attachment"]["id"]
            if response.status_code in (404, 409):
                response.success()  # the case moved on meanwhile
            else:
                response.failure(f"upload {response.status_code}: {(response.text or '')[:200]}")
        return None

    def next_person(self) -> None:
        """Nothing here for this person: the next one takes the desk; after a whole round of
        empty queues the desk waits a second."""
        events.request.fire(request_type="-", name="switch", response_time=0,
                            response_length=0, exception=None, context={})
        self.turn = (self.turn + 1) % len(TOKENS)
        self.empty_in_a_row += 1
        if self.empty_in_a_row >= len(TOKENS):
            self.empty_in_a_row = 0
            events.request.fire(request_type="-", name="idle", response_time=0,
                                response_length=0, exception=None, context={})
            import gevent

            gevent.sleep(1.0)
