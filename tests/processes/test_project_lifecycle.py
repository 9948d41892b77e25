"""project_lifecycle (项目全生命周期, 昆府发〔2026〕1号) driven through every path: 引得来 →
落得快 → 建得好 → 运营稳, each 立项 route of the DMN approval_type, each combination of 前期手续
that prereq_permits yields, mine and non-mine projects, each 三在三找 request kind, the 包联领导
escalation timers with frozen time, and the 退出 branch — warm and cold (engine rebuilt before
every command)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from lxml import etree

from engine import InvalidInput
from tests.conftest import BPMN, FIXTURES
from tests.processes.conftest import library_deploy

T0 = datetime(2026, 3, 2, 1, 0)  # Monday 2 March 2026, 09:00 China time (naive UTC)
PREREVIEW_DEPARTMENTS = ["drc", "eco", "emergency", "gov-data", "miit", "natres"]

STAGE_PHASE = {
    "线索登记/首次洽谈": "引得来",
    "项目研判": "引得来",
    "签约": "引得来",
    "注册落地": "落得快",
    "立项": "落得快",
    "用地/规划": "落得快",
    "前期手续": "落得快",
    "施工许可": "建得好",
    "开工建设": "建得好",
    "竣工验收": "建得好",
    "投产": "运营稳",
    "运营/达产": "运营稳",
    "退出": "运营稳",
}

LEAD = {
    "project_name": "年产 5 万吨稀土新材料项目",
    "investor": "包头某新材料有限公司",
    "industry_category": "heavy_industry",
    "total_investment": 120000,
    "street": "buerhantu",
    "is_mine": False,
    "contact_person": "李经理",
    "contact_phone": "13904720000",
    "lead_summary": "经产业链招商对接，拟在昆区建设稀土新材料生产线。",
}
AGREEMENT = {
    "agreement_no": "KQZS-2026-018",
    "signed_date": "2026-03-10",
    "planned_start_date": "2026-08-01",
    "planned_production_date": "2027-06-30",
    "planned_full_production_date": "2027-12-31",
    "investment_source": "enterprise",
    "in_ratify_catalog": False,
    "is_tech_upgrade": False,
    "has_civil_works": True,
    "annual_energy_tce": 500,
    "agreement_file": ["att-agreement-018"],
}
ROUTES = {  # 立项 route -> the agreement's answers that lead the DMN approval_type there
    "ratify": {"in_ratify_catalog": True},
    "examine": {"investment_source": "government"},
    "file": {},
    "file_tech": {"is_tech_upgrade": True},
}
PERMITS = {  # 前期手续 task -> department, form data
    "review_energy": ("drc", {"energy_review_no": "昆发改能审〔2026〕3号"}),
    "review_eia": (
        "eco",
        {"eia_approval_no": "包环审〔2026〕12号", "eia_approval_date": "2026-05-20"},
    ),
    "review_safety_design": ("emergency", {"safety_design_no": "昆应急设审〔2026〕2号"}),
    "review_soil_plan": ("agri", {"soil_plan_no": "昆农牧水保〔2026〕5号"}),
}
SPECIAL_ACCEPTANCES = {  # 专项验收 task -> department, form data
    "verify_planning_conditions": ("natres", {"planning_verified": "pass"}),
    "accept_fire_protection": ("housing", {"fire_accepted": "pass"}),
    "accept_safety_facilities": ("emergency", {"safety_accepted": "pass"}),
    "accept_soil_facilities": ("agri", {"soil_accepted": "pass"}),
}
EXITS = {  # exit_mode -> task, department, form data
    "breach": (
        "pursue_breach",
        "drc",
        {"breach_measures": "解除投资协议，追缴已兑现奖补资金。", "recovered_amount": 300},
    ),
    "idle_land": (
        "reclaim_idle_land",
        "natres",
        {"reclaimed_area_ha": 12.5, "reclaim_doc_no": "昆自然资收〔2026〕1号"},
    ),
    "closure": (
        "close_enterprise",
        "miit",
        {"closure_date": "2027-03-01", "closure_measures": "停产关闭，妥善安置职工。"},
    ),
}
ESCALATION = {"supervision_method": "meeting", "supervision_measures": "召开现场调度会，限期办结。"}
# What the service task propose_package_leader (handler assign_package_leader) prefills in the
# 区领导's form 确定包联领导
PREFILLED = ("package_leader", "lead_department", "is_key_project", "package_rule")
# LEAD invests 120000 万元: the rule for projects over 1 bn yuan; 区长 王志军 (user leader)
OVER_1BN = {
    "package_leader": "王志军",
    "package_leader_username": "leader",
    "lead_department": "invest",
    "is_key_project": True,
    "package_rule": "十亿元以上重大项目",
}


@pytest.fixture
def clock():
    with time_machine.travel(T0.replace(tzinfo=UTC), tick=False) as traveller:
        yield traveller


def china(year, month, day, hour=9) -> datetime:
    """A China-time wall clock as the naive UTC the engine keeps."""
    return datetime(year, month, day, hour) - timedelta(hours=8)


def end_of_day(year, month, day) -> datetime:
    """23:59:59 China time, the due time of a working-day deadline, as naive UTC."""
    return datetime(year, month, day, 15, 59, 59)


class Project:
    """One project_lifecycle instance, driven as the users of the departments it routes to."""

    def __init__(self, driver, clock, code: str, **lead):
        self.driver, self.clock, self.code = driver, clock, code
        self.admin = driver.user("admin")
        inst = driver.engine.start(
            "project_lifecycle",
            driver.user("invest-clerk"),
            business_key=code,
            title=f"{code} 项目",
        )
        self.iid = inst.id
        assert self.open() == {"register_lead"}
        self.do("register_lead", "invest", **{**LEAD, **lead})

    def instance(self, with_data=False):
        return self.driver.reader.get_instance(self.iid, self.admin, with_data=with_data)

    def tasks(self, element_id=None):
        return [t for t in self.instance().tasks if element_id in (None, t.element_id)]

    def open(self) -> set[str]:
        return {t.element_id for t in self.tasks()}

    def task(self, element_id):
        (task,) = self.tasks(element_id)
        return task

    def do(self, element_id, department, **data):
        return self.driver.complete(self.iid, element_id, data, expect_department=department)

    def each(self, element_id, departments, **data):
        """Complete every instance of a multi-instance task, each as its own department."""
        tasks = self.tasks(element_id)
        assert sorted(t.department_code for t in tasks) == sorted(departments)
        for t in tasks:
            self.driver.engine.complete(t.id, self.driver.user(self.driver.clerk_for(t)), data)

    def at(self, when: datetime) -> int:
        """Move the clock and let the scheduler fire what is due."""
        self.clock.move_to(when.replace(tzinfo=UTC))
        return self.driver.engine.fire_due_timers()

    def due(self, element_id, working_days) -> datetime:
        """The due time of an open task that many working days after it opened."""
        return self.driver.reader.calendar.current().due_at(
            self.task(element_id).created_at, working_days
        )

    def due_calendar(self, element_id, days) -> datetime:
        """The due time of an open task with a statutory limit in 日: the end (23:59:59 China
        time) of the ``days``-th calendar day after the China day it opened on."""
        opened = self.task(element_id).created_at + timedelta(hours=8)
        day = opened.date() + timedelta(days=days)
        return end_of_day(day.year, day.month, day.day)

    def finished(self) -> bool:
        inst = self.instance()
        return inst.status == "completed" and inst.tasks == ()


# ------------------------------------------------------------------------------ steps


def proposal(p) -> dict:
    """The 包联 proposal in the open 确定包联领导 task, checked to prefill its form."""
    leader = p.driver.reader.get_task(p.task("assign_package_leader").id, p.admin)
    proposed = leader.data["package_proposal"]
    assert {k: leader.data[k] for k in PREFILLED} == {k: proposed[k] for k in PREFILLED}
    return proposed


def negotiate(p, result="continue", **change) -> dict:
    """The 区领导 confirms the prefilled 包联 proposal (or changes it), then the first
    negotiation; returns the proposal. Confirming submits the prefilled values back, as the
    page does: a required field counts only when this completion carries it."""
    proposed = proposal(p)
    confirmed = {k: proposed[k] for k in PREFILLED} | change
    p.do("assign_package_leader", "leaders", package_notes="同意系统提出的包联安排。", **confirmed)
    facts = p.instance(with_data=True).data
    assert {k: facts[k] for k in PREFILLED} == {k: proposed[k] for k in PREFILLED} | change
    assert facts["package_proposal"] == proposed  # what the rules proposed stays on record
    p.do(
        "first_negotiation",
        "invest",
        negotiation_date="2026-03-02",
        leader_attended=True,
        negotiation_summary="企业介绍产品与产能，包联区领导介绍昆区产业政策。",
        negotiation_result=result,
    )
    return proposed


def opinions(p, opinion="agree"):
    p.each(
        "joint_prereview",
        PREREVIEW_DEPARTMENTS,
        opinion=opinion,
        opinion_basis="产业政策、投资强度、能耗、环保、安全条件的研判意见。",
    )
    assert p.open() == {"consolidate_prereview"}


def conclude(p, result="pass"):
    p.do(
        "consolidate_prereview",
        "invest",
        prereview_result=result,
        prereview_summary="六部门联合研判意见汇总。",
    )


def sign_and_register(p, **agreement):
    p.do("sign_agreement", "invest", **{**AGREEMENT, **agreement})
    assert p.open() == {"register_company"}
    inst = p.instance()
    assert (inst.phase, inst.stage) == ("落得快", "注册落地")
    assert p.task("register_company").due_at == p.due("register_company", 1)
    p.do(
        "register_company",
        "gov-data",
        company_name="包头昆区某新材料有限公司",
        credit_code="91150203MA0N12345X",
        registered_date="2026-03-10",
        agent_service=True,
        agent_name="王丽娜",
    )


def attract(p, **agreement) -> dict:
    """引得来 to 注册落地 without escalation; returns the 包联 proposal."""
    proposed = negotiate(p)
    opinions(p)
    conclude(p)
    sign_and_register(p, **agreement)
    return proposed


def approve(p, route):
    """立项 granted on the route the DMN approval_type chose."""
    if route == "file":
        p.do("file_project", "drc", filing_no="2026-150203-26-03-000118", filing_date="2026-03-11")
    elif route == "file_tech":
        p.do(
            "file_tech_upgrade",
            "miit",
            filing_no="2026-150203-31-03-000042",
            filing_date="2026-03-11",
        )
    else:
        p.do(
            f"{route}_project",
            "drc",
            approval_decision="approved",
            approval_doc_no="昆发改审〔2026〕8号",
            approval_opinion="符合产业政策和规划。",
        )


def pause_for_expert_review(p):
    """Expert review stops the 审批 clock for a week; the deadline moves past 清明 (4/4–4/6)."""
    examine = p.task("examine_project")
    assert examine.due_at == p.due("examine_project", 20)
    drc = p.driver.user("drc-clerk")
    p.driver.engine.pause_task(examine.id, drc, "专家评审")
    opened = examine.created_at
    p.clock.move_to((opened + timedelta(days=7)).replace(tzinfo=UTC))
    resumed = p.driver.engine.resume_task(examine.id, drc)
    assert resumed.due_at == p.due("examine_project", 25)  # 5 working days later


def land_and_planning(p):
    assert p.open() == {"review_land_site"}
    p.do("review_land_site", "natres", land_area_ha=12.5, land_preapproval_no="用字第18号")
    p.do(
        "issue_planning_permit", "natres", planning_permit_no="建字第21号", public_notice_done=True
    )


def prereq(p, expected: set[str]):
    """The 前期手续 the DMN prereq_permits asked for open in parallel, each in its department."""
    assert p.open() == (expected or {"issue_construction_permit"})
    for element_id in sorted(expected):
        department, data = PERMITS[element_id]
        p.do(element_id, department, **data)


def construction_permit(p):
    assert p.open() == {"issue_construction_permit"}
    p.do(
        "issue_construction_permit",
        "housing",
        construction_permit_no="150203202609010101",
        construction_permit_date="2026-09-01",
    )


def report(p, street, status, light, percent):
    """On the 1st of next month (09:00) the project's 街镇 (the lead's ``street``, any 街镇 of the
    org chart) reports the month's progress."""
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    assert p.open() == set()
    assert p.at(china(year, month, 1) + timedelta(minutes=1)) == 1
    progress = p.task("report_progress")
    assert progress.department_code == street  # the lane 属地街镇 routes it to the lead's 街镇
    p.do(
        "report_progress",
        street,
        report_month=f"{year}-{month:02d}",
        construction_status=status,
        progress_percent=percent,
        progress_light=light,
        site_photos=["att-photo"],
    )


