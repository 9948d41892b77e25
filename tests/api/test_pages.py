"""The caseworker pages through Flask's test client: login (CSRF, throttle, cookies), the four
task lists with filters, the task page's commands (claim, submit, draft, send back, pause,
attachments, comments), the case view, starting a case, and 403 pages for other departments."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from tests.browser.cases import mine_at_permits, mine_at_safety_design_review

PDF = b"%PDF-1.4\n%%EOF\n"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pages_app(app_factory, tmp_path):
    return app_factory(ATTACHMENT_DIR=str(tmp_path / "attachments"), ATTACHMENT_MAX_MB=1)


@pytest.fixture
def engine(pages_app):
    return pages_app.extensions["kunflow"]


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


class Browser:
    """A test client that logs in through the login form and keeps the page's CSRF token."""

    def __init__(self, app, username: str | None = None):
        self.client = app.test_client()
        self.csrf = None
        if username:
            self.login(username)

    def login(self, username: str, password: str = "demo"):
        page = self.client.get("/login")
        response = self.client.post("/login", data={
            "username": username, "password": password, "csrf_token": csrf_of(page.text)})
        if response.status_code == 302:
            self.csrf = csrf_of(self.client.get("/tasks").text)
        return response

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kw)

    def post_json(self, url, body):
        return self.client.post(url, json=body, headers={
            "X-CSRF-Token": self.csrf, "Accept": "application/json"})


def actor(engine, username):
    return engine.get_user(username).actor()


def open_task(engine, iid, element_id):
    return next(t for t in engine.get_instance(iid, actor(engine, "admin")).tasks
                if t.element_id == element_id)


# ---------------------------------------------------------------- login


