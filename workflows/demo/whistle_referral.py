"""The demo's 街镇吹哨、部门报到: ``whistle_referral`` instances, each following a script of
steps (blow, sign, accept, arrive, handle, feed back, rate, urge)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from .world import World, iso_day

# Scripts of the referrals (街镇吹哨、部门报到): when each case starts (China time) and its
# steps, each after a number of working days (or on a date). Which report each script gets
# is drawn from the seed (``plan_demo``).
WHISTLE_SCRIPTS = [
    (
        datetime(2026, 9, 8, 9, 30),
        [
            (0, "blow"),
            (0, "sign"),
            (0, "accept"),
            (1, "arrive"),
            (3, "handle"),
            (0, "feedback"),
            (1, "rate:satisfied"),
        ],
    ),
    (
        datetime(2026, 9, 22, 10, 0),
        [
            (0, "blow"),
            (0, "sign"),
            (0, "accept"),
            (1, "arrive"),
            (4, "handle"),
            (0, "feedback"),
            (2, "rate:unsatisfied"),
            (4, "handle"),
            (0, "feedback"),
            (2, "rate:unsatisfied"),
            (5, "handle"),
            (0, "feedback"),
            (2, "rate:unsatisfied"),
        ],
    ),
    (
        datetime(2026, 10, 10, 9, 0),
        [
            (0, "blow"),
            (0, "sign"),
            (0, "accept"),
            (1, "arrive"),
            (2, "handle"),
            (0, "feedback"),
            (1, "rate:unsatisfied"),
            (3, "handle"),
            (0, "feedback"),
            (1, "rate:satisfied"),
        ],
    ),
    (
        datetime(2026, 10, 28, 14, 0),
        [
            (0, "blow"),
            (0, "sign"),
            (0, "accept"),
            (1, "arrive"),
            (4, "handle:1"),
            (0, "feedback:1"),
            (date(2026, 11, 12), "supervise"),
        ],
    ),
    (
        datetime(2026, 11, 16, 9, 40),
        [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"), (4, "handle"), (1, "feedback")],
    ),
    (
        datetime(2026, 11, 25, 10, 15),
        [(0, "blow"), (0, "sign"), (date(2026, 11, 27), "urge_accept")],
    ),
    (datetime(2026, 11, 27, 14, 50), [(0, "blow"), (0, "sign"), (0, "accept")]),
    (datetime(2026, 11, 27, 16, 10), [(0, "blow")]),
]
# Scripts of the referrals of the other 13 街镇 (one report each, ``catalog.WHISTLES``): each
# leaves work in the 街镇's own queue "today" — the result to rate (评价), a rework to rate
# again, a whistle its head has still to sign (签发) or one just registered (吹哨).
_HANDLED = [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"), (3, "handle"), (0, "feedback")]
_REWORKED = [*_HANDLED, (1, "rate:unsatisfied"), (3, "handle"), (0, "feedback")]
STREET_SCRIPTS = [
    (datetime(2026, 10, 12, 9, 20), _REWORKED),
    (datetime(2026, 10, 19, 10, 10), _HANDLED),
    (datetime(2026, 10, 26, 14, 30), _HANDLED),
    (datetime(2026, 11, 2, 9, 0), _REWORKED),
    (datetime(2026, 11, 4, 15, 20), _HANDLED),
    (datetime(2026, 11, 9, 10, 40), _HANDLED),
    (datetime(2026, 11, 12, 9, 50), _HANDLED),
    (datetime(2026, 11, 16, 14, 10), _HANDLED),
    (datetime(2026, 11, 18, 11, 0), _HANDLED),
    (
        datetime(2026, 11, 23, 9, 30),
        [(0, "blow"), (0, "sign"), (0, "accept"), (1, "arrive"), (2, "handle"), (0, "feedback")],
    ),
    (datetime(2026, 11, 26, 15, 40), [(0, "blow")]),
    (datetime(2026, 11, 27, 10, 20), [(0, "blow")]),
    (datetime(2026, 11, 27, 16, 30), []),
]
# The category of the report some scripts need (the 2nd escalates to the 包联 leader, the 4th
# is a hard case for two departments, the 7th urgent); the others take any report.
WHISTLE_SHAPE = {1: "construction", 3: "construction_dust", 6: "safety"}


class Whistle:
    def __init__(
        self, w: World, key: str, report: tuple, start: datetime, steps: list, rng: random.Random,
        project_code: str | None = None,
    ):
        self.w, self.key, self.rng = w, key, rng
        self.street, category, urgency, title, location, description, enterprise = report
        self.report = {
            "problem_title": title,
            "category": category,
            "urgency": urgency,
            "location": location,
            "problem_description": description,
            "reporter_phone": f"0472-{rng.randint(2100000, 2199999)}",
        }
        if enterprise:
            self.report["enterprise_name"] = enterprise
        if project_code:  # 关联项目代码: the whistle concerns one of the district's projects
            self.report["project_code"] = project_code
        self.start, self.steps, self.iid = start, steps, None

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        self.report["scene_photos"] = w.attach("现场照片.jpg")
        # the case records the starter's 街镇 (the diagram's starter_department)
        self.iid = w.start(
            "whistle_referral", f"{self.street}-clerk", self.key, self.report["problem_title"]
        )
        for wait, action in self.steps:
            if isinstance(wait, date):
                yield w.on(wait, rng)
            elif wait or action != "blow":
                yield (
                    w.workdays(wait, rng)
                    if wait
                    else w.now() + timedelta(minutes=rng.randint(20, 90))
                )
            self.act(action)

    def act(self, action: str) -> None:
        w, iid, rng = self.w, self.iid, self.rng
        kind, _, arg = action.partition(":")
        limit = int(arg) if arg.isdigit() else None
        if kind not in ("blow", "sign", "urge_accept", "supervise"):
            # the 督查室 deals with the urges the timers raised while the case waited
            w.each(
                iid,
                "urge_accept",
                lambda t: {"urge_method": "phone", "urge_note": "已电话督促责任部门接单"},
            )
            w.each(
                iid,
                "urge_arrival",
                lambda t: {"urge_method": "phone", "urge_note": "已电话督促责任部门尽快到场"},
            )
        if kind == "blow":
            w.do(iid, "blow_whistle", self.report)
        elif kind == "sign":
            w.do(
                iid,
                "sign_whistle",
                {"sign_decision": "sign", "head_opinion": "镇（街道）无法单独解决，同意吹哨"},
            )
        elif kind == "accept":
            w.each(
                iid,
                "accept_referral",
                lambda t: {
                    "handler_name": w.engine.get_user(f"{t.department_code}-clerk").display_name,
                    "handler_phone": f"0472-{rng.randint(2100000, 2199999)}",
                    "responsibility_confirmed": True,
                },
            )
        elif kind == "arrive":
            w.each(
                iid,
                "arrive_on_site",
                lambda t: {
                    "arrival_date": iso_day(w.now()),
                    "arrival_note": "已到场核实，问题属实",
                    "arrival_photos": w.attach("到场照片.jpg"),
                },
            )
        elif kind == "handle":
            w.each(
                iid,
                "handle_problem",
                lambda t: {
                    "measures": "下达责令整改通知书，依法立案查处",
                    "handling_result": "solved",
                    "handling_evidence": w.attach("处置佐证.jpg"),
                },
                limit,
            )
        elif kind == "feedback":
            w.each(
                iid,
                "feed_back",
                lambda t: {
                    "feedback_summary": "已处置完毕，问题已整改到位",
                    "feedback_date": iso_day(w.now()),
                },
                limit,
            )
        elif kind == "rate":
            w.do(
                iid,
                "rate_result",
                {
                    "rating": arg,
                    "rating_note": "处置到位" if arg == "satisfied" else "问题反弹，群众仍有投诉",
                },
            )
        elif kind in ("urge_accept", "supervise"):
            element = "urge_accept" if kind == "urge_accept" else "supervise_handling"
            w.each(
                iid,
                element,
                lambda t: {"urge_method": "phone", "urge_note": "已电话督促责任部门限时办理"},
            )