def acceptance(p, specials, result="passed"):
    assert p.open() == {"apply_joint_acceptance"}
    p.do(
        "apply_joint_acceptance",
        "housing",
        acceptance_application_no="LHYS-2026-009",
        acceptance_accepted_date="2026-11-02",
    )
    assert p.open() == set(specials)
    for element_id in specials:
        department, data = SPECIAL_ACCEPTANCES[element_id]
        p.do(element_id, department, **data)
    p.do(
        "issue_acceptance",
        "housing",
        acceptance_result=result,
        acceptance_opinion="各专项验收意见汇总。",
    )


def produce(p):
    # the agreement's date: due at the end of that day in China (23:59:59 +08:00)
    assert p.task("confirm_production").due_at == datetime(2027, 6, 30, 15, 59, 59)
    p.do(
        "confirm_production",
        "miit",
        production_date="2027-06-20",
        production_capacity="年产 5 万吨",
    )
    assert p.instance().phase == "运营稳"


def service_request(p, kind, department):
    """三在三找: the firm asks; the DMN service_request_route picks the department that helps."""
    p.do(
        "monitor_operation",
        "miit",
        operation_event="service_request",
        request_kind=kind,
        request_detail="企业提出帮扶诉求。",
    )
    assert p.open() == {"monitor_operation", "answer_service_request"}
    answer = p.task("answer_service_request")
    assert answer.department_code == department
    assert answer.due_at == p.due("answer_service_request", 5)


