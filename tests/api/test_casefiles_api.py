"""What the caseworker pages do, through the JSON API: list filters (stage, deadline light, text,
sort), attachments (upload with the page's checks, list, metadata, download with the page's
headers), drafts, comments as events, the case's diagram and the processes a department may
start, a task's form and send-back targets, every step of a case and its related cases.
Another department gets 403, never data; cookie sessions need the CSRF header."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.browser.cases import mine_at_safety_design_review

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
T0 = datetime(2026, 9, 18, 2, 0, tzinfo=UTC)  # a Friday, 10:00 in Beijing


@pytest.fixture
def app(app_factory, tmp_path):
    """Attachments in the test's directory, never in var/."""
    return app_factory(ATTACHMENT_DIR=str(tmp_path / "attachments"), ATTACHMENT_MAX_MB=1)


@pytest.fixture
def engine(app):
    return app.extensions["kunflow"]


def actor(engine, username):
    return engine.get_user(username).actor()


def open_task(engine, iid, element_id):
    return next(
        t
        for t in engine.get_instance(iid, actor(engine, "admin")).tasks
        if t.element_id == element_id
    )


class Caller:
    """One user's bearer token on every request (get, post, put, multipart upload)."""

    def __init__(self, client, username: str):
        self.client = client
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        assert r.status_code == 200, r.get_json()
        self.headers = {"Authorization": f"Bearer {r.get_json()['token']}"}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self.headers, **kw)

    def put(self, path, **kw):
        return self.client.put(path, headers=self.headers, **kw)

    def upload(self, task_id, name, content, **fields):
        return self.client.post(
            f"/api/v1/tasks/{task_id}/attachments",
            headers=self.headers,
            data={"file": (io.BytesIO(content), name), **fields},
            content_type="multipart/form-data",
        )


@pytest.fixture
def caller(client):
    return lambda username: Caller(client, username)


@pytest.fixture
def review_case(engine):
    """A mine case standing at 安全设施设计审查 (区应急局); (instance id, task id)."""
    iid = mine_at_safety_design_review(engine, "KS-API-01")
    return iid, open_task(engine, iid, "review_safety_design").id


def field_of(error_of, response) -> str | None:
    details = error_of(response)["details"]
    return details.get("field") if isinstance(details, dict) else None


# ---------------------------------------------------------------- list filters


def test_task_and_instance_lists_filter_by_stage_light_text_and_sort(app, engine, caller, error_of):
    with time_machine.travel(T0, tick=False) as clock:
        iids = []
        for i in range(3):
            iids.append(mine_at_safety_design_review(engine, f"KS-L{i:02d}"))
            clock.shift(timedelta(minutes=5))  # arrivals in this order
        emergency = caller("emergency-clerk")

        def listed(query):
            r = emergency.get(f"/api/v1/tasks?scope=department&{query}")
            assert r.status_code == 200, r.get_json()
            return r.get_json()

        def codes(query):
            return [t["business_key"] for t in listed(query)["items"]]

        assert sorted(codes("")) == ["KS-L00", "KS-L01", "KS-L02"]
        assert codes("q=KS-L01") == ["KS-L01"]
        assert codes("q=L0&process_key=mine_approval&sort=created") == [
            "KS-L00",
            "KS-L01",
            "KS-L02",
        ]
        assert codes("q=L0&sort=-created") == ["KS-L02", "KS-L01", "KS-L00"]
        assert listed("stage=专项审批")["total"] == 3
        assert listed("stage=运营")["total"] == 0
        assert listed("light=green")["total"] == 3
        assert listed("light=red")["total"] == 0
        # Due dates: 20 working days each, all the same here; sorting by them still answers.
        assert listed("sort=due")["total"] == listed("sort=-due")["total"] == 3
        # Not the caller's department's: the text filter never widens what one sees.
        assert (
            Caller(emergency.client, "invest-clerk")
            .get("/api/v1/tasks?scope=department&q=KS-L01")
            .get_json()["items"]
            == []
        )

        natres = caller("natres-clerk")  # started them
        r = natres.get("/api/v1/instances?q=KS-L01")
        assert [i["id"] for i in r.get_json()["items"]] == [iids[1]]
        assert natres.get("/api/v1/instances?stage=专项审批").get_json()["total"] == 3
        assert natres.get("/api/v1/instances?stage=运营&q=KS-L").get_json()["total"] == 0
        invest = caller("invest-clerk")
        assert invest.get("/api/v1/instances?q=KS-L01").get_json()["total"] == 0

        # 60 days later every review is overdue: red, no longer green.
        clock.shift(timedelta(days=60))
        emergency = caller("emergency-clerk")  # the first token has expired meanwhile
        assert listed("light=red")["total"] == 3
        assert listed("light=green")["total"] == 0
        assert listed("light=yellow")["total"] == 0

    for query, field in (
        ("light=purple", "light"),
        ("sort=zzz", "sort"),
        ("stage=" + "x" * 201, "stage"),
        ("q=" + "x" * 201, "q"),
    ):
        r = caller("emergency-clerk").get(f"/api/v1/tasks?{query}")
        assert r.status_code == 422, query
        assert field_of(error_of, r) == field
    r = caller("natres-clerk").get("/api/v1/instances?q=" + "x" * 201)
    assert r.status_code == 422 and field_of(error_of, r) == "q"


