"""加签 on the caseworker pages through Flask's test client: the holder asks from the task
page, the asked department finds the request at the top of 我的待办, opens the asked task and
answers; refusals are flashed in Chinese; another department gets the 403 page."""

from __future__ import annotations

import pytest

from tests.api.test_pages import Browser, actor, open_task
from tests.browser.cases import mine_at_safety_design_review


@pytest.fixture
def pages_app(app_factory, tmp_path):
    return app_factory(ATTACHMENT_DIR=str(tmp_path / "attachments"))


def test_ask_answer_and_timeline_on_the_pages(pages_app):
    engine = pages_app.extensions["kunflow"]
    iid = mine_at_safety_design_review(engine, "KS-JQ-P1")
    review = open_task(engine, iid, "review_safety_design")
    engine.claim(review.id, actor(engine, "emergency-clerk"))
    emergency = Browser(pages_app, "emergency-clerk")
    page = emergency.get(f"/tasks/{review.id}")
    assert 'data-testid="consult-panel"' in page.text and "发起加签" in page.text

    refused = emergency.post(f"/tasks/{review.id}/opinions",
                             {"departments": "natres", "question": " ", "due_days": "3"},
                             follow_redirects=True)
    assert "请填写征求意见的问题" in refused.text
    asked = emergency.post(f"/tasks/{review.id}/opinions",
                           {"departments": "natres", "question": "是否涉及生态保护红线？",
                            "due_days": "2"})
    assert asked.status_code == 302
    page = emergency.get(f"/tasks/{review.id}")
    assert "已向 1 方征求意见" in page.text and "待答复" in page.text
    [c] = engine.list_opinions(review.id, actor(engine, "emergency-clerk"))

    natres = Browser(pages_app, "natres-clerk")
    mine = natres.get("/tasks?view=mine")
    assert 'data-testid="consult-waiting"' in mine.text and "是否涉及生态保护红线" in mine.text
    queue = natres.get("/tasks?view=department")
    assert 'data-testid="consult-badge"' in queue.text
    asked_page = natres.get(f"/tasks/{c.task_id}")
    assert asked_page.status_code == 200
    assert "是否涉及生态保护红线" in asked_page.text and "案件材料" in asked_page.text
    empty = natres.post(f"/tasks/{c.task_id}/opinion", {"opinion": "  "}, follow_redirects=True)
    assert "请填写意见" in empty.text
    # another department cannot open the asked task, nor withdraw the request
    invest = Browser(pages_app, "invest-clerk")
    assert invest.get(f"/tasks/{c.task_id}").status_code == 403
    assert invest.post(f"/opinions/{c.task_id}/withdraw", {"back": review.id}).status_code == 403
    answered = natres.post(f"/tasks/{c.task_id}/opinion", {"opinion": "不涉及，同意。",
                                                          "agree": "yes"})
    assert answered.status_code == 302 and "view=mine" in answered.headers["Location"]
    assert 'data-testid="consult-waiting"' not in natres.get("/tasks?view=mine").text

    page = emergency.get(f"/tasks/{review.id}")
    assert "不涉及，同意。" in page.text and "已答复" in page.text
    timeline = emergency.get(f"/cases/{iid}").text
    assert "加签（征求意见）" in timeline and "加签意见" in timeline and "不涉及，同意。" in timeline


def test_withdraw_from_the_task_page(pages_app):
    engine = pages_app.extensions["kunflow"]
    iid = mine_at_safety_design_review(engine, "KS-JQ-P2")
    review = open_task(engine, iid, "review_safety_design")
    clerk = actor(engine, "emergency-clerk")
    engine.claim(review.id, clerk)
    [c] = engine.ask_opinion(review.id, clerk, "意见？", users=["natres-head"])
    emergency = Browser(pages_app, "emergency-clerk")
    done = emergency.post(f"/opinions/{c.task_id}/withdraw", {"back": review.id})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/tasks/{review.id}")
    page = emergency.get(f"/tasks/{review.id}")
    assert "已撤回加签" in page.text and "已撤回" in page.text
    again = emergency.post(f"/opinions/{c.task_id}/withdraw", {"back": review.id},
                           follow_redirects=True)
    assert "加签已答复、撤回或取消" in again.text
