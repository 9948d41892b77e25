"""The process admin's editors in a real browser (issue 11): a DMN cell and a form field edited
through dmn-js and the form-js editor, previewed against the recorded decisions and deployed,
take effect on new cases; the version diff colours an added task and lists a changed due time.

The process is tests/fixtures/editors/editor_route.bpmn: 登记项目 (form register_project) ->
确定审查路径 (review_route.dmn: 5 亿元 or more -> 全面审查 in 区发改委, else 简易备案)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from engine import InvalidInput
from tests.browser.conftest import ROOT, login, new_page

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "editors"
FILES = ("review_route.dmn", "register_project.form", "full_review.form", "simple_filing.form")
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}
_codes = itertools.count(1)


def _fixture(name: str, key: str) -> bytes:
    # each test deploys the fixture under a key of its own: tests never share versions
    return (FIXTURES / name).read_text(encoding="utf-8").replace("editor_route", key).encode()


def _deploy(server, key: str, bpmn: str = "editor_route.bpmn", files: dict | None = None):
    files = files or {name: (FIXTURES / name).read_bytes() for name in FILES}
    return server.engine.deploy(f"{key}.bpmn", _fixture(bpmn, key), files,
                                actor=server.user("admin"))


def _open(server, iid: int) -> dict:
    inst = server.engine.get_instance(iid, server.user("admin"))
    return {t.element_id: t for t in inst.tasks if t.state in ("ready", "claimed")}


def _register(server, key: str, investment: float, contact: str | None = None) -> tuple[int, str]:
    """A case of ``key`` registered with a total investment: it runs through the decision
    (a real evaluation, recorded) to 全面审查 or 简易备案."""
    clerk = server.user("invest-clerk")
    code = f"ED-{next(_codes):03d}"
    inst = server.engine.start(key, clerk, business_key=code, title=f"{code} 项目")
    (task,) = _open(server, inst.id).values()
    data = {"project_name": f"{code} 项目", "total_investment": investment}
    if contact is not None:
        data["contact_person"] = contact
    server.engine.complete(task.id, clerk, data)
    return inst.id, code


def _edit_cell(page, text: str, value: str) -> None:
    cell = page.locator(".kf-dmn-editor td.input-cell").filter(has_text=text).first
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Escape")


def _open_group(page, group: str) -> None:
    """Open a group of the form editor's properties panel (a click toggles it)."""
    entries = page.locator(f"[data-group-id={group}] .bio-properties-panel-group-entries")
    if "open" not in (entries.get_attribute("class") or ""):
        page.locator(f"[data-group-id={group}] .bio-properties-panel-group-header").click()
    page.wait_for_selector(f"[data-group-id={group}] .bio-properties-panel-group-entries.open")


def _saved(page) -> None:
    """Wait until the editor's debounced change reached the server's draft."""
    page.wait_for_selector("[data-testid=file-editor][data-saved='1']")


