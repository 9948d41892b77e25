"""What a step submits, checked alike on the API and on the task page: the rows of a form's
dynamic list, required fields that a loop or a prefill already filled in the case, and the size
of the data one step may add (setting ``STEP_DATA_MAX_KB``)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from engine.forms import fields
from tests.api.test_pages import Browser
from tests.processes.test_project_lifecycle import LEAD

# Monday 1 June 2026, 10:00 China time: supervision_monthly's June round opens at once
JUNE_1 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
LOOP_FORM = {
    "type": "default",
    "id": "review_round",
    "schemaVersion": 16,
    "components": [
        {"type": "textarea", "key": "review_opinion", "label": "审查意见",
         "validate": {"required": True}},
        {"type": "number", "key": "review_round", "label": "轮次"},
    ],
}


@pytest.fixture
def clock():
    with time_machine.travel(JUNE_1, tick=False) as traveller:
        yield traveller


def _engine(app):
    return app.extensions["kunflow"]


def _open(user, iid) -> dict:
    r = user.get(f"/api/v1/instances/{iid}")
    assert r.status_code == 200, r.get_json()
    return {t["element_id"]: t for t in r.get_json()["tasks"]}


def _complete(user, task_id, data):
    return user.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})


def _prefill(page: str) -> dict:
    """The data the task page hands to its form (kf-form-data)."""
    m = re.search(r'<script type="application/json" id="kf-form-data">(.*?)</script>', page, re.S)
    assert m, "no form data on the page"
    return json.loads(m.group(1))


# ---------------------------------------------------------------- rows of a dynamic list


def test_ledger_rows_are_checked_on_the_api_and_the_page(clock, app, as_user, error_of):
    sup = as_user("supervision-clerk")
    r = sup.post("/api/v1/instances", json={
        "process_key": "supervision_monthly", "title": "2026年督查督办",
        "data": {"first_round_month": "2026-06"}})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    build = _open(sup, iid)["build_ledger"]["id"]
    good = {"row_id": "R1", "task": "一网通办", "unit": "drc", "owner": "张晓东",
            "deadline": "2026-12-31", "planned_pct": 50, "months_behind": 0}
    bad = [good,
           {**good, "row_id": "", "unit": "区财政局"},
           {**good, "row_id": "R3", "planned_pct": "五十", "deadline": "2026-13-01",
            "months_behind": -1}]
    expected = {
        "ledger[1].row_id": "督查台账 第 2 行 · 台账编号：必填",
        "ledger[1].unit": "督查台账 第 2 行 · 责任单位：只能选择给定的选项",
        "ledger[2].planned_pct": "督查台账 第 3 行 · 本月计划累计进度（%）：须为数字",
        "ledger[2].deadline": "督查台账 第 3 行 · 完成时限：日期格式应为 YYYY-MM-DD",
        "ledger[2].months_behind": "督查台账 第 3 行 · 已连续滞后月数：不能小于 0",
    }
    r = _complete(sup, build, {"ledger": bad})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid_input" and err["details"] == expected
    assert "督查台账 第 2 行 · 责任单位：只能选择给定的选项" in err["message"]
    # the page's submit answers the same (its form places each message on its row's field)
    page = Browser(app, "supervision-clerk")
    assert page.post(f"/tasks/{build}/claim").status_code == 302
    r = page.post_json(f"/tasks/{build}/submit", {"data": {"ledger": bad, "ledger_note": ""}})
    assert r.status_code == 422 and r.get_json()["error"]["details"] == expected
    # nothing stored; the corrected ledger goes through and the round goes on
    assert _open(sup, iid)["build_ledger"]["state"] == "claimed"
    fixed = [good, {**good, "row_id": "R2", "unit": "housing"}]
    r = _complete(sup, build, {"ledger": fixed})
    assert r.status_code == 200, r.get_json()
    tasks = sup.get(f"/api/v1/instances/{iid}").get_json()["tasks"]
    assert sorted((t["element_id"], t["department_code"]) for t in tasks) == [
        ("prepare_monthly_report", "drc"), ("prepare_monthly_report", "housing")]


# ---------------------------------------------------------------- required means sent now


def test_a_loops_second_round_needs_its_own_required_values(app, as_user, error_of):
    admin, invest, drc = as_user("admin"), as_user("invest-clerk"), as_user("drc-clerk")
    root = app.extensions["kunflow.settings"]["BPMN_DIR"]
    with open(f"{root}/sample_loop.bpmn", "rb") as fh:
        r = admin.post("/api/v1/definitions", data={
            "file": (fh, "sample_loop.bpmn"),
            "files": [(io.BytesIO(json.dumps(LOOP_FORM).encode()), "review_round.form")]})
    assert r.status_code == 201, r.get_json()
    r = invest.post("/api/v1/instances", json={"process_key": "sample_loop",
                                               "data": {"target_rounds": 2}})
    iid = r.get_json()["id"]
    assert _complete(invest, _open(invest, iid)["submit_material"]["id"],
                     {"review_round": 0}).status_code == 200
    first = _open(drc, iid)["review_round"]["id"]
    assert _complete(drc, first, {"review_opinion": "材料齐全", "review_round": 1}).status_code == 200
    second = _open(drc, iid)["review_round"]["id"]
    assert second != first
    assert drc.get(f"/api/v1/tasks/{second}").get_json()["data"]["review_opinion"] == "材料齐全"
    r = _complete(drc, second, {"review_round": 2})
    assert r.status_code == 422
    assert error_of(r)["details"] == {"review_opinion": "“审查意见”为必填项"}
    # the page prefills the round-1 opinion: the browser submits it back, which confirms it
    page = Browser(app, "drc-clerk")
    page.post(f"/tasks/{second}/claim")
    prefill = _prefill(page.get(f"/tasks/{second}").text)
    assert prefill["review_opinion"] == "材料齐全"
    r = page.post_json(f"/tasks/{second}/submit", {"data": {
        "review_opinion": prefill["review_opinion"], "review_round": 2}})
    assert r.status_code == 200, r.get_json()
    assert admin.get(f"/api/v1/instances/{iid}").get_json()["status"] == "completed"


def test_a_prefilled_proposal_is_confirmed_only_by_submitting_it(app, as_user, error_of):
    """确定包联领导 is prefilled by a service task's proposal: a completion over the API that
    leaves out the required fields is refused; the page submits the prefilled form back."""
    with time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), tick=False):
        invest = as_user("invest-clerk")
        r = invest.post("/api/v1/instances", json={"process_key": "project_lifecycle",
                                                   "business_key": "XM-2026-901"})
        iid = r.get_json()["id"]
        lead = _open(invest, iid)["register_lead"]["id"]
        assert _complete(invest, lead, LEAD).status_code == 200, LEAD
        task = _open(as_user("admin"), iid)["assign_package_leader"]
        username = f"{task['department_code']}-{'head' if task['candidate_role'] else 'clerk'}"
        leader = as_user(username)
        assert leader.get(f"/api/v1/tasks/{task['id']}").get_json()["data"]["package_leader"]
        r = _complete(leader, task["id"], {"package_notes": "同意。"})
        assert r.status_code == 422
        assert error_of(r)["details"] == {"package_leader": "“包联区领导”为必填项",
                                          "lead_department": "“牵头部门”为必填项"}
        page = Browser(app, username)
        page.post(f"/tasks/{task['id']}/claim")
        html = page.get(f"/tasks/{task['id']}").text
        # what form-js submits: every field of the form, as prefilled from the case
        schema = json.loads(re.search(r'id="kf-form-schema">(.*?)</script>', html, re.S)[1])
        prefill = _prefill(html)
        submitted = {c["key"]: prefill.get(c["key"]) for c in fields(schema)}
        assert submitted["package_leader"] and submitted["lead_department"]
        submitted["package_notes"] = "同意。"
        r = page.post_json(f"/tasks/{task['id']}/submit", {"data": submitted})
        assert r.status_code == 200, r.get_json()
        assert "first_negotiation" in _open(invest, iid)


# ---------------------------------------------------------------- size of one step


def test_a_step_over_the_size_limit_is_422_naming_the_field(app_factory, error_of):
    app = app_factory(STEP_DATA_MAX_KB=4)
    assert _engine(app).max_step_data_bytes == 4096
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "invest-clerk",
                                                    "password": "demo"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/v1/instances", headers=headers, json={"process_key": "sample_review"})
    iid, task = r.get_json()["id"], r.get_json()["tasks"][0]["id"]
    url = f"/api/v1/tasks/{task}/complete"
    r = client.post(url, headers=headers, json={"data": {"industry": "新材料",
                                                         "scan": "A" * 5000}})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid_input"
    assert list(err["details"]) == ["scan"] and "文件请作为附件上传" in err["details"]["scan"]
    assert "每步上限 4 KB" in err["message"]
    # the page: the same 422, its details placed on the field
    page = Browser(app, "invest-clerk")
    page.post(f"/tasks/{task}/claim")
    r = page.post_json(f"/tasks/{task}/submit", {"data": {"industry": "新材料", "scan": "A" * 5000}})
    assert r.status_code == 422 and list(r.get_json()["error"]["details"]) == ["scan"]
    # a draft is what the page will submit: the same limit
    r = page.post_json(f"/tasks/{task}/draft", {"data": {"industry": "新材料", "scan": "A" * 5000}})
    assert r.status_code == 422 and list(r.get_json()["error"]["details"]) == ["scan"]
    assert page.post_json(f"/tasks/{task}/draft", {"data": {"scan": "A" * 100}}).status_code == 200
    # nothing stored; the case goes on with data that fits
    data = client.get(f"/api/v1/tasks/{task}", headers=headers).get_json()["data"]
    assert "scan" not in data and "industry" not in data
    r = client.post(url, headers=headers, json={"data": {"industry": "新材料", "scan": "A" * 100}})
    assert r.status_code == 200, r.get_json()
    assert len(client.get(f"/api/v1/instances/{iid}", headers=headers).get_json()["tasks"]) == 3


def test_ten_megabytes_in_one_field_are_refused_by_default(app, as_user, error_of):
    invest = as_user("invest-clerk")
    assert _engine(app).max_step_data_bytes == 1024 * 1024
    inst = invest.post("/api/v1/instances", json={"process_key": "sample_review"}).get_json()
    task = inst["tasks"][0]["id"]
    r = _complete(invest, task, {"industry": "新材料", "notes": "x" * (10 * 1024 * 1024)})
    assert r.status_code == 422
    assert list(error_of(r)["details"]) == ["notes"]
    assert "“notes”10 MB" in error_of(r)["message"]
    assert _complete(invest, task, {"industry": "新材料"}).status_code == 200


def test_the_limit_comes_from_the_environment(app_factory, monkeypatch):
    monkeypatch.setenv("KUNFLOW_STEP_DATA_MAX_KB", "8")
    assert _engine(app_factory()).max_step_data_bytes == 8 * 1024


# ---------------------------------------------------------------- file fields in list rows

PDF = b"%PDF-1.4\n%%EOF\n"
EVIDENCE_FORM = {
    "type": "default",
    "id": "register_project",
    "schemaVersion": 16,
    "components": [
        {"type": "dynamiclist", "label": "证明材料", "path": "evidence", "isRepeating": True,
         "components": [
             {"type": "textfield", "key": "title", "label": "材料名称",
              "validate": {"required": True}},
             {"type": "filepicker", "key": "files", "label": "附件", "multiple": True,
              "validate": {"required": True}},
         ]},
    ],
}


def test_a_file_field_in_a_row_cites_only_this_cases_attachments(app_factory, tmp_path):
    app = app_factory(ATTACHMENT_DIR=str(tmp_path / "attachments"))
    client = app.test_client()

    def bearer(username):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    admin, invest = bearer("admin"), bearer("invest-clerk")
    root = app.extensions["kunflow.settings"]["BPMN_DIR"]
    bpmn = Path(root, "sample_review.bpmn").read_bytes().replace(
        "示例：项目联合预审".encode(), "示例：项目联合预审（证明材料）".encode())
    r = client.post("/api/v1/definitions", headers=admin, data={
        "file": (io.BytesIO(bpmn), "sample_review.bpmn"),
        "files": [(io.BytesIO(json.dumps(EVIDENCE_FORM).encode()), "register_project.form")]})
    assert r.status_code == 201, r.get_json()
    tasks = []
    for _ in range(2):
        r = client.post("/api/v1/instances", headers=invest, json={"process_key": "sample_review"})
        tasks.append(r.get_json()["tasks"][0]["id"])
    mine, other = tasks

    def upload(task_id):
        r = client.post(f"/api/v1/tasks/{task_id}/attachments", headers=invest,
                        data={"file": (io.BytesIO(PDF), "材料.pdf")},
                        content_type="multipart/form-data")
        assert r.status_code == 201, r.get_json()
        return r.get_json()["attachment"]["id"]

    foreign, own = upload(other), upload(mine)
    rows = [{"title": "营业执照", "files": [own]}, {"title": "环评批复", "files": [foreign]}]
    r = client.post(f"/api/v1/tasks/{mine}/complete", headers=invest, json={"data": {
        "evidence": rows}})
    assert r.status_code == 422
    assert r.get_json()["error"]["details"] == {
        "evidence[1].files": "证明材料 第 2 行 · 附件：含有不属于本案的附件"}
    rows[1]["files"] = [own]
    r = client.post(f"/api/v1/tasks/{mine}/complete", headers=invest, json={"data": {
        "evidence": rows}})
    assert r.status_code == 200, r.get_json()
