"""Caseworkers in a real browser: 区应急局 reviews a safety design from its department queue,
another department is refused, the case view highlights where the case stands, and the pages
read well on a desktop and on a phone (screenshots saved to test-artifacts/screenshots)."""

from __future__ import annotations

import hashlib
import io
import itertools

import pytest
import requests

from tests.browser.cases import mine_at_safety_design_review
from tests.browser.conftest import DESKTOP, PHONE, login, new_page, screenshot

pytestmark = pytest.mark.browser

_codes = itertools.count(1)
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _new_mine_case(server) -> tuple[int, str]:
    code = f"KS-B{next(_codes):03d}"
    return mine_at_safety_design_review(server.engine, code), code


def _open_task(server, iid, element_id):
    inst = server.engine.get_instance(iid, server.user("admin"))
    return next(t for t in inst.tasks if t.element_id == element_id)


def _row(page, code, task_name):
    return page.locator("table[data-testid=task-list] tbody tr").filter(has_text=code).filter(
        has_text=task_name)


def test_safety_design_review_from_the_department_queue_to_the_next_department(
        live_server, page, tmp_path):
    server = live_server
    iid, code = _new_mine_case(server)
    login(page, server, "emergency-clerk")
    assert "郑磊" in page.locator("header.topbar").inner_text()
    assert "区应急局" in page.locator("header.topbar").inner_text()

    page.goto(server.url + "/tasks?view=department")
    row = _row(page, code, "安全设施设计审查")
    assert row.count() == 1
    assert "待认领" in row.inner_text()
    row.locator("a.task-link").click()
    page.wait_for_selector(".kf-form[data-ready='1']")
    page.get_by_test_id("claim").click()
    page.wait_for_selector(".kf-form[data-readonly='0'][data-ready='1']")
    assert "已认领" in page.locator(".flashes").inner_text()

    # Submit without the required conclusion and opinion: errors in place, nothing submitted.
    page.get_by_test_id("submit").click()
    conclusion = page.locator(".fjs-form-field").filter(has_text="审查结论")
    opinion = page.locator(".fjs-form-field").filter(has_text="审查意见")
    for field in (conclusion, opinion):
        field.locator(".fjs-form-field-error").first.wait_for()
        assert "必填" in field.locator(".fjs-form-field-error").first.inner_text()
    assert "请更正" in page.locator(".kf-form-status").inner_text()
    assert _open_task(server, iid, "review_safety_design").state == "claimed"

    # Fix it, attach the PDF to the evidence field, submit.
    conclusion.get_by_label("同意", exact=False).first.check()
    opinion.locator("textarea").fill("设计符合《金属非金属矿山安全规程》，同意。")
    pdf = tmp_path / "专家评审意见.pdf"
    pdf.write_bytes(PDF)
    page.locator(".fjs-form-field").filter(has_text="审查佐证材料").locator(
        "input[type=file]").set_input_files(str(pdf))
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/tasks?view=mine**")
    assert "已提交" in page.locator(".flashes").inner_text()
    assert _row(page, code, "安全设施设计审查").count() == 0
    page.goto(server.url + "/tasks?view=department")
    assert _row(page, code, "安全设施设计审查").count() == 0
    page.goto(server.url + "/tasks?view=done")
    assert _row(page, code, "安全设施设计审查").count() == 1

    # The engine has it: completed with the form's data and the PDF as the evidence field.
    inst = server.engine.get_instance(iid, server.user("admin"), with_data=True)
    assert inst.data["safety_design_conclusion"] == "approved"
    evidence = inst.data["safety_design_evidence"]
    atts = server.files.list_attachments(iid, server.user("admin"))
    assert [a.id for a in atts] == evidence
    assert atts[0].filename == "专家评审意见.pdf"
    assert atts[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert atts[0].uploaded_by == "emergency-clerk"

    # The next department's caseworker finds the next step in their queue.
    nxt = [t for t in inst.tasks if t.department_code != "emergency"]
    assert nxt, f"no other department's task after the review: {[t.element_id for t in inst.tasks]}"
    other = nxt[0]
    page.context.clear_cookies()
    login(page, server, f"{other.department_code}-clerk")
    page.goto(server.url + "/tasks?view=department")
    assert _row(page, code, other.name).count() == 1


def test_another_department_gets_403_on_the_task_and_its_attachment(live_server, browser):
    server = live_server
    iid, code = _new_mine_case(server)
    task = _open_task(server, iid, "review_safety_design")
    clerk = server.user("emergency-clerk")
    server.engine.claim(task.id, clerk)
    att = server.files.add_attachment(clerk, task_id=task.id, filename="审查会纪要.pdf",
                                      content_type="application/pdf", stream=io.BytesIO(PDF))
    page = new_page(browser)
    try:
        login(page, server, "invest-clerk")  # 区招商部门 has never touched this case
        for url in (f"/tasks/{task.id}", f"/attachments/{att.id}", f"/cases/{iid}",
                    f"/cases/{iid}/diagram.xml"):
            response = page.goto(server.url + url)
            assert response.status == 403, url
            body = page.locator("body").inner_text()
            assert "无权访问" in body, url
            assert code not in body and "审查会纪要" not in body, url
        # The owning department downloads the very bytes that were uploaded.
        page.context.clear_cookies()
        login(page, server, "emergency-clerk")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        got = requests.get(f"{server.url}/attachments/{att.id}", cookies=cookies, timeout=10)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == att.sha256
    finally:
        page.context.close()


def test_case_view_highlights_the_current_task_on_the_diagram(live_server, page):
    server = live_server
    iid, code = _new_mine_case(server)
    login(page, server, "emergency-clerk")
    page.goto(f"{server.url}/cases/{iid}")
    page.wait_for_selector(".kf-diagram[data-ready='1']")
    current = page.locator(".kf-diagram .djs-element.kf-current[data-element-id]")
    assert "review_safety_design" in [current.nth(i).get_attribute("data-element-id")
                                      for i in range(current.count())]
    completed = page.locator(".kf-diagram .djs-element.kf-completed[data-element-id]")
    done_ids = {completed.nth(i).get_attribute("data-element-id") for i in range(completed.count())}
    assert {"register_mine_case", "accept_safety_design"} <= done_ids
    assert "review_safety_design" not in done_ids
    assert code in page.locator("h1").inner_text()
    assert "专项审批" in page.get_by_test_id("case-stage").inner_text()
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "提交" in timeline and "登记拟设矿山项目" in timeline


@pytest.mark.parametrize("viewport_name", ["desktop", "phone"])
def test_screenshots_of_list_task_and_case(live_server, browser, viewport_name):
    server = live_server
    iid, _code = _new_mine_case(server)
    task = _open_task(server, iid, "review_safety_design")
    viewport = DESKTOP if viewport_name == "desktop" else PHONE
    page = new_page(browser, viewport)
    try:
        login(page, server, "emergency-clerk")
        pages = {
            "tasks": "/tasks?view=department",
            "task": f"/tasks/{task.id}",
            "case": f"/cases/{iid}",
        }
        for name, url in pages.items():
            page.goto(server.url + url)
            if name == "task":
                page.wait_for_selector(".kf-form[data-ready='1']")
            if name == "case":
                page.wait_for_selector(".kf-diagram[data-ready='1']")
            # Readable at this width: nothing wider than the screen, Chinese text present.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} 页面在 {viewport_name} 宽度下横向溢出 {overflow}px"
            assert "昆都仑区工作流平台" in page.locator("header.topbar").inner_text()
            path = screenshot(page, f"{name}-{viewport_name}")
            assert path.stat().st_size > 10_000
        assert page.kf_errors == []
    finally:
        page.context.close()


def test_server_side_field_errors_show_in_place(live_server, page):
    """Errors only the server knows (422 with field details) land on the field they name."""
    server = live_server
    iid, _code = _new_mine_case(server)
    task = _open_task(server, iid, "review_safety_design")
    server.engine.claim(task.id, server.user("emergency-clerk"))
    login(page, server, "emergency-clerk")
    page.goto(f"{server.url}/tasks/{task.id}")
    page.wait_for_selector(".kf-form[data-ready='1']")
    page.route("**/submit", lambda route: route.fulfill(
        status=422, content_type="application/json",
        body='{"error": {"code": "invalid_input", "message": "表单数据无效", "details": '
             '{"safety_design_opinion": "审查意见须引用规范条款"}}}'))
    field = page.locator(".fjs-form-field").filter(has_text="审查结论")
    field.get_by_label("同意", exact=False).first.check()
    page.locator(".fjs-form-field").filter(has_text="审查意见").locator("textarea").fill("同意")
    page.get_by_test_id("submit").click()
    error = page.locator(".fjs-form-field").filter(has_text="审查意见").locator(
        ".fjs-form-field-error")
    error.first.wait_for()
    assert "须引用规范条款" in error.first.inner_text()
    # The user's input is kept.
    assert page.locator(".fjs-form-field").filter(has_text="审查意见").locator(
        "textarea").input_value() == "同意"
    assert _open_task(server, iid, "review_safety_design").state == "claimed"


def test_start_a_project_lead_and_land_on_its_first_step(live_server, page):
    server = live_server
    login(page, server, "invest-clerk")
    page.get_by_role("link", name="发起").first.click()
    page.locator("ul[data-testid=start-list] a", has_text="项目全生命周期").click()
    page.wait_for_selector(".kf-form[data-ready='1']")
    page.get_by_test_id("submit").click()  # the name is required
    page.locator(".fjs-form-field").filter(has_text="名称").locator(
        ".fjs-form-field-error").first.wait_for()
    page.locator(".fjs-form-field").filter(has_text="名称").locator("input").fill(
        "年产 5 万吨高纯稀土金属项目")
    page.locator(".fjs-form-field").filter(has_text="编号").locator("input").fill("XM-B-001")
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/tasks/**")
    assert "已发起" in page.locator(".flashes").inner_text()
    assert "年产 5 万吨高纯稀土金属项目" in page.locator(".task-head").inner_text()
    page.wait_for_selector(".kf-form[data-ready='1']")
    page.goto(server.url + "/tasks?view=started")
    assert page.locator("table[data-testid=case-list]").filter(has_text="XM-B-001").count() == 1
