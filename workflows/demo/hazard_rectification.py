"""The demo's 隐患整改: ``hazard_rectification`` instances, each following a script of steps
(record, notice, rectify, review, interview, propose closure, shut down)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from .world import World, doc_no, iso_day

# Scripts of the hazards (隐患整改): the level, when each case starts (China time) and its
# steps, each after a number of working days (or on a date). Which firm each script gets is
# drawn from the seed (``plan_demo``).
HAZARD_SCRIPTS = [
    ("general", datetime(2026, 9, 3, 10, 0), [(0, "record"), (0, "notice"), (6, "rectify"),
                                              (2, "pass")]),
    ("major", datetime(2026, 9, 8, 9, 30), [(0, "record"), (1, "notice"), (12, "rectify"),
                                            (3, "fail"), (2, "interview"), (8, "rectify"),
                                            (3, "fail"), (2, "propose")]),
    ("major", datetime(2026, 9, 10, 14, 0), [(0, "record"), (0, "notice"), (7, "rectify"),
                                             (2, "fail"), (2, "interview"), (9, "rectify"),
                                             (2, "fail"), (1, "propose"), (3, "shutdown"),
                                             (3, "enforce"), (2, "punish"), (3, "inspect")]),
    ("major", datetime(2026, 9, 16, 10, 30), [(0, "record"), (0, "notice"),
                                              (date(2026, 11, 5), "fail"), (2, "interview")]),
    ("general", datetime(2026, 10, 12, 9, 0), [(0, "record"), (0, "notice"), (7, "rectify"),
                                               (2, "fail"), (1, "interview"), (4, "rectify"),
                                               (2, "pass")]),
    ("general", datetime(2026, 11, 2, 15, 0), [(0, "record"), (0, "notice")]),
    ("general", datetime(2026, 11, 16, 9, 30), [(0, "record"), (0, "notice"), (7, "rectify")]),
    ("general", datetime(2026, 11, 20, 10, 0), [(0, "record"), (0, "notice")]),
]

class Hazard:
    def __init__(self, w: World, key: str, level: str, firm: tuple, start: datetime, steps: list,
                 rng: random.Random, project_code: str | None = None):
        self.w, self.key, self.level, self.rng = w, key, level, rng
        self.project_code = project_code  # 关联项目代码, when the inspection concerns a project
        self.enterprise, self.head, _level, self.description, self.basis = firm
        self.start, self.steps, self.iid = start, steps, None

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.iid = w.start("hazard_rectification", "emergency-clerk", self.key,
                           f"{self.enterprise}隐患整改")
        for wait, action in self.steps:
            if isinstance(wait, date):
                yield w.on(wait, rng)
            elif wait:
                yield w.workdays(wait, rng)
            elif action != "record":
                yield w.now() + timedelta(minutes=rng.randint(30, 120))
            self.act(action)

    def act(self, action: str) -> None:
        w, iid, rng = self.w, self.iid, self.rng
        today = iso_day(w.now())
        if action == "record":
            w.do(iid, "record_hazards", {
                "enterprise_name": self.enterprise, "enterprise_head": self.head,
                "enterprise_phone": f"0472-{rng.randint(5100000, 5199999)}",
                "inspection_date": today, "inspection_team": "区应急局 郑磊、马福明（四不两直）",
                "hazard_level": self.level, "hazard_description": self.description,
                "legal_basis": self.basis, "hazard_photos": w.attach("隐患照片.jpg"),
                **({"project_code": self.project_code} if self.project_code else {})})
            if self.level == "major":  # 重大隐患: the firm's head is interviewed at once
                w.do(iid, "interview_major_hazard_head", {
                    "interview_date": today, "interviewee": self.head,
                    "interview_record": "通报重大事故隐患，要求限期整改到位",
                    "enterprise_commitment": "立即整改，按期报送整改佐证"})
        elif action == "notice":
            w.do(iid, "issue_rectification_notice", {
                "notice_number": doc_no("昆应急责改", w, rng),
                "rectification_requirements": "对照隐患清单逐项整改，整改完成后报送佐证材料",
                "notice_served_date": today, "notice_scan": w.attach("整改通知书.pdf")})
        elif action == "rectify":
            w.do(iid, "record_rectification", {
                "rectification_summary": "企业已按整改通知逐项整改", "completed_date": today,
                "rectification_evidence": w.attach("整改前后对比照片.jpg", "整改报告.pdf")})
        elif action in ("pass", "fail"):
            w.do(iid, "review_rectification", {
                "review_date": today, "review_result": action,
                "review_opinion": "整改到位，隐患销号" if action == "pass" else "整改不彻底，报警装置未联动"})
        elif action == "interview":
            w.do(iid, "interview_enterprise_head", {
                "interview_date": today, "interviewee": self.head,
                "interview_record": "指出整改不到位的问题，提出限期整改要求",
                "enterprise_commitment": "按期整改到位"})
        elif action == "propose":
            w.do(iid, "propose_closure", {
                "closure_reason": "两次复查不合格，屡改不合格",
                "legal_basis": "《中华人民共和国安全生产法》第一百一十三条",
                "proposal_files": w.attach("提请关停报告.pdf")})
        elif action == "shutdown":
            w.do(iid, "decide_closure", {"closure_decision": "shutdown",
                                         "decision_note": "同意依法关停"})
        elif action == "enforce":
            w.do(iid, "enforce_shutdown", {
                "shutdown_date": today, "shutdown_measures": "停止供电，查封生产装置并公告",
                "shutdown_files": w.attach("关停执行记录.pdf")})
        elif action == "punish":
            w.do(iid, "apply_joint_punishment", {
                "credit_decision": "punish",
                "credit_basis": "屡教不改被依法关停，认定为安全生产领域严重失信主体",
                "punishment_measures": "区发改委会同区应急局等部门实施联合惩戒",
                "credit_decision_date": today})
        elif action == "inspect":
            w.do(iid, "inspect_closure", {
                "closure_inspection_date": today, "closure_in_place": "yes",
                "planning_conformity": "unknown",
                "closure_inspection_record": "已停止供电，生产装置已查封，现场无生产迹象"})
