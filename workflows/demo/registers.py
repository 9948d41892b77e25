"""A made-up register for the demo (演示数据): eight enterprises, their mines in each status,
two 选矿厂 and two 尾矿库 (one 闭库), spread over 昆河镇, 卜尔汉图镇 and 昆北街道办事处.

Every name, code and licence number here is invented; every entry is marked ``demo`` and its
notes say 演示数据. ``load_demo_registers(engine, actor)`` writes them once (an enterprise whose
统一社会信用代码 is already registered is left alone) and returns what it did. Licence expiry
dates are set around the demo's "today" (28 November 2026): some expired, some within three
months, the rest later. Where the org chart has no 昆河镇 yet (``kunhe``), its entries go to
卜尔汉图镇 and the summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from engine import Actor

from ..registers.entries import Registers
from ..registers.fields import credit_code_check_char
from ..registers.tables import enterprise as enterprise_table

NOTE = "演示数据（虚构，仅供演示）"


def _code(serial: int) -> str:
    """A made-up but well-formed 统一社会信用代码 (91 = 企业, 150203 = 昆都仑区)."""
    first17 = f"91150203MA{serial:06d}N"
    return first17 + credit_code_check_char(first17)


ENTERPRISES = [
    # (serial, name, town, industry, status, contact)
    (1, "包头市昆河金石矿业有限公司", "kunhe", "铁矿采选", "运营", "张建平 0472-5100101"),
    (
        2,
        "包头卜尔汉图砂石料有限责任公司",
        "buerhantu",
        "建筑用砂石开采",
        "运营",
        "李春生 0472-5100102",
    ),
    (3, "内蒙古昆北萤石开发有限公司", "kunbei", "萤石开采", "运营", "王海燕 0472-5100103"),
    (4, "包头市阿尔丁石灰岩矿业有限公司", "buerhantu", "石灰岩开采", "停产", "赵志军 0472-5100104"),
    (5, "包头昆河稀土选矿有限公司", "kunhe", "稀土选矿", "运营", "孙丽华 0472-5100105"),
    (6, "包头市北山白云岩有限公司", "kunbei", "白云岩开采", "运营", "周永强 0472-5100106"),
    (7, "包头市卜尔汉图建材矿业有限公司", "buerhantu", "建材矿开采", "运营", "吴志刚 0472-5100107"),
    (8, "包头市昆都仑尾矿综合利用有限公司", "kunhe", "尾矿综合利用", "运营", "郑秀英 0472-5100108"),
]

MINES = [
    # (enterprise serial, name, town, mineral, status, mining no, mining issued, mining expiry,
    #  safety no, safety expiry, scale)
    (
        1,
        "昆河铁矿（演示）",
        "kunhe",
        "铁矿",
        "生产",
        "C1502032010127130000001",
        date(2016, 3, 1),
        date(2027, 2, 28),
        "（蒙）FM安许证字〔2024〕0101号",
        date(2027, 5, 10),
        "30万吨/年",
    ),
    (
        2,
        "卜尔汉图砂石矿（演示）",
        "buerhantu",
        "建筑用砂",
        "生产",
        "C1502032018047140000002",
        date(2018, 4, 15),
        date(2028, 4, 14),
        "（蒙）FM安许证字〔2023〕0102号",
        date(2026, 12, 20),
        "50万立方米/年",
    ),
    (
        3,
        "昆北萤石矿（演示）",
        "kunbei",
        "萤石",
        "整合技改",
        "C1502032012067150000003",
        date(2012, 6, 1),
        date(2029, 5, 31),
        "（蒙）FM安许证字〔2022〕0103号",
        date(2026, 10, 31),
        "10万吨/年",
    ),
    (
        4,
        "阿尔丁石灰岩矿（演示）",
        "buerhantu",
        "水泥用石灰岩",
        "停产停建",
        "C1502032014087160000004",
        date(2014, 8, 1),
        date(2027, 7, 31),
        "（蒙）FM安许证字〔2024〕0104号",
        date(2027, 9, 30),
        "20万吨/年",
    ),
    (
        6,
        "北山白云岩矿（演示）",
        "kunbei",
        "白云岩",
        "临近关闭",
        "C1502032009037170000005",
        date(2009, 3, 1),
        date(2027, 1, 31),
        "（蒙）FM安许证字〔2024〕0105号",
        date(2027, 3, 31),
        "5万吨/年",
    ),
    (
        7,
        "卜尔汉图建材矿（演示）",
        "buerhantu",
        "建筑石料用灰岩",
        "生产",
        "C1502032020097180000006",
        date(2020, 9, 1),
        date(2030, 8, 31),
        "（蒙）FM安许证字〔2025〕0106号",
        date(2028, 6, 30),
        "40万吨/年",
    ),
]

PLANTS = [
    (
        5,
        "昆河稀土选矿厂（演示）",
        "kunhe",
        "生产",
        "日处理原矿 2000 吨",
        "（蒙）FM安许证字〔2024〕0201号",
        date(2027, 8, 31),
        "91150203PW0001",
        date(2028, 12, 31),
    ),
    (
        1,
        "金石铁矿选矿厂（演示）",
        "kunhe",
        "停产",
        "日处理原矿 800 吨",
        "（蒙）FM安许证字〔2023〕0202号",
        date(2027, 1, 15),
        "91150203PW0002",
        date(2027, 6, 30),
    ),
]

TAILINGS = [
    (
        8,
        "昆河尾矿库（演示）",
        "kunhe",
        "三等",
        "运行",
        None,
        "总库容 1200 万立方米",
        "（蒙）FM安许证字〔2024〕0301号",
        date(2027, 4, 30),
    ),
    (
        1,
        "金石沟尾矿库（演示）",
        "kunhe",
        "五等",
        "闭库",
        date(2025, 10, 20),
        "总库容 80 万立方米",
        None,
        None,
    ),
]


@dataclass
class DemoRegisterSummary:
    enterprises: int = 0
    mines: int = 0
    plants: int = 0
    tailings: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def load_demo_registers(engine, actor: Actor) -> DemoRegisterSummary:
    """Write the demo register once (idempotent by 统一社会信用代码); ``actor`` is recorded as
    who made the entries."""
    regs = Registers(engine)
    towns = regs.towns()
    summary = DemoRegisterSummary()
    fallback = {}
    for town in ("kunhe", "buerhantu", "kunbei"):
        if town not in towns:
            fallback[town] = "buerhantu" if town != "buerhantu" else next(iter(towns))
            summary.notes.append(f"组织机构中没有 {town}，其演示条目记在 {fallback[town]}")

    def town_of(code: str) -> str:
        return fallback.get(code, code)

    with engine.unit_of_work() as uow:
        conn = uow.conn
        ids = {}
        for serial, name, town, industry, status, contact in ENTERPRISES:
            code = _code(serial)
            found = conn.execute(
                sa.select(enterprise_table.c.id).where(enterprise_table.c.credit_code == code)
            ).scalar()
            if found is not None:
                summary.skipped += 1
                continue
            values = {
                "name": name,
                "credit_code": code,
                "town": town_of(town),
                "industry": industry,
                "status": status,
                "contact": contact,
                "address": f"包头市昆都仑区{towns.get(town_of(town), '')}（演示地址）",
                "notes": NOTE,
            }
            ids[serial] = regs.insert(
                conn, "enterprise", regs.clean(conn, "enterprise", values), actor, demo=True
            )
            summary.enterprises += 1

        def add(kind: str, serial: int, values: dict) -> None:
            if serial not in ids:  # its enterprise was there already: so is the facility
                return
            values = {**values, "enterprise_id": ids[serial], "notes": NOTE}
            values["town"] = town_of(values["town"])
            regs.insert(conn, kind, regs.clean(conn, kind, values), actor, demo=True)
            counter = {"mine": "mines", "plant": "plants", "tailings": "tailings"}[kind]
            setattr(summary, counter, getattr(summary, counter) + 1)

        for (
            serial,
            name,
            town,
            mineral,
            status,
            m_no,
            m_issued,
            m_expiry,
            s_no,
            s_expiry,
            scale,
        ) in MINES:
            add(
                "mine",
                serial,
                {
                    "name": name,
                    "town": town,
                    "mineral": mineral,
                    "status": status,
                    "mining_licence_no": m_no,
                    "mining_licence_issued": m_issued,
                    "mining_licence_expiry": m_expiry,
                    "safety_licence_no": s_no,
                    "safety_licence_issued": date(s_expiry.year - 3, s_expiry.month, 1),
                    "safety_licence_expiry": s_expiry,
                    "scale": scale,
                },
            )
        for serial, name, town, status, capacity, s_no, s_expiry, p_no, p_expiry in PLANTS:
            add(
                "plant",
                serial,
                {
                    "name": name,
                    "town": town,
                    "status": status,
                    "capacity": capacity,
                    "safety_licence_no": s_no,
                    "safety_licence_expiry": s_expiry,
                    "discharge_permit_no": p_no,
                    "discharge_permit_expiry": p_expiry,
                },
            )
        for serial, name, town, grade, status, closed_on, capacity, s_no, s_expiry in TAILINGS:
            add(
                "tailings",
                serial,
                {
                    "name": name,
                    "town": town,
                    "grade": grade,
                    "status": status,
                    "closed_on": closed_on,
                    "capacity": capacity,
                    "safety_licence_no": s_no,
                    "safety_licence_expiry": s_expiry,
                },
            )
        uow.commit()
    return summary
