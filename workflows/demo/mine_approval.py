"""The demo's non-coal mine cases: the ``mine_approval`` instance a mine project's lifecycle
calls, driven to the major state it stands in "today"; the project resumes once approved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from .planner import Project
from .project_lifecycle import Lifecycle
from .world import DemoError, Simulation, World, china, doc_no, iso_day

_MINE_PERMITS = {
    "review_land_use": {"land_use_conclusion": "approved"},
    "review_eia": None,  # with a document number, built when due
    "review_water_intake": {"water_intake_conclusion": "approved"},
    "review_soil_conservation": {"soil_conservation_conclusion": "approved"},
    "review_forest_grass_use": {"forest_grass_conclusion": "approved_conditionally",
                                "avoids_protected_areas": True},
    "accept_safety_design": {"safety_design_materials": "accepted",
                             "has_approval_or_filing": True, "has_safety_pre_evaluation": True},
}
_TOWN_NAMES = {"buerhantu": "卜尔汉图镇", "kunhe": "昆河镇", "kunbei": "昆北街道"}
# What the lifecycle of a mine project stands at while its mine case is in each state.
_MINE_LIFECYCLE_STOP = {"安全设施竣工验收": "construction", "安全生产许可": "confirm_production",
                        "日常监管": "monitor_operation"}


class Mine:
    """Drives the mine_approval instance a mine project's lifecycle called, to its state."""

    def __init__(self, w: World, sim: Simulation, p: Project, lifecycle: Lifecycle):
        self.w, self.sim, self.p, self.lifecycle = w, sim, p, lifecycle
        self.rng = p.rng
        self.state = p.mine[2]

    def later(self, working_days: float) -> datetime:
        wake = self.w.workdays(working_days, self.rng)
        paced = self.p.pace(wake, self.w.now())
        return wake if paced == wake else self.w.office_after(paced)

    def step(self, element_id: str, data: dict) -> None:
        self.w.do(self.p.mine_iid, element_id, data)

    def run(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        page = w.engine.list_instances(w.admin, process_key="mine_approval", business_key=p.code)
        if not page.items:
            raise DemoError(f"{p.code}：项目未调起非煤矿山审批流程")
        p.mine_iid = page.items[0].id
        mineral, kind, _state = p.mine
        yield self.later(rng.choice([0, 1]))
        self.step("register_mine_case", {
            "project_code": p.code,
            "mine_name": p.name.removesuffix("项目"),
            "applicant": p.investor,
            "mineral": mineral,
            "project_kind": kind,
            "cross_county": False,
            "capacity_change": kind != "new",
            "water_use": mineral in ("iron", "rare_earth"),
            "forest_land": mineral == "sand_gravel",
            "new_land": kind == "expansion",
            "town": p.street,
            "mine_location": f"{_TOWN_NAMES.get(p.street, '昆北街道')}"
                             f"{rng.choice(['北部', '西北部', '东部'])}矿区",
            "mine_area_km2": round(rng.uniform(0.3, 4.5), 2),
            "application_files": w.attach("开发利用方案.pdf", "采矿权申请书.pdf"),
        })
        # 会商研判: opinions from 生态环境、农牧、应急 and the 街镇
        opinions = [t for t in w.open_tasks(p.mine_iid)
                    if t.element_id == "give_consultation_opinion"]
        rng.shuffle(opinions)
        keep = 2 if self.state == "会商研判" else 0
        for t in opinions[: len(opinions) - keep]:
            yield self.later(rng.randint(1, 4))
            w.complete(t, {"opinion": "agree",
                           "opinion_note": "不涉及禁止开采区和生态保护红线，与已设矿业权无重叠。"})
        if keep:
            return
        yield self.later(rng.randint(1, 3))
        self.step("decide_mining_allowed", {"mining_allowed": "yes", "fits_spatial_plan": True,
                                            "mining_decision_reason": "符合国土空间规划和矿产资源规划，同意设立。"})
        # 源头管控 (禁采区, 勘查程度, 重叠) and the plans' review come before 核准/备案
        yield self.later(rng.randint(3, 8))
        self.step("check_source_control", {
            "source_control_passed": "yes", "outside_prohibited_zone": True,
            "exploration_sufficient": True, "no_vertical_overlap": True,
            "source_control_note": "已核实不在禁止开采区，勘查程度满足要求，无垂直重叠。"})
        yield self.later(rng.randint(8, 15))
        self.step("review_development_plans", {"development_plan_conclusion": "pass",
                                               "restoration_plan_conclusion_initial": "pass_revised"})
        facts = w.data(p.mine_iid)
        year = china(w.now()).year
        if facts.get("approval_kind") == "核准":
            yield self.later(rng.randint(1, 3))
            self.step("accept_approval_application", {
                "approval_application_no": f"KZ-{year}-{rng.randint(1, 60):02d}",
                "forwarded_on": iso_day(w.now()), "materials_complete": True})
            yield self.later(rng.randint(2, 5))
            self.step("drc_approval_opinion", {"cooperation_opinion": "agree",
                                               "cooperation_note": "符合产业政策"})
            self.step("miit_approval_opinion", {"cooperation_opinion": "agree",
                                                "cooperation_note": "符合行业规划和准入条件"})
            yield self.later(rng.randint(10, 18))
            self.step("record_approval_decision", {
                "project_approved": "yes", "approval_doc_no": doc_no("包发改核", w, rng),
                "approval_decided_on": iso_day(w.now())})
        else:
            yield self.later(rng.choice([0, 1]))
            self.step("file_project_record", {"filing_accepted": "yes",
                                              "filing_no": f"BA-{year}-{rng.randint(10, 99):03d}",
                                              "filed_on": iso_day(w.now())})
        yield self.later(rng.randint(20, 35))
        self.step("record_mining_registration", {
            "mining_registered": "yes",
            "mining_licence_no": f"C1502002{year}{rng.randint(10000, 99999)}"})
        # the parallel permits the DMN mine_permits requires
        opened = sorted(t.element_id for t in w.open_tasks(p.mine_iid)
                        if t.element_id in _MINE_PERMITS)
        rng.shuffle(opened)
        keep = max(1, len(opened) // 2) if self.state == "专项审批" else 0
        for element in opened[: len(opened) - keep]:
            yield self.later(rng.randint(8, 25))
            if element == "review_eia":
                self.step(element, {"eia_conclusion": "approved",
                                    "eia_approval_no": doc_no("包环审", w, rng)})
                continue
            self.step(element, _MINE_PERMITS[element])
            if element == "accept_safety_design":
                yield self.later(rng.randint(8, 18))
                self.step("review_safety_design", {
                    "safety_design_conclusion": "approved", "adjacent_distance_ok": True,
                    "safety_design_opinion": "安全设施设计符合规范，同意。"})
        if keep:
            return
        # approved: the project resumes (construction permit …) on its own timeline
        p.stop = _MINE_LIFECYCLE_STOP.get(self.state)
        p.ending = "exit_closure" if self.state == "关闭退出" else ""
        self.sim.spawn(self.w.now() + timedelta(hours=1), self.lifecycle.build_and_operate())
        yield from self.construction_and_licence()

    def construction_and_licence(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        months = p.construction_months
        for element, data in (
            ("supervise_environmental_facilities",
             {"environment_supervision_note": "环保设施与主体工程同时设计、同时施工。"}),
            ("supervise_soil_facilities", {"soil_supervision_note": "水土保持设施同步建设。"}),
        ):
            yield self.later(rng.randint(15, 40))
            self.step(element, data)
        # 智能化 (区工信局, 区应急局) and the 立项 departments' part of 建设期监管 (发改, 工信, 政数)
        yield self.later(rng.randint(10, 30))
        w.each(p.mine_iid, "promote_intelligent_mining", lambda t: {
            "intelligence_level": rng.choice(["mechanized", "automated", "intelligent"]),
            "intelligence_note": "指导企业制定机械化、自动化升级改造方案。"})
        yield self.later(rng.randint(5, 20))
        w.each(p.mine_iid, "cooperate_construction_supervision", lambda t: {
            "cooperation_result": "conforming", "cooperation_note": "建设内容与立项一致。"})
        yield w.office_after(p.pace(w.now() + timedelta(days=30 * max(1, months - 2)), w.now()))
        self.step("supervise_construction_safety", {
            "construction_completed_on": iso_day(w.now()), "built_per_safety_design": True})
        if self.state == "安全设施竣工验收":
            return
        yield self.later(rng.randint(5, 12))
        self.step("check_completion_acceptance", {"acceptance_passed": "yes",
                                                  "acceptance_note": "安全设施竣工验收合格。"})
        if self.state == "安全生产许可":
            return
        yield self.later(rng.randint(15, 35))
        self.step("issue_safety_licence", {
            "licence_granted": "yes",
            "licence_no": f"(蒙)FM安许证字〔{china(w.now()).year}〕{rng.randint(1, 99):03d}",
            "licence_issued_on": iso_day(w.now())})
        yield self.later(rng.randint(2, 6))
        self.step("assign_supervision_body", {
            "supervising_body": "区应急局非煤矿山安全监管股",
            "risk_level": rng.choice(["high", "general"]),
            "announced_to_public": True, "posted_at_entrance": True})
        # 日常监管: a joint inspection with the 街镇, a 问题线索 verified by its department
        yield self.later(rng.randint(15, 30))
        self.step("supervise_mine", {"supervision_action": "joint_inspection",
                                     "supervision_note": "季度联合检查"})
        yield self.later(rng.randint(1, 4))
        w.each(p.mine_iid, "joint_inspection", lambda t: {"inspection_finding": "no_issue"})
        self.step("town_site_supervision", {"town_patrol_result": "normal"})
        yield self.later(rng.randint(10, 25))
        self.step("supervise_mine", {"supervision_action": "issue_clue",
                                     "clue_department": "eco",
                                     "supervision_note": "排土场扬尘防治措施不到位"})
        yield self.later(rng.randint(2, 5))
        self.step("verify_issue_clue", {"clue_verified": "confirmed",
                                        "clue_handling": "责令限期整改，已复查整改到位。",
                                        "clue_is_major": "no"})
        # 区生态环境分局 raises a major issue to 会商研判 (a message, as the platform's API does)
        yield self.later(rng.randint(5, 15))
        w.correlate("mine_major_issue", p.code, {
            "raised_by": "eco", "summary": "矿区排土场紧邻水源保护区，存在渗漏风险"}, "admin")
        yield self.later(rng.randint(1, 4))
        w.each(p.mine_iid, "give_issue_opinion", lambda t: {
            "issue_opinion": "rectification", "issue_note": "建议限期整改并加强监测"})
        yield self.later(rng.randint(1, 3))
        self.step("decide_major_issue", {"issue_decision": "rectification",
                                         "issue_measures": "责令企业限期完成排土场防渗改造，区生态环境分局跟踪监测。"})
        if self.state == "日常监管":
            return
        yield self.later(rng.randint(20, 40))
        self.step("supervise_mine", {"supervision_action": "closure",
                                     "supervision_note": "资源枯竭，企业申请关闭矿山。"})
        yield self.later(rng.randint(2, 6))
        self.step("confirm_mine_closure", {"closure_reason": "resources_exhausted",
                                           "closure_note": "资源已枯竭，依企业申请关闭退出。"})
        yield self.later(rng.randint(3, 8))
        self.step("cancel_safety_licence", {"safety_licence_cancelled_on": iso_day(w.now())})
        yield self.later(rng.randint(2, 6))
        self.step("cancel_discharge_permit", {"discharge_permit_cancelled_on": iso_day(w.now())})
        # 采矿证注销 waits for the region's decision: open "today"


def mine_project(w: World, sim: Simulation, p: Project):
    lifecycle = Lifecycle(w, sim, p)
    yield from lifecycle.run()
    yield from Mine(w, sim, p, lifecycle).run()