def answer(p, department):
    p.do(
        "answer_service_request",
        department,
        service_result="resolved",
        service_response="已对接解决。",
    )


def exit_by(p, mode):
    assert p.open() == {"decide_exit"}
    p.do("decide_exit", "leaders", exit_mode=mode, exit_reason="企业未按协议履约。")
    element_id, department, data = EXITS[mode]
    assert p.open() == {element_id}
    p.do(element_id, department, **data)
    assert p.finished()


# ------------------------------------------------------------------------------ tests


def test_deploys_without_warnings_every_task_has_form_stage_and_phase(engine):
    assert library_deploy(engine, "project_lifecycle").definition.warnings == ()
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    }
    root = etree.parse(str(BPMN / "project_lifecycle.bpmn")).getroot()
    used_forms, stages = set(), set()
    for user_task in root.iterfind(".//bpmn:userTask", ns):
        props = {
            p.get("name"): p.get("value")
            for p in user_task.iterfind(".//spiffworkflow:property", ns)
        }
        element = user_task.get("id")
        assert (BPMN / "forms" / f"{props['form_key']}.form").is_file(), element
        assert STAGE_PHASE[props["stage"]] == props["phase"], element
        used_forms.add(props["form_key"])
        stages.add(props["stage"])
    assert stages == set(STAGE_PHASE)  # the 13 stages, each carried by tasks
    assert {p.stem for p in (BPMN / "forms").glob("lifecycle_*.form")} == used_forms
    for key in used_forms:
        schema = json.loads((BPMN / "forms" / f"{key}.form").read_text(encoding="utf-8"))
        assert (schema["type"], schema["id"], schema["schemaVersion"]) == ("default", key, 16)
        assert all(c["label"] and c["key"] for c in schema["components"])


