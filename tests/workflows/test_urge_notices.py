"""催办 of the 督查室 (workflows/ledger/urges.py record_urges) in the unit's notice inbox: one
notice of kind ``urge`` per unit, leading to its open report task when it has one, else to the
ledger row; written in the urge's transaction (rolled back with it)."""

from __future__ import annotations

from tests.conftest import actor
from tests.workflows.test_dashboard_supervision import MONTH, _ledger
from workflows.ledger.urges import record_urges


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
