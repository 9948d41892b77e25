"""The demo's investment projects: one ``project_lifecycle`` instance each, from the lead
(线索登记) to the step it stands at "today", or to its end (达产, 退出)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from . import catalog
from .planner import Project
from .world import DemoError, Simulation, World, china, doc_no, iso_day


def _lead(p: Project) -> dict:
    is_mine = p.mine is not None
    return {
        "project_name": p.name,
        "investor": p.investor,
        "industry_category": p.industry,
        "total_investment": p.investment,
        "street": p.street,
        "is_mine": is_mine,
        "contact_person": p.contact.name,
        "contact_phone": p.contact.phone,
        "lead_summary": (
            f"{p.investor}拟在昆都仑区投资建设{p.name}，总投资约{p.investment / 10000:.1f}亿元，"
            f"建成后{p.capacity}。"
            + (
                "项目涉及非煤矿山开发，须履行矿山审批程序。"
                if is_mine
                else "经产业链招商对接，企业已完成初步选址踏勘。"
            )
        ),
    }


class Lifecycle:
    """Drives one project_lifecycle instance."""

    def __init__(self, w: World, sim: Simulation, p: Project):
        self.w, self.sim, self.p = w, sim, p
        self.rng = p.rng

    # -- pacing

    def later(self, working_days: float) -> datetime:
        wake = self.w.workdays(working_days, self.rng)
        paced = self.p.pace(wake, self.w.now())
        return wake if paced == wake else self.w.office_after(paced)

    def stops_at(self, step: str) -> bool:
        return self.p.stop == step

    def settle_escalations(self, everything: bool = False) -> None:
        """The 包联 leader's office deals with most 督办 the overdue timers raised."""
        for t in self.w.open_tasks(self.p.iid):
            if t.element_id.startswith("escalate_") and (
                everything
                or (self.w.now() - t.created_at > timedelta(days=1) and self.rng.random() < 0.8)
            ):
                method, measures = self.rng.choice(catalog.ESCALATION_MEASURES)
                self.w.complete(t, {"supervision_method": method, "supervision_measures": measures})

    def step(self, element_id: str, data: dict) -> None:
        self.settle_escalations()
        self.w.do(self.p.iid, element_id, data)

    # -- the case

    def run(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        p.iid = w.start("project_lifecycle", "invest-clerk", p.code, p.name)
        lead = _lead(p)
        w.do(p.iid, "register_lead", lead)
        if self.stops_at("assign_package_leader"):
            return
        yield self.later(rng.choice([0, 1, 1, 2]))
        # the diagram's service task proposed leader and lead department (assign_package_leader,
        # package_leaders.yaml) and prefilled the form: the 区领导 confirms the proposal
        proposal = w.task_data(p.iid, "assign_package_leader").get("package_proposal")
        if not proposal:
            raise DemoError(f"{p.code}：确定包联领导没有系统提出的包联建议")
        # confirming submits the prefilled values back, as the task page does
        self.step(
            "assign_package_leader",
            {
                **{
                    k: proposal[k]
                    for k in ("package_leader", "lead_department", "is_key_project", "package_rule")
                },
                "package_notes": f"同意按“{proposal['package_rule']}”确定包联领导和牵头部门。",
            },
        )
        if self.stops_at("first_negotiation"):
            return
        yield self.later(rng.randint(1, 5))
        dropped = p.ending == "dropped"
        self.step(
            "first_negotiation",
            {
                "negotiation_date": iso_day(w.now()),
                "leader_attended": rng.random() < 0.7,
                "negotiation_summary": (
                    "企业因母公司战略调整暂缓投资，双方同意保持联系。"
                    if dropped
                    else f"企业介绍{p.capacity}的建设方案，包联区领导介绍昆区产业政策和要素保障措施。"
                ),
                "negotiation_result": "drop" if dropped else "continue",
            },
        )
        if dropped:
            return
        yield from self.prereview()
        if self.stops_at("joint_prereview") or self.stops_at("consolidate_prereview"):
            return
        yield self.later(rng.randint(3, 12))
        yield from self.sign()
        if self.stops_at("sign_agreement"):
            return
        yield self.later(rng.choice([0, 1]))
        if self.stops_at("register_company"):
            return
        self.register_company()
        if p.mine is not None:
            return  # the mine chain goes on (Mine.run) and resumes the project after approval
        if self.stops_at("approval"):
            yield from self.approval(stop=True)
            return
        approved = yield from self.approval()
        if not approved:
            yield self.later(rng.randint(2, 6))
            yield from self.exit(
                "idle_land", "项目核准未获通过，协议约定的用地由区自然资源分局依法收回。"
            )
            return
        yield self.later(rng.randint(1, 3))
        if self.stops_at("review_land_site"):
            return
        self.step(
            "review_land_site",
            {
                "land_area_ha": round(rng.uniform(2, 30), 1),
                "land_preapproval_no": f"用字第150203{china(w.now()).year}{rng.randint(10, 99):04d}号",
            },
        )
        yield self.later(rng.randint(6, 14))
        if self.stops_at("issue_planning_permit"):
            return
        self.step(
            "issue_planning_permit",
            {
                "planning_permit_no": f"建字第150203{china(w.now()).year}{rng.randint(10, 99):05d}号",
                "public_notice_done": True,
            },
        )
        yield from self.permits()
        if self.stops_at("permits"):
            return
        yield from self.build_and_operate()

    def prereview(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(1, 3))
        if not w.is_open(p.iid, "joint_prereview"):
            raise DemoError(f"{p.code}：联合研判未打开")
        opinions = [t for t in w.open_tasks(p.iid) if t.element_id == "joint_prereview"]
        rng.shuffle(opinions)
        keep_open = rng.randint(2, 4) if self.stops_at("joint_prereview") else 0
        for t in opinions[: len(opinions) - keep_open]:
            conditional = t.department_code in catalog.PREREVIEW_CONDITIONS and rng.random() < 0.3
            w.complete(
                t,
                {
                    "opinion": "conditional" if conditional else "agree",
                    "opinion_basis": (
                        catalog.PREREVIEW_CONDITIONS if conditional else catalog.PREREVIEW_OPINIONS
                    )[t.department_code],
                },
            )
            yield self.later(rng.choice([0, 1, 2, 3, 5, 7]))
        if keep_open:
            return
        self.settle_escalations(everything=True)
        if self.stops_at("consolidate_prereview"):
            return
        yield self.later(rng.randint(1, 3))
        self.step(
            "consolidate_prereview",
            {
                "prereview_result": "pass",
                "prereview_summary": "六部门联合研判一致同意，项目符合产业政策和准入条件，建议签约落地。",
            },
        )

    def sign(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        if self.stops_at("sign_agreement"):
            return
        signed = china(w.now()).date()
        planned_start = signed + timedelta(days=rng.randint(45, 100))
        production = planned_start + timedelta(
            days=30 * p.construction_months + rng.randint(40, 90)
        )
        self.step(
            "sign_agreement",
            {
                "agreement_no": f"KQZS-{signed.year}-{rng.randint(10, 99):03d}",
                "signed_date": signed.isoformat(),
                "planned_start_date": planned_start.isoformat(),
                "planned_production_date": production.isoformat(),
                "planned_full_production_date": (
                    production + timedelta(days=rng.randint(150, 300))
                ).isoformat(),
                "investment_source": "government" if p.route == "examine" else "enterprise",
                "in_ratify_catalog": p.route == "ratify",
                "is_tech_upgrade": p.route == "file_tech",
                "has_civil_works": p.civil_works,
                "annual_energy_tce": p.energy_tce,
                "agreement_file": w.attach("投资协议.pdf"),
            },
        )
        yield self.later(0)

    def register_company(self) -> None:
        rng = self.rng
        code = "91150203" + "".join(
            rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(10)
        )
        self.step(
            "register_company",
            {
                "company_name": self.p.investor.replace("包头", "包头昆区", 1),
                "credit_code": code,
                "registered_date": iso_day(self.w.now()),
                "agent_service": rng.random() < 0.8,
                "agent_name": "王丽娜",
            },
        )

    def approval(self, stop: bool = False) -> Iterator[datetime]:
        """立项 on the route the DMN approval_type chose; returns whether it was granted."""
        w, p, rng = self.w, self.p, self.rng
        year = china(w.now()).year
        if p.route in ("file", "file_tech"):
            if stop:
                return False
            yield self.later(rng.choice([0, 1, 1, 2, 4]))
            element = "file_tech_upgrade" if p.route == "file_tech" else "file_project"
            self.step(
                element,
                {
                    "filing_no": f"{year}-150203-{rng.randint(10, 99)}-03-{rng.randint(1, 999999):06d}",
                    "filing_date": iso_day(w.now()),
                },
            )
            return True
        if p.route == "examine":
            yield self.later(rng.randint(3, 8))
            task = w.find(p.iid, "examine_project")
            if task is not None and rng.random() < 0.5:  # 专家评审 stops the clock
                w.commands += 2
                clerk = w.actor("drc-clerk")
                w.engine.pause_task(task.id, clerk, "组织专家评审，评审时间不计入审批时限")
                yield self.later(rng.randint(4, 8))
                w.engine.resume_task(task.id, clerk)
            if stop:
                return False
            yield self.later(rng.randint(2, 8))
            self.step(
                "examine_project",
                {
                    "approval_decision": "approved",
                    "approval_doc_no": doc_no("昆发改审", w, rng),
                    "approval_opinion": "项目符合规划和产业政策，同意建设。",
                },
            )
            return True
        # ratify: 核准, sometimes extended, sometimes refused
        refused = p.ending == "exit_idle_land"
        if stop:
            if rng.random() < 0.5:
                yield self.later(rng.randint(5, 12))
                self.step(
                    "ratify_project",
                    {
                        "approval_decision": "extend",
                        "approval_opinion": "需征求市有关部门意见，申请延期。",
                    },
                )
            return False
        yield self.later(rng.randint(8, 22))
        if refused:
            self.step(
                "ratify_project",
                {
                    "approval_decision": "rejected",
                    "approval_opinion": "项目不符合《产业结构调整指导目录》准入要求。",
                },
            )
            return False
        if rng.random() < 0.35:
            self.step(
                "ratify_project",
                {
                    "approval_decision": "extend",
                    "approval_opinion": "需征求市有关部门意见，申请延期。",
                },
            )
            yield self.later(rng.randint(1, 2))
            self.step(
                "approve_ratify_extension",
                {
                    "extension_reason": "征求市直部门意见",
                    "extension_days": rng.choice([20, 30, 40]),
                },
            )
            yield self.later(rng.randint(8, 20))
            element = "ratify_project_extended"
        else:
            element = "ratify_project"
        self.step(
            element,
            {
                "approval_decision": "approved",
                "approval_doc_no": doc_no("昆发改核", w, rng),
                "approval_opinion": "符合产业政策和规划，予以核准。",
            },
        )
        return True

    def permits(self) -> Iterator[datetime]:
        """前期手续 in parallel, as the DMN prereq_permits asked; then 施工许可 opens."""
        w, p, rng = self.w, self.p, self.rng
        data = {
            "review_energy": lambda: {"energy_review_no": doc_no("昆发改能审", w, rng)},
            "review_eia": lambda: {
                "eia_approval_no": doc_no("包环审", w, rng),
                "eia_approval_date": iso_day(w.now()),
            },
            "review_safety_design": lambda: {"safety_design_no": doc_no("昆应急设审", w, rng)},
            "review_soil_plan": lambda: {"soil_plan_no": doc_no("昆农牧水保", w, rng)},
        }
        waits = {
            "review_energy": (8, 22),
            "review_eia": (15, 45),
            "review_safety_design": (8, 22),
            "review_soil_plan": (4, 12),
        }
        opened = sorted(t.element_id for t in w.open_tasks(p.iid) if t.element_id in data)
        rng.shuffle(opened)
        keep_open = rng.randint(1, len(opened)) if self.stops_at("permits") and opened else 0
        for element in opened[: len(opened) - keep_open]:
            yield self.later(rng.randint(*waits[element]))
            self.step(element, data[element]())
        if keep_open:
            return
        self.settle_escalations(everything=True)

    def build_and_operate(self) -> Iterator[datetime]:
        """施工许可 → 开工建设 (monthly reports) → 竣工验收 → 投产 → 运营 (or 退出)."""
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(2, 9))
        if self.stops_at("issue_construction_permit"):
            return
        permit_day = china(w.now()).date()
        self.step(
            "issue_construction_permit",
            {
                "construction_permit_no": f"150203{permit_day:%Y%m%d}{rng.randint(1, 99):02d}01",
                "construction_permit_date": permit_day.isoformat(),
            },
        )
        self.settle_escalations(everything=True)
        finished = yield from self.construction()
        if not finished:
            return
        yield from self.acceptance()
        if p.stop in ("acceptance", "special_acceptance"):
            return
        yield from self.production()

    def construction(self) -> Iterator[datetime]:
        """One report a month by the project's 街镇 until the works are completed; returns
        whether they were (projects standing in 开工建设 "today" report on)."""
        w, p, rng = self.w, self.p, self.rng
        ongoing = p.stop in ("construction", "leader_coordinate_progress")
        leave = p.stop == "decide_exit" or p.ending == "exit_breach"
        after = {
            "acceptance": 25,
            "special_acceptance": 35,
            "confirm_production": 60,
            "monitor_operation": 110,
            "service_request": 120,
            "decide_exit": 20,
            "exit_breach": 40,
            "leader_coordinate_progress": 10,
        }
        budget = (p.reach_by - w.now()).days - after.get(p.stop or p.ending, 120)
        # as long as the schedule allows: the step left open "today" is a recent one
        months = max(2 if leave else 1, min(12, budget // 31))
        plan = p.construction_months + 2 if ongoing else months
        red_month = months if leave else None
        if p.stop == "leader_coordinate_progress":  # red in the last month before "today"
            red_month = max(2, min(12, budget // 31))
        element = "report_progress"  # in the lane 属地街镇, routed to p.street
        for month in range(1, 999):
            first = w.first_of_next_month()
            yield first + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
            for _ in range(6):
                if w.is_open(p.iid, element):
                    break
                yield w.now() + timedelta(days=1)
            else:
                raise DemoError(f"{p.code}：{china(w.now()):%Y-%m} 的月度进度未打开")
            previous = china(w.now()).replace(day=1) - timedelta(days=1)
            red = month == red_month
            done = not ongoing and not red and month >= months
            percent = 100 if done else min(95, round(100 * month / plan) + rng.randint(-5, 5))
            light, problems = "green", None
            if red:
                light, problems = "red", "企业资金链紧张，项目已停工两个月，复工时间不确定。"
                percent = max(5, percent - 30)
            elif not done and rng.random() < 0.2:
                light, problems = "yellow", rng.choice(catalog.PROGRESS_PROBLEMS)
            self.step(
                element,
                {
                    "report_month": f"{previous:%Y-%m}",
                    "construction_status": "completed" if done else "in_progress",
                    "progress_percent": max(0, percent),
                    "progress_light": light,
                    "progress_problems": problems,
                    "site_photos": w.attach("现场照片.jpg"),
                },
            )
            if red:
                if p.stop == "leader_coordinate_progress":
                    return False
                yield self.later(rng.randint(1, 4))
                self.step(
                    "leader_coordinate_progress",
                    {
                        "coordination_measures": "约谈企业实际控制人，协调金融机构纾困，督促制定复工计划。",
                        "coordination_result": "exit" if leave else "continue",
                    },
                )
                if leave:
                    if p.stop == "decide_exit":
                        return False
                    yield self.later(rng.randint(2, 6))
                    yield from self.exit("breach", "企业停工超过协议约定期限且无力复工，构成违约。")
                    return False
            if done:
                return True
        return False

    def acceptance(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        yield self.later(rng.randint(5, 12))
        if self.stops_at("acceptance"):
            return
        self.step(
            "apply_joint_acceptance",
            {
                "acceptance_application_no": f"LHYS-{china(w.now()).year}-{rng.randint(1, 99):03d}",
                "acceptance_accepted_date": iso_day(w.now()),
            },
        )
        specials = {
            "verify_planning_conditions": {"planning_verified": "pass"},
            "accept_fire_protection": {"fire_accepted": "pass"},
            "accept_safety_facilities": {"safety_accepted": "pass"},
            "accept_soil_facilities": {"soil_accepted": "pass"},
        }
        opened = sorted(t.element_id for t in w.open_tasks(p.iid) if t.element_id in specials)
        rng.shuffle(opened)
        keep = rng.randint(1, len(opened)) if self.stops_at("special_acceptance") else 0
        for element in opened[: len(opened) - keep]:
            yield self.later(rng.randint(2, 8))
            self.step(element, specials[element])
        if keep:
            return
        yield self.later(rng.randint(1, 3))
        self.step(
            "issue_acceptance",
            {
                "acceptance_result": "passed",
                "acceptance_opinion": "各专项验收合格，同意通过联合验收。",
                "acceptance_report": w.attach("联合验收意见书.pdf"),
            },
        )

    def production(self) -> Iterator[datetime]:
        w, p, rng = self.w, self.p, self.rng
        if self.stops_at("confirm_production"):
            return
        yield self.later(rng.randint(8, 25))
        self.step(
            "confirm_production",
            {"production_date": iso_day(w.now()), "production_capacity": p.capacity},
        )
        if self.stops_at("monitor_operation"):
            return
        kinds = ["orders", "funds", "materials"]
        rng.shuffle(kinds)
        for kind in kinds[: rng.randint(1, 2)]:
            yield self.later(rng.randint(10, 30))
            self.step(
                "monitor_operation",
                {
                    "operation_event": "service_request",
                    "request_kind": kind,
                    "request_detail": catalog.SERVICE_REQUESTS[kind],
                },
            )
            if self.stops_at("service_request"):
                return
            yield self.later(rng.randint(2, 6))
            answer = next(
                (t for t in w.open_tasks(p.iid) if t.element_id == "answer_service_request"), None
            )
            if answer is not None:
                w.complete(
                    answer,
                    {
                        "service_result": "resolved",
                        "service_response": catalog.SERVICE_ANSWERS[kind],
                    },
                )
        self.settle_escalations(everything=True)
        if p.ending == "exit_closure":
            # A mine project whose mine is being closed: its 关闭退出 (licences cancelled) is
            # still under way "today", so the project stays in operation. Exiting it now would
            # end the mine case too (the exit is a terminate end event, which ends the cases
            # it called) before its 注销 steps are done.
            return
        if p.ending == "full_production":
            yield self.later(rng.randint(10, 30))
            self.step(
                "monitor_operation",
                {
                    "operation_event": "full_production",
                    "output_value": rng.randrange(20000, 200000, 1000),
                },
            )

    def exit(self, mode: str, reason: str) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.settle_escalations(everything=True)
        self.step("decide_exit", {"exit_mode": mode, "exit_reason": reason})
        yield self.later(rng.randint(3, 10))
        if mode == "breach":
            self.step(
                "pursue_breach",
                {
                    "breach_measures": "解除投资协议，追缴已兑现的奖补资金。",
                    "recovered_amount": rng.randrange(100, 800, 10),
                },
            )
        elif mode == "idle_land":
            self.step(
                "reclaim_idle_land",
                {
                    "reclaimed_area_ha": round(rng.uniform(3, 20), 1),
                    "reclaim_doc_no": doc_no("昆自然资收", w, rng),
                },
            )
        else:
            self.step(
                "close_enterprise",
                {"closure_date": iso_day(w.now()), "closure_measures": "停产关闭，妥善安置职工。"},
            )
