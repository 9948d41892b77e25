"""Stored XSS on the process admin's pages: a process name, element and lane names, a version
comment, a form label, DMN cells, a business key and title, an incident message, all holding
markup, are shown as text on every /admin/ page and panel. The browser context bypasses the
Content-Security-Policy, so that the test sees what the pages themselves do: any dialog, any
injected <img>/<script>, any page error fails it."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.browser.conftest import CHROMIUM, login  # noqa: F401

pytestmark = pytest.mark.browser

P = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EDITORS = FIXTURES / "editors"
FAILING = FIXTURES / "bpmn" / "failing_script.bpmn"
INJECTED = "img[src=x], script:not([src]):not([type])"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


@pytest.fixture
def hostile(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.kf_dialogs, page.kf_errors = [], []
    def on_dialog(dialog):
        if dialog.type == "beforeunload":  # the modeler's unsaved-changes question
            dialog.accept()
        else:
            page.kf_dialogs.append(dialog.message)
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: page.kf_errors.append(str(e)))
    yield page
    context.close()


def _clean(page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.kf_dialogs == [], (where, page.kf_dialogs)
    assert page.locator(INJECTED).count() == 0, (where, page.content()[:2000])
    assert page.kf_errors == [], (where, page.kf_errors)


def _deploy_hostile_route(server, key: str):
    names = {"测试：编辑器（决策表选择审查路径）": P, "登记项目": P, "确定审查路径": P,
             "全面审查": P + "审查"}
    bpmn = (EDITORS / "editor_route.bpmn").read_text("utf-8").replace("editor_route", key)
    for old, new in names.items():
        bpmn = bpmn.replace(f'name="{old}"', f'name="{_attr(new)}"')
    files = {n: (EDITORS / n).read_bytes() for n in
             ("full_review.form", "simple_filing.form")}
    dmn = (EDITORS / "review_route.dmn").read_text("utf-8")
    dmn = dmn.replace('label="总投资（亿元）"', f'label="{_attr(P)}"').replace(
        "总投资 5 亿元及以上：全面审查", escape(P))
    files["review_route.dmn"] = dmn.encode()
    form = json.loads((EDITORS / "register_project.form").read_text("utf-8"))
    for component in form["components"]:
        if component.get("key") == "contact_person":
            component["label"] = P
    files["register_project.form"] = json.dumps(form, ensure_ascii=False).encode()
    server.engine.deploy(f"{key}.bpmn", bpmn.encode(), files, actor=server.user("admin"),
                         comment=P)
    return bpmn, files


def test_markup_in_names_and_data_is_text_on_every_admin_page(live_server, hostile):
    server, key = live_server, "xss_route"
    admin, clerk = server.user("admin"), server.user("invest-clerk")
    bpmn, files = _deploy_hostile_route(server, key)
    # a recorded decision of a case whose business key and title hold markup
    inst = server.engine.start(key, clerk, business_key="X-1" + P[:20], title=P)
    (task,) = [t for t in server.engine.get_instance(inst.id, admin).tasks]
    server.engine.complete(task.id, clerk, {"project_name": P, "total_investment": 3,
                                            "contact_person": P})
    # v2: a changed name, a new output; the draft changes the DMN's result to markup
    v2 = bpmn.replace(f'name="{_attr(P + "审查")}"', f'name="{_attr(P + "v2")}"')
    server.engine.deploy(f"{key}.bpmn", v2.encode(), files, actor=admin, comment=P + "v2")
    draft_files = {n: c.decode() for n, c in files.items()}
    draft_files["review_route.dmn"] = draft_files["review_route.dmn"].replace(
        '"simple"', escape(json.dumps(P)))
    server.engine.save_process_draft(key, admin, v2.replace(_attr(P + "v2"), _attr(P + "d")),
                                     draft_files, base_version=2)
    # an incident whose element, process, business key and title hold markup
    broken = "xss_incident"
    xml = FAILING.read_text("utf-8").replace("failing_script", broken)
    for old in ("测试：脚本故障与重试", "填报金额", "计算占比", "核对占比"):
        xml = xml.replace(f'name="{old}"', f'name="{_attr(P)}"')
    server.engine.deploy(f"{broken}.bpmn", xml.encode(), actor=admin, comment=P)
    drc = server.user("drc-clerk")
    case = server.engine.start(broken, drc, business_key="X-2" + P[:20], title=P,
                               data={"total": 0})
    (task,) = server.engine.get_instance(case.id, admin).tasks
    server.engine.complete(task.id, drc, {"amount": 5})

    page = hostile
    login(page, server, "admin")
    for url in ("/admin/processes", f"/admin/processes/{key}/edit",
                f"/admin/processes/{key}/diff?a=1&b=2", f"/admin/processes/{key}/diff",
                f"/admin/instances?process_key={key}", "/admin/instances",
                "/admin/incidents", f"/admin/processes/{broken}/edit"):
        page.goto(server.url + url)
        _clean(page, url)
        if url in ("/admin/processes", "/admin/incidents", "/admin/instances"):
            assert P in page.locator("body").inner_text(), url  # shown, as text

    page.goto(server.url + "/admin/incidents")
    page.get_by_test_id("open-incident").first.click()
    page.wait_for_url("**/admin/incidents/*")
    _clean(page, "incident")

    # the decision change preview and the trial run on the DMN file's page
    page.goto(f"{server.url}/admin/processes/{key}/files/review_route.dmn")
    page.wait_for_selector("[data-testid=file-editor][data-ready='1']")
    _clean(page, "dmn editor")
    page.get_by_test_id("dmn-preview-run").click()
    page.locator("[data-testid=dmn-preview-table]").first.wait_for()
    _clean(page, "dmn preview")
    assert P in page.locator("[data-testid=dmn-preview-table]").first.inner_text()
    page.get_by_test_id("trial-start").click()
    ready = page.locator("[data-testid=trial-ready]").first
    ready.wait_for()
    ready.locator(".fjs-form-field").filter(has_text="项目名称").locator("input").fill(P)
    ready.locator(".fjs-form-field").filter(has_text="总投资").locator("input").fill("3")
    ready.get_by_test_id("trial-complete").click()
    page.get_by_test_id("trial-decisions").wait_for()
    _clean(page, "trial")
    page.goto(f"{server.url}/admin/processes/{key}/files/register_project.form")
    page.wait_for_selector("[data-testid=file-editor][data-ready='1']")
    _clean(page, "form editor")


def test_markup_in_an_imported_diagram_is_text_in_the_import_report(live_server, hostile):
    server, page = live_server, hostile
    xml = (FIXTURES / "import" / "camunda7_permit.bpmn").read_text("utf-8")
    for old in ("许可证核查（Camunda 7）", "审查申请", "金额与区域？", "北区大额", "领导签批"):
        xml = xml.replace(f'name="{old}"', f'name="{_attr(P)}"')
    xml = xml.replace("region == 'north'}", escape(f"region == '{P}'}}"))  # a translation
    xml = xml.replace("${!(amount gt 1000 and region eq 'north')}",
                      escape(f"${{x.y('{P}')}}"))  # a problem: a method call
    xml = xml.replace('camunda:candidateGroups="区发改委">',
                      f'camunda:candidateGroups="{_attr(P)}">', 1)  # an unknown group
    login(page, server, "admin")
    page.goto(server.url + "/admin/processes")
    panel = page.get_by_test_id("import-process")
    panel.locator("summary").click()
    panel.locator("input[name=file]").set_input_files(
        {"name": "x.bpmn", "mimeType": "application/octet-stream", "buffer": xml.encode()})
    panel.get_by_role("button", name="上传并检查").click()
    panel.get_by_test_id("import-report").wait_for()
    _clean(page, "import report")
    report = panel.get_by_test_id("import-report").inner_text()
    assert P in report
