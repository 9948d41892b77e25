"""转办 and 委托 in a real browser: a clerk hands a task to a colleague with a reason, the
colleague finds it at the top of 我的待办 marked 转办; a head sets a 委托 on /delegations and the
stand-in finds the principal's task under 代办. Screenshots of both pages at 1440 and 390 px go
to var/screenshots (transfer-*.png, delegation-*.png)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}
_codes = itertools.count(1)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _register_task(server, title: str):
    """A new sample_review case waiting at 项目登记 in 区招商部门 (unclaimed)."""
    inst = server.engine.start("sample_review", server.user("invest-clerk"),
                               business_key=f"ZS-H{next(_codes):03d}", title=title)
    (task,) = server.engine.get_instance(inst.id, server.user("admin")).tasks
    return inst, task


def test_clerk_hands_a_task_to_a_colleague_who_sees_it_first(live_server, page, browser):
    server = live_server
    _inst, task = _register_task(server, "转办浏览器测试项目")
    eng = server.engine
    eng.claim(task.id, server.user("invest-clerk"))

    login(page, server, "invest-clerk")
    page.goto(f"{server.url}/tasks/{task.id}")
    page.locator("[data-testid=transfer-card] summary").click()
    page.select_option("[data-testid=transfer-to]", "invest-head")
    page.fill("[data-testid=transfer-reason]", "本人下周出差，请负责人直接登记")
    page.click("[data-testid=transfer-submit]")
    page.wait_for_url("**/tasks?view=mine")
    assert "已转办给 郭文斌" in page.locator(".flashes").inner_text()

    # the head has a newer task of their own: the hand-over still comes first
    _inst2, own = _register_task(server, "负责人自己认领的项目")
    eng.claim(own.id, server.user("invest-head"))

    head = new_page(browser, WIDE)
    login(head, server, "invest-head")
    head.goto(server.url + "/tasks?view=mine")
    first = head.locator("table[data-testid=task-list] tbody tr").first
    assert first.get_attribute("data-task-id") == task.id
    assert first.locator("[data-testid=transfer-badge]").inner_text() == "转办"
    mine = head.locator("table[data-testid=task-list] tbody tr")
    assert own.id in [mine.nth(i).get_attribute("data-task-id") for i in range(mine.count())]
    _shot(head, "transfer-mine-1440")
    # the task page says who handed it over, when and why, and offers the 转办 form
    head.goto(f"{server.url}/tasks/{task.id}")
    last = head.locator("[data-testid=last-transfer]").inner_text()
    assert "徐鹏" in last and "本人下周出差，请负责人直接登记" in last
    head.locator("[data-testid=transfer-card] summary").click()
    _shot(head, "transfer-1440")
    phone = new_page(browser, PHONE)
    login(phone, server, "invest-head")
    phone.goto(f"{server.url}/tasks/{task.id}")
    phone.locator("[data-testid=transfer-card] summary").click()
    _no_sideways_scroll(phone)
    _shot(phone, "transfer-390")
    for p in (head, phone):
        assert p.kf_errors == []
        p.context.close()


def test_head_sets_a_delegation_and_the_stand_in_sees_the_task(live_server, page, browser):
    server = live_server
    _inst, task = _register_task(server, "委托浏览器测试项目")
    server.engine.claim(task.id, server.user("invest-head"))

    wide = new_page(browser, WIDE)
    login(wide, server, "invest-head")
    wide.goto(server.url + "/delegations")
    wide.select_option("[data-testid=delegation-deputy]", "invest-clerk")
    wide.fill("input[name=reason]", "到市里参加培训")
    wide.click("[data-testid=delegation-submit]")
    wide.wait_for_url("**/delegations")
    assert "已设置委托" in wide.locator(".flashes").inner_text()
    row = wide.locator("[data-testid=delegation-list] tbody tr").first
    assert "徐鹏" in row.inner_text() and "生效中" in row.inner_text()
    _shot(wide, "delegation-1440")
    phone = new_page(browser, PHONE)
    login(phone, server, "invest-head")
    phone.goto(server.url + "/delegations")
    _no_sideways_scroll(phone)
    _shot(phone, "delegation-390")

    # the stand-in finds the head's task under 代办 and may take it over in the head's name
    login(page, server, "invest-clerk")
    page.goto(server.url + "/tasks?view=mine")
    delegated = page.locator("[data-testid=delegated] li").filter(has_text="委托浏览器测试项目")
    assert "代 郭文斌" in delegated.inner_text()
    _shot(page, "delegated-mine-1366")
    delegated.locator("a").click()
    page.click("[data-testid=claim-for]")
    assert "代办" in page.locator("[data-testid=on-behalf]").inner_text()

    # revoked from the page: the 代办 section no longer lists the head's tasks
    wide.goto(server.url + "/delegations")
    wide.locator("[data-testid=delegation-list] tbody tr").first.locator("button").click()
    assert "已撤销委托" in wide.locator(".flashes").inner_text()
    for p in (wide, phone):
        assert p.kf_errors == []
        p.context.close()