def test_done_list_sorts_by_completion(caller):
    invest = caller("invest-clerk")
    done = []
    for title in ("甲", "乙"):
        inst = invest.post(
            "/api/v1/instances", json={"process_key": "sample_review", "title": title}
        ).get_json()
        task_id = inst["tasks"][0]["id"]
        assert invest.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
        assert (
            invest.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}).status_code == 200
        )
        done.append(task_id)
    first = invest.get("/api/v1/tasks?scope=done&sort=completed").get_json()["items"]
    last = invest.get("/api/v1/tasks?scope=done&sort=-completed").get_json()["items"]
    assert [t["id"] for t in first] == done
    assert [t["id"] for t in last] == done[::-1]


# ---------------------------------------------------------------- attachments


def test_upload_list_read_and_download_an_attachment(app, caller, review_case, tmp_path):
    iid, task_id = review_case
    emergency = caller("emergency-clerk")
    r = emergency.upload(task_id, "审查会纪要.pdf", PDF, field="safety_design_evidence")
    assert r.status_code == 201, r.get_json()
    att = r.get_json()["attachment"]
    assert att["instance_id"] == iid and att["task_id"] == task_id
    assert att["field"] == "safety_design_evidence"
    assert att["filename"] == "审查会纪要.pdf" and att["content_type"] == "application/pdf"
    assert att["size"] == len(PDF) and att["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert att["uploaded_by"] == "emergency-clerk" and att["uploaded_at"].endswith("Z")
    assert att["content_url"] == f"/api/v1/attachments/{att['id']}/content"
    # Stored by content hash in the configured directory.
    stored = tmp_path / "attachments" / att["sha256"][:2] / att["sha256"]
    assert stored.read_bytes() == PDF

    listed = emergency.get(f"/api/v1/instances/{iid}/attachments")
    assert listed.status_code == 200 and listed.get_json()["items"] == [att]
    assert emergency.get(f"/api/v1/attachments/{att['id']}").get_json() == att

    content = emergency.get(att["content_url"])
    assert content.status_code == 200 and content.data == PDF
    assert content.mimetype == "application/pdf"
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Cache-Control"] == "private, no-store"
    assert content.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert content.headers["Content-Disposition"].startswith("inline;")
    assert content.headers["ETag"] == f'"{att["sha256"]}"'
    content.close()
    # Conditional and partial requests, as a PDF viewer makes them.
    same = emergency.client.get(
        att["content_url"], headers={**emergency.headers, "If-None-Match": f'"{att["sha256"]}"'}
    )
    assert same.status_code == 304 and same.data == b""
    same.close()
    part = emergency.client.get(
        att["content_url"], headers={**emergency.headers, "Range": "bytes=0-4"}
    )
    assert part.status_code == 206 and part.data == PDF[:5]
    assert part.headers["Content-Range"] == f"bytes 0-4/{len(PDF)}"
    assert part.headers["X-Content-Type-Options"] == "nosniff"
    part.close()
    beyond = emergency.client.get(
        att["content_url"], headers={**emergency.headers, "Range": "bytes=9000-9999"}
    )
    assert beyond.status_code == 416 and beyond.is_json
    # A type a browser would not show is a download; the same bytes twice are one file.
    text = emergency.upload(task_id, "说明.txt", "现场核查说明".encode())
    assert text.status_code == 201, text.get_json()
    again = emergency.upload(task_id, "说明副本.txt", "现场核查说明".encode()).get_json()
    assert again["attachment"]["sha256"] == text.get_json()["attachment"]["sha256"]
    download = emergency.get(text.get_json()["attachment"]["content_url"])
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "text/plain"
    download.close()
    assert len(emergency.get(f"/api/v1/instances/{iid}/attachments").get_json()["items"]) == 3

    # The starter's department (natres) sees the case, so it may read its attachments;
    # the leader reads everything.
    for username in ("natres-clerk", "leader"):
        who = caller(username)
        assert who.get(f"/api/v1/instances/{iid}/attachments").status_code == 200
        seen = who.get(att["content_url"])
        assert seen.status_code == 200 and seen.data == PDF
        seen.close()
    # The upload is in the case's log.
    events = emergency.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    added = [e for e in events if e["kind"] == "attachment_added"]
    assert added[0]["data"]["attachment_id"] == att["id"]


def test_upload_applies_the_pages_checks(app, caller, review_case, error_of):
    _, task_id = review_case
    emergency = caller("emergency-clerk")

    def refused(response, field, message=None):
        assert response.status_code == 422, response.get_json()
        error = error_of(response)
        assert field in (error["details"] or {}) or (error["details"] or {}).get("field") == field
        if message:
            assert message in error["message"]

    refused(emergency.upload(task_id, "病毒.exe", b"MZ\x90\x00"), "file", "不支持该文件类型")
    refused(emergency.upload(task_id, "伪装.pdf", b"MZ\x90\x00 not a pdf"), "file", "不符")
    refused(emergency.upload(task_id, "二进制.txt", b"ab\x00cd"), "file", "二进制")
    refused(emergency.upload(task_id, "空.pdf", b""), "file")
    refused(emergency.upload(task_id, "无扩展名", PDF), "file")
    app.extensions["kunflow.casefiles"].max_bytes = 4 * 1024
    refused(emergency.upload(task_id, "大文件.pdf", b"%PDF-" + b"0" * 5000), "file", "大小上限")
    app.extensions["kunflow.casefiles"].max_bytes = 1024 * 1024
    # The form itself: no file, a file sent as text, two files, unknown or bad fields.
    url = f"/api/v1/tasks/{task_id}/attachments"
    h = emergency.headers
    post = emergency.client.post
    refused(post(url, headers=h, data={"field": "x"}, content_type="multipart/form-data"), "file")
    refused(
        post(url, headers=h, data={"file": "不是文件"}, content_type="multipart/form-data"), "file"
    )
    two = [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PDF), "b.pdf")]
    refused(post(url, headers=h, data={"file": two}, content_type="multipart/form-data"), "file")
    refused(emergency.upload(task_id, "a.pdf", PDF, other="x"), "other")
    refused(emergency.upload(task_id, "a.pdf", PDF, field="x" * 201), "field")
    refused(emergency.upload(task_id, "a.pdf", PDF, field="a\x00b"), "field")
    as_file = {"file": (io.BytesIO(PDF), "a.pdf"), "field": (io.BytesIO(b"x"), "f.txt")}
    refused(post(url, headers=h, data=as_file, content_type="multipart/form-data"), "field")
    # Not multipart at all: 400.
    r = emergency.post(url, json={"file": "x"})
    assert r.status_code == 400 and error_of(r)["code"] == "bad_request"
    # Nothing refused was kept.
    iid = review_case[0]
    assert emergency.get(f"/api/v1/instances/{iid}/attachments").get_json()["items"] == []


