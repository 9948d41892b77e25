"""Every process a register entry can start (workflows/registers/starts.py STARTS, contract of
issue 12) starts from an entry of each kind it allows, with only the register's start
variables, warm and cold: its first human step routes to a department, the case is linked to
the entry and shows on the entry's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.conftest import actor
from tests.processes.conftest import Driver, library_deploy
from workflows.registers.entries import Registers
from workflows.registers.fields import credit_code_check_char
from workflows.registers.starts import STARTS, RegisterCases

T0 = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # 2026-09-01 10:00 in Beijing

# who starts each process (the departments its start lane or start_departments name)
STARTER = {
    "hazard_rectification": "emergency-clerk",
    "radioactive_check": "eco-clerk",
    "mine_closure": "emergency-clerk",
    "service_request": "invest-clerk",
    "river_sand": "agri-clerk",
}
CASES = [(key, kind) for key, kinds in STARTS.items() for kind in kinds]


def _credit_code(serial: int) -> str:
    first17 = f"91150203MA{serial:06d}T"
    return first17 + credit_code_check_char(first17)


def _entry(engine, regs: Registers, kind: str) -> dict:
    ent = regs.create("enterprise", {"name": "包头某矿业有限公司", "credit_code": _credit_code(7),
                                     "town": "kunhe", "status": "运营"},
                      actor(engine, "invest-clerk"))
    if kind == "enterprise":
        return ent
    values = {"name": {"mine": "某铁矿", "plant": "某选矿厂", "tailings": "某尾矿库"}[kind],
              "enterprise_id": ent["id"], "town": "kunhe"}
    values["status"] = {"mine": "生产", "plant": "生产", "tailings": "运行"}[kind]
    if kind == "mine":
        values.update(mining_licence_no="C150203009", mining_licence_issued="2020-01-01",
                      mining_licence_expiry="2028-12-31")
    return regs.create(kind, values, actor(engine, "emergency-clerk"))


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
@pytest.mark.parametrize(("process_key", "kind"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_a_register_entry_starts_the_process_with_its_variables_alone(engine, process_key,
                                                                      kind, cold):
    regs = Registers(engine)
    entry = _entry(engine, regs, kind)
    library_deploy(engine, process_key)
    starter = actor(engine, STARTER[process_key])
    drv = Driver(engine, cold)
    try:
        with time_machine.travel(T0, tick=False):
            cases = RegisterCases(Registers(drv.engine))
            assert process_key in [o["key"] for o in cases.offered(kind, starter)]
            info = cases.start(kind, entry["id"], process_key, starter)
            page = RegisterCases(Registers(drv.engine)).entry_page(kind, entry["id"], starter)
    finally:
        drv.close()
    case = drv.reader.get_instance(info.id, actor(engine, "admin"), True)
    assert case.status == "running"
    assert (case.data["register_kind"], case.data["register_id"]) == (kind, entry["id"])
    assert case.tasks, f"{process_key} started from a {kind} waits on no human step"
    assert all(t.department_code for t in case.tasks), [
        (t.element_id, t.department_code) for t in case.tasks]
    assert [c["instance_id"] for c in page["cases"]] == [info.id]
