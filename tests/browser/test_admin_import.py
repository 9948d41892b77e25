"""The catalogue's 导入流程图 panel in a real browser: a Camunda Modeler 7 diagram (a bare ISO
timer, JUEL conditions, candidate groups) is uploaded, its translations confirmed one by one,
saved as a draft and opened in the modeler, deployed there with a comment, and a case of it
runs; uploaded again, its key clashes and is renamed. A diagram with elements the engine cannot
run gets the per-element Chinese report, is saved as a draft and cannot be deployed. A Signavio
diagram without a drawing is laid out, saved under a new key and shown in the modeler; a draft
without a drawing saved through the API opens laid out and the autosave stores the drawing.
Screenshot of the laid-out diagram in the modeler: var/screenshots/import-laid-out.png. A file that is no diagram gets a Chinese message. Screenshot at 1440 px:
var/screenshots/import.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine import InvalidModel
from tests.browser.conftest import login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "import"
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"


@pytest.fixture
def admin_page(browser, live_server):
    page = new_page(browser, WIDE)
    dialogs = []

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.kf_dialogs = dialogs
    login(page, live_server, "admin")
    yield page
    assert page.kf_errors == [], f"页面脚本错误：{page.kf_errors}"
    page.context.close()


def _upload(page, server, path: Path | None = None, *, name=None, content: bytes = b""):
    page.goto(server.url + "/admin/processes")
    panel = page.get_by_test_id("import-process")
    panel.locator("summary").click()
    if path is not None:
        panel.locator("input[name=file]").set_input_files(str(path))
    else:
        panel.locator("input[name=file]").set_input_files(
            {"name": name, "mimeType": "application/octet-stream", "buffer": content})
    panel.get_by_role("button", name="上传并检查").click()
    return panel


def _confirm_all_one_by_one(panel) -> None:
    save = panel.locator("[data-action=save-import]")
    boxes = panel.locator("input[name=confirm]")
    for i in range(boxes.count()):
        assert save.is_disabled()
        assert f"还有 {boxes.count() - i} 项转换未确认" in panel.get_by_test_id(
            "import-save-note").inner_text()
        boxes.nth(i).check()
    assert save.is_enabled()


def _process_ids(xml: str) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    return [p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")]


def test_camunda7_diagram_is_imported_confirmed_deployed_and_runs(live_server, admin_page):
    server, page = live_server, admin_page
    admin = server.user("admin")
    panel = _upload(page, server, FIXTURES / "camunda7_permit.bpmn")
    report = panel.get_by_test_id("import-report")
    report.wait_for()
    assert panel.get_by_test_id("import-key").input_value() == "permit_check"
    assert "许可证核查（Camunda 7）" in panel.get_by_test_id("import-name").inner_text()
    assert panel.get_by_test_id("import-executable").inner_text() == "可以执行"
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent.length > 0")
    assert "新流程" in panel.get_by_test_id("import-key-note").inner_text()

    rows = panel.get_by_test_id("import-translations").locator("tbody tr")
    assert rows.count() == 8
    timer = rows.filter(has_text="两小时未审")
    assert "定时器" in timer.inner_text()
    assert "PT2H" in timer.inner_text() and '"PT2H"' in timer.inner_text()
    condition = rows.filter(has_text="北区大额")
    assert "连线条件" in condition.inner_text()
    assert "${amount > 1000 && region == 'north'}" in condition.inner_text()
    assert "amount > 1000 and region == 'north'" in condition.inner_text()
    assert "department = 区发改委" in rows.filter(has_text="审查申请").first.inner_text()
    assert "未发现无法运行之处" in panel.get_by_test_id("import-problems").inner_text()

    _confirm_all_one_by_one(panel)
    panel.locator("[data-action=save-import]").click()
    page.wait_for_url("**/admin/processes/permit_check/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    assert page.evaluate(
        "() => Boolean(window.kunflowModeler.get('elementRegistry').get('review_overdue'))")
    draft = server.engine.get_process_draft("permit_check", admin)
    assert draft.revision >= 1 and '"PT2H"' in draft.bpmn_xml and "${" not in draft.bpmn_xml

    page.get_by_test_id("deploy").click()
    dialog = page.get_by_test_id("deploy-dialog")
    dialog.get_by_test_id("deploy-comment").fill("从 Camunda Modeler 导入")
    dialog.get_by_test_id("deploy-confirm").click()
    page.wait_for_selector("[data-testid=deploy-message][data-state=deployed]")
    definition = server.engine.get_definition("permit_check")
    assert definition.version == 1 and definition.comment == "从 Camunda Modeler 导入"

    # A case runs: the translated JUEL condition routes the large northern application.
    clerk = server.user("drc-clerk")
    case = server.engine.start("permit_check", clerk, data={"amount": 2000, "region": "north"})
    (review,) = [t for t in server.engine.get_instance(case.id, admin).tasks
                 if t.state == "ready"]
    assert (review.element_id, review.department_code) == ("review_application", "drc")
    server.engine.complete(review.id, clerk, {})
    open_now = [t for t in server.engine.get_instance(case.id, admin).tasks
                if t.state in ("ready", "claimed")]
    assert [(t.element_id, t.assignee) for t in open_now] == [("leader_sign", "drc-head")]

    # Uploaded again, the key clashes: the page says so; a new key renames the process.
    panel = _upload(page, server, FIXTURES / "camunda7_permit.bpmn")
    panel.get_by_test_id("import-report").wait_for()
    note = panel.get_by_test_id("import-key-note")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent.length > 0")
    assert "已被现有流程使用" in note.inner_text() and "v1" in note.inner_text()
    key = panel.get_by_test_id("import-key")
    key.fill("permit_check_copy")
    key.dispatch_event("change")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent"
        ".includes('permit_check_copy')")
    assert "新流程标识 permit_check_copy" in note.inner_text()
    panel.locator("[data-action=confirm-all]").check()
    panel.locator("[data-action=save-import]").click()
    page.wait_for_url("**/admin/processes/permit_check_copy/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    copy = server.engine.get_process_draft("permit_check_copy", admin)
    assert _process_ids(copy.bpmn_xml) == ["permit_check_copy"]
    assert server.engine.get_definition("permit_check").version == 1  # untouched
    assert page.kf_dialogs == []


def test_an_unsupported_element_gets_a_chinese_report_and_saves_but_does_not_deploy(
        live_server, admin_page):
    server, page = live_server, admin_page
    admin = server.user("admin")
    panel = _upload(page, server, FIXTURES / "camunda7_complex_gateway.bpmn")
    panel.get_by_test_id("import-report").wait_for()
    assert panel.get_by_test_id("import-key").input_value() == "complaint_dispatch"
    problems = panel.get_by_test_id("import-problems")
    assert "无法运行之处 1 处" in problems.inner_text()
    gateway = problems.locator("li[data-element='Gateway_0dispatch']")
    assert "复杂网关" in gateway.locator(".problem-element").inner_text()
    assert "按情形分派" in gateway.locator(".problem-element").inner_text()
    assert "复杂网关“按情形分派”无法在引擎中运行" in gateway.inner_text()
    assert "修改：改用排他网关、并行网关或包容网关" in gateway.inner_text()
    assert "仍可保存为草稿" in problems.inner_text()
    _confirm_all_one_by_one(panel)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent.length > 0")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box = panel.bounding_box()
    page.screenshot(path=str(SCREENSHOTS / "import.png"), full_page=True, clip={
        "x": 0, "y": 0, "width": WIDE["width"], "height": box["y"] + box["height"] + 24})

    panel.locator("[data-action=save-import]").click()
    page.wait_for_url("**/admin/processes/complaint_dispatch/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    assert page.evaluate(
        "() => Boolean(window.kunflowModeler.get('elementRegistry').get('Gateway_0dispatch'))")
    assert server.engine.get_process_draft("complaint_dispatch", admin).revision >= 1
    with pytest.raises(InvalidModel) as refused:
        server.engine.deploy_process_draft("complaint_dispatch", admin, "试图部署")
    assert "Gateway_0dispatch" in {d["element_id"] for d in refused.value.details}
    assert server.engine.get_process_draft("complaint_dispatch", admin).revision >= 1
    assert "complaint_dispatch" not in {d.key for d in server.engine.list_definitions()}


def test_signavio_diagram_without_a_drawing_is_laid_out_saved_and_shown(live_server, admin_page):
    server, page = live_server, admin_page
    admin = server.user("admin")
    panel = _upload(page, server, FIXTURES / "signavio_complaint.bpmn")
    panel.get_by_test_id("import-report").wait_for()
    assert panel.get_by_test_id("import-executable").inner_text() == "不可执行"
    problems = panel.get_by_test_id("import-problems")
    assert "无法运行之处 4 处" in problems.inner_text()
    store = problems.locator("li[data-element='sid-3D2C1B0A-9F8E-4D7C-6B5A-4F3E2D1C0B9A']")
    assert "数据存储" in store.locator(".problem-element").inner_text()
    assert "数据存储“投诉档案库”无法在引擎中运行" in store.inner_text()
    assert "不支持方法调用" in problems.inner_text()
    assert "未标记为可执行" in problems.inner_text()
    # The Signavio process id cannot be a key: the page says so.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent.length > 0")
    assert "只能用英文字母" in panel.get_by_test_id("import-key-note").inner_text()
    # No drawing: it is laid out, and the report says so.
    assert "原图没有布局信息，已自动排版，请在建模器中检查" in panel.get_by_test_id(
        "import-laid-out").inner_text()
    assert panel.get_by_test_id("import-undrawn").count() == 0

    key = panel.get_by_test_id("import-key")
    key.fill("complaint_signavio")
    key.dispatch_event("change")
    panel.locator("[data-action=confirm-all]").check()
    panel.locator("[data-action=save-import]").click()
    page.wait_for_url("**/admin/processes/complaint_signavio/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")

    # The draft holds the drawing, under the new key, with the lane and every element.
    draft = server.engine.get_process_draft("complaint_signavio", admin)
    assert _process_ids(draft.bpmn_xml) == ["complaint_signavio"]
    root = etree.fromstring(draft.bpmn_xml.encode("utf-8"))
    drawn = {s.get("bpmnElement") for s in root.iter(f"{{{DI_NS}}}BPMNShape")}
    user_tasks = [t.get("id") for t in root.iter(f"{{{BPMN_NS}}}userTask")]
    lanes = [lane.get("id") for lane in root.iter(f"{{{BPMN_NS}}}lane")]
    assert len(user_tasks) == 2 and lanes == ["sid-1A2B3C4D-5E6F-4A5B-9C8D-7E6F5A4B3C2D"]
    original = etree.parse(str(FIXTURES / "signavio_complaint.bpmn")).getroot()
    process_id = next(original.iter(f"{{{BPMN_NS}}}process")).get("id")
    ids = {e.get("id") for e in original.iter() if e.get("id") and e.get("id") != process_id}
    assert ids <= {e.get("id") for e in root.iter() if e.get("id")}
    assert set(user_tasks) | set(lanes) <= drawn

    # The modeler shows every user task, in the lane.
    assert page.locator("[data-testid=modeler-laid-out]").count() == 0  # laid out before saving
    for task in user_tasks:
        shape = page.locator(f".djs-element.djs-shape[data-element-id='{task}']")
        assert shape.count() == 1 and shape.is_visible()
    assert page.locator(".djs-element.djs-shape[data-element-id='sid-1A2B3C4D-5E6F-4A5B-9C8D-7E6F5A4B3C2D']"
                        ).is_visible()
    assert page.evaluate("""() => window.kunflowModeler.get('elementRegistry')
        .filter((e) => e.type === 'bpmn:UserTask').length""") == 2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-laid-out.png"))


def test_a_draft_without_a_drawing_opens_laid_out_and_the_autosave_stores_it(
        live_server, admin_page):
    server, page = live_server, admin_page
    admin = server.user("admin")
    report = server.engine.import_model("signavio_complaint.bpmn",
                                        (FIXTURES / "signavio_complaint.bpmn").read_bytes(),
                                        admin, key="complaint_api")
    assert "BPMNDiagram" not in report.bpmn_xml
    saved = server.engine.save_process_draft("complaint_api", admin, report.bpmn_xml)
    page.goto(server.url + "/admin/processes/complaint_api/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    assert "原图没有布局信息，已自动排版" in page.get_by_test_id("modeler-laid-out").inner_text()
    for name in ("登记投诉", "现场核查"):
        assert page.locator(".djs-element.djs-shape", has_text=name).first.is_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=draft-status]').textContent.includes('已自动保存')")
    draft = server.engine.get_process_draft("complaint_api", admin)
    assert "BPMNShape" in draft.bpmn_xml and draft.revision > saved.revision


@pytest.mark.parametrize(("name", "content", "words"), [
    ("notes.bpmn", b"this is not a diagram at all", "不是有效的 XML（第 1 行）"),
    ("empty.bpmn", b"", "文件为空。请上传导出的 .bpmn 文件"),
    ("page.bpmn", b"<html><body>hello</body></html>", "不是 BPMN 2.0 文件"),
])
def test_a_file_that_is_no_diagram_gets_a_chinese_message(live_server, admin_page, name,
                                                          content, words):
    panel = _upload(admin_page, live_server, name=name, content=content)
    status = panel.locator(".kf-status")
    admin_page.wait_for_function(
        "() => document.querySelector('#kf-import-process .kf-status').textContent.length > 0"
        " && !document.querySelector('#kf-import-process .kf-status').textContent.includes('正在')")
    text = status.inner_text()
    assert text.startswith(f"无法导入“{name}”：") and words in text
    assert text.count(name) == 1
    assert "Traceback" not in text and "lxml" not in text
    assert panel.get_by_test_id("import-report").is_hidden()


def test_a_key_with_a_draft_asks_before_overwriting_it(live_server, admin_page):
    server, page = live_server, admin_page
    admin = server.user("admin")
    server.engine.new_process_draft("permit_draft_kept", "已有草稿的流程", admin)
    panel = _upload(page, server, FIXTURES / "camunda7_permit.bpmn")
    panel.get_by_test_id("import-report").wait_for()
    key = panel.get_by_test_id("import-key")
    key.fill("permit_draft_kept")
    key.dispatch_event("change")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=import-key-note]').textContent"
        ".includes('permit_draft_kept')")
    assert "已有流程和草稿" in panel.get_by_test_id("import-key-note").inner_text()
    panel.locator("[data-action=confirm-all]").check()
    panel.locator("[data-action=save-import]").click()
    page.wait_for_url("**/admin/processes/permit_draft_kept/edit")
    page.wait_for_selector("[data-testid=modeler][data-ready='1']")
    (question,) = page.kf_dialogs
    assert "permit_draft_kept 已有草稿" in question and "覆盖" in question
    draft = server.engine.get_process_draft("permit_draft_kept", admin)
    assert draft.revision >= 2 and "review_overdue" in draft.bpmn_xml
    assert _process_ids(draft.bpmn_xml) == ["permit_draft_kept"]


def test_a_file_over_5_mb_is_refused_before_the_upload(live_server, admin_page):
    panel = _upload(admin_page, live_server, name="huge.bpmn", content=b"<" * (6 * 1024 * 1024))
    status = panel.locator(".kf-status").first
    assert status.inner_text() == "文件过大（6.0 MB），最大 5 MB"
    assert panel.get_by_test_id("import-report").is_hidden()
