"""Outbound channels for notices: a notice of the inbox can also be delivered to an external
channel (the district's messaging platform) by a pluggable sender.

A sender is anything with a ``channel`` name and ``send(payload)`` that returns when the channel
took the notice and raises ``DeliveryError`` (with a short reason) when it did not. Senders are
registered with ``Engine.set_notice_senders``; ``post_notice`` then writes one
``notice_delivery`` row per channel in the notice's own transaction (an outbox: STYLE.md habit
8), and the scheduler's ``Engine.deliver_notices`` sends them after commit, retrying with
backoff. With no sender registered nothing is written: the channel is off by default.

``WebhookSender`` is the one sender shipped: an HTTP POST of the notice as JSON, signed with
HMAC-SHA256 over ``timestamp + "." + body`` (docs/notices-webhook.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import requests
from sqlalchemy.engine import Connection

# The execution option of the database engine that names the registered channels: post_notice
# only has the caller's connection, and every connection of the engine carries its options.
CHANNELS_OPTION = "kunflow_notice_channels"

TIMESTAMP_HEADER = "X-Kunflow-Timestamp"
SIGNATURE_HEADER = "X-Kunflow-Signature"
MAX_REASON = 300  # characters of a failure's reason kept (notice_delivery.last_error)


class DeliveryError(Exception):
    """A channel did not take a notice; ``reason`` says why in a few words (shown to admins)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = str(reason)[:MAX_REASON]


@runtime_checkable
class NoticeSender(Protocol):
    """An outbound channel: ``send`` returns when delivered, raises ``DeliveryError`` else."""

    channel: str

    def send(self, payload: dict) -> None: ...


def registered_channels(conn: Connection) -> tuple[str, ...]:
    """The channels notices written through ``conn`` are delivered to (none: off)."""
    return tuple(conn.get_execution_options().get(CHANNELS_OPTION, ()))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` of ``timestamp + "." + body``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode_payload(payload: dict) -> bytes:
    """The JSON body as sent: UTF-8, Chinese unescaped, keys sorted, no spaces."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


class WebhookSender:
    """POST each notice as JSON to ``url``; a 2xx answer is delivered, anything else (another
    status, a timeout, a refused or dropped connection) a ``DeliveryError``. Redirects are not
    followed: the signed body goes to the configured address only."""

    channel = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 10):
        if not url:
            raise ValueError("a webhook needs a URL")
        if not secret:
            raise ValueError("a webhook needs a secret to sign its bodies")
        self.url = url
        self.secret = secret
        self.timeout = float(timeout)

    def send(self, payload: dict) -> None:
        body = encode_payload(payload)
        timestamp = str(int(datetime.now(UTC).timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "kunflow-notices/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            # one connection per notice, closed after it: a few notices a minute at most
            with requests.Session() as session:
                answer = session.post(self.url, data=body, headers=headers,
                                      timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            raise DeliveryError(f"超时：{self.timeout:g} 秒内没有应答") from None
        except requests.ConnectionError as exc:
            raise DeliveryError(f"连接失败：{_short(exc)}") from None
        except requests.RequestException as exc:
            raise DeliveryError(f"请求失败：{_short(exc)}") from None
        try:
            if not 200 <= answer.status_code < 300:
                text = " ".join((answer.text or "").split())[:120]
                raise DeliveryError(f"HTTP {answer.status_code}" + (f"：{text}" if text else ""))
        finally:
            answer.close()


def _short(exc: Exception) -> str:
    """The innermost reason of a requests error, without urllib3's object addresses."""
    reason = exc
    while reason.__cause__ is not None or reason.__context__ is not None:
        reason = reason.__cause__ or reason.__context__
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = str(reason) or type(reason).__name__
    if ": " in text and "object at 0x" in text:
        text = text.rsplit(": ", 1)[-1]
    return text[:200]


@dataclass(frozen=True)
class NoticeDeliveryInfo:
    """One notice's delivery to one channel (``Engine.list_notice_deliveries``)."""

    id: int
    notice_id: int
    channel: str
    status: str  # pending | sent | failed
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    kind: str | None
    kind_label: str | None
    subject: str | None
    department_code: str | None
    username: str | None
