"""名录 in a real browser: the demo register's mine list filtered to licences close to expiry,
a hazard_rectification case started from a mine with the 发起 button, and the enterprise's
一企一档 page with its facilities, the case, the hazard and the inspection. Screenshots at
1440 px go to var/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.browser.conftest import login, new_page
from workflows.demo.registers import load_demo_registers
from workflows.registers.tables import enterprise, mine

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_mine_list_and_an_enterprise_dossier(browser, live_server):
    server = live_server
    load_demo_registers(server.engine, server.user("admin"))
    with server.engine.unit_of_work(readonly=True) as uow:
        mine_id, firm_id = uow.conn.execute(
            sa.select(mine.c.id, mine.c.enterprise_id).where(mine.c.name == "昆河铁矿（演示）")
        ).one()
        firm_name = uow.conn.execute(
            sa.select(enterprise.c.name).where(enterprise.c.id == firm_id)
        ).scalar()
    page = new_page(browser, WIDE)
    try:
        login(page, server, "emergency-clerk")
        page.click("[data-testid=nav-registers]")
        page.wait_for_selector("[data-testid=register-list]")
        rows = page.locator("[data-testid=register-list] tbody tr")
        assert rows.count() == 6
        assert page.locator("text=临近关闭").count() >= 1
        _shot(page, "registers-mine-list")
        page.check("input[name=expiring]")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**expiring=1**")
        # which licences are close to expiry depends on the day: every row shown has one
        assert (
            rows.count()
            == page.locator("[data-testid=register-list] tbody tr:has(.expiry)").count()
        )
        page.goto(f"{server.url}/registers/mine/{mine_id}")
        page.click("[data-testid=start-hazard_rectification]")
        page.wait_for_url("**/cases/**")
        iid = int(page.url.rstrip("/").rsplit("/", 1)[1])
        (task,) = server.engine.get_instance(iid, server.user("admin")).tasks
        server.engine.complete(
            task.id,
            server.user("emergency-clerk"),
            {
                "enterprise_name": firm_name,
                "enterprise_head": "张建平",
                "enterprise_phone": "0472-5100101",
                "inspection_date": "2026-11-20",
                "inspection_team": "区应急局 郑磊、马福明",
                "hazard_level": "general",
                "hazard_description": "采场边坡局部浮石未清理",
                "legal_basis": "《金属非金属矿山安全规程》",
                "hazard_photos": ["att-demo-1"],
            },
        )
        page.goto(f"{server.url}/registers/enterprise/{firm_id}")
        page.wait_for_selector("[data-testid=facilities]")
        assert "一企一档" in page.locator("h1").inner_text()
        assert page.locator("[data-testid=facilities]").inner_text().count("（演示）") >= 3
        assert (
            "昆河铁矿（演示）：日常监督与隐患整改闭环"
            in page.locator("[data-testid=register-cases]").inner_text()
        )
        assert (
            "采场边坡局部浮石未清理" in page.locator("[data-testid=register-hazards]").inner_text()
        )
        assert "2026-11-20" in page.locator("[data-testid=register-inspections]").inner_text()
        _shot(page, "registers-enterprise-dossier")
        assert page.kf_errors == [], page.kf_errors
    finally:
        page.context.close()
