"""The process admin's modeler in a real browser (issue 11): the admin adds a user task to
mine_approval in the 区应急局 lane through the palette, the context pad and the properties
panel (name, id, form, due in working days), deploys it with a comment as version N+1; new
cases reach the task in 区应急局's queue, cases of version N do not until they are migrated.
A user task outside any lane is flagged on the canvas and the deploy refuses (nothing deployed).
Screenshot of the modeler with the kunflow group open: var/screenshots/modeler.png (1440 px)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.browser.cases import Steps, mine_at_safety_design_review
from tests.browser.conftest import login, new_page
from web.provision import deploy_library

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"width": 1440, "height": 900}
NEW_TASK = "verify_safety_design_site"
NEW_NAME = "安全设施设计现场核查"
_codes = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def shipped_library_afterwards(live_server):
    """This module deploys edited versions of mine_approval into the worker's shared server;
    afterwards the shipped diagrams are deployed again (as the newest versions), so the
    browser tests that run after it on the same server start their cases on the shipped
    process, whatever order the files run in."""
    yield
    for path, result in deploy_library(live_server.engine, ROOT / "bpmn"):
        assert not isinstance(result, Exception), f"{path.name}: {result}"


@pytest.fixture
def admin_page(browser, live_server):
    page = new_page(browser, WIDE)
    console = []
    page.on("console", lambda m: console.append(f"{m.text} {m.location.get('url', '')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None)
    login(page, live_server, "admin")
    yield page
    assert page.kf_errors == [], f"页面脚本错误：{page.kf_errors}"
    assert console == [], f"控制台错误：{console}"
    page.context.close()


def _open_modeler(page, server, key="mine_approval"):
    page.goto(f"{server.url}/admin/processes/{key}/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    assert "流程图" in page.get_by_test_id("tab-bpmn").inner_text()


def _show(page, element_id, zoom=1.0):
    """Bring an element into view at a readable zoom (viewing only; no modeling)."""
    page.evaluate("""([id, zoom]) => {
        const canvas = window.kunflowModeler.get('canvas');
        canvas.zoom(zoom);
        canvas.scrollToElement(id, {top: 200, bottom: 200, left: 300, right: 300});
    }""", [element_id, zoom])


def _screen_point(page, diagram_x, diagram_y):
    """Page coordinates of a diagram point."""
    return page.evaluate("""([x, y]) => {
        const canvas = window.kunflowModeler.get('canvas');
        const box = canvas._container.getBoundingClientRect();
        const vb = canvas.viewbox();
        return [box.left + (x - vb.x) * vb.scale, box.top + (y - vb.y) * vb.scale];
    }""", [diagram_x, diagram_y])


def _flow_midpoint(page, flow_id):
    return page.evaluate("""(id) => {
        const wps = window.kunflowModeler.get('elementRegistry').get(id).waypoints;
        const a = wps[0], b = wps[wps.length - 1];
        return [(a.x + b.x) / 2, (a.y + b.y) / 2];
    }""", flow_id)


def _selected(page):
    return page.evaluate("window.kunflowModeler.get('selection').get().map(e => e.id)")


def _palette_create(page, action, x, y):
    """Pick a palette entry and drop the new element at page point (x, y)."""
    page.locator(f".djs-palette .entry[data-action='{action}']").click()
    page.mouse.move(x - 40, y - 40)
    page.mouse.move(x, y, steps=8)
    page.mouse.click(x, y)


def _replace_with_user_task(page):
    page.locator(".djs-context-pad .entry[data-action='replace']").click()
    page.locator(".djs-popup [data-id='replace-with-user-task']").click()


def _open_kunflow_group(page):
    group = page.locator("[data-group-id='group-kunflow']")
    group.wait_for()
    if "open" not in (group.locator(".bio-properties-panel-group-header").get_attribute("class") or ""):
        group.locator(".bio-properties-panel-group-header").click()
    return group


def _wait_saved(page):
    page.wait_for_selector("[data-testid=draft-status][data-state=saved]")


def _versions(server, key="mine_approval"):
    return sorted(d.version for d in server.engine.list_definition_versions(key))


def _open_elements(server, iid):
    inst = server.engine.get_instance(iid, server.user("admin"))
    return {t.element_id: t for t in inst.tasks if t.state in ("ready", "claimed")}


def test_admin_adds_a_task_in_the_emergency_lane_deploys_it_and_migrates_a_case(
        live_server, admin_page):
    server, page = live_server, admin_page
    steps = Steps(server.engine)
    before = _versions(server)
    n = before[-1]
    # Two cases of version N standing at 安全设施设计审查 (区应急局).
    old_kept = mine_at_safety_design_review(server.engine, f"KS-M{next(_codes):03d}")
    old_moved_code = f"KS-M{next(_codes):03d}"
    old_moved = mine_at_safety_design_review(server.engine, old_moved_code)

    _open_modeler(page, server)
    # A task dropped on the flow 安全设施设计审查 -> its gateway splits the flow: the case
    # reaches it right after the review. It lies in the 区应急局 lane.
    _show(page, "review_safety_design")
    # Make room first (space tool: everything right of the line moves 140 px right).
    mid_x, mid_y = _flow_midpoint(page, "flow_safety_design_reviewed")
    sx, sy = _screen_point(page, mid_x, mid_y + 90)
    page.locator(".djs-palette .entry[data-action='space-tool']").click()
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 60, sy, steps=5)
    page.mouse.move(sx + 140, sy, steps=5)
    page.mouse.up()
    page.keyboard.press("Escape")
    x, y = _screen_point(page, *_flow_midpoint(page, "flow_safety_design_reviewed"))
    _palette_create(page, "create.task", x, y)
    created = _selected(page)
    assert len(created) == 1
    _replace_with_user_task(page)
    (element_id,) = _selected(page)

    panel = page.get_by_test_id("properties")
    panel.locator("#bio-properties-panel-name").fill(NEW_NAME)
    panel.locator("#bio-properties-panel-id").fill(NEW_TASK)
    panel.locator("#bio-properties-panel-id").press("Tab")
    page.wait_for_function(
        "(id) => window.kunflowModeler.get('elementRegistry').get(id) !== undefined", arg=NEW_TASK)
    group = _open_kunflow_group(page)
    assert "昆都仑区流程属性" in group.inner_text()
    form = group.locator("#bio-properties-panel-kunflow-form_key")
    assert "mine_accept_safety_design.form" in form.inner_text()
    form.select_option("mine_accept_safety_design")
    due = group.locator("#bio-properties-panel-kunflow-due_working_days")
    due.fill("3")
    due.press("Tab")
    # The new task is in the lane, connected both ways, with the engine's properties.
    model = page.evaluate("""(id) => {
        const e = window.kunflowModeler.get('elementRegistry').get(id);
        const bo = e.businessObject;
        const lanes = window.kunflowModeler.get('elementRegistry').filter(
            l => l.type === 'bpmn:Lane' && (l.businessObject.flowNodeRef || []).includes(bo));
        const props = {};
        for (const ext of (bo.extensionElements && bo.extensionElements.values) || []) {
            for (const p of ext.properties || []) props[p.name] = p.value;
        }
        return {type: bo.$type, lanes: lanes.map(l => l.businessObject.name),
                incoming: bo.incoming.map(f => f.sourceRef.id),
                outgoing: bo.outgoing.map(f => f.targetRef.id), props};
    }""", NEW_TASK)
    assert model == {
        "type": "bpmn:UserTask", "lanes": ["区应急局"],
        "incoming": ["review_safety_design"], "outgoing": ["safety_design_gateway"],
        "props": {"form_key": "mine_accept_safety_design", "due_working_days": "3"},
    }
    page.wait_for_function(
        "(id) => !document.querySelector(`[data-testid=problems] li[data-element-id='${id}']`"
        "+ `.kf-problem-error`)", arg=NEW_TASK)
    _wait_saved(page)
    assert "已自动保存" in page.get_by_test_id("draft-status").inner_text()
    page.evaluate("document.querySelector(\"[data-group-id='group-kunflow']\").scrollIntoView(); "
                  "window.scrollTo(0, 0)")
    screenshot = ROOT / "var" / "screenshots" / "modeler.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot))

    # The draft survives a reload.
    page.reload()
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    assert page.evaluate(
        "(id) => Boolean(window.kunflowModeler.get('elementRegistry').get(id))", NEW_TASK)
    assert "已自动保存" in page.get_by_test_id("draft-status").inner_text()
    assert "田晓明" in page.get_by_test_id("draft-status").inner_text() or \
        "admin" in page.get_by_test_id("draft-status").inner_text()

    # Deploy: a comment is required; then version N+1.
    page.get_by_test_id("deploy").click()
    dialog = page.get_by_test_id("deploy-dialog")
    dialog.get_by_test_id("deploy-confirm").click()
    assert "请填写部署说明" in dialog.get_by_test_id("deploy-message").inner_text()
    assert _versions(server) == before
    dialog.get_by_test_id("deploy-comment").fill("增加区应急局安全设施设计现场核查环节（3个工作日）")
    dialog.get_by_test_id("deploy-confirm").click()
    page.wait_for_selector("[data-testid=deploy-message][data-state=deployed]")
    assert f"已部署为版本 {n + 1}" in dialog.get_by_test_id("deploy-message").inner_text()
    assert _versions(server) == [*before, n + 1]
    newest = server.engine.get_definition("mine_approval")
    assert newest.version == n + 1
    assert getattr(newest, "comment", None) == "增加区应急局安全设施设计现场核查环节（3个工作日）"

    # The catalogue shows version N+1 first, with its comment, beside version N.
    page.goto(server.url + "/admin/processes")
    card = page.locator("[data-testid=process-card][data-process=mine_approval]")
    newest_row = card.locator(f"tr[data-version='{n + 1}']")
    assert "最新" in newest_row.inner_text()
    assert "增加区应急局安全设施设计现场核查环节" in newest_row.inner_text()
    assert card.locator(f"tr[data-version='{n}']").count() == 1

    # A new case reaches the new task, in 区应急局's queue.
    new_code = f"KS-M{next(_codes):03d}"
    new_case = mine_at_safety_design_review(server.engine, new_code)
    steps.complete(new_case, "review_safety_design")
    opened = _open_elements(server, new_case)
    assert NEW_TASK in opened and opened[NEW_TASK].department_code == "emergency"

    # A case of version N does not ...
    steps.complete(old_kept, "review_safety_design")
    assert NEW_TASK not in _open_elements(server, old_kept)
    # ... until it is migrated to version N+1.
    report = server.engine.migrate_instances(
        server.user("admin"), [old_moved], n + 1, None, False)
    assert report.ok_count == 1, report
    steps.complete(old_moved, "review_safety_design")
    assert NEW_TASK in _open_elements(server, old_moved)

    clerk = new_page(browser_of(page), WIDE)
    try:
        login(clerk, server, "emergency-clerk")
        clerk.goto(server.url + "/tasks?view=department")
        rows = clerk.locator("table[data-testid=task-list] tbody tr").filter(has_text=NEW_NAME)
        assert rows.filter(has_text=new_code).count() == 1
        assert rows.filter(has_text=old_moved_code).count() == 1
        assert clerk.kf_errors == []
    finally:
        clerk.context.close()


def browser_of(page):
    return page.context.browser


def test_a_user_task_outside_any_lane_is_flagged_and_the_deploy_refuses(live_server, admin_page):
    server, page = live_server, admin_page
    before = _versions(server, "sample_review")
    _open_modeler(page, server, "sample_review")
    # A second pool (a process of its own, no lanes) with a user task in it.
    box = page.get_by_test_id("canvas").bounding_box()
    page.evaluate("window.kunflowModeler.get('canvas').zoom(0.6, {x: 0, y: 0})")
    pool_at = _screen_point(page, 760, 900)
    if pool_at[1] > box["y"] + box["height"] - 120:
        page.evaluate("window.kunflowModeler.get('canvas').scroll({dx: 0, dy: -300})")
        pool_at = _screen_point(page, 760, 900)
    _palette_create(page, "create.participant-expanded", *pool_at)
    (pool,) = _selected(page)
    _palette_create(page, "create.task", *_screen_point(page, 760, 900))
    _replace_with_user_task(page)
    (task,) = _selected(page)
    assert page.evaluate(
        "(id) => window.kunflowModeler.get('elementRegistry').get(id).businessObject.$type",
        task) == "bpmn:UserTask"

    # Flagged on the canvas (the lint overlay on the task) and in the problem list.
    page.wait_for_selector(f".djs-overlays[data-container-id='{task}'] .bjsl-overlay")
    item = page.locator(f"[data-testid=problems] li[data-element-id='{task}']"
                        "[data-rule='kunflow/user-task-department']")
    item.wait_for()
    assert "不在对应部门的泳道中，也没有部门表达式" in item.inner_text()
    assert pool != task

    # 校验 asks the server too: its problems are listed and marked on the canvas.
    page.get_by_test_id("validate").click()
    page.wait_for_selector("[data-testid=problems][data-checked=errors]")
    server_item = page.locator(f"[data-testid=problems] li[data-element-id='{task}']"
                               "[data-source=server][data-rule='kunflow/user-task-department']")
    assert "不在对应部门的泳道中，也没有部门表达式" in server_item.inner_text()
    assert page.locator(f".djs-element.kf-server-error[data-element-id='{task}']").count() == 1
    assert page.locator(f".djs-overlays[data-container-id='{task}'] .kf-server-badge").count() == 1

    # The deploy refuses: nothing deployed.
    page.get_by_test_id("deploy").click()
    dialog = page.get_by_test_id("deploy-dialog")
    dialog.get_by_test_id("deploy-comment").fill("试图部署没有泳道的任务")
    dialog.get_by_test_id("deploy-confirm").click()
    page.wait_for_selector("[data-testid=deploy-message][data-state=refused]")
    assert "未部署" in dialog.get_by_test_id("deploy-message").inner_text()
    assert "不在对应部门的泳道中" in dialog.get_by_test_id("deploy-problems").inner_text()
    assert _versions(server, "sample_review") == before
    # Clicking the problem selects the element on the canvas.
    dialog.get_by_test_id("deploy-problems").locator(f"li[data-element-id='{task}']").first.click()
    assert _selected(page) == [task]


def test_the_tabs_open_the_drafts_decision_tables_and_forms_in_their_editors(
        live_server, admin_page):
    server, page = live_server, admin_page
    _open_modeler(page, server)
    status = page.get_by_test_id("draft-status").inner_text()
    page.get_by_test_id("tab-dmn").click()
    dmn = page.locator("[data-pane=dmn]")
    assert "mine_permits.dmn" in dmn.locator("select[data-role=file-picker]").inner_text()
    dmn.get_by_text("非煤矿山核准/备案与专项审批").first.wait_for()
    page.get_by_test_id("tab-form").click()
    form = page.locator("[data-pane=form]")
    form.locator("select[data-role=file-picker]").select_option("review_safety_design.form")
    form.locator(".fjs-editor-container").wait_for()
    form.get_by_text("审查结论").first.wait_for()
    assert page.locator("[data-pane=bpmn]").is_hidden()
    # Looking is not editing: nothing saved.
    page.get_by_test_id("tab-bpmn").click()
    assert page.get_by_test_id("draft-status").inner_text() == status
