"""The 督查台账 page in a browser: the supervision office uploads a 分解表, sees the preview (a
bad file: the row-level errors, nothing imported), confirms, and finds the rows with their units
and deadlines; a unit's clerk reads only its own rows. Screenshot (1440 px) to var/screenshots."""

from __future__ import annotations

from tests.browser.conftest import ROOT, login, new_page
from tests.workflows.test_ledger import GOOD, breakdown

WIDE = {"width": 1440, "height": 900}
SHOTS = ROOT / "var" / "screenshots"


def test_office_imports_a_breakdown_and_a_unit_reads_its_rows(live_server, browser, tmp_path):
    bad = tmp_path / "分解表-有误.xlsx"
    bad.write_bytes(
        breakdown(
            [*GOOD, [5, "推进城市更新", "王志军", "区发改委", "区星际开发局", None]],
            title="2026年《政府工作报告》重点任务分解表（浏览器测试）",
        )
    )
    good = tmp_path / "分解表.xlsx"
    good.write_bytes(breakdown(GOOD, title="2026年《政府工作报告》重点任务分解表（浏览器测试）"))
    page = new_page(browser, WIDE)
    try:
        login(page, live_server, "supervision-clerk")
        page.click("[data-testid=nav-ledger]")
        page.wait_for_url("**/ledger/**")
        page.set_input_files("[data-testid=ledger-import] input[type=file]", str(bad))
        page.click("[data-testid=ledger-import] button[type=submit]")
        errors = page.locator("[data-testid=ledger-errors]")
        assert "第 7 行 · 责任单位：单位“区星际开发局”不在组织架构中" in errors.inner_text()
        assert "第 7 行 · 完成时限：缺少完成时限" in errors.inner_text()
        assert page.locator("[data-testid=ledger-confirm]").count() == 0

        page.goto(live_server.url + "/ledger/")
        page.set_input_files("[data-testid=ledger-import] input[type=file]", str(good))
        page.click("[data-testid=ledger-import] button[type=submit]")
        # the preview is a new page: wait for it (count() alone reads whatever is loaded now)
        page.locator("[data-testid=ledger-preview] tbody tr").first.wait_for()
        assert page.locator("[data-testid=ledger-preview] tbody tr").count() == 4
        page.click("[data-testid=ledger-confirm] button[type=submit]")
        page.wait_for_url("**/ledger/")
        assert "已导入 4 项" in page.locator(".flashes").inner_text()
        rows = page.locator("[data-testid=ledger-list] tbody tr")
        assert rows.count() >= 4
        text = page.locator("[data-testid=ledger-list]").inner_text()
        assert "区住建局、昆北街道办事处" in text and "2026年12月31日" in text and "长期" in text
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "ledger-1440.png"), full_page=True)

        page.click("text=全年重点项目开工率达到90%以上")
        assert "建账" in page.locator("[data-testid=ledger-events]").inner_text()
        assert page.kf_errors == []
    finally:
        page.context.close()

    unit = new_page(browser, WIDE)
    try:
        login(unit, live_server, "kunbei-clerk")
        unit.goto(live_server.url + "/ledger/")
        assert "昆北街道办事处（只读）" in unit.locator("h1").inner_text()
        assert unit.locator("[data-testid=ledger-import]").count() == 0
        assert (
            "全年重点项目开工率达到90%以上"
            in unit.locator("[data-testid=ledger-list]").inner_text()
        )
        assert "安全生产治本攻坚" not in unit.locator("[data-testid=ledger-list]").inner_text()
        assert unit.kf_errors == []
    finally:
        unit.context.close()