def test_monthly_progress_is_one_step_routed_to_the_leads_street(engine):
    """One lane named for the role (属地街镇) holds the monthly 建设进度 step; the lead form offers
    every 街镇 of the org chart, so any of them can be the project's 属地 (the sweep below drives
    projects in 街道 and 镇 alike)."""
    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    }
    root = etree.parse(str(BPMN / "project_lifecycle.bpmn")).getroot()
    lanes = {
        lane.get("name"): {r.text for r in lane.iterfind("bpmn:flowNodeRef", ns)}
        for lane in root.iterfind(".//bpmn:lane", ns)
    }
    assert lanes["属地街镇"] == {"report_progress"}
    assert "卜尔汉图镇" not in lanes and "昆北街道办事处" not in lanes
    task = root.find(".//bpmn:userTask[@id='report_progress']", ns)
    props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", ns)}
    assert props["department_expression"] == "street"
    assert props["source"].startswith("local: ")
    form = json.loads((BPMN / "forms" / "lifecycle_register_lead.form").read_text("utf-8"))
    (street,) = [c for c in form["components"] if c.get("key") == "street"]
    streets = {d.code for d in engine.list_departments() if d.kind.startswith("street")}
    assert len(streets) == 15
    assert {v["value"] for v in street["values"]} == streets


