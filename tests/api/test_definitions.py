"""Deploy through the API: 201 new version, 200 unchanged, 422 with the element and the reason."""

from __future__ import annotations

import io

import pytest

# fixture file -> element ids of which the error must name one (empty: no element to blame)
INVALID = {
    "reserved_ids": ("Start",),
    "unquoted_timer": ("form_overdue", "form_overdue_timer"),  # the event or its definition
    "malformed": (),
    "dangling_flow": ("flow_route_to_missing",),
    "no_executable": (),
}


def _upload(user, name: str, content: bytes, extra: dict[str, bytes] | None = None):
    data = {"file": (io.BytesIO(content), name)}
    if extra:
        data["files"] = [(io.BytesIO(c), n) for n, c in extra.items()]
    return user.post("/api/v1/definitions", data=data)


def _valid_variant(root, key: str) -> bytes:
    """A deployable diagram whose process id is ``key``: the version an invalid upload of the
    same key must not replace."""
    xml = (root / "tests" / "fixtures" / "bpmn" / "quoted_timer.bpmn").read_text(encoding="utf-8")
    return xml.replace('id="quoted_timer"', f'id="{key}"').encode("utf-8")


@pytest.mark.parametrize("fixture", sorted(INVALID))
def test_invalid_model_422_keeps_previous_version(as_user, error_of, root, fixture):
    admin = as_user("admin")
    r = _upload(admin, f"{fixture}.bpmn", _valid_variant(root, fixture))
    assert r.status_code == 201, r.get_json()
    good = r.get_json()
    assert good["key"] == fixture and good["version"] == 1

    content = (root / "tests" / "fixtures" / "bpmn" / f"{fixture}.bpmn").read_bytes()
    r = _upload(admin, f"{fixture}.bpmn", content)
    assert r.status_code == 422, r.get_json()
    err = error_of(r)
    assert err["code"] == "invalid_model" and err["message"]
    problems = err["details"]
    assert isinstance(problems, list) and problems
    for p in problems:
        # the model check's problem: where, what (rule, message) and what to change (hint)
        assert set(p) == {"file", "element_id", "element_type", "rule", "message", "hint",
                          "line"} and p["message"]
        assert p["file"] == f"{fixture}.bpmn"
    expected = INVALID[fixture]
    if expected:
        named = [p["element_id"] for p in problems if p["element_id"] in expected]
        assert named, problems
        assert named[0] in err["message"]

    newest = admin.get(f"/api/v1/definitions/{fixture}").get_json()
    assert newest["version"] == 1 and newest["checksum"] == good["checksum"]
    versions = admin.get(f"/api/v1/definitions/{fixture}/versions").get_json()["items"]
    assert [v["version"] for v in versions] == [1]


def test_unchanged_deploy_200_same_version(as_user, root):
    admin = as_user("admin")
    content = (root / "bpmn" / "sample_review.bpmn").read_bytes()
    r = _upload(admin, "sample_review.bpmn", content)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["key"] == "sample_review" and body["version"] == 1 and body["created"] is False
    versions = admin.get("/api/v1/definitions/sample_review/versions").get_json()["items"]
    assert len(versions) == 1


