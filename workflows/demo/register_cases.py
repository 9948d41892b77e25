"""The demo's cases started from register entries (演示名录, ``registers.py``): daily supervision
of the registered mines and the tailings pond (hazard_rectification, some finding nothing, some
hazards), a 伴生放射性 check of the 稀土选矿厂 (radioactive_check), a 河道采砂 permit and an
enforcement (river_sand), and 三在三找 requests of operating firms (service_request), some
recorded by the firm's 街镇.

Each case is started the way the entry page's 发起 button starts it —
``RegisterCases.start`` (workflows/registers/starts.py), so its ``register_case`` row and
``start`` event exist and the entry's page lists it — then follows a script of steps on the
demo's timeline, part-way: "today" some are finished and some open. The business key is the
register's (``KS-3-HR-20260914-XXXX``), whose last four characters are random; everything else
is drawn from the seed.

``mine_closure`` (关闭 of a mine the government decides to close) is started from the 临近关闭
mine when that process is deployed (``start_mine_closure``); until then it is skipped and the
summary says so.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from engine import NotFound

from ..registers.entries import Registers
from ..registers.starts import RegisterCases
from ..registers.tables import TABLES, register_case
from .world import World, doc_no, iso_day

TODAY_MARK = "@today"  # in a step's data: the China date the step is done on
CLOSURE_KEY = "mine_closure"


def _inspection(level: str, description: str, basis: str | None, head: str) -> dict:
    data = {
        "enterprise_head": head,
        "enterprise_phone": "0472-51001{:02d}",
        "inspection_date": TODAY_MARK,
        "inspection_team": "区应急局 郑磊、马福明（四不两直）",
        "hazard_level": level,
        "hazard_description": description,
        "hazard_photos": "photo",
    }
    if basis:
        data["legal_basis"] = basis
    return data


NOTICE = {
    "notice_number": "doc:昆应急责改",
    "rectification_requirements": "对照隐患清单逐项整改，整改完成后报送佐证材料",
    "notice_served_date": TODAY_MARK,
    "notice_scan": "file:整改通知书.pdf",
}
RECTIFIED = {
    "rectification_summary": "企业已按整改通知逐项整改",
    "completed_date": TODAY_MARK,
    "rectification_evidence": "file:整改前后对比照片.jpg",
}


def _review(result: str) -> dict:
    return {
        "review_date": TODAY_MARK,
        "review_result": result,
        "review_opinion": "整改到位，隐患销号" if result == "pass" else "整改不彻底，须继续整改",
    }


MAJOR_INTERVIEW = {
    "interview_date": TODAY_MARK,
    "interviewee": "企业主要负责人",
    "interview_record": "通报重大事故隐患，要求限期整改到位",
    "enterprise_commitment": "立即整改，按期报送整改佐证",
}


@dataclass
class RegisterScript:
    """One case started from an entry: which entry (kind, name), which process, who starts it
    and when (China time), and its steps (working days to wait or a date, element id, data)."""

    kind: str
    entry: str
    process_key: str
    starter: str
    start: datetime
    steps: list = field(default_factory=list)


# Daily supervision (日常监督检查) of registered mines, one in each status, and of the tailings
# pond; a 伴生放射性 check; 河道采砂 permit and enforcement; 三在三找 requests of operating firms.
REGISTER_SCRIPTS = [
    RegisterScript(
        "mine",
        "昆河铁矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 9, 14, 9, 30),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "none", "检查了采场边坡、排土场、炸药库和应急预案，未发现隐患", None, "张建平"
                ),
            )
        ],
    ),
    RegisterScript(
        "mine",
        "阿尔丁石灰岩矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 10, 15, 10, 0),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "none", "停产停建期间检查：井口已封闭，设专人值守，未发现隐患", None, "赵志军"
                ),
            )
        ],
    ),
    RegisterScript(
        "mine",
        "北山白云岩矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 9, 22, 14, 0),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "general",
                    "1. 采场台阶坡面角超过设计；2. 爆破警戒标志缺失。",
                    "《金属非金属矿山安全规程》第五条",
                    "周永强",
                ),
            ),
            (0, "issue_rectification_notice", NOTICE),
            (6, "record_rectification", RECTIFIED),
            (2, "review_rectification", _review("pass")),
        ],
    ),
    RegisterScript(
        "mine",
        "卜尔汉图砂石矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 11, 9, 9, 40),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "general",
                    "1. 排土场未设置安全平台；2. 自卸车制动检测记录缺失。",
                    "《金属非金属矿山安全规程》第五条",
                    "李春生",
                ),
            ),
            (0, "issue_rectification_notice", NOTICE),
            (8, "record_rectification", RECTIFIED),
        ],
    ),  # 复查 open "today"
    RegisterScript(
        "mine",
        "昆北萤石矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 11, 17, 10, 20),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "major",
                    "1. 技改期间擅自恢复井下生产；2. 主通风机未形成双回路供电。",
                    "《金属非金属矿山重大事故隐患判定标准》第四条",
                    "王海燕",
                ),
            ),
            (0, "interview_major_hazard_head", MAJOR_INTERVIEW),
            (0, "issue_rectification_notice", NOTICE),
        ],
    ),  # 整改 open "today"
    RegisterScript(
        "mine",
        "卜尔汉图建材矿（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 11, 27, 9, 10),
    ),  # the check is planned: record_hazards open
    RegisterScript(
        "tailings",
        "昆河尾矿库（演示）",
        "hazard_rectification",
        "emergency-clerk",
        datetime(2026, 10, 20, 9, 0),
        [
            (
                0,
                "record_hazards",
                _inspection(
                    "none", "检查了坝体、排洪设施和在线监测，浸润线正常，未发现隐患", None, "郑秀英"
                ),
            )
        ],
    ),
    RegisterScript(
        "plant",
        "昆河稀土选矿厂（演示）",
        "radioactive_check",
        "eco-clerk",
        datetime(2026, 11, 10, 10, 0),
        [
            (
                0,
                "inspect_radiation_safety",
                {
                    "inspection_date": TODAY_MARK,
                    "inspection_team": "区生态环境分局 高峰、刘洋",
                    "checked_items": [
                        "radiation_safety",
                        "radioactive_waste",
                        "three_simultaneous",
                    ],
                    "radiation_monitoring": "厂界周围剂量当量率 0.18 μSv/h",
                    "check_result": "problems",
                    "findings": "放射性废渣临时堆存未设电离辐射标志、未防渗",
                },
            ),
            (
                1,
                "order_radiation_rectification",
                {
                    "order_no": "doc:昆环责改",
                    "rectification_requirements": "废渣库设置电离辐射标志，完成防渗",
                    "rectify_due_days": 15,
                    "order_served_date": TODAY_MARK,
                },
            ),
        ],
    ),  # 整改 open "today"
    RegisterScript(
        "enterprise",
        "包头卜尔汉图砂石料有限责任公司",
        "river_sand",
        "agri-clerk",
        datetime(2026, 9, 7, 10, 30),
        [
            (
                0,
                "register_sand_case",
                {
                    "case_kind": "permit",
                    "river_section": "昆都仑河 卜尔汉图镇段 K3+200—K3+800",
                    "case_summary": "申请在许可区段采砂",
                    "received_date": TODAY_MARK,
                },
            ),
            (
                1,
                "accept_sand_application",
                {
                    "acceptance": "accepted",
                    "acceptance_note": "材料齐全",
                    "acceptance_date": TODAY_MARK,
                },
            ),
            (
                9,
                "review_sand_application",
                {
                    "site_survey": "采区位于河道管理范围内，现场已查勘",
                    "flood_safety_opinion": "采砂深度控制在 2 米以内，对堤防无影响",
                    "review_recommendation": "grant",
                },
            ),
            (
                2,
                "decide_sand_permit",
                {
                    "permit_decision": "grant",
                    "decision_note": "同意",
                    "permit_decision_date": TODAY_MARK,
                },
            ),
            (
                3,
                "issue_sand_permit",
                {
                    "permit_no": "doc:昆农牧采砂",
                    "permit_scope": "K3+200—K3+800，深度 2 米，期限至 2026-12-31，许可量 2 万立方米",
                    "transport_slip_no": "CY-2026-0031",
                    "permit_served_date": TODAY_MARK,
                },
            ),
        ],
    ),
    RegisterScript(
        "enterprise",
        "包头市卜尔汉图建材矿业有限公司",
        "river_sand",
        "agri-clerk",
        datetime(2026, 10, 26, 15, 0),
        [
            (
                0,
                "register_sand_case",
                {
                    "case_kind": "enforcement",
                    "river_section": "昆都仑河 卜尔汉图镇段 K5+100",
                    "case_summary": "群众举报夜间在禁采区采砂",
                    "received_date": TODAY_MARK,
                },
            ),
            (
                2,
                "verify_sand_clue",
                {
                    "violation_found": "yes",
                    "violation_kind": "prohibited_zone",
                    "verification_record": "现场发现挖掘机 1 台，位于禁采区",
                    "verification_date": TODAY_MARK,
                },
            ),
            (
                2,
                "file_sand_case",
                {
                    "case_no": "doc:昆农牧立",
                    "case_facts": "在禁采区采砂",
                    "filing_date": TODAY_MARK,
                },
            ),
        ],
    ),  # 处罚决定 open "today"
    RegisterScript(
        "enterprise",
        "包头市昆河金石矿业有限公司",
        "service_request",
        "kunhe-clerk",
        datetime(2026, 10, 13, 9, 50),
        [
            (0, "record_service_request", "request:funds"),
            (4, "answer_service_request", "answer:funds"),
            (2, "record_firm_feedback", "feedback:yes"),
        ],
    ),
    RegisterScript(
        "enterprise",
        "包头昆河稀土选矿有限公司",
        "service_request",
        "invest-clerk",
        datetime(2026, 11, 18, 11, 0),
        [
            (0, "record_service_request", "request:materials"),
            (3, "answer_service_request", "answer:materials"),
        ],
    ),  # feedback open
    RegisterScript(
        "enterprise",
        "包头卜尔汉图砂石料有限责任公司",
        "service_request",
        "buerhantu-clerk",
        datetime(2026, 11, 19, 9, 20),
        [
            (0, "record_service_request", "request:orders"),
            (4, "answer_service_request", "answer:orders"),
        ],
    ),  # feedback open
    RegisterScript(
        "enterprise",
        "内蒙古昆北萤石开发有限公司",
        "service_request",
        "kunbei-clerk",
        datetime(2026, 11, 26, 10, 40),
    ),  # the 街镇 records it: open
    RegisterScript(
        "enterprise",
        "包头市北山白云岩有限公司",
        "service_request",
        "gov-data-clerk",
        datetime(2026, 11, 24, 14, 30),
        [(0, "record_service_request", "request:orders")],
    ),  # answer open
]

_REQUESTS = {
    "funds": "矿山安全改造资金缺口较大，申请对接政策性贷款和安全生产专项资金。",
    "materials": "选矿用药剂供应紧张，请求协调原料保障。",
    "orders": "砂石产品销路下滑，希望对接区内重点工程项目。",
}
_ANSWERS = {
    "funds": "已推荐纳入银企对接名单，协调合作银行授信2000万元。",
    "materials": "已协调上游企业签订年度供货协议，保障稳定供应。",
    "orders": "已组织与区重点工程施工单位对接，达成供货意向。",
}


def plan_register_cases() -> list[RegisterScript]:
    """The register-started cases of the demo (the same every time)."""
    return list(REGISTER_SCRIPTS)


class RegisterCase:
    """Drives one case started from a register entry."""

    def __init__(
        self,
        w: World,
        cases: RegisterCases,
        script: RegisterScript,
        entry_id: int,
        enterprise: str,
        rng: random.Random,
        project_code: str | None = None,
    ):
        self.w, self.cases, self.script, self.rng = w, cases, script, rng
        self.entry_id, self.enterprise = entry_id, enterprise
        self.project_code = project_code  # 关联项目代码 of a 三在三找 request
        self.iid: int | None = None

    def run(self) -> Iterator[datetime]:
        w, s = self.w, self.script
        w.commands += 2  # the start and the register_case row
        self.iid = self.cases.start(s.kind, self.entry_id, s.process_key, w.actor(s.starter)).id
        for wait, element_id, data in s.steps:
            if isinstance(wait, date):
                yield w.on(wait, self.rng)
            elif wait:
                yield w.workdays(wait, self.rng)
            else:
                yield w.now() + timedelta(minutes=self.rng.randint(30, 120))
            w.do(self.iid, element_id, self.data(data))

    def data(self, spec) -> dict:
        w, rng = self.w, self.rng
        if isinstance(spec, str):
            kind, _, arg = spec.partition(":")
            if kind == "request":
                return {
                    **({"project_code": self.project_code} if self.project_code else {}),
                    "enterprise_name": self.enterprise,
                    "contact_person": "企业联络员",
                    "contact_phone": f"139047{rng.randint(10000, 99999)}",
                    "request_kind": arg,
                    "request_content": _REQUESTS[arg],
                    "received_date": iso_day(w.now()),
                }
            if kind == "answer":
                return {
                    "service_result": "resolved",
                    "service_response": _ANSWERS[arg],
                    "answer_date": iso_day(w.now()),
                }
            return {
                "firm_satisfied": arg,
                "firm_feedback": "对接及时，问题已解决",
                "feedback_date": iso_day(w.now()),
            }
        result = {}
        for key, value in spec.items():
            if value == TODAY_MARK:
                value = iso_day(w.now())
            elif value == "photo":
                value = w.attach("检查照片.jpg")
            elif isinstance(value, str) and value.startswith("file:"):
                value = w.attach(value[5:])
            elif isinstance(value, str) and value.startswith("doc:"):
                value = doc_no(value[4:], w, rng)
            elif isinstance(value, str) and "{:02d}" in value:
                value = value.format(rng.randint(10, 99))
            result[key] = value
        if {"hazard_level", "inspection_team", "case_kind"} & set(result):
            result.setdefault("enterprise_name", self.enterprise)
        return result


def entry_ids(engine, kind: str, names: list[str]) -> dict[str, tuple[int, str]]:
    """name -> (id, enterprise name) of the register entries of ``kind`` named ``names``."""
    table = TABLES[kind]
    with engine.unit_of_work(readonly=True) as uow:
        if kind == "enterprise":
            rows = uow.conn.execute(
                sa.select(table.c.id, table.c.name, table.c.name).where(table.c.name.in_(names))
            ).all()
        else:
            firms = TABLES["enterprise"]
            rows = uow.conn.execute(
                sa.select(table.c.id, table.c.name, firms.c.name)
                .join(firms, firms.c.id == table.c.enterprise_id)
                .where(table.c.name.in_(names))
            ).all()
    return {name: (i, firm) for i, name, firm in rows}


def spawn_register_cases(w: World, sim, seed: int,
                         project_codes: dict[str, str] | None = None) -> list[RegisterCase]:
    """Spawn every register-started case on the simulation's timeline (the demo register must
    be loaded); ``project_codes``: ``reg-<n>`` -> the code of the project the n-th concerns.
    Returns the cases (their ``iid`` is set once they have started)."""
    from .world import utc

    cases = RegisterCases(Registers(w.engine))
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for kind in ("enterprise", "mine", "plant", "tailings"):
        names = [s.entry for s in REGISTER_SCRIPTS if s.kind == kind]
        if names:
            found |= {(kind, n): v for n, v in entry_ids(w.engine, kind, names).items()}
    spawned = []
    for n, script in enumerate(plan_register_cases(), start=1):
        if (script.kind, script.entry) not in found:
            continue  # the register was there before the demo, without this entry
        entry_id, firm = found[(script.kind, script.entry)]
        case = RegisterCase(w, cases, script, entry_id, firm, random.Random(f"{seed}:reg-{n}"),
                            (project_codes or {}).get(f"reg-{n}"))
        sim.spawn(utc(script.start), case.run())
        spawned.append(case)
    return spawned


def closure_deployed(engine) -> bool:
    try:
        engine.get_definition(CLOSURE_KEY)
    except NotFound:
        return False
    return True


def start_mine_closure(engine, actor_username: str = "emergency-clerk") -> int | None:
    """Hook for ``mine_closure`` (issue 12, mine helper): start 关闭 of the demo register's
    临近关闭 mine from its entry, as the entry page's 发起 button does. Returns the instance id,
    or None when ``mine_closure`` is not deployed or the register has no such mine. The demo
    calls it on its timeline (``load_demo``); the first step is left open for the user."""
    if not closure_deployed(engine):
        return None
    mines = TABLES["mine"]
    with engine.unit_of_work(readonly=True) as uow:
        entry_id = uow.conn.execute(
            sa.select(mines.c.id).where(mines.c.status == "临近关闭").order_by(mines.c.id)
        ).scalar()
        started = entry_id is not None and uow.conn.execute(
            sa.select(register_case.c.id).where(
                register_case.c.kind == "mine", register_case.c.entry_id == entry_id,
                register_case.c.process_key == CLOSURE_KEY)
        ).first()
    if entry_id is None or started:
        return None
    cases = RegisterCases(Registers(engine))
    return cases.start("mine", entry_id, CLOSURE_KEY, engine.get_user(actor_username).actor()).id
