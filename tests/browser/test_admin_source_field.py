"""The modeler's 来源 field (issue 12): the process admin selects the 环评超期 timer of
project_lifecycle and reads where its limit comes from (the statute); a malformed mark gets a
Chinese message (as the panel's other checks, it flags and does not block); a district setting
is written as the `source` property of the draft. Screenshot of the kunflow group with the field: var/screenshots/
modeler-source.png (1440 px)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"width": 1440, "height": 900}
LOCAL = "local: 区设定环评审批超期即提请包联区领导督办（测试）"


def test_the_admin_reads_and_sets_where_a_timers_limit_comes_from(browser, live_server):
    server, page = live_server, new_page(browser, WIDE)
    try:
        login(page, server, "admin")
        page.goto(f"{server.url}/admin/processes/project_lifecycle/edit")
        page.wait_for_selector("[data-testid=modeler][data-ready='1']")
        page.evaluate("""() => {
            const m = window.kunflowModeler;
            const timer = m.get('elementRegistry').get('eia_overdue');
            m.get('canvas').scrollToElement(timer, {top: 200, bottom: 200, left: 300, right: 300});
            m.get('selection').select(timer);
        }""")
        group = page.locator("[data-group-id='group-kunflow']")
        group.wait_for()
        header = group.locator(".bio-properties-panel-group-header")
        if "open" not in (header.get_attribute("class") or ""):
            header.click()
        field = group.locator("#bio-properties-panel-kunflow-source")
        assert field.input_value().startswith("statute: 《环境影响评价法》第二十二条")
        assert "来源" in group.inner_text()

        field.fill("环评超期五个工作日")
        error = group.locator(".bio-properties-panel-error")
        error.wait_for()
        assert "请以 gazette:" in error.inner_text()

        field.fill(LOCAL)
        field.press("Tab")
        page.wait_for_function(
            """(value) => {
            const bo = window.kunflowModeler.get('elementRegistry').get('eia_overdue')
                .businessObject;
            return bo.extensionElements.values[0].properties
                .some(p => p.name === 'source' && p.value === value);
        }""",
            arg=LOCAL,
        )
        assert error.count() == 0  # the message goes once the mark is well formed
        page.wait_for_selector("[data-testid=draft-status][data-state=saved]")
        screenshot = ROOT / "var" / "screenshots" / "modeler-source.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
        draft = server.engine.get_process_draft("project_lifecycle", server.user("admin"))
        assert draft.revision >= 1 and LOCAL in draft.bpmn_xml
        assert page.kf_errors == []
    finally:
        page.context.close()
