"""Caseworker pages on a phone (390 px wide): no page scrolls sideways, nothing sticks out of the
screen outside a scroll container, and on a claimed task the form's buttons sit in a bar at the
bottom of the screen, within reach of a thumb. At 1440 px the desktop layout stays as it was.

PHONE_PAGES is the list of pages checked; add a page's path there (placeholders: {task} a task
claimed by the clerk, {ready} a task still in the department queue, {case} its case, {mine} a
mine of the demo register, {ledger} a row of the 督查台账). A page is opened as the 区应急局 clerk
郑磊; write "username:/path" for another demo user."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.browser.cases import mine_at_safety_design_review
from tests.browser.conftest import ROOT, login, new_page, screenshot
from workflows.demo.registers import load_demo_registers
from workflows.ledger import UnitDirectory
from workflows.ledger.operations import add_onsite_row
from workflows.registers.tables import mine

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}
CLERK = "emergency-clerk"
SCREENSHOTS = ROOT / "var" / "screenshots"

PHONE_PAGES = [
    "/login",
    "/tasks?view=mine",
    "/tasks?view=department",
    "/tasks?view=done",
    "/tasks?view=started",
    "/tasks?view=department&q=KS-M&process=mine_approval&light=green&sort=due",
    "/tasks/{task}",
    "/tasks/{ready}",
    "/cases/{case}",
    "/start",
    "/start/hazard_rectification",
    "/cases/987654321",  # the 404 page
    "/registers/mine",
    "/registers/mine?q=铁矿&expiring=1",
    "/registers/mine/{mine}",
    "/registers/enterprise",
    "/ledger/",
    "/ledger/rows/{ledger}",
    "supervision-clerk:/ledger/",  # the 督查室 manages the ledger: import form, 现场交办
    "supervision-clerk:/ledger/onsite",
    "/notices",  # the notice inbox (issue 14)
    "/notices?unread=1",
    "/delegations",  # 委托 (issue 14)
    "emergency-head:/delegations",  # a head sets 委托 for members
]

# Every element's box against the viewport; one sticking out counts unless an ancestor clips or
# scrolls it (a table in a .table-wrap, the diagram's canvas). Answers "selector (right edge)".
_OVERFLOWING = """() => {
  const width = window.innerWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX !== 'visible') {
        const box = a.getBoundingClientRect();
        if (box.right <= width + 1 && box.left >= -1) return true;
      }
    }
    return false;
  };
  const name = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) part += '#' + e.id;
      const cls = (typeof e.className === 'string' ? e.className : '').trim().split(/\\s+/)
        .filter(Boolean).slice(0, 2);
      if (cls.length) part += '.' + cls.join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    if (box.right <= width + 1 && box.left >= -1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed' && box.left >= width) continue;
    if (clipped(el)) continue;
    out.push(`${name(el)} (${Math.round(box.left)}–${Math.round(box.right)} px)`);
  }
  return out.slice(0, 8);
}"""

# Buttons, links styled as buttons and form controls a thumb has to hit, lower than 44 px (the
# diagram's two zoom buttons are a deliberate exception: they sit in the legend, 36 px).
_SMALL_TARGETS = """() => {
  const selector = 'main button, main .button, main select, main .tab, main summary, '
    + 'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file])';
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.matches('.small-button')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.height >= 43.5) continue;
    const cls = (el.className || '').toString().trim().split(/\\s+/).slice(0, 2).join('.');
    out.push(`${el.tagName.toLowerCase()}${cls ? '.' + cls : ''} “${el.textContent.trim()
      .slice(0, 12)}” ${Math.round(box.height)} px`);
  }
  return out.slice(0, 8);
}"""

_codes = itertools.count(1)


@pytest.fixture(scope="module")
def phone_case(live_server):
    """Two mine cases at 安全设施设计审查: one claimed by the 区应急局 clerk, one in the queue;
    the demo register (a mine's page: {mine}) and a 现场交办 row of the ledger ({ledger}) with
    a long task text, 区应急局 among its units."""
    server = live_server
    load_demo_registers(server.engine, server.user("admin"))
    with server.engine.unit_of_work() as uow:
        ids = {
            "mine": uow.conn.execute(
                sa.select(mine.c.id).where(mine.c.name == "昆河铁矿（演示）")
            ).scalar_one()
        }
        ids["ledger"], errors = add_onsite_row(
            uow.conn,
            UnitDirectory(server.engine.list_departments()),
            task="协调解决重点项目施工用电接入问题，督促供电企业在约定时限内完成线路改造并书面报告进展",
            leader="王志军",
            assigned_on="2026-06-15",
            units=["区应急局", "区住建局", "区发改委"],
            lead_unit="区应急局",
            deadline="2026年9月30日",
            occasion="重点项目现场调研",
            actor="supervision-clerk",
        )
        assert errors == []
        uow.commit()
    for kind in ("task", "ready"):
        iid = mine_at_safety_design_review(server.engine, f"KS-M{next(_codes):03d}")
        inst = server.engine.get_instance(iid, server.user("admin"))
        task = next(t for t in inst.tasks if t.element_id == "review_safety_design")
        if kind == "task":
            server.engine.claim(task.id, server.user(CLERK))
            ids["case"] = iid
        ids[kind] = task.id
    return ids


def _phone(browser, server, viewport=PHONE, *, logged_in=True, user=CLERK):
    page = new_page(browser, viewport)
    if logged_in:
        login(page, server, user)
    return page


def _wait_for_widgets(page) -> None:
    if page.locator(".kf-form").count():
        page.wait_for_selector(".kf-form[data-ready='1']")
    if page.locator(".kf-diagram").count():
        page.wait_for_selector(".kf-diagram[data-ready='1'], .kf-diagram[data-error='1']")


def _assert_fits(page, path: str, viewport: dict) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(_OVERFLOWING)
    assert scroll <= inner, (
        f"{path} 在 {viewport['width']} px 宽时横向滚动（{scroll} > {inner}）：{wide}"
    )
    assert wide == [], f"{path} 在 {viewport['width']} px 宽时有元素超出屏幕：{wide}"


def _shoot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.mark.parametrize("entry", PHONE_PAGES)
def test_page_fits_a_phone_without_sideways_scrolling(live_server, browser, phone_case, entry):
    user, _, path = entry.rpartition(":") if not entry.startswith("/") else ("", "", entry)
    page = _phone(browser, live_server, logged_in=path != "/login", user=user or CLERK)
    try:
        page.goto(live_server.url + path.format(**phone_case))
        _wait_for_widgets(page)
        assert "昆都仑区" in page.title()
        _assert_fits(page, path, PHONE)
        small = page.evaluate(_SMALL_TARGETS)
        assert small == [], f"{path} 的触控区域低于 44 px：{small}"
        assert page.kf_errors == [], f"页面脚本错误：{page.kf_errors}"
        slug = re.sub(r"[^a-z0-9]+", "-", path.split("{")[0].lower()).strip("-") or "home"
        screenshot(page, f"phone-{slug}-{PHONE_PAGES.index(entry)}")  # test-artifacts/
    finally:
        page.context.close()


def test_the_overflow_check_names_what_sticks_out_and_spares_scroll_boxes(live_server, browser):
    page = _phone(browser, live_server)
    try:
        page.goto(live_server.url + "/start")
        assert page.evaluate(_OVERFLOWING) == []
        page.evaluate("""() => {
          const wrap = document.createElement('div');
          wrap.className = 'table-wrap';
          wrap.style.overflowX = 'auto';
          wrap.innerHTML = '<table style="width: 900px"><tr><td>宽表</td></tr></table>';
          document.querySelector('main').append(wrap);
        }""")
        assert page.evaluate(_OVERFLOWING) == []
        page.evaluate("""() => {
          const wide = document.createElement('p');
          wide.className = 'too-wide';
          wide.style.width = '600px';
          wide.textContent = '太宽';
          document.querySelector('main').append(wide);
        }""")
        wide = page.evaluate(_OVERFLOWING)
        assert wide and "p.too-wide" in wide[0], wide
    finally:
        page.context.close()


def _box(page, selector):
    return page.locator(selector).bounding_box()


def test_claimed_task_buttons_stay_within_thumb_reach(live_server, browser, phone_case):
    page = _phone(browser, live_server)
    try:
        page.goto(f"{live_server.url}/tasks/{phone_case['task']}")
        page.wait_for_selector(".kf-form[data-readonly='0'][data-ready='1']")
        height = PHONE["height"]
        # On arrival (the form longer than the screen) and after scrolling through it, the
        # submit button is on screen, in the lower part, and a thumb-sized target.
        for scroll in (0, 600):
            page.evaluate(f"window.scrollTo(0, {scroll})")
            if scroll == 0:  # what the clerk sees on arrival, bar at the bottom
                _shoot(page, "mobile-task-390", full_page=False)
            box = _box(page, "[data-testid=submit]")
            assert box is not None
            assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
            # in view; on arrival stuck to the bottom edge, later in its place under the form
            top = height * 0.8 if scroll == 0 else 0
            assert top <= box["y"] and box["y"] + box["height"] <= height, (
                f"提交按钮不在屏幕下方（滚动 {scroll} px）：{box}"
            )
            assert box["height"] >= 44, f"提交按钮太小：{box}"
        draft = _box(page, "[data-kf-action=draft]")
        assert draft["height"] >= 44 and draft["y"] + draft["height"] <= height, draft
        # Other touch targets on the page: the navigation and the task page's own buttons.
        for selector in ("nav.mainnav a", ".task-side button[type=submit]", ".task-side summary"):
            items = page.locator(selector)
            for i in range(items.count()):
                if items.nth(i).is_visible():
                    b = items.nth(i).bounding_box()
                    assert b["height"] >= 44, f"{selector} 第 {i + 1} 个触控区域太小：{b}"
        # The comment box at the end of the page is not hidden behind the bar.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        comment = _box(page, ".task-side textarea[name=text]")
        bar = _box(page, "[data-testid=submit]")
        assert (
            comment["y"] + comment["height"] <= bar["y"] or comment["y"] >= bar["y"] + bar["height"]
        ), f"意见框被按钮栏遮住：{comment} {bar}"
        # 退回 lives in the side column, below the form: the bar has a jump to it that opens it.
        page.evaluate("window.scrollTo(0, 0)")
        page.get_by_test_id("send-back-jump").click()
        reason = page.locator("#kf-send-back textarea[name=reason]")
        reason.wait_for(state="visible")
        b = reason.bounding_box()
        assert 0 <= b["y"] < height, f"退回表单不在屏幕内：{b}"
    finally:
        page.context.close()


def test_desktop_keeps_its_layout_at_1440(live_server, browser, phone_case):
    page = _phone(browser, live_server, WIDE)
    try:
        page.goto(f"{live_server.url}/tasks/{phone_case['task']}")
        page.wait_for_selector(".kf-form[data-readonly='0'][data-ready='1']")
        _assert_fits(page, "/tasks/{task}", WIDE)
        # Form and side column next to each other; the buttons under the form, not a bar.
        main, side = _box(page, ".task-main"), _box(page, ".task-side")
        assert side["x"] >= main["x"] + main["width"], (main, side)
        assert (
            page.locator(".task-main .actions").evaluate("el => getComputedStyle(el).position")
            == "static"
        )
        # The task list is a table with its header row.
        page.goto(f"{live_server.url}/tasks?view=department")
        assert page.locator("table[data-testid=task-list] thead").is_visible()
        assert (
            page.locator("table[data-testid=task-list] tbody tr").first.evaluate(
                "el => getComputedStyle(el).display"
            )
            == "table-row"
        )
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["390", "1440"])
def test_screenshots_of_task_list_task_and_case(live_server, browser, phone_case, viewport):
    page = _phone(browser, live_server, viewport)
    width = viewport["width"]
    try:
        shots = [("tasks", "/tasks?view=department"), ("case", "/cases/{case}")]
        if width != PHONE["width"]:  # the phone's task page: the thumb-reach test's screen
            shots.append(("task", "/tasks/{task}"))
        for name, path in shots:
            page.goto(live_server.url + path.format(**phone_case))
            _wait_for_widgets(page)
            _assert_fits(page, path, viewport)
            shot = _shoot(page, f"mobile-{name}-{width}")
            assert shot.stat().st_size > 10_000
    finally:
        page.context.close()
