"""A message posted while its receiver is starting to listen, in a transaction not yet committed
(two workers or nodes, one completing the step before the catch event, the other posting the
message): on PostgreSQL each transaction saw nothing of the other, the message was kept waiting
and the case waited for it for ever. They now take turns on the message's name and key, so one
of them sees the other: the message is delivered once."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from engine.model import message
from engine.persistence.cascade import Cascade
from tests.conftest import FIXTURES, actor, district_engine, seed_org


def test_a_message_posted_while_its_receiver_subscribes_is_delivered(db_url, monkeypatch):
    engine = district_engine(db_url)
    engine.migrate()
    seed_org(engine)
    admin = actor(engine, "admin")
    engine.deploy("msg_wait.bpmn", (FIXTURES / "bpmn" / "msg_wait.bpmn").read_bytes(),
                  actor=admin)
    clerk = actor(engine, "invest-clerk")
    case = engine.start("msg_wait", clerk, business_key="XM-RACE-1")
    prepare = case.tasks[0].id

    looked, go = threading.Event(), threading.Event()
    original = Cascade.deliver_pending

    def deliver_pending_then_wait(self, *args, **kwargs):
        # The receiver has subscribed and looked for waiting messages (none yet); hold its
        # transaction open while the message is posted.
        original(self, *args, **kwargs)
        looked.set()
        go.wait(10)

    monkeypatch.setattr(Cascade, "deliver_pending", deliver_pending_then_wait)
    errors: list[BaseException] = []

    def run(target, *args):
        try:
            target(*args)
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    receiver = threading.Thread(target=run, args=(engine.complete, prepare, clerk))
    receiver.start()
    assert looked.wait(30), errors
    outcome: list = []
    sender = threading.Thread(target=run, args=(
        lambda: outcome.append(engine.correlate_message(
            "mine_result", "XM-RACE-1", {"approved": True}, actor=admin)),))
    sender.start()
    sender.join(2)  # it finishes (the old behaviour) or waits for the receiver's turn
    go.set()
    receiver.join(30)
    sender.join(30)
    assert errors == []

    assert outcome[0].status in ("delivered", "waiting")
    after = engine.get_instance(case.id, admin)
    assert [t.element_id for t in after.tasks] == ["use_mine_result"]
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(message.c.delivered_to).where(
            message.c.name == "mine_result")).scalars().all()
    assert rows == [case.id]
    engine.close()