def test_new_version_for_new_instances_only(as_user, root):
    admin = as_user("admin")
    invest = as_user("invest-clerk")
    before = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()
    assert before["definition_version"] == 1

    content = (root / "tests" / "fixtures" / "bpmn" / "sample_review_v2.bpmn").read_bytes()
    r = _upload(admin, "sample_review.bpmn", content)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["key"] == "sample_review" and body["version"] == 2 and body["created"] is True
    assert body["deployed_by"] == "admin"
    assert body["lanes"] == {
        "区招商部门": None,
        "区发改委": None,
        "区自然资源分局": None,
        "区生态环境分局": None,
    }

    after = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()
    assert after["definition_version"] == 2
    assert invest.get(f"/api/v1/instances/{before['id']}").get_json()["definition_version"] == 1

    # The old instance runs on version 1 to its end.
    task = before["tasks"][0]
    assert invest.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 200
    for user, element in (
        ("drc-clerk", "opinion_drc"),
        ("natres-clerk", "opinion_natres"),
        ("eco-clerk", "opinion_eco"),
    ):
        u = as_user(user)
        items = u.get(f"/api/v1/tasks?instance_id={before['id']}").get_json()["items"]
        assert [t["element_id"] for t in items] == [element]
        assert u.post(f"/api/v1/tasks/{items[0]['id']}/complete").status_code == 200
    items = invest.get(f"/api/v1/tasks?instance_id={before['id']}").get_json()["items"]
    assert [t["name"] for t in items] == ["汇总研判"]  # version 1's name, not 第二版

    assert admin.get("/api/v1/definitions/sample_review").get_json()["version"] == 2
    v1 = admin.get("/api/v1/definitions/sample_review?version=1").get_json()
    assert v1["version"] == 1
    listed = {d["key"]: d["version"] for d in admin.get("/api/v1/definitions").get_json()["items"]}
    assert listed["sample_review"] == 2 and "sample_loop" in listed

    xml = admin.get("/api/v1/definitions/sample_review/xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert "汇总研判（第二版）" in xml.get_data(as_text=True)
    xml1 = admin.get("/api/v1/definitions/sample_review/xml?version=1").get_data(as_text=True)
    assert "汇总研判（第二版）" not in xml1


def test_definitions_readable_by_everyone_404_for_unknown(as_user, error_of):
    clerk = as_user("eco-clerk")
    assert clerk.get("/api/v1/definitions").status_code == 200
    for path in (
        "/api/v1/definitions/nope",
        "/api/v1/definitions/nope/versions",
        "/api/v1/definitions/nope/xml",
        "/api/v1/definitions/sample_review?version=9",
    ):
        r = clerk.get(path)
        assert r.status_code == 404 and error_of(r)["code"] == "not_found", path


def test_deploy_with_extra_files(as_user, root, error_of):
    admin = as_user("admin")
    content = _valid_variant(root, "with_form")
    form = b'{"components": [], "type": "default", "id": "fill_form"}'
    r = _upload(admin, "with_form.bpmn", content, {"fill_form.form": form})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["files"] == ["fill_form.form"]
    r = _upload(admin, "with_form.bpmn", content, {"notes.txt": b"x"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_input"


def test_deploy_bad_uploads(as_user, error_of):
    admin = as_user("admin")
    r = admin.post("/api/v1/definitions", json={"file": "x"})
    assert r.status_code == 400 and error_of(r)["code"] == "bad_request"
    r = admin.post("/api/v1/definitions", data={"other": "x"})  # urlencoded, not multipart
    assert r.status_code == 400
    r = admin.post("/api/v1/definitions", data={"other": "x"}, content_type="multipart/form-data")
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "other"}
    r = admin.post("/api/v1/definitions", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and error_of(r)["details"] == {"field": "file"}
    r = admin.post("/api/v1/definitions", data={"file": (io.BytesIO(b"<x/>"), "notes.txt")})
    assert r.status_code == 422
    r = admin.post(
        "/api/v1/definitions", data={"file": (io.BytesIO(b"\xff\xfe garbage"), "a.bpmn")}
    )
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_model"
    r = admin.post("/api/v1/definitions", data={"file": (io.BytesIO(b""), "a.bpmn")})
    assert r.status_code == 422


def test_deploy_upload_takes_a_comment_kept_on_the_version(as_user, error_of, root):
    admin = as_user("admin")
    xml = _valid_variant(root, "commented")
    r = admin.post("/api/v1/definitions", data={"file": (io.BytesIO(xml), "commented.bpmn"),
                                                "comment": "  区应急局加入会商  "})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["comment"] == "区应急局加入会商"
    versions = admin.get("/api/v1/definitions/commented/versions").get_json()
    assert [v["comment"] for v in versions["items"]] == ["区应急局加入会商"]
    r = admin.post("/api/v1/definitions", data={
        "file": (io.BytesIO(xml.replace(b'name="', b'name="v2 ', 1)), "commented.bpmn"),
        "comment": "长" * 2001})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "comment"
    assert len(admin.get("/api/v1/definitions/commented/versions").get_json()["items"]) == 1


def test_deploy_warnings_carry_rule_and_hint(as_user, root):
    """A stored warning says which rule and what to change, in the deploy's answer and when the
    version is read again (the Definition schema lists all five fields)."""
    admin = as_user("admin")
    r = _upload(admin, "warned.bpmn", _valid_variant(root, "warned"))
    assert r.status_code == 201, r.get_json()
    for body in (r.get_json(), admin.get("/api/v1/definitions/warned").get_json()):
        (w,) = body["warnings"]
        assert w["element_id"] == "fill_form" and w["rule"] == "kunflow/user-task-department"
        assert w["element_type"] == "bpmn:UserTask" and w["message"] and w["hint"]
    doc = admin.get("/api/v1/openapi.json").get_json()
    props = doc["components"]["schemas"]["DefinitionWarning"]["properties"]
    assert set(props) == {"element_id", "element_type", "rule", "message", "hint"}
