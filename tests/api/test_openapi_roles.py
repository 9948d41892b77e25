"""schemathesis against ``/api/v1/openapi.json`` as each role that is not an administrator
(test_openapi.py fuzzes as the administrator): a caseworker, a department head, the 督查室
supervisor and a district leader. Every operation, positive and negative data, on real objects
where the path names one — the caseworker on another department's (every answer a refusal),
the others on 区招商部门's: no 5xx, and every answer — the 403s and 404s of a role that may
not act included — is documented (status, schema, content type, headers).

Bounded: ``KUNFLOW_FUZZ_ROLE_EXAMPLES`` examples per operation and mode (default 2), so that
the four roles take about a minute; raise it for a deeper run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from argon2 import PasswordHasher, profiles

from web.auth import passwords

from .conftest import make_app
from .test_authz_matrix import _seed
from .test_openapi import _fuzz, _modes

MAX_EXAMPLES = int(os.environ.get("KUNFLOW_FUZZ_ROLE_EXAMPLES", "2"))
# role -> (user, whose objects the path parameters name: "own" 区招商部门, "other" 区应急局)
ROLES = {
    "clerk": ("invest-clerk", "other"),
    "head": ("invest-head", "own"),
    "supervisor": ("supervisor", "own"),
    "leader": ("leader", "own"),
}
# Path parameters the seeded objects do not name (test_authz_matrix's seed): a user whose
# sessions an administrator may end, the mine register.
EXTRA = {"username": "leaders-clerk", "kind": "mine"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One app per module: the authorisation matrix's seeded objects (a case, task,
    attachment, 委托, ledger row, notice of 区招商部门 and of 区应急局)."""
    with pytest.MonkeyPatch.context() as mp:
        hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
        mp.setattr(passwords, "_hasher", hasher)
        mp.setattr(passwords, "_DUMMY_HASH", hasher.hash("no such user"))
        root = tmp_path_factory.mktemp("openapi-roles")
        db_path = str(root / "kunflow.db")
        app = make_app(f"sqlite:///{db_path}", ATTACHMENT_DIR=str(root / "attachments"))
        try:
            world = _seed(app, db_path)
            yield app, {variant: {**world.values[variant], **EXTRA}
                        for variant in ("own", "other")}
        finally:
            app.extensions["kunflow"].close()


@pytest.mark.parametrize("role", list(ROLES))
def test_api_conforms_to_openapi_as_each_role(seeded, role):
    app, seeded_objects = seeded
    username, variant = ROLES[role]
    objects = seeded_objects[variant]
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.get_json()
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = {p.name for p in operation.path_parameters}
        given = {name: objects[name] for name in names} if names else None
        for mode in _modes(operation):
            failure = _fuzz(operation, mode, headers, MAX_EXAMPLES, given)
            if failure:
                failures.append(failure)
    assert operations > 100  # every operation of the document, not a few
    assert not failures, "\n\n".join(failures)
