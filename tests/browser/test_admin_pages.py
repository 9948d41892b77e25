"""The process admin's pages in a real browser: the catalogue lists each version with its
running / done cases; the cases page filters, migrates two selected cases after a dry run and
suspends them in a batch with a reason; the incident page fixes the failing step's data and
retries, and the incident leaves the list. Screenshots at 1440 px go to var/screenshots/."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import login, new_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDE = {"width": 1440, "height": 900}
SOURCE = ROOT / "tests" / "fixtures" / "bpmn" / "failing_script.bpmn"
_codes = itertools.count(1)


def _variant(key: str, name: str) -> bytes:
    """failing_script (填报金额 -> 计算占比 (a script) -> 核对占比, lane 区发改委) under another
    process key, so that each test has processes and counts of its own."""
    return SOURCE.read_bytes().replace(b"failing_script", key.encode()).replace(
        "测试：脚本故障与重试".encode(), name.encode())


def _deploy(server, key: str, name: str, comment: str | None = None,
            rename: dict[str, str] | None = None) -> int:
    bpmn = _variant(key, name)
    for old, new in (rename or {}).items():  # element ids
        bpmn = bpmn.replace(old.encode(), new.encode())
    extra = {"comment": comment} if comment else {}
    result = server.engine.deploy(f"{key}.bpmn", bpmn, actor=server.user("admin"), **extra)
    return result.definition.version


def _start(server, key: str, total: int = 10) -> tuple[int, str]:
    code = f"PG-{key[-3:].upper()}-{next(_codes):03d}"
    inst = server.engine.start(key, server.user("drc-clerk"), business_key=code,
                               title=f"{code} 测试项目", data={"total": total})
    return inst.id, code


def _complete(server, iid: int, element_id: str, data: dict) -> None:
    clerk = server.user("drc-clerk")
    (task,) = [t for t in server.engine.get_instance(iid, server.user("admin")).tasks
               if t.element_id == element_id]
    server.engine.complete(task.id, clerk, data)


@pytest.fixture
def wide(browser):
    p = new_page(browser, WIDE)
    p.on("dialog", lambda d: d.accept())  # the confirm() before terminate / skip
    yield p
    assert p.kf_errors == [], f"页面脚本错误：{p.kf_errors}"
    p.context.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_catalogue_lists_each_version_with_its_running_and_done_cases(live_server, wide):
    server = live_server
    key = "pages_catalogue"
    _deploy(server, key, "测试：目录页流程", "首次上线")
    done, _ = _start(server, key)
    _complete(server, done, "enter_amounts", {"amount": 5})
    _complete(server, done, "check_share", {})
    _start(server, key)
    _deploy(server, key, "测试：目录页流程（修订）", "增加核对说明")
    _start(server, key)
    _start(server, key)

    login(wide, server, "admin")
    wide.get_by_test_id("nav-admin").click()
    wide.wait_for_url("**/admin/processes")
    card = wide.locator(f"[data-testid=process-card][data-process={key}]")
    assert "测试：目录页流程（修订）" in card.locator("h2").inner_text()
    v1, v2 = (card.locator(f"tr[data-version='{v}']") for v in (1, 2))
    assert v2.get_by_test_id("running").inner_text() == "2"
    assert v2.get_by_test_id("done").inner_text() == "0"
    assert v1.get_by_test_id("running").inner_text() == "1"
    assert v1.get_by_test_id("done").inner_text() == "1"
    assert "首次上线" in v1.inner_text() and "增加核对说明" in v2.inner_text()
    assert "最新" in v2.inner_text() and "最新" not in v1.inner_text()
    assert card.get_by_test_id("edit").get_attribute("href") == f"/admin/processes/{key}/edit"
    xml = card.locator("tr[data-version='1'] a", has_text="流程图 XML")
    assert xml.get_attribute("href") == f"/api/v1/admin/processes/{key}/versions/1/xml"
    # the running count links to the cases of that version
    v2.get_by_test_id("running").locator("a").click()
    wide.wait_for_url(re.compile(rf".*/admin/instances\?.*process={key}.*"))
    assert wide.locator("table[data-testid=instance-list] tbody tr").count() == 2
    wide.goto(server.url + "/admin/processes")
    _shot(wide, "catalogue")


def test_cases_filtered_migrated_after_a_dry_run_and_suspended_in_a_batch(live_server, wide):
    server = live_server
    key = "pages_migrate"
    _deploy(server, key, "测试：迁移页流程")
    cases = [_start(server, key) for _ in range(3)]
    # v2 calls the first task enter_figures: the cases waiting in enter_amounts need a mapping
    _deploy(server, key, "测试：迁移页流程（修订）", rename={"enter_amounts": "enter_figures"})
    newer = _start(server, key)

    login(wide, server, "admin")
    wide.goto(server.url + "/admin/instances")
    wide.get_by_test_id("filter-process").select_option(key)
    wide.locator("form[data-testid=instance-filters] button[type=submit]").click()
    wide.get_by_test_id("filter-version").select_option("1")
    wide.locator("form[data-testid=instance-filters] button[type=submit]").click()
    wide.wait_for_url(re.compile(r".*version=1.*"))
    rows = wide.locator("table[data-testid=instance-list] tbody tr")
    assert rows.count() == 3
    assert newer[1] not in wide.locator("table[data-testid=instance-list]").inner_text()
    for _, code in cases:
        assert "填报金额" in rows.filter(has_text=code).inner_text()

    picked = cases[:2]
    for iid, _ in picked:
        wide.locator(f"tr[data-instance-id='{iid}'] input[name=instance]").check()
    assert wide.get_by_test_id("selection-count").inner_text() == "已选 2 件"
    wide.get_by_test_id("open-migrate").click()
    panel = wide.get_by_test_id("migrate-panel")
    panel.get_by_test_id("target-version").select_option("2")
    table = panel.locator("table[data-testid=mapping]")
    assert table.locator("tr[data-from=check_share] select").input_value() == "check_share"
    mapping = table.locator("tr[data-from=enter_amounts] select")
    assert mapping.input_value() == ""  # v2 has no enter_amounts
    assert panel.get_by_test_id("migrate").is_disabled()
    panel.get_by_test_id("dry-run").click()
    results = panel.get_by_test_id("migrate-results")
    results.get_by_test_id("results-head").wait_for()
    assert "0 件可以迁移，2 件不能迁移" in results.inner_text()
    for _, code in picked:
        assert "不能迁移：" in results.locator("tr", has_text=code).inner_text()
    assert panel.get_by_test_id("migrate").is_disabled()

    mapping.select_option("enter_figures")  # the admin maps the old task to the new one
    assert panel.get_by_test_id("migrate").is_disabled()
    panel.get_by_test_id("dry-run").click()
    results.get_by_test_id("results-head").filter(has_text="2 件可以迁移").wait_for()
    for _, code in picked:
        assert "可以迁移" in results.locator("tr", has_text=code).inner_text()
    for iid, _ in cases:  # the dry run changed nothing
        assert server.engine.get_instance(iid, server.user("admin")).definition_version == 1
    _shot(wide, "instances")

    panel.get_by_test_id("migrate").click()
    results.get_by_test_id("results-head").filter(has_text="迁移完成").wait_for()
    for _, code in picked:
        assert "已迁移" in results.locator("tr", has_text=code).inner_text()
    versions = [server.engine.get_instance(iid, server.user("admin")).definition_version
                for iid, _ in cases]
    assert versions == [2, 2, 1]
    for iid, _ in picked:
        tasks = server.engine.get_instance(iid, server.user("admin")).tasks
        assert [t.element_id for t in tasks] == ["enter_figures"]

    # Batch suspend of the two migrated cases, with a reason.
    wide.goto(f"{server.url}/admin/instances?process={key}&version=2")
    for iid, _ in picked:
        wide.locator(f"tr[data-instance-id='{iid}'] input[name=instance]").check()
    wide.get_by_test_id("open-suspend").click()
    batch = wide.get_by_test_id("batch-panel")
    batch.get_by_test_id("batch-submit").click()
    assert "请填写挂起原因" in batch.locator(".kf-status").inner_text()
    batch.get_by_test_id("batch-reason").fill("等待区政府常务会议研究")
    batch.get_by_test_id("batch-submit").click()
    batch.get_by_test_id("results-head").wait_for()
    assert "2 件成功" in batch.get_by_test_id("results-head").inner_text()
    for iid, _ in picked:
        assert server.engine.get_instance(iid, server.user("admin")).status == "suspended"
        assert wide.locator(f"tr[data-instance-id='{iid}'] [data-testid=status]").inner_text() \
            == "已挂起"
    assert server.engine.get_instance(newer[0], server.user("admin")).status == "running"


def test_incident_fixed_and_retried_leaves_the_list(live_server, wide):
    server = live_server
    key = "pages_incident"
    _deploy(server, key, "测试：故障页流程")
    iid, code = _start(server, key, total=0)
    _complete(server, iid, "enter_amounts", {"amount": 5})  # the script divides by zero
    assert server.engine.get_instance(iid, server.user("admin")).status == "incident"

    login(wide, server, "admin")
    wide.goto(server.url + "/admin/incidents")
    row = wide.locator("table[data-testid=incident-list] tbody tr", has_text=code)
    assert row.count() == 1
    assert "计算占比" in row.inner_text() or "compute_share" in row.inner_text()
    _shot(wide, "incidents")
    row.get_by_test_id("open-incident").click()
    wide.wait_for_url("**/admin/incidents/*")
    assert wide.get_by_test_id("case-link").inner_text() == code
    editor = wide.get_by_test_id("incident-data")
    data = json.loads(editor.input_value())
    assert data["total"] == 0
    editor.fill("{ not json")
    wide.get_by_test_id("retry").click()
    assert "不是有效的 JSON" in wide.get_by_test_id("repair-status").inner_text()
    wide.get_by_test_id("active-tokens").locator("ul, p.error, p.muted").first.wait_for()
    _shot(wide, "incident")

    editor.fill(json.dumps({**data, "total": 20}, ensure_ascii=False, indent=2))
    wide.get_by_test_id("retry").click()
    wide.wait_for_url(re.compile(r".*/admin/incidents\?resolved=.*"))
    assert code in wide.get_by_test_id("resolved").inner_text()
    assert wide.locator("table[data-testid=incident-list] tbody tr", has_text=code).count() == 0
    inst = server.engine.get_instance(iid, server.user("admin"))
    assert inst.status == "running"
    assert [t.element_id for t in inst.tasks] == ["check_share"]


def test_incident_skipped_with_a_reason_or_its_token_moved_back(live_server, wide):
    server = live_server
    key = "pages_repair"
    _deploy(server, key, "测试：修复页流程")
    skipped, skipped_code = _start(server, key, total=0)
    moved, moved_code = _start(server, key, total=0)
    for iid in (skipped, moved):
        _complete(server, iid, "enter_amounts", {"amount": 5})
    login(wide, server, "admin")

    # Skip: a reason is required; the case goes on to 核对占比.
    wide.goto(server.url + "/admin/incidents")
    wide.locator("table[data-testid=incident-list] tbody tr", has_text=skipped_code).get_by_test_id(
        "open-incident").click()
    wide.get_by_test_id("skip").click()
    assert "请填写跳过原因" in wide.get_by_test_id("repair-status").inner_text()
    wide.get_by_test_id("skip-reason").fill("占比已由财政局线下核定")
    wide.get_by_test_id("skip").click()
    wide.wait_for_url(re.compile(r".*/admin/incidents\?resolved=.*"))
    inst = server.engine.get_instance(skipped, server.user("admin"))
    assert inst.status == "running" and [t.element_id for t in inst.tasks] == ["check_share"]

    # Move the token from the failing script back to 填报金额, with a reason.
    wide.locator("table[data-testid=incident-list] tbody tr", has_text=moved_code).get_by_test_id(
        "open-incident").click()
    tokens = wide.get_by_test_id("tokens-panel")
    tokens.locator("input[name=cancel][value=compute_share]").check()
    tokens.get_by_test_id("token-target").select_option("enter_amounts")
    tokens.get_by_test_id("move-token").click()
    assert "请填写原因" in tokens.get_by_test_id("token-status").inner_text()
    tokens.get_by_test_id("token-reason").fill("金额填报有误，退回重填")
    tokens.get_by_test_id("move-token").click()
    tokens.get_by_test_id("token-status").filter(has_text="已完成").wait_for()
    tokens.locator("input[name=cancel][value=enter_amounts]").wait_for()  # the list reloaded
    inst = server.engine.get_instance(moved, server.user("admin"))
    assert [t.element_id for t in inst.tasks] == ["enter_amounts"]
    kinds = [e.kind for e in server.engine.list_events(moved, server.user("admin"))]
    assert "token_moved" in kinds


def test_all_matching_cases_suspended_beyond_the_first_page(live_server, wide):
    server = live_server
    key = "pages_bulk"
    _deploy(server, key, "测试：批量流程")
    ids = [_start(server, key)[0] for _ in range(23)]  # more than one page (20)

    login(wide, server, "admin")
    wide.goto(f"{server.url}/admin/instances?process={key}")
    assert wide.locator("table[data-testid=instance-list] tbody tr").count() == 20
    wide.get_by_test_id("select-all-matching").click()
    assert wide.get_by_test_id("selection-count").inner_text() == "已选择全部 23 件符合条件的案件"
    wide.get_by_test_id("open-suspend").click()
    batch = wide.get_by_test_id("batch-panel")
    batch.get_by_test_id("batch-reason").fill("年度清理")
    batch.get_by_test_id("batch-submit").click()
    batch.get_by_test_id("results-head").filter(has_text="23 件成功").wait_for()
    assert {server.engine.get_instance(i, server.user("admin")).status for i in ids} \
        == {"suspended"}


def test_dry_run_back_to_an_older_version_says_so_per_case(live_server, wide):
    server = live_server
    key = "pages_rollback"
    _deploy(server, key, "测试：回退流程")
    _deploy(server, key, "测试：回退流程（修订）")
    iid, code = _start(server, key)  # on v2

    login(wide, server, "admin")
    wide.goto(f"{server.url}/admin/instances?process={key}&version=2")
    wide.locator(f"tr[data-instance-id='{iid}'] input[name=instance]").check()
    wide.get_by_test_id("open-migrate").click()
    panel = wide.get_by_test_id("migrate-panel")
    panel.get_by_test_id("target-version").select_option("1")
    panel.get_by_test_id("dry-run").click()
    results = panel.get_by_test_id("migrate-results")
    results.get_by_test_id("results-head").filter(has_text="1 件可以迁移").wait_for()
    row = results.locator("tr", has_text=code)
    assert "可以迁移" in row.inner_text()
    assert row.get_by_test_id("rollback-note").inner_text() == "回退到旧版本（v2 → v1）"


def test_a_new_process_from_the_blank_template_opens_the_modeler(live_server, wide):
    server = live_server
    login(wide, server, "admin")
    wide.goto(server.url + "/admin/processes")
    form = wide.get_by_test_id("new-process")
    form.locator("summary").click()
    form.locator("input[name=key]").fill("9bad")
    form.locator("input[name=name]").fill("测试：新流程")
    form.locator("button[type=submit]").click()
    assert "不能以数字开头" in form.locator(".kf-status").inner_text()
    _shot(wide, "catalogue-new-process")
    form.locator("input[name=key]").fill("pages_new_process")
    form.locator("button[type=submit]").click()
    wide.wait_for_url("**/admin/processes/pages_new_process/edit")
    draft = server.engine.get_process_draft("pages_new_process", server.user("admin"))
    assert draft is not None and draft.saved and draft.base_version is None
