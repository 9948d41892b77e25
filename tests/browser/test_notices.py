"""The notice inbox in a browser: a 区应急局 clerk sees the 通知 count in the header, finds the
mine chain's 相互通报 (written by the case's own step), a 催办 and a deadline reminder in
/notices; opening the reminder goes to its task and marks it read (the count drops); 全部标为已读
empties the unread tab. Screenshots at 1440 and 390 px to var/screenshots."""

from __future__ import annotations

from engine import post_notice, utcnow
from tests.browser.cases import Steps, mine_at_safety_design_review
from tests.browser.conftest import PHONE, ROOT, login, new_page

WIDE = {"width": 1440, "height": 900}
SHOTS = ROOT / "var" / "screenshots"


def _seed(engine, code: str) -> tuple[str, str]:
    """The mine case through its last permit (安全设施设计审查): its step notifies the approval
    results (相互通报) and 区应急局 supervises the construction; a 催办 to 区应急局 and a reminder
    of that task. (id, name) of the task."""
    steps = Steps(engine)
    iid = mine_at_safety_design_review(engine, code)
    steps.complete(iid, "review_safety_design")
    task = steps.open(iid)["supervise_construction_safety"]
    with engine.unit_of_work() as uow:
        post_notice(uow.conn, kind="urge", subject="催办：2026年10月工作进展报送",
                    body="请于今日下班前报送本月重点任务进展。", now=utcnow(),
                    department_code="emergency", link="/ledger/", sender="督查室")
        post_notice(uow.conn, kind="due_soon", subject=f"即将到期：{task.name}",
                    body="办理期限不足一个工作日，请及时办理。", now=utcnow(),
                    department_code="emergency", instance_id=iid, task_id=task.id,
                    sender="系统提醒")
        uow.commit()
    return task.id, task.name


def _count(page) -> int:
    badge = page.locator("[data-testid=notice-count]")
    return int(badge.inner_text()) if badge.count() else 0


def test_a_clerk_reads_the_inbox_opens_a_reminder_and_marks_all_read(live_server, browser):
    engine = live_server.engine
    task_id, name = _seed(engine, "TZ-2026-01")
    clerk = live_server.user("emergency-clerk")
    unread = engine.unread_notice_count(clerk)
    assert unread >= 3

    page = new_page(browser, WIDE)
    try:
        login(page, live_server, "emergency-clerk")
        assert _count(page) == unread  # the header's count, on the task list
        page.click("[data-testid=nav-notices]")
        page.wait_for_url("**/notices")
        text = page.locator("[data-testid=notice-list]").inner_text()
        assert "审批结果" in text and "来自：区应急局" in text and "TZ-2026-01" in text
        assert "催办：2026年10月工作进展报送" in text and f"即将到期：{name}" in text
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "notices-1440.png"), full_page=True)

        reminder = page.locator(".notice-item", has_text=f"即将到期：{name}")
        assert reminder.get_attribute("data-read") == "false"
        reminder.locator(".notice-subject").click()
        page.wait_for_url(f"**/tasks/{task_id}")
        assert _count(page) == unread - 1

        page.click("[data-testid=nav-notices]")
        page.wait_for_url("**/notices")
        reminder = page.locator(".notice-item", has_text=f"即将到期：{name}")
        assert reminder.get_attribute("data-read") == "true"
        page.click("[data-testid=notices-read-all]")
        page.wait_for_url("**/notices")
        assert f"已将 {unread - 1} 条通知标为已读" in page.locator(".flashes").inner_text()
        assert _count(page) == 0
        page.click("[data-tab=unread]")
        assert "没有未读通知" in page.locator(".notice-empty").inner_text()
        assert page.kf_errors == []
    finally:
        page.context.close()
    assert engine.unread_notice_count(clerk) == 0
    assert engine.unread_notice_count(live_server.user("emergency-head")) >= 3  # per user


def test_the_inbox_fits_a_phone(live_server, browser):
    engine = live_server.engine
    _seed(engine, "TZ-2026-02")
    page = new_page(browser, PHONE)
    try:
        login(page, live_server, "emergency-head")
        page.goto(live_server.url + "/notices")
        assert page.locator(".notice-item").count() >= 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"horizontal scrolling: {width}px"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "notices-390.png"), full_page=True)
        assert page.kf_errors == []
    finally:
        page.context.close()
