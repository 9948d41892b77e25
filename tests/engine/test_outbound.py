"""Outbound delivery of notices: the webhook sender against a local HTTP server, retries with
backoff from the scheduler's run, failures recorded and visible, retry by an admin, and nothing
written while no channel is registered."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from engine import DeliveryError, Forbidden, WebhookSender, sign
from engine.commands.notice_deliveries import MAX_ATTEMPTS, backoff
from engine.model import notice_delivery
from engine.notices import post_notice

T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
SECRET = "s3cret-平台"


class Endpoint:
    """A webhook receiver on 127.0.0.1 (free port) answering by ``script``: "500", "drop"
    (closes the connection without an answer) or "200"; past the script's end, its last."""

    def __init__(self, *script: str):
        self.script = list(script)
        self.received: list[tuple[dict, bytes]] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append((dict(self.headers), body))
                step = endpoint.script[min(len(endpoint.received), len(endpoint.script)) - 1]
                if step == "drop":
                    self.close_connection = True
                    return
                answer = "服务繁忙".encode() if step == "500" else b'{"ok":true}'
                self.send_response(int(step))
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/kunflow/notices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def endpoint():
    made = []

    def make(*script):
        e = Endpoint(*script)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


@pytest.fixture
def silent_port():
    """A port that takes connections into its backlog and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


def _post(engine, **fields):
    with engine.unit_of_work() as uow:
        notice_id = post_notice(uow.conn, now=datetime.now(UTC).replace(tzinfo=None),
                                **{"kind": "notice", "subject": "关于某矿的相互通报",
                                   "department_code": "natres", **fields})
        uow.commit()
    return notice_id


def _deliveries(engine):
    with engine.unit_of_work(readonly=True) as uow:
        return uow.conn.execute(sa.select(notice_delivery).order_by(notice_delivery.c.id)).all()


def test_no_sender_writes_no_delivery_rows(engine):
    with time_machine.travel(T0, tick=False):
        assert _post(engine) is not None
        assert _deliveries(engine) == []
        assert engine.deliver_notices() == {"sent": 0, "retrying": 0, "failed": 0}


def test_failing_endpoint_is_retried_with_backoff_until_it_answers(engine, people, endpoint):
    hook = endpoint("500", "drop", "200")
    engine.set_notice_senders([WebhookSender(hook.url, SECRET, timeout=5)])
    with time_machine.travel(T0, tick=False) as clock:
        inst = engine.start("sample_review", people["invest-clerk"], business_key="ZS-OUT-1",
                            title="外发测试项目")
        notice_id = _post(engine, instance_id=inst.id, body="请知悉", sender="invest-clerk")
        (row,) = _deliveries(engine)
        assert (row.notice_id, row.channel, row.status, row.attempts) == (
            notice_id, "webhook", "pending", 0)

        # 1st attempt: HTTP 500
        assert engine.deliver_notices() == {"sent": 0, "retrying": 1, "failed": 0}
        (row,) = _deliveries(engine)
        assert row.status == "pending" and row.attempts == 1
        assert row.last_error == "HTTP 500：服务繁忙"
        assert row.next_attempt_at == T0.replace(tzinfo=None) + timedelta(seconds=30)
        # not due yet: nothing is sent
        assert engine.deliver_notices() == {"sent": 0, "retrying": 0, "failed": 0}
        assert len(hook.received) == 1

        # 2nd attempt: the connection is dropped; the wait doubles
        clock.shift(timedelta(seconds=30))
        assert engine.deliver_notices()["retrying"] == 1
        (row,) = _deliveries(engine)
        assert row.attempts == 2 and row.last_error.startswith("连接失败")
        assert row.next_attempt_at == T0.replace(tzinfo=None) + timedelta(seconds=30 + 60)

        # 3rd attempt: 200
        clock.shift(timedelta(seconds=60))
        assert engine.deliver_notices() == {"sent": 1, "retrying": 0, "failed": 0}
        (row,) = _deliveries(engine)
        assert (row.status, row.attempts, row.next_attempt_at) == ("sent", 3, None)
        assert row.delivered_at == T0.replace(tzinfo=None) + timedelta(seconds=90)
        assert engine.deliver_notices()["sent"] == 0  # sent once

    assert len(hook.received) == 3
    headers, body = hook.received[-1]
    timestamp = headers["X-Kunflow-Timestamp"]
    assert timestamp == str(int((T0 + timedelta(seconds=90)).timestamp()))
    assert headers["X-Kunflow-Signature"] == sign(SECRET, timestamp, body)
    assert headers["X-Kunflow-Signature"] != sign("another secret", timestamp, body)
    payload = json.loads(body)
    assert payload == {
        "notice_id": notice_id, "kind": "notice", "kind_label": "相互通报",
        "subject": "关于某矿的相互通报", "body": "请知悉", "department_code": "natres",
        "username": None, "instance_id": inst.id, "business_key": "ZS-OUT-1",
        "title": "外发测试项目", "task_id": None, "link": f"/cases/{inst.id}",
        "sender": "invest-clerk", "created_at": "2026-06-15T10:00:00+08:00",
    }


def test_silent_endpoint_fails_after_the_last_attempt_and_an_admin_retries(
        engine, people, silent_port):
    engine.set_notice_senders([WebhookSender(silent_port, SECRET, timeout=0.2)])
    with time_machine.travel(T0, tick=False) as clock:
        _post(engine, username="natres-clerk", task_id="t-1", kind="consult")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            counts = engine.deliver_notices()
            (row,) = _deliveries(engine)
            assert row.attempts == attempt
            assert row.last_error == "超时：0.2 秒内没有应答"
            if attempt < MAX_ATTEMPTS:
                assert counts["retrying"] == 1 and row.status == "pending"
                clock.shift(backoff(attempt))
        assert counts == {"sent": 0, "retrying": 0, "failed": 1}
        assert (row.status, row.next_attempt_at) == ("failed", None)
        # waits of 30 s doubling (capped at an hour): given up about an hour after the first
        assert [backoff(n).total_seconds() for n in range(1, MAX_ATTEMPTS + 2)] == [
            30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
        clock.shift(timedelta(days=1))
        assert engine.deliver_notices()["retrying"] == 0  # failed rows are not picked

        listed = engine.list_notice_deliveries(people["admin"], status="failed")
        assert listed.total == 1
        (info,) = listed.items
        assert (info.id, info.kind_label, info.username) == (row.id, "加签", "natres-clerk")
        with pytest.raises(Forbidden):
            engine.list_notice_deliveries(people["natres-clerk"])
        with pytest.raises(Forbidden):
            engine.retry_notice_delivery(people["natres-clerk"], row.id)

        again = engine.retry_notice_delivery(people["admin"], row.id)
        assert (again.status, again.attempts) == ("pending", 0)
        assert again.next_attempt_at == datetime.now(UTC).replace(tzinfo=None)
        assert engine.list_notice_deliveries(people["admin"], status="failed").total == 0
        assert engine.deliver_notices()["retrying"] == 1  # picked again at once


def test_a_claimed_delivery_is_not_sent_by_a_second_runner(engine, rebuild):
    """The sender runs with no transaction open: a second node's run (here from inside the
    send) can write, and it finds the row claimed."""
    second = rebuild()
    seen = []

    class Nested:
        channel = "webhook"

        def send(self, payload):
            seen.append(second.deliver_notices())

    class Refusing:
        channel = "webhook"

        def send(self, payload):
            raise DeliveryError("平台拒收")

    engine.set_notice_senders([Nested()])
    second.set_notice_senders([Refusing()])
    with time_machine.travel(T0, tick=False):
        _post(engine)
        assert engine.deliver_notices()["sent"] == 1
    assert seen == [{"sent": 0, "retrying": 0, "failed": 0}]
    (row,) = _deliveries(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)


def test_senders_switch_off_and_bad_status_filters(engine, people):
    engine.set_notice_senders([])
    with time_machine.travel(T0, tick=False):
        _post(engine)
    assert _deliveries(engine) == []
    with pytest.raises(TypeError):
        engine.set_notice_senders([object()])
    from engine import InvalidInput

    with pytest.raises(InvalidInput):
        engine.list_notice_deliveries(people["admin"], status="lost")
