"""加签 in a real browser: a 区应急局 clerk asks 区自然资源分局 for an opinion on the safety design
review they hold; a 区自然资源分局 clerk finds the request at the top of 我的待办 and answers it;
the 区应急局 clerk sees the answer beside the form, completes, and the case timeline shows the
opinion. Screenshots of the task with its answer at 1440 px and 390 px (var/screenshots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.cases import mine_at_safety_design_review
from tests.browser.conftest import PHONE, login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}


def _task(server, iid, element_id):
    inst = server.engine.get_instance(iid, server.user("admin"))
    return next(t for t in inst.tasks if t.element_id == element_id)


def test_emergency_asks_natres_for_an_opinion_then_completes(live_server, browser):
    server = live_server
    iid = mine_at_safety_design_review(server.engine, "KS-JQ01")
    review = _task(server, iid, "review_safety_design")
    page = new_page(browser, WIDE)
    try:
        # 区应急局 claims the review and asks 区自然资源分局
        login(page, server, "emergency-clerk")
        page.goto(f"{server.url}/tasks/{review.id}")
        page.get_by_test_id("claim").click()
        page.wait_for_selector(".kf-form[data-readonly='0'][data-ready='1']")
        panel = page.get_by_test_id("consult-panel")
        panel.get_by_test_id("consult-departments").select_option(["natres"])
        panel.get_by_test_id("consult-question").fill("矿区范围与生态保护红线、永久基本农田是否重叠？")
        panel.get_by_test_id("consult-submit").click()
        page.wait_for_selector("[data-testid=consult-list] li[data-status=open]")
        assert "已向 1 方征求意见" in page.locator(".flashes").inner_text()
        assert "区自然资源分局" in panel.inner_text() and "待答复" in panel.inner_text()
        # 前加签: the review cannot be submitted while the opinion is open
        assert "答复或撤回后" in panel.inner_text()
        [asked] = server.engine.list_opinions(review.id, server.user("emergency-clerk"))
        assert asked.asked_department == "natres" and asked.status == "open"

        # 区自然资源分局 sees the request at the top of 我的待办 and answers it
        page.context.clear_cookies()
        login(page, server, "natres-clerk")
        page.goto(server.url + "/tasks?view=mine")
        waiting = page.get_by_test_id("consult-waiting")
        assert "待答复加签" in waiting.inner_text()
        assert "安全设施设计审查" in waiting.inner_text() and "郑磊" in waiting.inner_text()
        # ... and in the notice inbox, with a link to the request
        page.goto(server.url + "/notices?kind=consult")
        request = page.locator(".notice-item").filter(has_text="安全设施设计审查")
        assert request.count() == 1, page.locator("main").inner_text()
        assert "加签" in request.inner_text() and "生态保护红线" in request.inner_text()
        assert request.get_attribute("data-read") == "false"
        request.locator(".notice-subject").click()
        page.wait_for_url(f"**/tasks/{asked.task_id}")
        page.goto(server.url + "/tasks?view=mine")
        waiting = page.get_by_test_id("consult-waiting")
        waiting.locator(f"li[data-consult-id='{asked.task_id}']").get_by_test_id(
            "consult-open").click()
        page.wait_for_url(f"**/tasks/{asked.task_id}")
        assert "生态保护红线" in page.get_by_test_id("consult-question-text").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "consult-asked-1440.png"), full_page=True)
        page.get_by_test_id("consult-opinion").fill("经核查，矿区范围不涉及生态保护红线和永久基本农田，同意。")
        page.get_by_label("同意", exact=True).check()
        page.get_by_test_id("consult-answer-submit").click()
        page.wait_for_url("**/tasks?view=mine**")
        assert "意见已提交" in page.locator(".flashes").inner_text()
        assert page.get_by_test_id("consult-waiting").count() == 0

        # 区应急局 sees the answer beside the form and completes the review
        page.context.clear_cookies()
        login(page, server, "emergency-clerk")
        page.goto(f"{server.url}/tasks/{review.id}")
        page.wait_for_selector(".kf-form[data-readonly='0'][data-ready='1']")
        answer = page.get_by_test_id("consult-answer")
        assert "不涉及生态保护红线" in answer.inner_text() and "同意" in answer.inner_text()
        assert "已答复" in page.get_by_test_id("consult-panel").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "consult-1440.png"), full_page=True)
        phone = new_page(browser, PHONE)
        try:
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{server.url}/tasks/{review.id}")
            phone.wait_for_selector(".kf-form[data-ready='1']")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], width
            phone.screenshot(path=str(SHOTS / "consult-390.png"), full_page=True)
        finally:
            phone.context.close()

        conclusion = page.locator(".fjs-form-field").filter(has_text="审查结论")
        conclusion.get_by_label("同意", exact=False).first.check()
        page.locator(".fjs-form-field").filter(has_text="审查意见").locator("textarea").fill(
            "设计符合规程；自然资源分局意见：不涉及红线，同意。")
        page.get_by_test_id("submit").click()
        page.wait_for_url("**/tasks?view=mine**")
        assert "已提交" in page.locator(".flashes").inner_text()
        done = server.engine.get_task(review.id, server.user("admin"), with_data=False)
        assert done.state == "completed"

        # the case timeline shows the request and the opinion
        page.goto(f"{server.url}/cases/{iid}#timeline")
        timeline = page.get_by_test_id("timeline").inner_text()
        assert "加签（征求意见）" in timeline and "加签意见" in timeline
        assert "不涉及生态保护红线" in page.get_by_test_id("timeline-opinion").inner_text()
        assert page.kf_errors == [], page.kf_errors
    finally:
        page.context.close()
