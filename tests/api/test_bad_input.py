"""Bad input gets a JSON 400/404/405/422, never a 500; the 500 handler hides the stack."""

from __future__ import annotations

import io
import logging

import pytest

JSON = "application/json"


@pytest.fixture
def admin(as_user):
    return as_user("admin")


MALFORMED = [
    ("{bad json", JSON),
    ('{"process_key": "sample_review",}', JSON),
    ("[1, 2]", JSON),
    ('"sample_review"', JSON),
    ("null", JSON),
    ("process_key=sample_review", "application/x-www-form-urlencoded"),
    ('{"process_key": "sample_review"}', "text/plain"),
    ("", JSON),
    ('{"process_key": "\\ud800"}', JSON),  # a lone surrogate no database can store
    ('{"process_key": "sample_review", "data": {"x": 1e400}}', JSON),
    ('{"process_key": "sample_review", "data": {"x": ' + "9" * 5000 + "}}", JSON),
    ('{"process_key": "sample_review", "data": ' + "[" * 5000 + "]" * 5000 + "}", JSON),
    (b'{"process_key": "\xff\xfe"}', JSON),
]


def test_malformed_bodies_400(admin, error_of):
    for body, content_type in MALFORMED:
        r = admin.post("/api/v1/instances", data=body, content_type=content_type)
        assert r.status_code == 400, (body[:80], r.get_json())
        assert error_of(r)["code"] == "bad_request"


WRONG_FIELDS = [
    ({}, "process_key"),
    ({"process_key": 42}, "process_key"),
    ({"process_key": ["sample_review"]}, "process_key"),
    ({"process_key": ""}, "process_key"),
    ({"process_key": "   "}, "process_key"),
    ({"process_key": "sample\x00review"}, "process_key"),
    ({"process_key": "x" * 201}, "process_key"),
    ({"process_key": "sample_review", "business_key": 7}, "business_key"),
    ({"process_key": "sample_review", "title": {"a": 1}}, "title"),
    ({"process_key": "sample_review", "title": "长" * 401}, "title"),
    ({"process_key": "sample_review", "data": [1, 2]}, "data"),
    ({"process_key": "sample_review", "data": "x"}, "data"),
    ({"process_key": "sample_review", "extra": 1}, "extra"),
]


def test_wrong_fields_422(admin, error_of):
    for body, field in WRONG_FIELDS:
        r = admin.post("/api/v1/instances", json=body)
        assert r.status_code == 422, (body, r.get_json())
        err = error_of(r)
        assert err["code"] == "invalid_input" and err["details"] == {"field": field}
        assert field in err["message"]
    assert admin.get("/api/v1/instances").get_json()["total"] == 0


def test_task_bodies(admin, as_user, error_of):
    inst = (
        as_user("invest-clerk")
        .post("/api/v1/instances", json={"process_key": "sample_review"})
        .get_json()
    )
    task = inst["tasks"][0]["id"]
    clerk = as_user("invest-clerk")
    for body, status in (
        ([1], 400),
        ({"data": "x"}, 422),
        ({"data": [1]}, 422),
        ({"payload": {}}, 422),
        ({"data": {"a": 1}, "x": 1}, 422),
    ):
        r = clerk.post(f"/api/v1/tasks/{task}/complete", json=body)
        assert r.status_code == status, (body, r.get_json())
        error_of(r)
    for body in ({}, {"username": 5}, {"username": ""}, {"user": "invest-head"}):
        r = as_user("invest-head").post(f"/api/v1/tasks/{task}/reassign", json=body)
        assert r.status_code == 422, (body, r.get_json())
    r = clerk.post(f"/api/v1/tasks/{task}/claim", json={"anything": 1})
    assert r.status_code == 422
    r = admin.post(f"/api/v1/instances/{inst['id']}/terminate", json={"reason": 12})
    assert r.status_code == 422
    r = admin.post(f"/api/v1/instances/{inst['id']}/suspend", data="x", content_type=JSON)
    assert r.status_code == 400
    # None of it changed the task.
    assert clerk.get(f"/api/v1/tasks/{task}").get_json()["state"] == "ready"