def test_ratified_project_runs_to_full_production_with_escalations(driver, clock):
    """核准 with an extension, all four 前期手续, yellow/red/complete progress, the joint
    acceptance, the three kinds of 三在三找 requests, and the 包联领导 escalation of every timed
    stage it passes."""
    library_deploy(driver.engine, "project_lifecycle")
    p = Project(driver, clock, "XM-2026-001")
    assert negotiate(p) == OVER_1BN
    assert {t.due_at for t in p.tasks("joint_prereview")} == {end_of_day(2026, 3, 9)}
    assert p.instance().phase == "引得来"
    # 项目研判 overdue (5 working days): the 包联领导 supervises, the opinions stay open
    assert p.at(china(2026, 3, 10)) == 1
    assert len(p.tasks("joint_prereview")) == 6
    p.do("escalate_prereview", "leaders", **ESCALATION)
    opinions(p)
    conclude(p)
    sign_and_register(p, **ROUTES["ratify"], annual_energy_tce=5000)

    # 立项: 核准 in 20 working days (清明 4/4–4/6 not counted), escalated, then extended
    assert p.open() == {"ratify_project"}
    assert p.task("ratify_project").due_at == end_of_day(2026, 4, 8)
    assert p.at(china(2026, 4, 9)) == 1
    assert p.open() == {"ratify_project", "escalate_approval"}
    p.do("escalate_approval", "leaders", **ESCALATION)
    p.do(
        "ratify_project",
        "drc",
        approval_decision="extend",
        approval_opinion="需征求市有关部门意见，申请延期。",
    )
    assert p.task("approve_ratify_extension").candidate_role == "head"
    p.do("approve_ratify_extension", "drc", extension_reason="征求意见", extension_days=30)
    assert p.task("ratify_project_extended").due_at == p.due("ratify_project_extended", 30)
    p.do(
        "ratify_project_extended",
        "drc",
        approval_decision="approved",
        approval_doc_no="昆发改核〔2026〕2号",
        approval_opinion="予以核准。",
    )

    # 用地/规划 in 10 and 15 working days; the overdue planning permit is escalated
    assert p.task("review_land_site").due_at == p.due("review_land_site", 10)
    p.do("review_land_site", "natres", land_area_ha=12.5, land_preapproval_no="用字第1号")
    assert p.task("issue_planning_permit").due_at == end_of_day(2026, 4, 30)
    assert p.at(china(2026, 5, 6)) == 1
    assert p.open() == {"issue_planning_permit", "escalate_land"}
    p.do("escalate_land", "leaders", **ESCALATION)
    p.do("issue_planning_permit", "natres", planning_permit_no="建字第1号", public_notice_done=True)

    # 前期手续: heavy industry, new civil works, 5000 tce a year -> all four, in parallel
    assert p.open() == set(PERMITS)
    eia = p.task("review_eia")
    assert eia.due_at == p.due_calendar("review_eia", 60)  # 环评报告书：六十日（环评法第二十二条）
    for element_id in ("review_energy", "review_safety_design", "review_soil_plan"):
        department, data = PERMITS[element_id]
        p.do(element_id, department, **data)
    assert p.at(eia.due_at + timedelta(hours=10)) == 1
    assert p.open() == {"review_eia", "escalate_permits"}
    p.do("escalate_permits", "leaders", **ESCALATION)
    p.do("review_eia", "eco", **PERMITS["review_eia"][1])

    # 建得好: permit; monthly progress by 卜尔汉图镇: yellow, red -> 包联领导, completed
    construction_permit(p)
    report(p, "buerhantu", "in_progress", "yellow", 20)
    report(p, "buerhantu", "in_progress", "red", 35)
    p.do(
        "leader_coordinate_progress",
        "leaders",
        coordination_measures="协调施工用电。",
        coordination_result="continue",
    )
    report(p, "buerhantu", "completed", "green", 100)
    acceptance(p, list(SPECIAL_ACCEPTANCES))

    # 运营稳: 投产 by the agreement's date, 三在三找 requests, an overdue one escalated, 达产
    produce(p)
    service_request(p, "orders", "invest")
    answer(p, "invest")
    service_request(p, "funds", "drc")
    assert p.at(p.task("answer_service_request").due_at + timedelta(hours=10)) == 1
    assert p.open() == {"monitor_operation", "answer_service_request", "escalate_service_request"}
    p.do("escalate_service_request", "leaders", **ESCALATION)
    answer(p, "drc")
    service_request(p, "materials", "miit")
    p.do("monitor_operation", "miit", operation_event="full_production", output_value=80000)
    assert p.instance().status == "running"  # the open request still runs
    answer(p, "miit")
    assert p.finished()


