"""相互通报 of the mine chain in the notice inbox: the ``mine_notice`` a step of mine_approval
throws becomes a notice in each receiving department's inbox (and in no other), written in the
step's transaction: a step that rolls back leaves no notice (warm and cold)."""

from __future__ import annotations

import pytest

from tests.conftest import actor
from tests.processes.test_mine_approval import (
    consult,
    mine,  # noqa: F401  (the fixture)
    notices,
    open_ids,
    register,
    status,
)

RECIPIENTS = ["natres", "gov-data", "drc", "miit", "eco", "agri", "emergency", "buerhantu"]


def _inbox(engine, username):
    return engine.list_notices(actor(engine, username)).items


@pytest.mark.usefixtures("mine")
def test_a_refusal_is_notified_into_each_receiving_departments_inbox(driver):
    iid = register(driver, "XM-2026-N1")
    assert all(not _inbox(driver.reader, f"{d}-clerk") for d in ("drc", "natres"))
    consult(driver, iid, allowed=False)  # 区自然资源分局 decides 不予设立: 相互通报
    assert status(driver, iid) == "completed"
    assert notices(driver, "XM-2026-N1") == ["不予设立"]
    for code in RECIPIENTS:
        (notice,) = _inbox(driver.reader, f"{code}-clerk")
        assert (notice.kind, notice.subject, notice.department_code) == (
            "notice", "不予设立", code)
        assert (notice.instance_id, notice.business_key) == (iid, "XM-2026-N1")
        assert notice.sender == "区自然资源分局"
        assert "项目代码：XM-2026-N1" in notice.body and "结果：不予" in notice.body
    for other in ("housing", "kunbei", "supervision"):
        assert _inbox(driver.reader, f"{other}-clerk") == ()
    # read per member: the 区发改委's clerk reads it, its head still has it unread
    drc_notice = _inbox(driver.reader, "drc-clerk")[0]
    driver.reader.mark_notice_read(actor(driver.reader, "drc-clerk"), drc_notice.id)
    assert driver.reader.unread_notice_count(actor(driver.reader, "drc-clerk")) == 0
    assert driver.reader.unread_notice_count(actor(driver.reader, "drc-head")) == 1


@pytest.mark.usefixtures("mine")
def test_a_step_that_rolls_back_leaves_no_notice(engine, driver):
    if driver.cold:
        pytest.skip("the failing read model is added to the fixture's engine")
    iid = register(driver, "XM-2026-N2")

    def refuse_notices(conn, saved):
        if saved.messages:
            raise RuntimeError("the step fails after its notices were written")

    engine.add_read_model(refuse_notices)
    with pytest.raises(RuntimeError):
        consult(driver, iid, allowed=False)
    engine.context.read_models.remove(refuse_notices)
    assert open_ids(driver, iid) == {"decide_mining_allowed"}
    assert notices(driver, "XM-2026-N2") == []
    assert all(_inbox(engine, f"{code}-clerk") == () for code in RECIPIENTS)