def test_auth_bodies(client, error_of):
    for body, status in (
        ({"username": 1, "password": "demo"}, 422),
        ({"username": "admin"}, 422),
        ({"username": "admin", "password": None}, 422),
        ({"username": "admin", "password": "demo", "remember": True}, 422),
    ):
        r = client.post("/api/v1/auth/token", json=body)
        assert r.status_code == status, (body, r.get_json())
        error_of(r)
    r = client.post("/api/v1/auth/login", data="[]", content_type=JSON)
    assert r.status_code == 400


BAD_QUERIES = [
    "/api/v1/tasks?limit=abc",
    "/api/v1/tasks?limit=0",
    "/api/v1/tasks?limit=100000",
    "/api/v1/tasks?limit=1.5",
    "/api/v1/tasks?offset=-1",
    "/api/v1/tasks?offset=99999999999999999999999",
    "/api/v1/tasks?scope=everything",
    "/api/v1/tasks?state=",
    "/api/v1/tasks?limit=",
    "/api/v1/tasks?state=done",
    "/api/v1/tasks?instance_id=x",
    "/api/v1/tasks?instance_id=99999999999",
    "/api/v1/tasks?process_key=a%00b",
    "/api/v1/instances?status=paused",
    "/api/v1/instances?limit=-5",
    "/api/v1/definitions/sample_review?version=abc",
    "/api/v1/definitions/sample_review?version=0",
    "/api/v1/definitions/sample_review/xml?version=99999999999",
]


def test_bad_query_422(admin, error_of):
    for path in BAD_QUERIES:
        r = admin.get(path)
        assert r.status_code == 422, (path, r.get_json())
        assert error_of(r)["code"] == "invalid_input"


BAD_PATHS = [
    ("get", "/api/v1/instances/99999999999999999999", 404),
    ("get", "/api/v1/instances/2147483648", 404),
    ("get", "/api/v1/instances/abc", 404),
    ("get", "/api/v1/instances/-1", 404),
    ("post", "/api/v1/instances/12345/suspend", 404),
    ("get", "/api/v1/tasks/not-a-task", 404),
    ("post", "/api/v1/tasks/not-a-task/complete", 404),
    ("get", "/api/v1/tasks/%00", 400),
    ("get", "/api/v1/definitions/a%00b", 400),
    ("get", "/api/v1/nope", 404),
    ("get", "/nope", 404),
    ("delete", "/api/v1/tasks", 405),
    ("put", "/api/v1/instances", 405),
    ("get", "/api/v1/auth/token", 405),
]


def test_paths_json_errors(admin, error_of):
    for method, path, status in BAD_PATHS:
        r = getattr(admin.client, method)(path, headers=admin.headers)
        assert r.status_code == status, (method, path, r.data[:300])
        error_of(r)
        if status == 405:
            assert "Allow" in r.headers


def test_payload_too_large_413(app_factory, error_of):
    app = app_factory(MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "demo"}
    ).get_json()["token"]
    r = client.post(
        "/api/v1/definitions",
        headers={"Authorization": f"Bearer {token}"},
        data={"file": (io.BytesIO(b"x" * 8192), "a.bpmn")},
    )
    assert r.status_code == 413
    assert error_of(r)["code"] == "payload_too_large"


def test_unexpected_error_is_json_500_without_stack(app_factory, error_of, caplog):
    app = app_factory()

    @app.get("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        r = app.test_client().get("/api/v1/explode")
    assert r.status_code == 500
    err = error_of(r)
    assert err == {"code": "internal_error", "message": "服务器内部错误", "details": None}
    assert b"secret" not in r.data and b"Traceback" not in r.data
    assert "secret internals" in caplog.text


def test_an_id_beyond_32_bits_is_not_found_for_every_method(client, token):
    """A path with GET and POST rules: werkzeug would answer the POST with 405 because the GET
    rule's pattern matched before its converter refused the id; it is a 404 like the GET."""
    headers = {"Authorization": f"Bearer {token('admin')}"}
    path = "/api/v1/instances/1389180783004/tokens"
    assert client.get(path, headers=headers).status_code == 404
    r = client.post(path, headers=headers, json={"activate": "x", "reason": "r"})
    assert r.status_code == 404, r.get_json()
    assert client.delete("/api/v1/tasks", headers=headers).status_code == 405  # a real 405
