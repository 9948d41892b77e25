"""Cases the browser tests start from, driven through the real engine (never written as rows):
a non-coal mine case standing at 安全设施设计审查 in 区应急局, and an investment project lead."""

from __future__ import annotations

from engine import Engine
from tests.processes.test_mine_approval import FORM_DATA


class Steps:
    def __init__(self, engine: Engine):
        self.engine = engine

    def user(self, username: str):
        return self.engine.get_user(username).actor()

    def open(self, iid: int) -> dict:
        inst = self.engine.get_instance(iid, self.user("admin"))
        return {t.element_id: t for t in inst.tasks}

    def complete(self, iid: int, element_id: str, data: dict | None = None) -> None:
        tasks = [t for t in self.engine.get_instance(iid, self.user("admin")).tasks
                 if t.element_id == element_id]
        assert tasks, f"{element_id} is not open in {iid}: {sorted(self.open(iid))}"
        for t in tasks:
            role = "head" if t.candidate_role == "head" else "clerk"
            self.engine.complete(t.id, self.user(f"{t.department_code}-{role}"),
                                 {**FORM_DATA.get(element_id, {}), **(data or {})})


def mine_at_permits(engine: Engine, code: str) -> int:
    """A new sand-and-gravel mine (备案), driven through registration, 会商研判, 源头管控,
    备案 and 采矿登记 to the parallel permits its DMN requires (环评 in 区生态环境分局, 安全设施设计
    受理 in 区应急局, ...)."""
    s = Steps(engine)
    inst = engine.start("mine_approval", s.user("natres-clerk"), business_key=code,
                        title=f"{code} 砂石矿")
    s.complete(inst.id, "register_mine_case", {
        "project_code": code, "mine_name": f"昆都仑区{code}砂石矿",
        "applicant": "包头市鑫源砂石有限公司", "mineral": "sand_gravel", "project_kind": "new",
        "cross_county": False, "capacity_change": False, "water_use": False,
        "forest_land": False, "new_land": False,
    })
    s.complete(inst.id, "give_consultation_opinion")
    s.complete(inst.id, "decide_mining_allowed")
    for element in ("check_source_control", "review_development_plans"):  # before 核准/备案
        s.complete(inst.id, element)
    opened = s.open(inst.id)
    if "file_project_record" in opened:
        s.complete(inst.id, "file_project_record")
    else:
        for element in ("accept_approval_application", "drc_approval_opinion",
                        "miit_approval_opinion", "record_approval_decision"):
            s.complete(inst.id, element)
    s.complete(inst.id, "record_mining_registration")
    return inst.id


def mine_at_safety_design_review(engine: Engine, code: str) -> int:
    """The same case with every other permit granted and the design accepted (受理): it stands
    at 安全设施设计审查 (区应急局)."""
    s = Steps(engine)
    iid = mine_at_permits(engine, code)
    for element in sorted(s.open(iid)):
        if element != "accept_safety_design":
            s.complete(iid, element)
    s.complete(iid, "accept_safety_design")
    assert "review_safety_design" in s.open(iid), sorted(s.open(iid))
    return iid