def test_attachments_of_another_department_are_403_and_unknown_ones_404(
    engine, caller, review_case, error_of
):
    iid, task_id = review_case
    emergency = caller("emergency-clerk")
    att = emergency.upload(task_id, "纪要.pdf", PDF).get_json()["attachment"]
    invest = caller("invest-clerk")
    for r in (
        invest.upload(task_id, "x.pdf", PDF),
        invest.get(f"/api/v1/instances/{iid}/attachments"),
        invest.get(f"/api/v1/attachments/{att['id']}"),
        invest.get(f"/api/v1/attachments/{att['id']}/content"),
    ):
        assert r.status_code == 403, r.get_json()
        assert error_of(r)["code"] == "forbidden"
        assert "纪要" not in r.get_data(as_text=True)
    # The case's starter (natres) sees the case but may not work 区应急局's task.
    r = caller("natres-clerk").upload(task_id, "x.pdf", PDF)
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    for r in (
        emergency.upload("00000000-0000-0000-0000-000000000000", "x.pdf", PDF),
        emergency.upload("not-a-task", "x.pdf", PDF),
        emergency.get("/api/v1/instances/999999/attachments"),
        emergency.get("/api/v1/attachments/" + "0" * 32),
        emergency.get("/api/v1/attachments/" + "0" * 32 + "/content"),
        emergency.get("/api/v1/attachments/not-an-id"),
    ):
        assert r.status_code == 404, r.get_json()
        assert error_of(r)["code"] == "not_found"
    # A completed task takes no more files.
    done = open_task(engine, iid, "review_safety_design")
    engine.complete(
        done.id,
        actor(engine, "emergency-clerk"),
        {"safety_design_conclusion": "approved", "safety_design_opinion": "同意"},
    )
    r = emergency.upload(task_id, "迟到.pdf", PDF)
    assert r.status_code == 409 and "已办结" in error_of(r)["message"]


