"""mine_closure: 关闭 of a registered mine the government decides to close (contract §4),
started from a register entry by 区应急局 or 区自然资源分局 with only the register's variables,
driven warm and cold. The gazette: 区自然资源分局 负责…政府决定关闭的非煤矿山 (三（一）), 区应急局
指导监督…关闭 (三（七）), 区发改委 参与…关闭情况的监督检查 (三（二）), results 相互通报 (四（三）)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from engine import Forbidden
from engine.model import message
from tests.processes.conftest import library_deploy

T0 = datetime(2026, 9, 1, 1, 0)  # naive UTC: Tuesday 09:00 China time

REGISTER = {
    "register_kind": "mine",
    "register_id": 17,
    "register_name": "卜尔汉图石灰岩矿",
    "enterprise_name": "包头市某建材有限公司",
    "town": "buerhantu",
    "mine_name": "卜尔汉图石灰岩矿",
    "licence_no": "C1502002010047110",
    "licence_expiry": "2027-05-31",
    "mine_status": "临近关闭",
}


@pytest.fixture
def closure(engine, driver):
    result = library_deploy(engine, "mine_closure")
    assert result.definition.warnings == ()
    with time_machine.travel(T0, tick=False):
        yield


def _tasks(driver, iid):
    return driver.reader.get_instance(iid, driver.user("admin")).tasks


def _each(driver, iid, element_id, departments, data):
    tasks = [t for t in _tasks(driver, iid) if t.element_id == element_id]
    assert sorted(t.department_code for t in tasks) == sorted(departments)
    for t in tasks:
        driver.engine.complete(t.id, driver.user(driver.clerk_for(t)), data)


def _notices(driver):
    with driver.reader.db.connect() as conn:
        rows = conn.execute(
            sa.select(message.c.payload_json).where(message.c.name == "mine_notice")
        ).all()
    return [json.loads(r.payload_json) for r in rows]


@pytest.mark.parametrize(
    ("starter", "variables"),
    [
        ("emergency-clerk", REGISTER),
        ("natres-clerk", {"register_kind": "mine", "register_id": 18}),  # only what is required
    ],
)
def test_government_closure_cancels_licences_in_parallel_and_notifies(
    driver, closure, starter, variables
):
    inst = driver.engine.start("mine_closure", driver.user(starter), data=dict(variables))
    iid = inst.id
    tasks = {t.element_id: t for t in _tasks(driver, iid)}
    assert set(tasks) == {"record_closure_decision"}
    decision = tasks["record_closure_decision"]
    assert (decision.department_code, decision.candidate_role) == ("natres", "head")
    driver.complete(
        iid,
        "record_closure_decision",
        {
            "closure_reason": "government_decision",
            "closure_decision_no": "昆政发〔2026〕21号",
            "closure_note": "依区政府决定关闭",
        },
        expect_department="natres",
    )

    opened = {t.element_id for t in _tasks(driver, iid)}
    assert opened == {
        "cancel_mining_licence",
        "cancel_safety_licence",
        "cancel_discharge_permit",
        "inspect_closure",
    }
    driver.complete(
        iid,
        "cancel_safety_licence",
        {"safety_licence_cancelled_on": "2026-09-02"},
        expect_department="emergency",
    )
    driver.complete(
        iid,
        "cancel_discharge_permit",
        {"discharge_permit_cancelled_on": "2026-09-03"},
        expect_department="eco",
    )
    _each(
        driver,
        iid,
        "inspect_closure",
        ["drc", "emergency"],
        {"closure_inspection_result": "closed", "closure_inspection_note": "井口已封闭"},
    )
    assert {t.element_id for t in _tasks(driver, iid)} == {"cancel_mining_licence"}
    driver.complete(
        iid,
        "cancel_mining_licence",
        {"mining_licence_cancelled_on": "2026-09-10"},
        expect_department="natres",
    )

    assert not _tasks(driver, iid)
    assert driver.reader.get_instance(iid, driver.user("admin")).status == "completed"
    (notice,) = _notices(driver)
    assert notice["subject"] == "关闭退出"
    assert (notice["register_kind"], notice["register_id"]) == ("mine", variables["register_id"])
    assert notice["mine_name"] == variables.get("mine_name", "矿山")
    assert "drc" in notice["departments"] and "natres" in notice["departments"]
    assert ("buerhantu" in notice["departments"]) == ("town" in variables)


def test_only_the_emergency_and_natural_resources_bureaus_start_a_closure(driver, closure):
    with pytest.raises(Forbidden):
        driver.engine.start(
            "mine_closure",
            driver.user("eco-clerk"),
            data={"register_kind": "mine", "register_id": 1},
        )