def test_login_page_sets_a_hardened_session_and_redirects_to_the_tasks(pages_app):
    b = Browser(pages_app)
    assert b.get("/tasks").headers["Location"].startswith("/login?next=/tasks")
    page = b.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    response = b.client.post("/login?next=/tasks?view=done", data={
        "username": "emergency-clerk", "password": "demo", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/tasks?view=done"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    tasks = b.get("/tasks")
    assert tasks.status_code == 200
    assert "郑磊" in tasks.text and "区应急局" in tasks.text
    assert 'data-testid="open-count"' in tasks.text


def test_login_refuses_missing_csrf_wrong_password_and_open_redirects(pages_app):
    b = Browser(pages_app)
    no_csrf = b.client.post("/login", data={"username": "emergency-clerk", "password": "demo"})
    assert no_csrf.status_code == 403 and "页面已过期" in no_csrf.text
    wrong = b.login("emergency-clerk", "not-the-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert b.get("/tasks").status_code == 302  # still logged out
    page = b.get("/login")
    evil = b.client.post("/login?next=//evil.example/x", data={
        "username": "emergency-clerk", "password": "demo", "csrf_token": csrf_of(page.text)})
    assert evil.headers["Location"] == "/tasks"


def test_login_is_rate_limited(app_factory, tmp_path):
    app = app_factory(LOGIN_FREE_FAILURES=3, ATTACHMENT_DIR=str(tmp_path))
    b = Browser(app)
    for _ in range(3):
        assert b.login("drc-clerk", "wrong-password").status_code == 401
    blocked = b.login("drc-clerk", "demo")
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text


def test_logout_needs_csrf_and_ends_the_session(pages_app):
    b = Browser(pages_app, "emergency-clerk")
    assert b.client.post("/logout").status_code == 403
    assert b.post("/logout").status_code == 302
    assert b.get("/tasks").status_code == 302


# ---------------------------------------------------------------- lists


def test_lists_filter_sort_count_and_page(pages_app, engine):
    codes = [f"KS-L{i:02d}" for i in range(3)]
    iids = [mine_at_safety_design_review(engine, c) for c in codes]
    b = Browser(pages_app, "emergency-clerk")
    dept = b.get("/tasks?view=department").text
    assert all(c in dept for c in codes)
    assert "安全设施设计审查" in dept
    only = b.get("/tasks?view=department&q=KS-L01").text
    assert "KS-L01" in only and "KS-L00" not in only and "KS-L02" not in only
    assert "共 1 条" in only
    staged = b.get("/tasks?view=department&stage=专项审批").text
    assert "共 3 条" in staged
    assert "共 0 条" in b.get("/tasks?view=department&stage=运营").text
    assert "共 3 条" in b.get("/tasks?view=department&light=green").text
    assert "共 0 条" in b.get("/tasks?view=department&light=red").text
    assert "共 3 条" in b.get("/tasks?view=department&process=mine_approval&sort=due").text
    # Claim one: it moves from 部门待办 to 我的待办.
    task = open_task(engine, iids[0], "review_safety_design")
    assert b.post(f"/tasks/{task.id}/claim").status_code == 302
    mine = b.get("/tasks?view=mine").text
    assert "KS-L00" in mine and "共 1 条" in mine
    assert "KS-L00" not in b.get("/tasks?view=department").text
    # 已办 holds what this user completed; 我发起的 what they started.
    assert "受理" in b.get("/tasks?view=done").text or "共 0 条" not in b.get(
        "/tasks?view=done").text
    natres = Browser(pages_app, "natres-clerk")
    started = natres.get("/tasks?view=started").text
    assert all(c in started for c in codes)
    # Nonsense filters are ignored, never a 500.
    assert b.get("/tasks?view=nope&light=purple&sort=zzz&page=-4").status_code == 200


def test_lists_page_through_results(pages_app, engine):
    for i in range(23):
        engine.start("mine_approval", actor(engine, "natres-clerk"), business_key=f"P-{i:02d}",
                     title=f"分页测试 {i:02d}")
    b = Browser(pages_app, "natres-clerk")
    first = b.get("/tasks?view=department&sort=created").text
    assert "共 23 条" in first and "第 1/2 页" in first
    assert "分页测试 00" in first and "分页测试 22" not in first
    second = b.get("/tasks?view=department&sort=created&page=2").text
    assert "分页测试 22" in second and "分页测试 00" not in second


def _done_rows(html: str) -> list[tuple[str, str, str]]:
    """(task id, task name, completion time) of each row of the 已办 list."""
    return re.findall(r'<tr data-task-id="([^"]+)".*?class="task-link">([^<]*)</a>.*?'
                      r'<td data-label="办结时间">([^<]*)</td>', html, re.S)


def _badge(html: str, view: str) -> int:
    return int(re.search(rf'data-view="{view}">[^<]*<span class="count">(\d+)</span>',
                         html).group(1))


def test_done_list_keeps_every_completion_of_a_step_sent_back(pages_app, engine):
    """A step sent back and completed again is one more entry in 已办: the first completion
    stays in its completer's list, page and API alike, with its time and the step's name, and
    opens read-only; the reopened step keeps its URL."""
    engine.deploy("resubmit_chain.bpmn",
                  (ROOT / "tests" / "fixtures" / "bpmn" / "resubmit_chain.bpmn").read_bytes(),
                  actor=actor(engine, "admin"))
    with time_machine.travel(datetime(2026, 9, 18, 2, 0, tzinfo=UTC), tick=False) as clock:
        clerk, head = Browser(pages_app, "invest-clerk"), Browser(pages_app, "invest-head")
        drc = Browser(pages_app, "drc-clerk")
        iid = engine.start("resubmit_chain", actor(engine, "invest-clerk"),
                           business_key="HZ-2026-07", title="稀土抛光粉项目").id
        submit = open_task(engine, iid, "submit_application")

        def submit_as(who, data):
            done = who.post_json(f"/tasks/{submit.id}/submit", {"data": data})
            assert done.status_code == 200, done.json

        def send_back():
            review = open_task(engine, iid, "review_application")
            assert drc.post(f"/tasks/{review.id}/send-back", {
                "target": "submit_application", "reason": "请补充环评批复"}).status_code == 302
            assert open_task(engine, iid, "submit_application").id == submit.id  # same URL

        submit_as(clerk, {"project": "新材料"})  # 10:00 in Beijing
        clock.shift(timedelta(hours=1))
        send_back()  # 11:00
        clock.shift(timedelta(hours=2))
        submit_as(head, {"eia": "已补充"})  # 13:00
        clock.shift(timedelta(hours=1))
        send_back()  # 14:00
        clock.shift(timedelta(hours=1))
        submit_as(clerk, {"eia": "已补充批复"})  # 15:00

        clerk_page = clerk.get("/tasks?view=done").text
        head_page = head.get("/tasks?view=done").text
        clerk_api = clerk.get("/api/v1/tasks?scope=done").json
        head_api = head.get("/api/v1/tasks?scope=done").json
        drc_api = drc.get("/api/v1/tasks?scope=done").json
        kept_id = _done_rows(clerk_page)[-1][0]
        kept = clerk.get(f"/tasks/{kept_id}")

    name = "提交核准申请"
    assert _done_rows(clerk_page) == [(submit.id, name, "2026-09-18 15:00"),
                                      (kept_id, name, "2026-09-18 10:00")]
    assert kept_id != submit.id
    assert _badge(clerk_page, "done") == 2 and "共 2 条" in clerk_page
    assert [row[1:] for row in _done_rows(head_page)] == [(name, "2026-09-18 13:00")]
    assert _badge(head_page, "done") == 1
    assert [(t["id"], t["name"], t["completed_at"], t["completed_by"]) for t in
            clerk_api["items"]] == [(submit.id, name, "2026-09-18T07:00:00Z", "invest-clerk"),
                                    (kept_id, name, "2026-09-18T02:00:00Z", "invest-clerk")]
    assert clerk_api["total"] == 2
    assert [(t["name"], t["completed_at"], t["completed_by"]) for t in head_api["items"]] == [
        (name, "2026-09-18T05:00:00Z", "invest-head")] and head_api["total"] == 1
    assert drc_api["total"] == 0  # the reviews sent back were cancelled, not done
    assert kept.status_code == 200
    assert "此任务已办结：徐鹏 于 2026-09-18 10:00 提交" in kept.text
    assert 'data-testid="claim"' not in kept.text and "kf-form" not in kept.text


# ---------------------------------------------------------------- the task page


def test_submit_validates_on_the_server_and_completes(pages_app, engine):
    iid = mine_at_safety_design_review(engine, "KS-S01")
    task = open_task(engine, iid, "review_safety_design")
    b = Browser(pages_app, "emergency-clerk")
    page = b.get(f"/tasks/{task.id}").text
    assert 'data-readonly="1"' in page and 'data-testid="claim"' in page
    b.post(f"/tasks/{task.id}/claim")
    page = b.get(f"/tasks/{task.id}").text
    assert 'data-readonly="0"' in page and "review_safety_design_safety_design_opinion" in page
    missing = b.post_json(f"/tasks/{task.id}/submit", {"data": {
        "safety_design_conclusion": "approved"}})
    assert missing.status_code == 422
    assert "safety_design_opinion" in missing.json["error"]["details"]
    wrong_type = b.post_json(f"/tasks/{task.id}/submit", {"data": {
        "safety_design_conclusion": "approved", "safety_design_opinion": "同意",
        "design_production_scale": "很多"}})
    assert wrong_type.status_code == 422
    assert "design_production_scale" in wrong_type.json["error"]["details"]
    foreign = b.post_json(f"/tasks/{task.id}/submit", {"data": {
        "safety_design_conclusion": "approved", "safety_design_opinion": "同意",
        "safety_design_evidence": ["0" * 32]}})
    assert foreign.status_code == 422
    assert "safety_design_evidence" in foreign.json["error"]["details"]
    no_csrf = b.client.post(f"/tasks/{task.id}/submit", json={"data": {}},
                            headers={"Accept": "application/json"})
    assert no_csrf.status_code == 403
    ok = b.post_json(f"/tasks/{task.id}/submit", {"data": {
        "safety_design_conclusion": "approved", "safety_design_opinion": "同意"}})
    assert ok.status_code == 200 and ok.json["redirect"] == "/tasks?view=mine"
    assert open_task(engine, iid, "supervise_construction_safety") is not None \
        if any(t.element_id == "supervise_construction_safety"
               for t in engine.get_instance(iid, actor(engine, "admin")).tasks) else True
    assert engine.get_task(task.id, actor(engine, "admin")).state == "completed"
    assert "已提交" in b.get("/tasks?view=mine").text
    again = b.post_json(f"/tasks/{task.id}/submit", {"data": {
        "safety_design_conclusion": "approved", "safety_design_opinion": "同意"}})
    assert again.status_code == 409


def test_draft_is_kept_per_user_and_prefills_the_form(pages_app, engine):
    iid = mine_at_safety_design_review(engine, "KS-D01")
    task = open_task(engine, iid, "review_safety_design")
    b = Browser(pages_app, "emergency-clerk")
    b.post(f"/tasks/{task.id}/claim")
    saved = b.post_json(f"/tasks/{task.id}/draft", {"data": {"safety_design_opinion": "初步同意"}})
    assert saved.status_code == 200 and saved.json["saved_at"]
    page = b.get(f"/tasks/{task.id}").text
    assert "初步同意" in page and "已载入" in page
    head = Browser(pages_app, "emergency-head")
    assert "初步同意" not in head.get(f"/tasks/{task.id}").text
    assert b.post_json(f"/tasks/{task.id}/draft", {"data": "x"}).status_code == 422


def test_send_back_pause_resume_and_comments(pages_app, engine):
    iid = mine_at_safety_design_review(engine, "KS-B01")
    task = open_task(engine, iid, "review_safety_design")
    b = Browser(pages_app, "emergency-clerk")
    b.post(f"/tasks/{task.id}/claim")
    page = b.get(f"/tasks/{task.id}").text
    assert "退回" in page and 'value="accept_safety_design"' in page
    assert b.post(f"/tasks/{task.id}/comments", {"text": "请补充专家意见"}).status_code == 302
    assert "请补充专家意见" in b.get(f"/tasks/{task.id}").text
    refused = b.post(f"/tasks/{task.id}/send-back", {"target": "accept_safety_design"})
    assert "须选择环节并填写理由" in b.get(refused.headers["Location"]).text
    back = b.post(f"/tasks/{task.id}/send-back",
                  {"target": "accept_safety_design", "reason": "缺少安全预评价报告"})
    assert back.status_code == 302
    assert "accept_safety_design" in {t.element_id for t in
                                      engine.get_instance(iid, actor(engine, "admin")).tasks}
    case = b.get(f"/cases/{iid}").text
    assert "缺少安全预评价报告" in case and "请补充专家意见" in case

    iid2 = mine_at_permits(engine, "KS-P01")
    eia = open_task(engine, iid2, "review_eia")
    supervision = Browser(pages_app, "supervision-clerk")
    assert "/start/supervision_monthly" in supervision.get("/start").text
    eco = Browser(pages_app, "eco-clerk")
    eco.post(f"/tasks/{eia.id}/claim")
    assert "暂停计时" in eco.get(f"/tasks/{eia.id}").text
    eco.post(f"/tasks/{eia.id}/pause", {"reason": "专家评审"})
    assert engine.get_task(eia.id, actor(engine, "admin")).paused_at is not None
    assert "计时已暂停" in eco.get(f"/tasks/{eia.id}").text
    eco.post(f"/tasks/{eia.id}/resume")
    assert engine.get_task(eia.id, actor(engine, "admin")).paused_at is None
    # A task whose diagram does not allow pausing says so instead of pausing.
    shown = eco.get(eco.post(f"/tasks/{task.id}/pause", {"reason": "x"}).headers.get(
        "Location", f"/tasks/{task.id}"))
    assert shown.status_code in (200, 403)


def test_attachments_limits_hash_download_and_403(pages_app, engine):
    iid = mine_at_safety_design_review(engine, "KS-A01")
    task = open_task(engine, iid, "review_safety_design")
    b = Browser(pages_app, "emergency-clerk")
    b.post(f"/tasks/{task.id}/claim")

    def upload(name, content, accept_json=True):
        headers = {"X-CSRF-Token": b.csrf}
        if accept_json:
            headers["Accept"] = "application/json"
        return b.client.post(f"/tasks/{task.id}/attachments", headers=headers,
                             data={"file": (io.BytesIO(content), name), "field": "evidence"},
                             content_type="multipart/form-data")

    assert upload("病毒.exe", b"MZ\x90\x00").status_code == 422
    fake = upload("伪装.pdf", b"MZ\x90\x00 not a pdf")
    assert fake.status_code == 422 and "不符" in fake.json["error"]["message"]
    # The size limit (a small one here: the test client spools bodies over 500 KB to a
    # temporary file it never closes).
    pages_app.extensions["kunflow.casefiles"].max_bytes = 64 * 1024
    big = upload("大文件.pdf", b"%PDF-" + b"0" * (64 * 1024))
    assert big.status_code == 422 and "大小上限" in big.json["error"]["message"]
    pages_app.extensions["kunflow.casefiles"].max_bytes = 1024 * 1024
    assert upload("空.txt", b"").status_code == 422
    ok = upload("审查会纪要.pdf", PDF)
    assert ok.status_code == 201
    att = ok.json["attachment"]
    assert att["sha256"] == hashlib.sha256(PDF).hexdigest()
    page = b.get(f"/tasks/{task.id}").text
    assert "审查会纪要.pdf" in page and "郑磊" in page
    download = b.get(att["url"])
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    # Without JS the form posts and comes back to the task page.
    plain = upload("现场照片.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, accept_json=False)
    assert plain.status_code == 302
    other = Browser(pages_app, "invest-clerk")
    for url in (att["url"], f"/tasks/{task.id}", f"/cases/{iid}"):
        refused = other.get(url, headers={"Accept": "text/html"})
        assert refused.status_code == 403 and "无权访问" in refused.text
        assert "审查会纪要" not in refused.text and "KS-A01" not in refused.text
    assert other.get("/attachments/not-an-id").status_code == 404
    assert other.client.post(f"/tasks/{task.id}/attachments", headers={
        "X-CSRF-Token": other.csrf, "Accept": "application/json"},
        data={"file": (io.BytesIO(PDF), "x.pdf")},
        content_type="multipart/form-data").status_code == 403


# ---------------------------------------------------------------- case view and start


def test_case_view_shows_stage_steps_timeline_and_diagram(pages_app, engine):
    iid = mine_at_safety_design_review(engine, "KS-C01")
    b = Browser(pages_app, "emergency-clerk")
    page = b.get(f"/cases/{iid}").text
    assert "KS-C01" in page and "专项审批" in page and "安全设施设计审查" in page
    marks = json.loads(re.search(
        r'<script type="application/json" id="kf-diagram-marks">(.*?)</script>', page, re.S
    ).group(1))
    assert "review_safety_design" in marks["current"]
    assert {"register_mine_case", "accept_safety_design"} <= set(marks["completed"])
    assert not set(marks["completed"]) & set(marks["current"])
    assert marks["overdue"] == []
    assert marks["links"]["review_safety_design"].startswith("/tasks/")
    # The timeline reads submitted fields by their form labels and options by their labels.
    form = json.loads((ROOT / "bpmn" / "forms" / "mine_accept_safety_design.form").read_text())
    field = next(c for c in form["components"] if c.get("key") == "safety_design_materials")
    option = next(v["label"] for v in field["values"] if v["value"] == "accepted")
    assert f'<dt title="safety_design_materials">{field["label"]}</dt>' in page
    assert option in page
    xml = b.get(f"/cases/{iid}/diagram.xml")
    assert xml.status_code == 200 and b"review_safety_design" in xml.data
    assert b.get("/cases/999999").status_code == 404


def test_case_timeline_reads_a_ledger_and_any_other_shape_of_submitted_data(pages_app, engine):
    """The supervision ledger (a list of rows) reads as a table with the form's column labels
    and option labels; objects, mixed lists and deep nesting read too. Such data made the demo's
    monthly supervision case pages answer 500 (unhashable type: 'dict')."""
    with time_machine.travel(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), tick=False):
        iid = engine.start("supervision_monthly", actor(engine, "supervision-clerk"),
                           title="2026年3月督查督办", data={"first_round_month": "2026-03"}).id
        ledger = open_task(engine, iid, "build_ledger")
        b = Browser(pages_app, "supervision-clerk")
        b.post(f"/tasks/{ledger.id}/claim")
        done = b.post_json(f"/tasks/{ledger.id}/submit", {"data": {
            "ledger": [{"row_id": "DB-01", "task": "重点项目开工率达到90%", "unit": "drc",
                        "owner": "张晓东", "deadline": "2026-12-31", "planned_pct": 10,
                        "months_behind": 0}],
            "ledger_note": "首轮建账",
            "ledger_source": {"document": "昆府发〔2026〕10号",
                              "pages": [[1, 2], {"deep": {"deeper": {"deepest": [1]}}}]},
            "ledger_mixed": ["文本", 3, None, {"k": "v"}],
        }})
        assert done.status_code == 200, done.json
        page = b.get(f"/cases/{iid}")
        task_page = b.get(f"/tasks/{ledger.id}")
    assert page.status_code == 200 and task_page.status_code == 200
    html = page.text
    assert '<dt title="ledger">督查台账</dt>' in html
    assert '<th title="unit">责任单位</th>' in html
    assert '<td data-label="责任单位">区发改委</td>' in html  # the option's label
    assert '<td data-label="本月计划累计进度（%）">10</td>' in html
    assert '<dt title="document">document</dt>\n  <dd>昆府发〔2026〕10号</dd>' in html
    assert "deepest" in html and '<ol class="values">' in html


def test_start_lists_what_the_department_may_start_and_starts_it(pages_app, engine):
    invest = Browser(pages_app, "invest-clerk")
    listing = invest.get("/start").text
    assert "/start/project_lifecycle" in listing
    assert "/start/supervision_monthly" not in listing  # 督查室 starts it, not 区招商部门
    form = invest.get("/start/project_lifecycle").text
    assert "kf_title" in form
    missing = invest.post_json("/start/project_lifecycle", {"data": {}})
    assert missing.status_code == 422 and "kf_title" in missing.json["error"]["details"]
    started = invest.post_json("/start/project_lifecycle", {"data": {
        "kf_title": "年产 5 万吨稀土新材料项目", "kf_business_key": "XM-2026-900"}})
    assert started.status_code == 200
    iid = started.json["instance_id"]
    inst = engine.get_instance(iid, actor(engine, "admin"))
    assert (inst.title, inst.business_key, inst.started_by) == (
        "年产 5 万吨稀土新材料项目", "XM-2026-900", "invest-clerk")
    assert started.json["redirect"].startswith("/tasks/") or started.json["redirect"] == \
        f"/cases/{iid}"
    assert "XM-2026-900" in invest.get("/tasks?view=started").text
    auto = invest.post_json("/start/project_lifecycle", {"data": {"kf_title": "自动编号项目"}})
    assert auto.status_code == 200
    assert engine.get_instance(auto.json["instance_id"], actor(engine, "admin")).business_key
    eco = Browser(pages_app, "eco-clerk")
    assert "/start/project_lifecycle" not in eco.get("/start").text
    assert eco.post_json("/start/project_lifecycle", {"data": {"kf_title": "x"}}).status_code \
        == 403


def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(pages_app):
    b = Browser(pages_app, "emergency-clerk")
    page = b.get("/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "页面不存在" in page.text
    assert b.get("/tasks/not-a-task", headers={"Accept": "text/html"}).status_code == 404
    api = b.get("/api/v1/no-such", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.is_json