def test_no_credentials_are_401(client, review_case):
    iid, task_id = review_case
    for method, path in (
        ("post", f"/api/v1/tasks/{task_id}/attachments"),
        ("get", f"/api/v1/instances/{iid}/attachments"),
        ("get", "/api/v1/attachments/" + "0" * 32),
        ("get", "/api/v1/attachments/" + "0" * 32 + "/content"),
        ("get", f"/api/v1/tasks/{task_id}/draft"),
        ("put", f"/api/v1/tasks/{task_id}/draft"),
        ("post", f"/api/v1/instances/{iid}/comments"),
        ("get", f"/api/v1/instances/{iid}/diagram"),
        ("get", f"/api/v1/instances/{iid}/diagram.xml"),
        ("get", "/api/v1/definitions?startable=true"),
        ("get", f"/api/v1/tasks/{task_id}/context"),
        ("get", f"/api/v1/instances/{iid}/tasks"),
        ("get", f"/api/v1/instances/{iid}/related"),
    ):
        r = getattr(client, method)(path)
        assert r.status_code == 401, (method, path)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


# ---------------------------------------------------------------- drafts


def test_drafts_are_per_user_and_end_with_the_task(caller, review_case, error_of):
    _, task_id = review_case
    emergency = caller("emergency-clerk")
    url = f"/api/v1/tasks/{task_id}/draft"
    r = emergency.get(url)
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = emergency.put(url, json={"data": {"safety_design_opinion": "初步同意"}})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert set(saved) == {"task_id", "saved_at"} and saved["task_id"] == task_id
    r = emergency.get(url)
    assert r.status_code == 200
    assert r.get_json() == {
        "task_id": task_id,
        "data": {"safety_design_opinion": "初步同意"},
        "saved_at": saved["saved_at"],
    }
    # Saving again replaces the draft.
    emergency.put(url, json={"data": {"safety_design_opinion": "同意", "n": 2}})
    assert emergency.get(url).get_json()["data"] == {"safety_design_opinion": "同意", "n": 2}
    # The head of the same department has no draft of their own; another department is 403.
    assert caller("emergency-head").get(url).status_code == 404
    invest = caller("invest-clerk")
    for r in (invest.get(url), invest.put(url, json={"data": {"x": 1}})):
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    assert emergency.get(url).get_json()["data"]["n"] == 2  # untouched

    for body, field in (
        ({}, "data"),
        ({"data": "x"}, "data"),
        ({"data": [1]}, "data"),
        ({"data": {}, "extra": 1}, "extra"),
    ):
        r = emergency.put(url, json=body)
        assert r.status_code == 422, body
        assert field_of(error_of, r) == field
    assert emergency.put(url, data="not json", content_type="text/plain").status_code == 400
    r = emergency.put("/api/v1/tasks/00000000-0000-0000-0000-000000000000/draft", json={"data": {}})
    assert r.status_code == 404

    # Completing the task through the API ends the draft; a closed task takes none.
    assert emergency.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    done = emergency.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"data": {"safety_design_conclusion": "approved", "safety_design_opinion": "同意"}},
    )
    assert done.status_code == 200, done.get_json()
    assert emergency.get(url).status_code == 404
    r = emergency.put(url, json={"data": {"x": 1}})
    assert r.status_code == 409 and "已办结" in error_of(r)["message"]