def _mine_case(p):
    """The mine_approval instance the lifecycle called for this project (same project code)."""
    page = p.driver.reader.list_instances(p.admin, process_key="mine_approval", business_key=p.code)
    (case,) = page.items
    assert case.parent_instance_id == p.iid
    return case.id


def _mine_step(p, case_id, element_id, **data):
    return p.driver.complete(case_id, element_id, data, expect_department="natres")


def test_mine_projects_wait_for_the_mine_approval_result(driver, clock):
    """A mine project calls mine_approval (tests/fixtures stands in for it) and waits for its
    message mine_approval_result, correlated by the project code."""
    library_deploy(driver.engine, "project_lifecycle")
    stub = FIXTURES / "bpmn" / "mine_approval_stub.bpmn"
    driver.engine.deploy(stub.name, stub.read_bytes(), actor=driver.user("admin"))

    # approved: 施工许可 (escalated when overdue), 昆北街道 progress, an acceptance without
    # the facility checks the mine chain carries (failed once), operation, exit by 违约追责
    p = Project(driver, clock, "XM-2026-006", is_mine=True, street="kunbei")
    # a mine project: 区自然资源分局 leads (the mine coordination office), 邓志远 is its leader
    assert attract(p) == {
        "package_leader": "邓志远",
        "package_leader_username": "leaders-head",
        "lead_department": "natres",
        "is_key_project": True,
        "package_rule": "非煤矿山项目",
    }
    assert p.open() == set()
    case = _mine_case(p)
    _mine_step(p, case, "decide_mine_case", mine_approved=True, project_code=p.code)
    assert p.instance(with_data=True).data["mine_approval_result"] == {
        "approved": True,
        "project_code": "XM-2026-006",
    }
    assert p.open() == {"issue_construction_permit"}
    permit = p.task("issue_construction_permit")
    assert permit.due_at == p.due_calendar("issue_construction_permit", 7)  # 建筑法第八条：七日
    assert p.at(permit.due_at + timedelta(hours=10)) == 1
    p.do("escalate_construction_permit", "leaders", **ESCALATION)
    construction_permit(p)
    _mine_step(p, case, "close_mine_case")  # the mine chain ends on its own branch
    assert driver.reader.get_instance(case, p.admin).status == "completed"
    report(p, "kunbei", "completed", "green", 100)
    mine_specials = ["verify_planning_conditions", "accept_fire_protection"]
    acceptance(p, mine_specials, result="failed")
    acceptance(p, mine_specials)
    produce(p)
    p.do("monitor_operation", "miit", operation_event="exit")
    exit_by(p, "breach")

    # not approved: the project exits by its terminate end event, which (BPMN semantics) also
    # ends the mine case it called, open steps cancelled
    refused = Project(driver, clock, "XM-2026-007", is_mine=True)
    attract(refused)
    case = _mine_case(refused)
    _mine_step(refused, case, "decide_mine_case", mine_approved=False, project_code=refused.code)
    exit_by(refused, "closure")
    ended = driver.reader.get_instance(case, p.admin)
    assert ended.status == "terminated"
    assert ended.tasks == ()
    assert refused.finished()


