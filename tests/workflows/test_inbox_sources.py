"""Sources of the notice inbox in workflows/: 催办 of the 督查室 (workflows/ledger/urges.py
record_urges) in the unit's inbox, one notice of kind ``urge`` per unit, leading to its open
report task when it has one, else to the ledger row, written in the urge's transaction; a
``notify_departments`` payload thrown as a notice message reaches each recipient (names or
codes); the demo's inboxes are not empty."""

from __future__ import annotations

from datetime import datetime

from engine import SavedStep
from tests.conftest import ORG_FILE, actor
from tests.workflows.test_dashboard_supervision import MONTH, _ledger
from workflows.ledger.urges import record_urges
from workflows.notices import NoticeInbox, Notifier
from workflows.org import load_org


def _inbox(engine, username):
    return engine.list_notices(actor(engine, username)).items


def test_an_urge_reaches_the_units_inbox_with_its_report_task_or_its_ledger_row(engine):
    r1, *_ = _ledger(engine)
    with engine.unit_of_work() as uow:
        record_urges(uow.conn, month=MONTH, units=["kunbei", "drc"], message="请今日报送",
                     actor="supervisor", row_id=r1)
        uow.commit()
    (kunbei,) = _inbox(engine, "kunbei-clerk")
    assert (kunbei.kind, kunbei.department_code, kunbei.body, kunbei.sender) == (
        "urge", "kunbei", "请今日报送", "督查室")
    assert kunbei.subject == "催办：2026年10月工作进展报送"
    assert kunbei.target == "/tasks/t-kunbei"  # its open report task of the round
    (drc,) = _inbox(engine, "drc-clerk")
    assert (drc.task_id, drc.target) == (None, f"/ledger/rows/{r1}")
    assert _inbox(engine, "housing-clerk") == ()


def test_an_urge_rolled_back_leaves_no_notice(engine):
    _ledger(engine)
    with engine.unit_of_work() as uow:
        record_urges(uow.conn, month=MONTH, units=["kunbei"], message=None, actor="supervisor")
        # not committed
    assert _inbox(engine, "kunbei-clerk") == ()


def test_the_demos_inboxes_hold_its_notices_and_reminders(demo_database):
    """The demo's mine cases notify (相互通报 written by their steps) and its open tasks are
    reminded as of the demo's day (the loader runs the reminders once)."""
    import sqlalchemy as sa

    from engine.model import notice

    url, _env, _output = demo_database
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            kinds = dict(conn.execute(sa.select(notice.c.kind, sa.func.count())
                                      .group_by(notice.c.kind)).all())
    finally:
        db.dispose()
    assert kinds.get("notice", 0) > 0
    assert kinds.get("overdue", 0) + kinds.get("due_soon", 0) > 0


def test_a_notify_departments_payload_thrown_reaches_each_recipient(engine):
    departments, _users = load_org(ORG_FILE)
    payload = Notifier(departments).handler(
        {"project_code": "XM-9"}, departments=["区发改委", "eco", "区发改委"], subject="备案结果",
        text="已备案，请各部门知悉。")
    inst = engine.start("sample_review", actor(engine, "invest-clerk"), business_key="XM-9")
    saved = SavedStep(instance_id=inst.id, process_key="sample_review", business_key="XM-9",
                      status="running", stage=None, phase=None, data={}, opened=(), closed=(),
                      now=datetime(2026, 6, 1, 2), messages=(("mine_notice", payload),
                                                             ("other", payload)))
    with engine.unit_of_work() as uow:
        NoticeInbox(departments)(uow.conn, saved)
        NoticeInbox(departments)(uow.conn, saved)  # the same step seen twice: written once
        uow.commit()
    for username in ("drc-clerk", "eco-clerk"):
        (notice,) = _inbox(engine, username)
        assert (notice.kind, notice.subject, notice.instance_id) == ("notice", "备案结果", inst.id)
        assert notice.body == "已备案，请各部门知悉。\n项目代码：XM-9"
        assert notice.sender == "示例：项目联合预审"  # no completed task: the process's name
    assert _inbox(engine, "miit-clerk") == ()