# ---------------------------------------------------------------- comments


def test_comments_are_events_of_the_case(engine, caller, review_case, error_of):
    iid, task_id = review_case
    emergency = caller("emergency-clerk")
    url = f"/api/v1/instances/{iid}/comments"
    r = emergency.post(url, json={"text": "  请补充专家意见  "})
    assert r.status_code == 201, r.get_json()
    case_comment = r.get_json()
    assert case_comment["kind"] == "comment" and case_comment["instance_id"] == iid
    assert case_comment["actor"] == "emergency-clerk" and case_comment["task_id"] is None
    assert case_comment["data"] == {"text": "请补充专家意见"}
    r = emergency.post(url, json={"text": "设计单位资质待核", "task_id": task_id.upper()})
    assert r.status_code == 201, r.get_json()
    task_comment = r.get_json()
    assert task_comment["task_id"] == task_id and task_comment["data"]["text"] == "设计单位资质待核"

    events = emergency.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    comments = [e for e in events if e["kind"] == "comment"]
    assert comments == [case_comment, task_comment]
    # The starter's department sees the case and may comment on it.
    assert caller("natres-clerk").post(url, json={"text": "已知悉"}).status_code == 201

    other = mine_at_safety_design_review(engine, "KS-API-02")
    other_task = open_task(engine, other, "review_safety_design").id
    for body, field in (
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "a\x00b"}, "text"),
        ({"text": "好", "task_id": other_task}, "task_id"),
        ({"text": "好", "task_id": 7}, "task_id"),
        ({"text": "好", "extra": 1}, "extra"),
    ):
        r = emergency.post(url, json=body)
        assert r.status_code == 422, body
        assert field_of(error_of, r) == field
    # Nothing of the refused ones was written, on either case.
    after = emergency.get(f"/api/v1/instances/{iid}/events").get_json()["items"]
    assert len([e for e in after if e["kind"] == "comment"]) == 3
    assert not [
        e
        for e in emergency.get(f"/api/v1/instances/{other}/events").get_json()["items"]
        if e["kind"] == "comment"
    ]

    invest = caller("invest-clerk")
    r = invest.post(url, json={"text": "越权"})
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = invest.post(url, json={"text": "越权", "task_id": task_id})
    assert r.status_code == 403
    r = emergency.post("/api/v1/instances/999999/comments", json={"text": "好"})
    assert r.status_code == 404
    r = emergency.post(url, json={"text": "好", "task_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404


# ---------------------------------------------------------------- cookie sessions


def test_cookie_sessions_need_the_csrf_header_for_every_write(app, review_case, error_of):
    iid, task_id = review_case
    browser = app.test_client()
    r = browser.post("/api/v1/auth/login", json={"username": "emergency-clerk", "password": "demo"})
    assert r.status_code == 200
    csrf = r.get_json()["csrf_token"]
    writes = (  # each builds its request afresh (an upload's stream is read once)
        lambda h: browser.post(
            f"/api/v1/tasks/{task_id}/attachments",
            headers=h,
            data={"file": (io.BytesIO(PDF), "纪要.pdf")},
            content_type="multipart/form-data",
        ),
        lambda h: browser.put(f"/api/v1/tasks/{task_id}/draft", headers=h, json={"data": {}}),
        lambda h: browser.post(f"/api/v1/instances/{iid}/comments", headers=h, json={"text": "好"}),
    )
    for write in writes:
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            r = write(headers)
            assert r.status_code == 403, r.get_json()
            assert error_of(r)["code"] == "csrf_failed"
    assert browser.get(f"/api/v1/instances/{iid}/attachments").get_json()["items"] == []
    assert browser.get(f"/api/v1/tasks/{task_id}/draft").status_code == 404
    for write, status in zip(writes, (201, 200, 201), strict=True):
        r = write({"X-CSRF-Token": csrf})
        assert r.status_code == status, r.get_json()
    # Reads need no header.
    assert len(browser.get(f"/api/v1/instances/{iid}/attachments").get_json()["items"]) == 1


# ---------------------------------------------------------------- diagram


def test_diagram_marks_and_xml(engine, caller, error_of):
    with time_machine.travel(T0, tick=False) as clock:
        iid = mine_at_safety_design_review(engine, "KS-API-03")
        task_id = open_task(engine, iid, "review_safety_design").id
        emergency = caller("emergency-clerk")
        r = emergency.get(f"/api/v1/instances/{iid}/diagram")
        assert r.status_code == 200, r.get_json()
        marks = r.get_json()
        assert marks["definition_key"] == "mine_approval"
        assert marks["definition_version"] == 1
        assert "review_safety_design" in marks["current"]
        assert {"register_mine_case", "accept_safety_design"} <= set(marks["completed"])
        assert not set(marks["completed"]) & set(marks["current"])
        assert marks["overdue"] == []
        assert marks["task_links"]["review_safety_design"] == task_id
        # The starter sees the case but not 区应急局's task: no link to it.
        natres = caller("natres-clerk").get(f"/api/v1/instances/{iid}/diagram").get_json()
        assert "review_safety_design" in natres["current"]
        assert "review_safety_design" not in natres["task_links"]

        xml = emergency.get(f"/api/v1/instances/{iid}/diagram.xml")
        assert xml.status_code == 200 and xml.mimetype == "application/xml"
        assert b'id="review_safety_design"' in xml.data
        same = emergency.get(
            f"/api/v1/definitions/mine_approval/xml?version={marks['definition_version']}"
        )
        assert same.data == xml.data

        clock.shift(timedelta(days=60))
        emergency = caller("emergency-clerk")
        late = emergency.get(f"/api/v1/instances/{iid}/diagram").get_json()
        assert late["overdue"] == ["review_safety_design"]

    invest = caller("invest-clerk")
    for path in (f"/api/v1/instances/{iid}/diagram", f"/api/v1/instances/{iid}/diagram.xml"):
        r = invest.get(path)
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
        assert b"review_safety_design" not in r.data
        r = invest.get(path.replace(str(iid), "999999"))
        assert r.status_code == 404 and error_of(r)["code"] == "not_found"


# ---------------------------------------------------------------- start


def test_startable_definitions_follow_the_department(caller, error_of):
    def keys(username, query="?startable=true"):
        r = caller(username).get(f"/api/v1/definitions{query}")
        assert r.status_code == 200, r.get_json()
        return {d["key"] for d in r.get_json()["items"]}

    everything = keys("invest-clerk", "")
    assert keys("invest-clerk", "?startable=false") == everything
    invest = keys("invest-clerk")
    assert "project_lifecycle" in invest
    assert "supervision_monthly" not in invest  # started by the calendar, not by hand
    assert invest < everything
    assert "project_lifecycle" not in keys("eco-clerk")
    assert "mine_approval" in keys("natres-clerk")
    r = caller("invest-clerk").get("/api/v1/definitions?startable=yes")
    assert r.status_code == 422 and field_of(error_of, r) == "startable"


# ---------------------------------------------------------------- task page and case view


def test_task_context_gives_the_form_and_what_the_caller_may_do(caller, review_case, error_of):
    iid, task_id = review_case
    r = caller("emergency-clerk").get(f"/api/v1/tasks/{task_id}/context")
    assert r.status_code == 200, r.get_json()
    ctx = r.get_json()
    assert ctx["process_name"] and ctx["instance_status"] == "running"
    keys = {c.get("key") for c in ctx["form"]["components"]}
    assert {"safety_design_conclusion", "safety_design_opinion"} <= keys
    assert {"id": "accept_safety_design", "name": "安全设施设计受理"} in ctx["send_back_targets"]
    assert ctx["can_work"] is True and isinstance(ctx["pausable"], bool)
    # The starter's department sees the case but not 区应急局's task.
    for username in ("natres-clerk", "invest-clerk"):
        r = caller(username).get(f"/api/v1/tasks/{task_id}/context")
        assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    r = caller("emergency-clerk").get("/api/v1/tasks/00000000-0000-0000-0000-000000000000/context")
    assert r.status_code == 404


def test_case_steps_list_every_task_of_the_case(caller, review_case, error_of):
    iid, task_id = review_case
    for username in ("emergency-clerk", "natres-clerk", "leader"):
        r = caller(username).get(f"/api/v1/instances/{iid}/tasks")
        assert r.status_code == 200, r.get_json()
        steps = r.get_json()["items"]
        assert steps[0]["element_id"] == "register_mine_case"
        assert steps[0]["state"] == "completed" and steps[0]["department_code"] == "natres"
        assert [s["id"] for s in steps if s["state"] in ("ready", "claimed")].count(task_id) == 1
        assert [s["created_at"] for s in steps] == sorted(s["created_at"] for s in steps)
    r = caller("invest-clerk").get(f"/api/v1/instances/{iid}/tasks")
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    assert caller("leader").get("/api/v1/instances/999999/tasks").status_code == 404


def test_related_cases_name_only_what_the_caller_may_see(engine, root, caller, error_of):
    admin = actor(engine, "admin")
    for name in ("call_child", "call_parent"):
        path = root / "tests" / "fixtures" / "bpmn" / f"{name}.bpmn"
        engine.deploy(path.name, path.read_bytes(), actor=admin)
    invest = caller("invest-clerk")
    parent = invest.post(
        "/api/v1/instances",
        json={"process_key": "call_parent", "business_key": "KS-R01", "title": "某铁矿项目"},
    ).get_json()
    first = parent["tasks"][0]["id"]
    assert invest.post(f"/api/v1/tasks/{first}/claim").status_code == 200
    done = invest.post(f"/api/v1/tasks/{first}/complete", json={"data": {"mine": "某铁矿"}})
    assert done.status_code == 200, done.get_json()
    leader = caller("leader")
    (child,) = leader.get("/api/v1/instances?process_key=call_child").get_json()["items"]

    r = leader.get(f"/api/v1/instances/{parent['id']}/related")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {
        "parent": None,
        "children": [
            {
                "id": child["id"],
                "process_key": "call_child",
                "business_key": "KS-R01",
                "title": "某铁矿项目",
                "status": "running",
            }
        ],
    }
    assert leader.get(f"/api/v1/instances/{child['id']}/related").get_json()["parent"] == {
        "id": parent["id"],
        "process_key": "call_parent",
        "business_key": "KS-R01",
        "title": "某铁矿项目",
        "status": "running",
    }
    # 区应急局 works the child but has no part in the parent: the parent is not named.
    emergency = caller("emergency-clerk")
    r = emergency.get(f"/api/v1/instances/{child['id']}/related")
    assert r.status_code == 200 and r.get_json() == {"parent": None, "children": []}
    r = emergency.get(f"/api/v1/instances/{parent['id']}/related")
    assert r.status_code == 403 and error_of(r)["code"] == "forbidden"
    assert emergency.get("/api/v1/instances/999999/related").status_code == 404
