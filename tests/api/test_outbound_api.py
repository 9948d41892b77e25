"""通知外发 for the admin: the API (list, retry) and the page under /admin/, the webhook set up
from the settings, and a clear start-up error for a webhook without its secret."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine

from config.settings import SettingsError
from engine import DeliveryError
from engine.commands.notice_deliveries import MAX_ATTEMPTS, backoff
from engine.notices import post_notice
from web import create_app

T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


class Refusing:
    channel = "webhook"

    def send(self, payload):
        raise DeliveryError("HTTP 503：平台维护中")


class Taking:
    channel = "webhook"

    def __init__(self):
        self.payloads = []

    def send(self, payload):
        self.payloads.append(payload)


def _notice(engine, subject: str) -> int:
    with engine.unit_of_work() as uow:
        notice_id = post_notice(uow.conn, kind="urge", subject=subject, department_code="natres",
                                now=datetime.now(UTC).replace(tzinfo=None), sender="supervisor")
        uow.commit()
    return notice_id


@pytest.fixture
def deliveries(app):
    """One failed delivery (the platform refused every attempt) and one sent; the ids."""
    engine = app.extensions["kunflow"]
    with time_machine.travel(T0, tick=False) as clock:
        engine.set_notice_senders([Refusing()])
        _notice(engine, "请尽快办理矿山审批")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            engine.deliver_notices()
            clock.shift(backoff(attempt))
        taking = Taking()
        engine.set_notice_senders([taking])
        _notice(engine, "第二份催办")
        assert engine.deliver_notices()["sent"] == 1
    assert [p["subject"] for p in taking.payloads] == ["第二份催办"]
    items = engine.list_notice_deliveries(engine.get_user("admin").actor()).items
    return {d.status: d.id for d in items}


def test_admin_lists_deliveries_and_retries_a_failed_one(admin, as_user, deliveries, error_of):
    r = admin.get("/api/v1/admin/notice-deliveries")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 2
    newest, oldest = body["items"]
    assert (newest["status"], newest["subject"], newest["attempts"]) == ("sent", "第二份催办", 1)
    assert newest["delivered_at"] is not None and newest["last_error"] is None
    assert oldest["status"] == "failed" and oldest["attempts"] == MAX_ATTEMPTS
    assert oldest["last_error"] == "HTTP 503：平台维护中"
    assert (oldest["kind"], oldest["kind_label"], oldest["department_code"]) == (
        "urge", "催办", "natres")

    failed = admin.get("/api/v1/admin/notice-deliveries?status=failed").get_json()
    assert [d["id"] for d in failed["items"]] == [deliveries["failed"]]
    bad = admin.get("/api/v1/admin/notice-deliveries?status=lost")
    assert bad.status_code == 422

    r = admin.post(f"/api/v1/admin/notice-deliveries/{deliveries['failed']}/retry")
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["status"], r.get_json()["attempts"]) == ("pending", 0)
    again = admin.post(f"/api/v1/admin/notice-deliveries/{deliveries['failed']}/retry")
    assert again.status_code == 409
    assert error_of(again)["message"] == "只有发送失败的记录可以重试"
    missing = admin.post("/api/v1/admin/notice-deliveries/999999/retry")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "找不到该外发记录"


def test_a_caseworker_gets_403(as_user, deliveries, error_of):
    clerk = as_user("natres-clerk")
    r = clerk.get("/api/v1/admin/notice-deliveries")
    assert r.status_code == 403
    assert error_of(r)["code"] == "forbidden"
    r = clerk.post(f"/api/v1/admin/notice-deliveries/{deliveries['failed']}/retry")
    assert r.status_code == 403


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": "demo",
                                    "csrf_token": csrf})
    assert r.status_code == 302, r.text[:300]
    return client


def test_the_admin_page_shows_status_attempts_error_and_retries(app, deliveries):
    client = _login(app, "admin")
    processes = client.get("/admin/processes").text
    assert 'href="/admin/notice-deliveries"' in processes  # in the admin's sub-navigation
    page = client.get("/admin/notice-deliveries")
    assert page.status_code == 200
    html = page.text
    assert "通知外发" in html and "HTTP 503：平台维护中" in html
    assert "失败" in html and "已发送" in html and f"{MAX_ATTEMPTS} 次" in html
    assert "未配置外发渠道" not in html  # a sender is registered
    rows = re.findall(r'<tr data-delivery-id="(\d+)" data-status="(\w+)">', html)
    assert rows == [(str(deliveries["sent"]), "sent"), (str(deliveries["failed"]), "failed")]
    assert html.count('data-testid="retry-delivery"') == 1  # only the failed one

    only_failed = client.get("/admin/notice-deliveries?status=failed").text
    assert re.findall(r'data-delivery-id="(\d+)"', only_failed) == [str(deliveries["failed"])]

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(f"/admin/notice-deliveries/{deliveries['failed']}/retry",
                    data={"csrf_token": csrf, "status": "failed"})
    assert r.status_code == 302
    assert "retried=" in r.headers["Location"]
    after = client.get(r.headers["Location"]).text
    assert "已改为待发送" in after
    assert 'data-testid="retry-delivery"' not in after
    listed = client.get("/admin/notice-deliveries").text
    assert f'data-delivery-id="{deliveries["failed"]}" data-status="pending"' in listed


def test_a_caseworker_gets_the_403_page(app, deliveries):
    client = _login(app, "natres-clerk")
    r = client.get("/admin/notice-deliveries", headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert "只有流程管理员" in r.text


def test_the_webhook_is_registered_from_the_settings(app_factory):
    on = app_factory(NOTICE_WEBHOOK_URL="https://msg.example.gov.cn/hook",
                     NOTICE_WEBHOOK_SECRET="secret", NOTICE_WEBHOOK_TIMEOUT=3)
    (sender,) = on.extensions["kunflow"].context.notice_channels.values()
    assert (sender.channel, sender.url, sender.timeout) == (
        "webhook", "https://msg.example.gov.cn/hook", 3.0)
    off = app_factory()
    assert off.extensions["kunflow"].context.notice_channels == {}


@pytest.mark.parametrize("settings, message", [
    ({"NOTICE_WEBHOOK_URL": "https://msg.example.gov.cn/hook"},
     "缺少 KUNFLOW_NOTICE_WEBHOOK_SECRET"),
    ({"NOTICE_WEBHOOK_URL": "msg.example.gov.cn", "NOTICE_WEBHOOK_SECRET": "s"},
     "须以 http:// 或 https:// 开头"),
    ({"NOTICE_WEBHOOK_URL": "https://msg.example.gov.cn/hook", "NOTICE_WEBHOOK_SECRET": "s",
      "NOTICE_WEBHOOK_TIMEOUT": 0}, "0 到 120 之间"),
])
def test_a_webhook_without_its_secret_stops_the_start(db_url, settings, message):
    with pytest.raises(SettingsError, match=message):
        create_app({"DATABASE_URL": db_url, "SCHEDULER": False, "SECRET_KEY": "x", **settings})


def test_the_scheduler_delivers_notices_every_minute(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from web import scheduler

    engine = app.extensions["kunflow"]
    sched = BackgroundScheduler(timezone=scheduler.TIMEZONE)
    scheduler.register_jobs(sched, engine)
    job = sched.get_job("outbound")
    assert job is not None and job.trigger.interval.total_seconds() == 60
    assert job.next_run_time is not None  # runs at start: sends what waited during downtime
    taking = Taking()
    engine.set_notice_senders([taking])
    _notice(engine, "调度器外发")
    assert scheduler.deliver_notices(engine) == {"sent": 1, "retrying": 0, "failed": 0}
    assert [p["kind_label"] for p in taking.payloads] == ["催办"]
