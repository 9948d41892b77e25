"""Two schedulers (one per node) write the same deadline reminder at the same moment: the
second waits for the first's transaction and then writes nothing, instead of failing on the
unique ``dedup_key`` (which rolled back its whole round of reminders and logged an error on
every node start, when all nodes' reminder jobs run at once)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from engine import Engine
from engine.clock import utcnow
from engine.model import notice
from engine.notices import post_notice


def test_the_same_reminder_written_by_two_transactions_at_once_is_written_once(db_url):
    first = Engine(db_url, live_cache_size=0)
    first.migrate()
    second = Engine(db_url, live_cache_size=0)

    def remind(conn):
        return post_notice(conn, kind="overdue", subject="已逾期：审查", now=utcnow(),
                           department_code="invest", dedup_key="overdue:t-1:20270101T0800")

    results: list = []
    errors: list[BaseException] = []

    def other_node() -> None:
        try:
            with second.unit_of_work() as uow:
                results.append(remind(uow.conn))
                uow.commit()
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    try:
        with first.unit_of_work() as uow:
            made = remind(uow.conn)
            racer = threading.Thread(target=other_node)
            racer.start()
            racer.join(1)  # it waits for this transaction (its insert or its BEGIN)
            uow.commit()
        racer.join(30)
        assert errors == [] and made is not None and results == [None]
        with first.db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(notice)).scalar() == 1
    finally:
        first.close()
        second.close()
