"""督查督办 in a browser, as the 督查室 (`supervisor`): the month's units with their report
state, lights and escalation; urging a unit from the page puts a 催办 at the top of that unit's
task list (its clerk sees who urged and the message). Screenshots at 1440 and 390 px."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from tests.browser.conftest import login, new_page, screenshot
from workflows.ledger import ledger_progress, ledger_row, ledger_row_unit

WIDE = {"width": 1440, "height": 900}
NARROW = {"width": 390, "height": 844}
UNIT = "aerding"  # 阿尔丁大街街道办事处: no other browser test reads its lists
MONTH = "2026-10"
SOURCE = "督查督办浏览器测试分解表"


def _ledger(engine) -> None:
    """Rows of a few units with their October reports (the live server holds no rounds)."""
    reports = [("aerding", "missing", False, "red"), ("youyi", "submitted", True, "yellow"),
               ("drc", "submitted", False, "green"), ("housing", "submitted", False, "red")]
    with engine.unit_of_work() as uow:
        for n, (unit, status, late, light) in enumerate(reports, start=1):
            row_id = uow.conn.execute(sa.insert(ledger_row).values(
                source_table=SOURCE, number=str(n), task=f"重点任务{n}（浏览器测试）",
                lead_unit=unit, deadline=date(2026, 12, 31), status="open", light=light,
                created_at=datetime(2026, 3, 1))).inserted_primary_key[0]
            uow.conn.execute(sa.insert(ledger_row_unit).values(
                row_id=row_id, department_code=unit, role="lead"))
            uow.conn.execute(sa.insert(ledger_progress).values(
                row_id=row_id, department_code=unit, month=MONTH, light=light,
                percent=None if status == "missing" else 60, status=status, late=late,
                signed=True, reported_at=None if status == "missing" else datetime(2026, 11, 5)))
        uow.commit()


def test_supervisor_urges_a_unit_and_its_clerk_sees_the_urge(live_server, browser):
    _ledger(live_server.engine)
    page = new_page(browser, WIDE)
    try:
        login(page, live_server, "supervisor")
        page.goto(live_server.url + f"/dashboard/supervision?month={MONTH}")
        units = page.locator("[data-testid=sv-units] tbody tr")
        assert units.count() >= 4
        first = units.first.inner_text()
        assert "阿尔丁大街街道办事处" in first and "未报送" in first  # the worst first
        assert "报送情况" in page.locator(".sv-summary").inner_text()
        assert page.locator("#sv-state-chart canvas").count() == 1  # the chart drew
        screenshot(page, "dashboard-supervision-1440")
        page.check(f"[data-testid=sv-pick-{UNIT}]")
        page.fill("[data-testid=sv-message]", "请于今日下班前报送上月工作完成情况（浏览器测试）")
        page.click("[data-testid=sv-urge]")
        page.wait_for_url("**/dashboard/supervision?month=*")
        assert "已催办 1 个单位：阿尔丁大街街道办事处" in page.locator(".flashes").inner_text()
        assert "已催办" in page.locator(f"[data-testid=sv-urged-{UNIT}]").inner_text()
        page.set_viewport_size(NARROW)
        screenshot(page, "dashboard-supervision-390")
        assert page.kf_errors == []
    finally:
        page.context.close()

    clerk = new_page(browser, WIDE)
    try:
        login(clerk, live_server, f"{UNIT}-clerk")
        urges = clerk.locator("[data-testid=urges]")
        text = urges.inner_text()
        assert "请于今日下班前报送上月工作完成情况（浏览器测试）" in text and "许红梅" in text
        screenshot(clerk, "caseworker-urge-1440")
    finally:
        clerk.context.close()
