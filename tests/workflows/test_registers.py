"""Registers of enterprises, mines, 选矿厂 and 尾矿库 (workflows/registers): validation in
Chinese, who reads and edits what, licences close to expiry, cases started from an entry (warm
and cold), the demo register."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from engine import Forbidden, InvalidInput
from tests.conftest import actor
from tests.processes.conftest import Driver, library_deploy
from workflows.demo.registers import load_demo_registers
from workflows.registers.entries import Registers
from workflows.registers.fields import credit_code_check_char
from workflows.registers.starts import STARTS, RegisterCases
from workflows.registers.tables import register_case, register_event

# 2026-09-01 10:00 in Beijing
T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


def code(serial: int) -> str:
    first17 = f"91150203MA{serial:06d}T"
    return first17 + credit_code_check_char(first17)


def firm(serial: int = 1, **values) -> dict:
    return {
        "name": f"包头测试矿业有限公司{serial}",
        "credit_code": code(serial),
        "town": "buerhantu",
        "status": "运营",
        **values,
    }


def a_mine(enterprise_id: int, **values) -> dict:
    return {
        "name": "测试铁矿",
        "enterprise_id": enterprise_id,
        "town": "卜尔汉图镇",
        "status": "生产",
        "mining_licence_no": "C150203001",
        "mining_licence_issued": "2020-01-01",
        "mining_licence_expiry": "2026-11-30",
        **values,
    }


@pytest.fixture
def regs(engine):
    return Registers(engine)


@pytest.fixture
def setup(engine, regs):
    """An enterprise (by 区招商部门) and its mine (by 区应急局)."""
    ent = regs.create("enterprise", firm(), actor(engine, "invest-clerk"))
    mine = regs.create("mine", a_mine(ent["id"]), actor(engine, "emergency-clerk"))
    return ent, mine


def problems(exc) -> dict:
    return {p["field"]: p["message"] for p in exc.value.details["problems"]}


def test_an_entry_is_refused_with_every_problem_in_chinese(engine, regs, setup):
    ent, _mine = setup
    invest = actor(engine, "invest-clerk")
    with pytest.raises(InvalidInput) as exc:
        regs.create(
            "enterprise",
            firm(2, name="", credit_code=code(1), town="火星镇", status="营业"),
            invest,
        )
    found = problems(exc)
    assert found["name"] == "「企业名称」必须填写"
    assert found["town"] == "「属地街镇」不是本区的街镇：火星镇"
    assert found["status"].startswith("「经营状态」只能是运营、停产、注销")
    with pytest.raises(InvalidInput) as exc:
        regs.create("enterprise", firm(2, credit_code=code(1)), invest)
    assert problems(exc)["credit_code"] == (
        f"统一社会信用代码 {code(1)} 已登记（包头测试矿业有限公司1）"
    )
    with pytest.raises(InvalidInput) as exc:
        regs.create("enterprise", firm(2, credit_code=code(2)[:17] + "0"), invest)
    assert "校验位" in problems(exc)["credit_code"]
    emergency = actor(engine, "emergency-clerk")
    with pytest.raises(InvalidInput) as exc:
        regs.create(
            "mine",
            a_mine(
                ent["id"],
                status="半停产",
                mining_licence_expiry="2019-12-31",
                safety_licence_issued="2026-13-01",
            ),
            emergency,
        )
    found = problems(exc)
    assert found["status"].startswith(
        "「矿山状态」只能是生产、停产停建、整合技改、临近关闭、已关闭"
    )
    assert found["safety_licence_issued"].startswith("「安全生产许可证发证日期」不是有效日期")
    with pytest.raises(InvalidInput) as exc:
        regs.create("mine", a_mine(ent["id"], mining_licence_expiry="2019-12-31"), emergency)
    assert problems(exc) == {
        "mining_licence_expiry": "「采矿许可证有效期至」早于「采矿许可证发证日期」"
    }
    with pytest.raises(InvalidInput) as exc:
        regs.create(
            "tailings",
            {"name": "测试尾矿库", "enterprise_id": ent["id"], "town": "kunbei", "status": "闭库"},
            emergency,
        )
    assert problems(exc) == {"closed_on": "闭库的尾矿库须填写闭库日期"}


def test_updates_leave_audit_rows_and_keep_what_was_not_given(engine, regs, setup):
    _ent, mine = setup
    natres = actor(engine, "natres-clerk")
    changed = regs.update("mine", mine["id"], {"status": "停产停建"}, natres)
    assert changed["status"] == "停产停建" and changed["mining_licence_no"] == "C150203001"
    events = regs.events("mine", mine["id"])
    assert [(e["action"], e["actor"]) for e in events] == [
        ("update", "natres-clerk"),
        ("create", "emergency-clerk"),
    ]
    assert events[0]["data"] == {"status": "停产停建"}


def test_who_may_read_and_edit(engine, regs, setup):
    ent, mine = setup
    town = actor(engine, "buerhantu-clerk")
    with pytest.raises(Forbidden, match="不能登记或修改矿山名录"):
        regs.update("mine", mine["id"], {"status": "已关闭"}, town)
    with pytest.raises(Forbidden):
        regs.create("enterprise", firm(3), actor(engine, "emergency-clerk"))
    with pytest.raises(Forbidden):
        regs.create("mine", a_mine(ent["id"], name="另一矿"), actor(engine, "invest-clerk"))
    # a 街镇 reads its own 属地 only; bureaus and leaders read all
    assert [m["id"] for m in regs.list("mine", town)] == [mine["id"]]
    kunbei = actor(engine, "kunbei-clerk")
    assert regs.list("mine", kunbei) == [] and regs.list("enterprise", kunbei) == []
    with pytest.raises(Forbidden, match="不在本街镇属地"):
        regs.get("mine", mine["id"], kunbei)
    assert regs.get("mine", mine["id"], actor(engine, "leader"))["enterprise_name"] == ent["name"]
    assert [e["id"] for e in regs.list("enterprise", actor(engine, "eco-clerk"))] == [ent["id"]]


def test_licences_expiring_within_three_months_are_flagged(engine, regs, setup):
    _ent, mine = setup
    emergency = actor(engine, "emergency-clerk")
    # the 采矿许可证 expires on 2026-11-30: more than 3 months after 29 August, within them
    # from 30 August
    with time_machine.travel(datetime(2026, 8, 29, 2, 0, tzinfo=UTC), tick=False):
        assert regs.list("mine", emergency, expiring=True) == []
    with time_machine.travel(datetime(2026, 8, 30, 2, 0, tzinfo=UTC), tick=False):
        (flagged,) = regs.list("mine", emergency, expiring=True)
    assert flagged["licence_flags"] == [
        {
            "field": "mining_licence_expiry",
            "label": "采矿许可证",
            "expiry": date(2026, 11, 30),
            "state": "expiring",
        }
    ]
    with time_machine.travel(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), tick=False):
        (flagged,) = regs.list("mine", emergency, expiring=True)
        assert flagged["licence_flags"][0]["state"] == "expired"
        regs.update("mine", mine["id"], {"status": "已关闭"}, emergency)
        assert regs.list("mine", emergency, expiring=True) == []  # closed: nothing to renew


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_hazard_rectification_started_from_a_mine_shows_on_its_pages(engine, regs, setup, cold):
    ent, mine = setup
    library_deploy(engine, "hazard_rectification")
    drv = Driver(engine, cold)
    emergency = actor(engine, "emergency-clerk")
    try:
        with time_machine.travel(T0, tick=False):
            cases = RegisterCases(Registers(drv.engine))
            offered = cases.offered("mine", emergency)
            assert [o["key"] for o in offered] == ["hazard_rectification"]
            info = cases.start("mine", mine["id"], "hazard_rectification", emergency)
            assert info.business_key.startswith(f"KS-{mine['id']}-HR-20260901-")
            assert info.title == "测试铁矿：日常监督与隐患整改闭环"
            data = drv.reader.get_instance(info.id, actor(engine, "admin"), True).data
            assert {
                k: data[k]
                for k in (
                    "register_kind",
                    "register_id",
                    "register_name",
                    "enterprise_name",
                    "town",
                    "mine_name",
                    "licence_no",
                    "licence_expiry",
                    "mine_status",
                )
            } == {
                "register_kind": "mine",
                "register_id": mine["id"],
                "register_name": "测试铁矿",
                "enterprise_name": ent["name"],
                "town": "buerhantu",
                "mine_name": "测试铁矿",
                "licence_no": "C150203001",
                "licence_expiry": "2026-11-30",
                "mine_status": "生产",
            }
            drv.complete(
                info.id,
                "record_hazards",
                {
                    "enterprise_name": ent["name"],
                    "enterprise_head": "李建军",
                    "enterprise_phone": "0472-5123456",
                    "inspection_date": "2026-09-01",
                    "inspection_team": "区应急局 郑磊",
                    "hazard_level": "major",
                    "hazard_description": "排土场边坡无监测",
                    "legal_basis": "《安全生产法》",
                    "hazard_photos": ["att-1"],
                },
                expect_department="emergency",
            )
            page = RegisterCases(Registers(drv.engine)).entry_page(
                "enterprise", ent["id"], actor(engine, "buerhantu-clerk")
            )
    finally:
        drv.close()
    with engine.unit_of_work(readonly=True) as uow:
        rows = uow.conn.execute(sa.select(register_case)).mappings().all()
        starts = uow.conn.execute(
            sa.select(register_event.c.action).where(register_event.c.action == "start")
        ).all()
    assert [(r["kind"], r["entry_id"], r["instance_id"], r["started_by"]) for r in rows] == [
        ("mine", mine["id"], info.id, "emergency-clerk")
    ]
    assert len(starts) == 1
    assert [m["name"] for m in page["facilities"]["mine"]] == ["测试铁矿"]
    (case,) = page["cases"]
    assert (case["instance_id"], case["entry_name"], case["status_name"]) == (
        info.id,
        "测试铁矿",
        "办理中",
    )
    assert page["hazards"] == [
        {
            "instance_id": info.id,
            "entry_name": "测试铁矿",
            "level": "重大隐患",
            "description": "排土场边坡无监测",
            "state": case["stage"],
            "found_on": "2026-09-01",
        }
    ]
    assert [(i["what"], i["date"]) for i in page["inspections"]] == [("检查", "2026-09-01")]
    # the 街镇 may not start what its department may not
    assert page["offered"] == []
    with pytest.raises(Forbidden):
        RegisterCases(regs).start(
            "mine", mine["id"], "hazard_rectification", actor(engine, "buerhantu-clerk")
        )


def test_only_the_processes_of_the_entry_kind_are_offered(engine, regs, setup):
    ent, mine = setup
    invest = actor(engine, "invest-clerk")
    cases = RegisterCases(regs, {**STARTS, "sample_review": ("enterprise",)})
    assert [o["key"] for o in cases.offered("enterprise", invest)] == ["sample_review"]
    assert cases.offered("mine", invest) == []
    with pytest.raises(Forbidden, match="矿山名录不能发起该流程"):
        cases.start("mine", mine["id"], "sample_review", actor(engine, "admin"))
    info = cases.start("enterprise", ent["id"], "sample_review", invest)
    assert cases.record("enterprise", ent["id"], info, "invest-clerk") is False  # idempotent
    # a case whose row was lost is found again by its business key
    with engine.unit_of_work() as uow:
        uow.conn.execute(register_case.delete())
        uow.commit()
    assert cases.reconcile_cases("enterprise", ent["id"]) == 1
    assert cases.reconcile_cases("enterprise", ent["id"]) == 0
    assert [
        c["instance_id"] for c in cases.entry_page("enterprise", ent["id"], invest)["cases"]
    ] == [info.id]


def test_the_demo_register_loads_once(engine):
    admin = actor(engine, "admin")
    first = load_demo_registers(engine, admin)
    again = load_demo_registers(engine, admin)
    assert (first.enterprises, first.mines, first.plants, first.tailings) == (8, 6, 2, 2)
    assert (again.enterprises, again.mines, again.skipped) == (0, 0, 8)
    regs = Registers(engine)
    leader = actor(engine, "leader")
    assert {m["status"] for m in regs.list("mine", leader)} >= {
        "生产",
        "停产停建",
        "整合技改",
        "临近关闭",
    }
    assert sorted(t["status"] for t in regs.list("tailings", leader)) == ["运行", "闭库"]
    assert all(e["demo"] and "演示数据" in e["notes"] for e in regs.list("enterprise", leader))