# Leads that the other 包联 rules of workflows/package_leaders.yaml fit (the first rule that
# holds decides): facts of the lead -> the proposal
PROPOSALS = [
    (
        {"industry_category": "manufacturing", "total_investment": 30000, "street": "buerhantu"},
        ("邓志远", "leaders-head", "miit", False, "卜尔汉图镇工业项目"),
    ),
    (
        {"industry_category": "services", "total_investment": 8000, "street": "kunbei"},
        ("邓志远", "leaders-head", "invest", False, "商贸物流及服务业项目"),
    ),
    (
        {"industry_category": "heavy_industry", "total_investment": 60000, "street": "kunbei"},
        ("王志军", "leader", "invest", True, "其他项目"),
    ),
]


def test_the_package_leader_proposal_prefills_the_leaders_form(driver, clock):
    """Before 确定包联领导 the service task propose_package_leader (handler assign_package_leader)
    proposes the 包联 leader, the lead department and whether the project is a key project
    (50000 万元 and more) from the registered lead; the 区领导 confirms it as it stands or
    changes it."""
    library_deploy(driver.engine, "project_lifecycle")
    projects = []
    for n, (facts, (name, username, department, key, rule)) in enumerate(PROPOSALS):
        p = Project(driver, clock, f"XM-2026-2{n:02d}", **facts)
        assert p.open() == {"assign_package_leader"}
        assert proposal(p) == {
            "package_leader": name,
            "package_leader_username": username,
            "lead_department": department,
            "is_key_project": key,
            "package_rule": rule,
        }
        projects.append(p)
    # the case holds the proposal, but a completion that does not carry the required fields
    # does not confirm it; confirmed without touching the form: the prefilled values sent back
    first, second, third = projects
    with pytest.raises(InvalidInput) as caught:
        first.do("assign_package_leader", "leaders")
    assert caught.value.details == {
        "package_leader": "“包联区领导”为必填项",
        "lead_department": "“牵头部门”为必填项",
    }
    first.do("assign_package_leader", "leaders", **{k: proposal(first)[k] for k in PREFILLED})
    assert first.open() == {"first_negotiation"}
    assert first.instance(with_data=True).data["lead_department"] == "miit"
    # changed: 区发改委 leads instead
    negotiate(second, lead_department="drc")
    assert second.open() == {"joint_prereview"}
    negotiate(third, result="drop")
    assert third.finished()


