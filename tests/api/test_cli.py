"""The ``kunflow`` command: init (idempotent), deploy, users; the scheduler's jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from click.testing import CliRunner

from web import scheduler
from web.cli import main

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def kunflow(db_url, monkeypatch, tmp_path):
    """Run ``kunflow ...`` against the test database, with settings from the environment."""
    monkeypatch.setenv("KUNFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("KUNFLOW_SECRET_KEY", "test-secret")
    monkeypatch.setenv("KUNFLOW_DEMO", "true")
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def test_init_is_idempotent(kunflow):
    first = kunflow("init")
    assert first.exit_code == 0, first.output
    assert "sample_review.bpmn: sample_review 版本 1 新版本" in first.output
    assert "sample_loop.bpmn: sample_loop 版本 1 新版本" in first.output
    assert "35 个部门" in first.output and "密码 demo" in first.output
    second = kunflow("init")
    assert second.exit_code == 0, second.output
    assert "sample_review.bpmn: sample_review 版本 1 未变化" in second.output
    assert "新版本" not in second.output and "设置了密码" not in second.output


def test_init_outside_demo_mode_sets_no_passwords(kunflow, monkeypatch):
    monkeypatch.setenv("KUNFLOW_DEMO", "false")
    result = kunflow("init")
    assert result.exit_code == 0 and "设置了密码" not in result.output
    rejected = kunflow("users", "set-password", "admin", "--password", "demo")
    assert rejected.exit_code == 1 and "演示密码" in rejected.output
    short = kunflow("users", "set-password", "admin", "--password", "short")
    assert short.exit_code == 1
    ok = kunflow("users", "set-password", "admin", input="Long-enough-1\nLong-enough-1\n")
    assert ok.exit_code == 0 and "已设置 admin 的密码" in ok.output


def test_deploy_command(kunflow, root):
    kunflow("init")
    v2 = root / "tests" / "fixtures" / "bpmn" / "sample_review_v2.bpmn"
    result = kunflow("deploy", str(v2))
    assert result.exit_code == 0, result.output
    assert "sample_review 版本 2（新版本）" in result.output
    again = kunflow("deploy", str(v2))
    assert "sample_review 版本 2（未变化）" in again.output

    bad = kunflow("deploy", str(root / "tests" / "fixtures" / "bpmn" / "reserved_ids.bpmn"))
    assert bad.exit_code == 1
    assert "[Start]" in bad.output and "部署失败" in bad.output


def test_users_commands(kunflow):
    kunflow("init")
    listing = kunflow("users", "list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split() == ["用户名", "姓名", "部门", "角色"]
    assert any(
        line.split() == ["invest-head", "郭文斌", "区招商部门", "caseworker", "head"]
        for line in lines
    )
    missing = kunflow("users", "set-password", "nobody", "--password", "whatever-123")
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_housekeeping_job(app, as_user):
    engine, access = app.extensions["kunflow"], app.extensions["kunflow.access"]
    with time_machine.travel(T0, tick=False) as clock:
        as_user("invest-clerk").post("/api/v1/instances", json={"process_key": "sample_review"})
        access.login_failed("x", "192.0.2.1", "invalid_credentials")  # past the window below
        ended = access.open_session("drc-clerk")
        access.end_session(ended)
        idle = access.open_session("drc-clerk")  # idle past the limit below
        clock.shift(timedelta(hours=8))
        live = access.open_session("drc-clerk")
        access.login_failed("y", "192.0.2.1", "invalid_credentials")  # still counts
        engine.store_token("0" * 64, "invest-clerk", timedelta(seconds=-1))  # already expired
        engine.store_token("1" * 64, "invest-clerk", timedelta(hours=1))
        summary = scheduler.housekeeping(engine, access)
        assert summary == {
            "running_instances": 1,
            "open_tasks": 1,
            "tokens_purged": 1,
            "sessions_purged": 2,
            "login_records_purged": 1,
            "project_lights_changed": 0,
        }
        assert engine.user_for_token("1" * 64).username == "invest-clerk"
        assert access.session_user(live).username == "drc-clerk"
        assert access.session_user(idle) is None


def test_scheduler_registers_housekeeping(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = BackgroundScheduler(timezone=scheduler.TIMEZONE)
    scheduler.register_jobs(sched, app.extensions["kunflow"])
    job = sched.get_job("housekeeping")
    assert job is not None and job.trigger.interval.total_seconds() == 600
    timers = sched.get_job("timers")
    assert timers is not None and timers.trigger.interval.total_seconds() == 30
    assert timers.next_run_time is not None  # runs at start: catches up after downtime
    # >>> inbox: deadline reminders every ten minutes, from start
    reminders = sched.get_job("reminders")
    assert reminders is not None and reminders.trigger.interval.total_seconds() == 600
    assert reminders.next_run_time is not None
    assert scheduler.deadline_reminders(app.extensions["kunflow"]) == 0  # nothing due
    # <<< inbox


def test_the_reminder_job_works_off_a_backlog_in_rounds(monkeypatch):
    """A full round (the limit reached) is followed by another, each its own transaction, until
    a round is not full or the run's rounds are used up."""
    from web import scheduler

    class Rounds:
        def __init__(self, answers):
            self.answers, self.limits = list(answers), []

        def send_deadline_reminders(self, limit):
            self.limits.append(limit)
            return self.answers.pop(0) if self.answers else 0

    monkeypatch.setattr(scheduler, "REMINDER_LIMIT", 2)
    backlog = Rounds([2, 2, 1, 2])
    assert scheduler.deadline_reminders(backlog) == 5
    assert backlog.limits == [2, 2, 2]  # stopped after the round that was not full
    monkeypatch.setattr(scheduler, "REMINDER_ROUNDS", 3)
    endless = Rounds([2] * 10)
    assert scheduler.deadline_reminders(endless) == 6 and len(endless.limits) == 3
