"""The access room without Flask: sessions that the server ends, revocation when the org chart
changes a user, the throttle's growing delay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine import SYSTEM, Forbidden
from engine.access import Access, LoginPolicy

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def access(engine):
    return Access(engine.db)


def test_a_session_lives_until_ended_or_left_idle(engine, access):
    with time_machine.travel(T0, tick=False) as clock:
        sid = access.open_session("drc-clerk", "192.0.2.1", "Mozilla/5.0")
        assert access.session_user(sid).username == "drc-clerk"
        assert access.session_user(sid + "x") is None
        clock.shift(timedelta(hours=7, minutes=59))
        assert access.session_user(sid) is not None  # its use moves the idle limit
        clock.shift(timedelta(hours=7, minutes=59))
        assert access.session_user(sid) is not None
        assert access.end_session(sid) is True
        assert access.session_user(sid) is None
        assert access.end_session(sid) is False
        idle = access.open_session("drc-clerk")
        clock.shift(timedelta(hours=8))
        assert access.session_user(idle) is None


def test_the_org_chart_ends_access_when_a_password_changes_or_a_user_is_disabled(engine, access):
    user = engine.get_user("eco-clerk")
    engine.sync_org([], [replace(user, password_hash="$argon2id$first")])  # first password
    first = access.open_session("eco-clerk")
    engine.store_token("a" * 64, "eco-clerk", timedelta(hours=1))
    engine.sync_org([], [replace(user, password_hash="$argon2id$first")])  # unchanged
    assert access.session_user(first) is not None
    engine.sync_org([], [replace(user, password_hash="$argon2id$second")])
    assert access.session_user(first) is None
    assert engine.user_for_token("a" * 64) is None
    second = access.open_session("eco-clerk")
    engine.sync_org([], [replace(user, active=False)])
    engine.sync_org([], [replace(user, active=True)])
    assert access.session_user(second) is None
    kinds = [e.kind for e in access.list_events(SYSTEM).items]
    assert kinds == ["user_disabled", "password_changed"]  # setting the first one is no change


def test_only_system_administrators_end_access_or_read_the_log(engine, access):
    head = engine.get_user("eco-head").actor()
    with pytest.raises(Forbidden):
        access.end_user_access("eco-clerk", head)
    with pytest.raises(Forbidden):
        access.list_events(head)
    assert access.end_user_access("eco-clerk", engine.get_user("admin").actor()).sessions == 0


def test_the_delay_doubles_past_the_free_failures_up_to_its_limit():
    policy = LoginPolicy(first_delay_seconds=2, max_delay_seconds=900)
    assert [policy.delay(n, 5) for n in range(4, 11)] == [0, 2, 4, 8, 16, 32, 64]
    assert policy.delay(14, 5) == 900 and policy.delay(10_000, 5) == 900