def test_early_ends_and_refused_approval(driver, clock):
    library_deploy(driver.engine, "project_lifecycle")
    # sent back from the 研判结论 to the negotiation, which ends the lead
    dropped = Project(driver, clock, "XM-2026-002")
    negotiate(dropped)
    opinions(dropped, opinion="disagree")
    conclusion = dropped.task("consolidate_prereview")
    driver.engine.send_back(
        conclusion.id, driver.user("invest-clerk"), "first_negotiation", "请企业补充投资强度测算"
    )
    assert dropped.open() == {"first_negotiation"}
    # sent back: the negotiation recorded before is in the case, but must be submitted again
    with pytest.raises(InvalidInput) as caught:
        dropped.do("first_negotiation", "invest", negotiation_result="drop")
    assert set(caught.value.details) == {"negotiation_date", "negotiation_summary"}
    recorded = driver.reader.get_task(dropped.task("first_negotiation").id, dropped.admin).data
    dropped.do(
        "first_negotiation",
        "invest",
        negotiation_result="drop",
        negotiation_date=recorded["negotiation_date"],
        negotiation_summary=recorded["negotiation_summary"] + "企业未补充测算。",
    )
    assert dropped.finished()

    # the joint pre-review does not pass
    failed = Project(driver, clock, "XM-2026-003")
    # the 区领导 changes the proposal: another leader, 区工信局 leads, not a key project
    negotiate(failed, package_leader="邓志远", lead_department="miit", is_key_project=False)
    opinions(failed, opinion="disagree")
    conclude(failed, result="fail")
    assert failed.finished()

    # 核准 refused without an extension: the project exits and its land is taken back
    refused = Project(driver, clock, "XM-2026-004")
    attract(refused, **ROUTES["ratify"])
    refused.do(
        "ratify_project", "drc", approval_decision="rejected", approval_opinion="不符合产业政策。"
    )
    exit_by(refused, "idle_land")

    # after an extension the 核准 is refused: closure
    late = Project(driver, clock, "XM-2026-005")
    attract(late, **ROUTES["ratify"])
    late.do("ratify_project", "drc", approval_decision="extend", approval_opinion="申请延期。")
    late.do("approve_ratify_extension", "drc", extension_reason="组织专家评估", extension_days=60)
    # the head asked for more than the 40 working days the DMN allows: capped
    assert late.task("ratify_project_extended").due_at == late.due("ratify_project_extended", 40)
    late.do(
        "ratify_project_extended",
        "drc",
        approval_decision="rejected",
        approval_opinion="专家评估未通过。",
    )
    exit_by(late, "closure")


# Every other combination of 前期手续 the DMN prereq_permits yields (all four: the ratified
# project above), each with another 立项 route, 街镇 and exit mode, ended by a red light and the
# leader's decision to exit.
COMBINATIONS = [
    (
        "heavy_industry",
        True,
        500,
        {"review_eia", "review_safety_design", "review_soil_plan"},
        "examine",
        "shaoxianlu",
        "breach",
    ),
    (
        "heavy_industry",
        False,
        5000,
        {"review_eia", "review_energy", "review_safety_design"},
        "file_tech",
        "kunhe",
        "idle_land",
    ),
    (
        "heavy_industry",
        False,
        500,
        {"review_eia", "review_safety_design"},
        "file",
        "huanghexi",
        "closure",
    ),
    (
        "manufacturing",
        True,
        5000,
        {"review_eia", "review_energy", "review_soil_plan"},
        "ratify",
        "zhaotan",
        "breach",
    ),
    (
        "manufacturing",
        True,
        500,
        {"review_eia", "review_soil_plan"},
        "file",
        "buerhantu",
        "idle_land",
    ),
    ("manufacturing", False, 5000, {"review_energy"}, "file_tech", "kungonglu", "closure"),
    ("manufacturing", False, 500, set(), "file", "anshandao", "breach"),
    (
        "services",
        True,
        5000,
        {"review_energy", "review_soil_plan"},
        "file",
        "kunbei",
        "idle_land",
    ),
    ("services", True, 500, {"review_soil_plan"}, "file", "tuanjie", "closure"),
]


# The sweep checks the decision table and the gateways' routing, which do not depend on the
# database: it runs on SQLite only (warm and cold); every other path runs on both backends.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_prereq_permits_combination(driver, clock):
    library_deploy(driver.engine, "project_lifecycle")
    for n, (industry, civil, energy, permits, route, street, mode) in enumerate(COMBINATIONS):
        p = Project(driver, clock, f"XM-2026-1{n:02d}", industry_category=industry, street=street)
        attract(p, **ROUTES[route], has_civil_works=civil, annual_energy_tce=energy)
        if route == "examine":
            pause_for_expert_review(p)
        approve(p, route)
        land_and_planning(p)
        prereq(p, permits)
        construction_permit(p)
        report(p, street, "not_started", "red", 0)
        p.do(
            "leader_coordinate_progress",
            "leaders",
            coordination_measures="约谈企业负责人。",
            coordination_result="exit",
        )
        exit_by(p, mode)
