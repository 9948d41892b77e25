"""The district's service-task handlers (workflows/), called by a diagram through the engine,
and the rules they read."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import workflows
from engine import Engine
from engine.scripting import ServiceRegistry
from tests.conftest import BPMN, ROOT, actor, seed_org
from workflows.demo import SERVICE_HANDLERS
from workflows.notices import Notifier, notices_for
from workflows.org import load_org
from workflows.package_leaders import RULES_FILE, PackageLeaders

FIXTURE = Path(__file__).parent / "fixtures" / "district_glue.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
ORG = ROOT / "config" / "org.yaml"
START = {
    "project_code": "XM-2026-901",
    "project_name": "年产3万吨高性能钕铁硼永磁材料项目",
    "industry_category": "heavy_industry",
    "total_investment": 180000,
    "street": "buerhantu",
    "is_mine": False,
    "current_stage": "施工许可",
    "ledger_input": [
        {"row_id": "DB-01", "task": "重点项目开工率达到90%", "unit": "区发改委", "planned_pct": None},
        {"row_id": "DB-02", "task": "老旧小区改造", "unit": "housing", "months_behind": "2"},
    ],
}


def _engine(db_url) -> Engine:
    eng = Engine(db_url)
    workflows.register(eng, ORG)
    return eng


@pytest.fixture
def glue(db_url):
    """A migrated, org-seeded engine with the handlers registered and the fixture deployed."""
    eng = _engine(db_url)
    eng.migrate()
    seed_org(eng)
    eng.deploy(FIXTURE.name, FIXTURE.read_bytes(), actor=actor(eng, "admin"))
    yield eng
    eng.db.dispose()


def test_register_puts_every_handler_on_the_engine_or_a_registry():
    registry = ServiceRegistry()
    assert workflows.register(registry, ORG) is registry
    assert registry.names() == sorted([
        "assign_package_leader", "lifecycle_stage_phase", "notify_departments",
        # ledger (issue 12): supervision_monthly on the ledger's tables
        "ledger_check_round", "ledger_close_rows", "ledger_open_round",
        "ledger_record_consultation", "ledger_record_lights", "ledger_record_progress",
        "ledger_unit_rows",
    ])


def test_the_shipped_diagrams_call_registered_handlers():
    """Every service task of bpmn/ names a handler that workflows.register installs (a
    misspelt operation would only show as an incident when a case reaches it); the demo
    checks for the ones the shipped diagrams call."""
    registered = set(workflows.handlers(ORG))
    called = {}
    for path in sorted(BPMN.glob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        for task in root.iterfind(".//bpmn:serviceTask", NS):
            operator = task.find(".//spiffworkflow:serviceTaskOperator", NS)
            assert operator is not None, f"{path.name}: {task.get('id')} calls no handler"
            called[(path.stem, task.get("id"))] = operator.get("id")
    assert set(called.values()) <= registered, called
    assert called.items() >= {
        ("project_lifecycle", "propose_package_leader"): "assign_package_leader",
        ("supervision_monthly", "open_ledger_rows"): "ledger_open_round",
        ("supervision_monthly", "settle_ledger_rows"): "ledger_close_rows",
    }.items()
    assert set(SERVICE_HANDLERS) == set(called.values())


def test_a_diagram_calls_each_handler_and_throws_the_notice(glue, rebuild):
    inst = glue.start("district_glue", actor(glue, "invest-clerk"), business_key="XM-2026-901",
                      title="服务任务", data=START)
    assert inst.status == "running", glue.list_incidents(actor(glue, "admin"))
    (task,) = inst.tasks
    assert (task.element_id, task.department_code) == ("review_glue", "supervision")
    data = glue.get_task(task.id, actor(glue, "admin")).data
    # 十亿元以上 (180000 万元) → 区长 王志军 (leader), 区招商部门 leads; a key project
    assert data["package_assignment"] == {
        "package_leader": "王志军", "package_leader_username": "leader",
        "lead_department": "invest", "is_key_project": True, "package_rule": "十亿元以上重大项目",
    }
    assert data["stage_info"] == {"stage": "施工许可", "phase": "建得好", "stage_number": 8,
                                  "lead_departments": ["housing"]}
    notice = data["notice"]
    assert notice["departments"] == ["natres", "eco", "buerhantu"]  # names → codes, once each
    assert (notice["subject"], notice["project_code"]) == ("审批结果", "XM-2026-901")
    # ledger (issue 12): the rows entered in the ledger's tables (a unit's name or code)
    assert data["opened"] == {"errors": [], "units": ["drc", "housing"], "row_count": 2}

    # the notice is in the engine's outbox, visible to its recipients only
    (seen,) = notices_for(glue, "natres")
    assert (seen.subject, seen.project_code, seen.source_instance_id) == (
        "审批结果", "XM-2026-901", inst.id)
    assert notices_for(glue, "buerhantu")[0].id == seen.id
    assert notices_for(glue, "agri") == []
    assert [n.id for n in notices_for(glue, project_code="XM-2026-901")] == [seen.id]

    # a restarted engine (rebuild registers the handlers again) carries the case on
    again = rebuild()
    assert again.services.names() == glue.services.names()
    again.complete(task.id, actor(again, "supervision-clerk"), {})
    assert again.get_instance(inst.id, actor(again, "admin")).status == "completed"


def test_an_engine_without_the_handlers_raises_an_incident_that_a_retry_resolves(
    glue, rebuild, db_url
):
    bare = Engine(db_url)  # no workflows.register: the operation is unknown
    assert bare.services.names() == []
    inst = bare.start("district_glue", actor(bare, "invest-clerk"), business_key="XM-2026-902",
                      data=START)
    assert inst.status == "incident"
    (incident,) = bare.list_incidents(actor(bare, "admin"), instance_id=inst.id)
    assert incident["element_id"] == "propose_leader"
    # The message does not say why: SpiffWorkflow 3.2's PythonScriptEngine.call_service names
    # an undefined variable while wrapping the handler's error, so every failed service task
    # reads "NameError: name 'script' is not defined" (reported; engine/scripting.py can
    # override call_service). The reason itself is raised by the registry:
    with pytest.raises(LookupError, match="assign_package_leader"):
        ServiceRegistry().call("assign_package_leader", {}, {})
    bare.db.dispose()
    fixed = rebuild()  # with the handlers
    info = fixed.retry_incident(inst.id, actor(fixed, "admin"))
    assert info.status == "running"
    assert [t.element_id for t in info.tasks] == ["review_glue"]


def test_a_handler_that_refuses_its_input_raises_an_incident_naming_why(glue):
    data = dict(START, current_stage="试生产")  # not a stage of the plan
    inst = glue.start("district_glue", actor(glue, "invest-clerk"), business_key="XM-2026-903",
                      data=data)
    assert inst.status == "incident"
    (incident,) = glue.list_incidents(actor(glue, "admin"), instance_id=inst.id)
    assert incident["element_id"] == "stage_of_project"
    # (the message is masked by SpiffWorkflow, see above); the handler's own reason:
    with pytest.raises(ValueError, match="“试生产”不是项目全生命周期的阶段"):
        glue.services.call("lifecycle_stage_phase", data, {"stage": "试生产"})
    # the data fixed, the admin's retry carries the case on
    info = glue.retry_incident(inst.id, actor(glue, "admin"), {"current_stage": "竣工验收"})
    assert [t.element_id for t in info.tasks] == ["review_glue"]
    task = glue.get_task(info.tasks[0].id, actor(glue, "admin"))
    assert task.data["stage_info"]["phase"] == "建得好"


# ---------------------------------------------------------------- 包联 rules (package_leaders.yaml)


@pytest.fixture(scope="module")
def leaders() -> PackageLeaders:
    departments, users = load_org(ORG)
    return PackageLeaders.load(departments, users)


@pytest.mark.parametrize(
    ("facts", "leader", "department", "key"),
    [
        ({"is_mine": True, "total_investment": 200000, "street": "kunbei"},
         "leaders-head", "natres", True),
        ({"industry_category": "services", "total_investment": 120000, "street": "kunbei"},
         "leader", "invest", True),
        ({"industry_category": "manufacturing", "total_investment": 30000, "street": "buerhantu"},
         "leaders-head", "miit", False),
        ({"industry_category": "services", "total_investment": 8000, "street": "buerhantu"},
         "leaders-head", "invest", False),
        ({"industry_category": "heavy_industry", "total_investment": 60000, "street": "kunbei"},
         "leader", "invest", True),
        ({}, "leader", "invest", False),
    ],
    ids=["mine", "over-1bn", "buerhantu-industry", "services", "fallback", "no-facts"],
)
def test_the_first_matching_rule_names_the_leader_and_lead_department(
    leaders, facts, leader, department, key
):
    got = leaders.assign(facts)
    assert (got["package_leader_username"], got["lead_department"], got["is_key_project"]) == (
        leader, department, key)
    names = {u.username: u.display_name for u in load_org(ORG)[1]}
    assert got["package_leader"] == names[leader]


def test_a_rules_file_that_does_not_fit_the_org_chart_is_refused(tmp_path):
    departments, users = load_org(ORG)
    cases = {
        "leader: invest-clerk": "不是区领导部门的用户",  # a user outside 区领导
        "leader: nobody": "不是区领导部门的用户",
        "lead_department: housing-office": "不在组织架构中",
        "when: {floor_area: 3}": "不认识的条件",
    }
    good = RULES_FILE.read_text(encoding="utf-8")
    for change, message in cases.items():
        key = change.split(":")[0]
        lines = good.splitlines()
        first = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{key}:"))
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines[first] = indent + change
        bad = tmp_path / "rules.yaml"
        bad.write_text("\n".join(lines), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            PackageLeaders.load(departments, users, bad)
    without_fallback = tmp_path / "no_fallback.yaml"
    without_fallback.write_text(good.replace("when: {}", "when: {is_mine: false}"),
                                encoding="utf-8")
    with pytest.raises(ValueError, match="兜底"):
        PackageLeaders.load(departments, users, without_fallback)


def test_notices_need_recipients_from_the_org_chart_and_a_subject():
    notify = Notifier(load_org(ORG)[0]).handler
    with pytest.raises(ValueError, match="不在组织架构中"):
        notify({}, departments=["区不存在局"], subject="审批结果")
    with pytest.raises(ValueError, match="至少有一个接收部门"):
        notify({}, departments=[], subject="审批结果")
    with pytest.raises(ValueError, match="事由"):
        notify({"notice_departments": ["natres"]})
    payload = notify({"notice_departments": ["natres", "区应急局"], "project_code": "XM-1"},
                     subject="关闭退出", text="矿山关闭")
    assert (payload["departments"], payload["text"]) == (["natres", "emergency"], "矿山关闭")
