"""The notice inbox over the API (/api/v1/notices…) and its page (/notices): a user's and their
department's notices only, unread count, read marks per user, mark all read, bad input answered
in Chinese; the page's tabs and kind filter, opening a notice marks it read and goes to its task
or case (never to another site), mark all read by form, the header's count."""

from __future__ import annotations

from datetime import datetime

from engine import post_notice
from tests.api.test_pages import csrf_of


def _post(app, **fields) -> int:
    eng = app.extensions["kunflow"]
    with eng.unit_of_work() as uow:
        made = post_notice(uow.conn, now=datetime(2026, 6, 1, 2), **fields)
        uow.commit()
    return made


def _seed(app) -> dict[str, int]:
    return {
        "dept": _post(app, kind="notice", subject="审批结果", department_code="drc",
                      body="项目代码：XM-1\n结果：准予", sender="区自然资源分局"),
        "mine": _post(app, kind="transfer", subject="转办：审查", username="drc-clerk",
                      task_id="00000000-0000-0000-0000-000000000001"),
        "other": _post(app, kind="urge", subject="催办住建", department_code="housing",
                       link="https://evil.example/"),
    }


def test_the_api_lists_counts_and_marks_the_callers_notices(app, as_user, error_of):
    ids = _seed(app)
    clerk, head = as_user("drc-clerk"), as_user("drc-head")
    body = clerk.get("/api/v1/notices").get_json()
    assert body["total"] == 2 and [n["id"] for n in body["items"]] == [ids["mine"], ids["dept"]]
    first = body["items"][0]
    assert (first["kind"], first["kind_label"], first["read_at"], first["target"]) == (
        "transfer", "转办", None, "/tasks/00000000-0000-0000-0000-000000000001")
    assert clerk.get("/api/v1/notices?kind=notice").get_json()["total"] == 1
    assert clerk.get("/api/v1/notices/unread-count").get_json() == {"unread": 2}

    r = clerk.post(f"/api/v1/notices/{ids['dept']}/read")
    assert r.status_code == 200 and r.get_json()["read_at"] is not None
    assert clerk.get("/api/v1/notices?unread=true").get_json()["total"] == 1
    assert head.get("/api/v1/notices/unread-count").get_json() == {"unread": 1}  # per user

    r = clerk.post(f"/api/v1/notices/{ids['other']}/read")  # another department's
    assert r.status_code == 404 and "不存在" in error_of(r)["message"]
    assert clerk.post("/api/v1/notices/read-all").get_json() == {"marked": 1}
    assert clerk.post("/api/v1/notices/read-all").get_json() == {"marked": 0}
    assert clerk.get("/api/v1/notices/unread-count").get_json() == {"unread": 0}
    assert as_user("housing-clerk").get("/api/v1/notices/unread-count").get_json() == {
        "unread": 1}


def test_bad_notice_queries_are_refused_in_chinese(app, as_user, error_of, client):
    clerk = as_user("drc-clerk")
    r = clerk.get("/api/v1/notices?kind=spam")
    assert r.status_code == 422 and "kind" in error_of(r)["message"]
    r = clerk.get("/api/v1/notices?limit=0")
    assert r.status_code == 422
    assert clerk.post("/api/v1/notices/99999999999/read").status_code == 404
    assert client.get("/api/v1/notices").status_code == 401


def _login(app, username):
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": "demo",
                                    "csrf_token": csrf_of(page.text)})
    assert r.status_code == 302
    return client


def test_the_page_lists_opens_and_marks_all_read(app):
    ids = _seed(app)
    client = _login(app, "drc-clerk")
    page = client.get("/notices")
    assert page.status_code == 200
    html = page.text
    assert "审批结果" in html and "转办：审查" in html and "催办住建" not in html
    assert 'data-testid="notice-count">2<' in html  # the header's count
    assert "全部标为已读" in html
    assert "催办住建" not in client.get("/notices?kind=urge").text
    unread = client.get("/notices?tab=unread").text
    assert unread.count('data-read="false"') == 2

    r = client.get(f"/notices/{ids['mine']}/open")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/tasks/00000000-0000-0000-0000-000000000001")
    assert 'data-testid="notice-count">1<' in client.get("/notices").text
    r = client.get(f"/notices/{ids['other']}/open")  # not this user's: back to the inbox
    assert r.status_code == 302 and r.headers["Location"].endswith("/notices")

    csrf = csrf_of(client.get("/notices").text)
    r = client.post("/notices/read-all", data={"csrf_token": csrf})
    assert r.status_code == 302
    html = client.get("/notices").text
    assert "已将 1 条通知标为已读" in html and 'data-testid="notice-count"' not in html
    assert client.post("/notices/read-all").status_code in (400, 403)  # no CSRF token


def test_a_notice_linking_off_site_opens_the_inbox_instead(app):
    ids = _seed(app)
    client = _login(app, "housing-clerk")
    r = client.get(f"/notices/{ids['other']}/open")
    assert r.status_code == 302 and r.headers["Location"].endswith("/notices")
    assert "evil" not in r.headers["Location"]