def test_dmn_cell_and_form_field_edited_in_the_editors_take_effect_on_new_cases(
        live_server, browser):
    server, key = live_server, "editor_route"
    assert _deploy(server, key).created
    # recorded evaluations: 0.5, 2 and 3 亿元 went to 简易备案, 6 and 8 to 全面审查
    cases = {amount: _register(server, key, amount) for amount in (0.5, 2, 3, 6, 8)}
    assert set(_open(server, cases[3][0])) == {"simple_filing"}
    assert set(_open(server, cases[6][0])) == {"full_review"}

    page = new_page(browser, WIDE)
    try:
        login(page, server, "admin")
        # DMN: the threshold drops from 5 to 1 亿元, edited in the decision table's cells
        page.goto(f"{server.url}/admin/processes/{key}/files/review_route.dmn")
        page.wait_for_selector("[data-testid=file-editor][data-ready='1']")
        assert "当" in page.locator(".kf-dmn-editor").inner_text()  # dmn-js in Chinese
        _edit_cell(page, ">= 5", ">= 1")
        _saved(page)
        _edit_cell(page, "< 5", "< 1")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=file-editor]').dataset.saved === '1'"
            " && document.querySelector('.kf-dmn-editor').dataset.dirty === '0'")
        draft = server.engine.get_process_draft(key, server.user("admin"))
        assert "&gt;= 1" in draft.files["review_route.dmn"]
        assert "&lt; 1" in draft.files["review_route.dmn"]

        # the preview lists exactly the recorded cases the change moves: 2 and 3 亿元
        page.get_by_test_id("dmn-preview-run").click()
        table = page.locator("[data-testid=dmn-preview-table][data-decision=review_route]")
        table.wait_for()
        assert "重新评估了 5 次" in table.inner_text()
        rows = table.locator("[data-testid=dmn-preview-change]")
        listed = {rows.nth(i).get_attribute("data-instance") for i in range(rows.count())}
        assert listed == {str(cases[2][0]), str(cases[3][0])}
        assert cases[2][1] in table.inner_text() and "full" in table.inner_text()
        assert table.locator(f"a[href='/cases/{cases[3][0]}']").count() == 1

        # the trial run of the draft, in memory: 3 亿元 now goes to 全面审查 in 区发改委
        trial = page.get_by_test_id("trial")
        page.get_by_test_id("trial-start").click()
        register = trial.locator("[data-testid=trial-ready][data-element=register_project]")
        register.wait_for()
        assert "部门：" in register.inner_text()
        register.locator(".fjs-form-field").filter(has_text="项目名称").locator("input").fill("试运行")
        register.locator(".fjs-form-field").filter(has_text="总投资").locator("input").fill("3")
        register.get_by_test_id("trial-complete").click()
        full = trial.locator("[data-testid=trial-ready][data-element=full_review]")
        full.wait_for()
        assert "部门：区发改委" in full.inner_text()
        assert "review_route = full" in trial.get_by_test_id("trial-decisions").inner_text()

        # form: 联系人 becomes 项目联系人 and required, in the form editor's properties panel
        page.goto(f"{server.url}/admin/processes/{key}/files/register_project.form")
        page.wait_for_selector("[data-testid=file-editor][data-ready='1']")
        page.locator(".fjs-editor-container .fjs-form-field").filter(has_text="联系人").first.click()
        _open_group(page, "group-general")
        label = page.locator("#bio-properties-panel-label")
        label.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("项目联系人")
        _saved(page)
        _open_group(page, "group-validation")
        page.locator("#bio-properties-panel-required").check()
        page.wait_for_function(
            "() => { const s = document.querySelector('[data-testid=file-editor]');"
            " return s.dataset.saved === '1' && document.querySelector('.kf-form-editor')"
            ".dataset.dirty === '0'; }")
        draft = server.engine.get_process_draft(key, server.user("admin"))
        assert '"项目联系人"' in draft.files["register_project.form"]

        page.locator("[data-testid=deploy-form] input[name=comment]").fill("阈值降为 1 亿元；联系人必填")
        page.get_by_test_id("deploy").click()
        page.wait_for_selector("[data-testid=file-editor][data-deployed='2']")
        assert page.kf_errors == [], page.kf_errors
    finally:
        page.context.close()

    newest = server.engine.get_definition(key)
    assert (newest.version, newest.comment) == (2, "阈值降为 1 亿元；联系人必填")

    # a new case: its register task shows the new label, the server requires the field ...
    clerk = server.user("invest-clerk")
    inst = server.engine.start(key, clerk, business_key="ED-NEW", title="ED-NEW 项目")
    (register,) = _open(server, inst.id).values()
    page = new_page(browser, WIDE)
    try:
        login(page, server, "invest-clerk")
        page.goto(f"{server.url}/tasks/{register.id}")
        page.wait_for_selector(".kf-form[data-ready='1']")
        assert "项目联系人" in page.locator(".kf-form").inner_text()
    finally:
        page.context.close()
    with pytest.raises(InvalidInput) as refused:
        server.engine.complete(register.id, clerk,
                               {"project_name": "ED-NEW 项目", "total_investment": 3})
    assert "contact_person" in refused.value.details
    # ... and 3 亿元 now goes to the full review in 区发改委, where version 1 sent it to filing
    server.engine.complete(register.id, clerk, {"project_name": "ED-NEW 项目",
                                                "total_investment": 3, "contact_person": "王工"})
    opened = _open(server, inst.id)
    assert set(opened) == {"full_review"}
    assert opened["full_review"].department_code == "drc"


def test_version_diff_colours_an_added_task_and_lists_a_changed_due_time(live_server, browser):
    server, key = live_server, "editor_diff"
    _deploy(server, key)
    assert _deploy(server, key, "editor_route_v2.bpmn").definition.version == 2

    page = new_page(browser, WIDE)
    try:
        login(page, server, "admin")
        page.goto(f"{server.url}/admin/processes/{key}/diff?a=1&b=2")
        page.wait_for_selector("[data-testid=diff][data-ready='1']")
        assert page.locator("[data-testid=diff]").get_attribute("data-error") is None
        added = page.locator("[data-testid=diff-canvas-b] g.djs-element[data-element-id=check_review]")
        assert "kf-diff-added" in added.get_attribute("class")
        changed = page.locator("[data-testid=diff-canvas-b] g.djs-element[data-element-id=simple_filing]")
        assert "kf-diff-changed" in changed.get_attribute("class")
        removed = page.locator("[data-testid=diff-canvas-a] g.djs-element[data-element-id=flow_full_to_end]")
        assert "kf-diff-removed" in removed.get_attribute("class")

        rows = page.locator("[data-testid=diff-elements] tbody tr")
        task = rows.filter(has=page.locator("td", has_text="check_review"))
        assert "新增" in task.first.inner_text()
        due = page.locator("[data-testid=diff-elements] tr[data-element=simple_filing]")
        assert "修改" in due.inner_text()
        line = due.locator("li").filter(has_text="时限")
        assert "5" in line.locator("del").inner_text()
        assert "3" in line.locator("ins").inner_text()
        assert page.get_by_test_id("diff-select-a").input_value() == "1"
        assert page.get_by_test_id("diff-select-b").input_value() == "2"

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "diff.png"), full_page=True)

        # b may be the draft: one that goes back to version 1's diagram removes the new task
        admin = server.user("admin")
        offered = server.engine.get_process_draft(key, admin)
        server.engine.save_process_draft(key, admin, _fixture("editor_route.bpmn", key).decode(),
                                         offered.files, offered.base_version, offered.revision)
        page.goto(f"{server.url}/admin/processes/{key}/diff")
        page.wait_for_selector("[data-testid=diff][data-ready='1']")
        assert page.get_by_test_id("diff-select-b").input_value() == "draft"
        gone = page.locator("[data-testid=diff-canvas-a] g.djs-element[data-element-id=check_review]")
        assert "kf-diff-removed" in gone.get_attribute("class")
        assert "删除" in page.locator("[data-testid=diff-elements] tr[data-element=check_review]"
                                    ).first.inner_text()
        assert page.kf_errors == [], page.kf_errors
    finally:
        page.context.close()
