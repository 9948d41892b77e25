"""``POST /api/v1/admin/import`` with ``key``: the imported process gets another id (its key
clashes with an existing process), so that the draft of that key accepts the diagram."""

from __future__ import annotations

import io

import pytest
from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _fixture(root, stem: str) -> bytes:
    return (root / "tests" / "fixtures" / "import" / f"{stem}.bpmn").read_bytes()


def _upload(admin, content: bytes, **form):
    return admin.post("/api/v1/admin/import",
                      data={"file": (io.BytesIO(content), "permit.bpmn"), **form},
                      content_type="multipart/form-data")


def test_key_renames_the_process_and_its_references(admin, root):
    r = _upload(admin, _fixture(root, "camunda7_permit"), key="permit_check_2")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["key"] == "permit_check_2" and body["executable"] is True
    assert body["name"] == "许可证核查（Camunda 7）" and body["problems"] == []
    xml = etree.fromstring(body["bpmn_xml"].encode())
    assert [p.get("id") for p in xml.iter(f"{{{BPMN_NS}}}process")] == ["permit_check_2"]
    planes = xml.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNPlane")
    assert [p.get("bpmnElement") for p in planes] == ["permit_check_2"]
    assert 'bpmnElement="permit_check"' not in body["bpmn_xml"]
    # the draft of the new key takes it (its process id must be the key) and it deploys
    r = admin.client.put("/api/v1/admin/processes/permit_check_2/draft", headers=admin.headers,
                  json={"bpmn_xml": body["bpmn_xml"], "revision": 0})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["revision"] == 1
    r = admin.post("/api/v1/admin/processes/permit_check_2/draft/deploy",
                   json={"comment": "从 Camunda 导入"})
    assert r.status_code == 201, r.get_json()


def test_without_the_key_the_draft_of_another_key_is_refused(admin, root):
    body = _upload(admin, _fixture(root, "camunda7_permit")).get_json()
    assert body["key"] == "permit_check"
    r = admin.client.put("/api/v1/admin/processes/permit_check_2/draft", headers=admin.headers,
                  json={"bpmn_xml": body["bpmn_xml"], "revision": 0})
    assert r.status_code == 422


def test_key_as_json_renames_a_not_executable_process_too(admin, root):
    xml = _fixture(root, "signavio_complaint").decode("utf-8")
    r = admin.post("/api/v1/admin/import",
                   json={"filename": "c.bpmn", "bpmn_xml": xml, "key": "complaint_import"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["key"] == "complaint_import" and body["executable"] is False
    (p,) = [p for p in body["problems"] if p["rule"] == "import/not-executable"]
    assert p["element_id"] == "complaint_import"


def test_the_same_key_changes_nothing(admin, root):
    plain = _upload(admin, _fixture(root, "camunda7_permit")).get_json()
    same = _upload(admin, _fixture(root, "camunda7_permit"), key="permit_check").get_json()
    assert same == plain


@pytest.mark.parametrize(("key", "words"), [
    ("9lives", "不能以数字开头"),
    ("has space", "不能以数字开头"),
    ("End", "保留字"),
    ("review_application", "已有标识为 review_application 的元素"),
])
def test_a_key_that_cannot_be_a_process_id_is_a_chinese_422(admin, root, error_of, key, words):
    r = _upload(admin, _fixture(root, "camunda7_permit"), key=key)
    assert r.status_code == 422
    assert words in error_of(r)["message"]
