"""通知外发 in a real browser: the process admin opens it from 流程管理's sub-navigation, sees a
failed delivery with its attempts and last error beside a sent and a pending one, and retries
the failed one. Screenshots at 1440 px and 390 px go to var/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine import DeliveryError, utcnow
from engine.commands.notice_deliveries import MAX_ATTEMPTS, backoff
from engine.notices import post_notice
from tests.browser.conftest import PHONE, login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}


class Platform:
    """The messaging platform as a sender: refuses while ``down``."""

    channel = "webhook"

    def __init__(self):
        self.down = True

    def send(self, payload):
        if self.down:
            raise DeliveryError("HTTP 503：消息平台维护中")


def _notice(engine, now, **fields) -> None:
    with engine.unit_of_work() as uow:
        post_notice(uow.conn, now=now, **fields)
        uow.commit()


def test_admin_sees_failed_deliveries_and_retries_one(live_server, browser):
    engine = live_server.engine
    platform = Platform()
    engine.set_notice_senders([platform])
    try:
        start = utcnow() - timedelta(hours=2)
        _notice(engine, start, kind="urge", subject="请于本周内完成某矿山安全设施设计审查",
                department_code="emergency", sender="supervisor")
        now = start
        for attempt in range(1, MAX_ATTEMPTS + 1):
            engine.deliver_notices(now=now)
            now += backoff(attempt)
        platform.down = False
        _notice(engine, now, kind="notice", subject="区自然资源分局：某项目用地预审已通过",
                department_code="invest", sender="natres-clerk")
        engine.deliver_notices(now=now)
        platform.down = True
        _notice(engine, utcnow(), kind="consult", subject="请对某项目环评批复提出意见",
                username="eco-clerk", sender="invest-clerk")
        engine.deliver_notices()
    finally:
        engine.set_notice_senders([])

    page = new_page(browser, WIDE)
    login(page, live_server, "admin")
    page.goto(live_server.url + "/admin/processes")
    page.get_by_role("link", name="通知外发").click()
    page.wait_for_url("**/admin/notice-deliveries")
    failed = page.locator("tr[data-status=failed]", has_text="安全设施设计审查")
    assert failed.locator("[data-testid=delivery-status]").inner_text() == "失败"
    assert f"{MAX_ATTEMPTS} 次" in failed.inner_text()
    assert "HTTP 503：消息平台维护中" in failed.inner_text()
    sent = page.locator("tr[data-status=sent]", has_text="用地预审已通过")
    assert "送达" in sent.inner_text()
    pending = page.locator("tr[data-status=pending]", has_text="环评批复")
    assert "1 次" in pending.inner_text()
    assert pending.locator("[data-testid=retry-delivery]").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "outbound-admin.png"), full_page=True)

    failed.locator("[data-testid=retry-delivery]").click()
    page.get_by_test_id("retried").wait_for()
    again = page.locator("tr[data-delivery-id]", has_text="安全设施设计审查")
    assert again.get_attribute("data-status") == "pending"
    assert again.locator("[data-testid=delivery-status]").inner_text() == "待发送"
    assert page.kf_errors == []
    page.context.close()

    phone = new_page(browser, PHONE)
    login(phone, live_server, "admin")
    phone.goto(live_server.url + "/admin/notice-deliveries")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(SCREENSHOTS / "outbound-admin-390.png"), full_page=True)
    assert phone.kf_errors == []
    phone.context.close()
