"""A case started without a business key gets one, the same from the start page, the API and
Python: the initials of the process key, the day in China, four random hex digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine

from tests.conftest import actor


def test_a_case_started_without_a_key_gets_one_of_the_day_in_china(engine):
    invest = actor(engine, "invest-clerk")
    # 23:30 UTC on 1 March is 07:30 on 2 March in Beijing
    with time_machine.travel(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), tick=False):
        keys = [engine.start("sample_review", invest, business_key=key).business_key
                for key in (None, "", "   ")]
    for key in keys:
        assert re.fullmatch(r"SR-20260302-[0-9A-F]{4}", key), key
    given = engine.start("sample_review", invest, business_key="ZS-2026-001")
    assert given.business_key == "ZS-2026-001"
    listed = engine.list_instances(invest, business_key=keys[0])
    assert [i.business_key for i in listed.items] == [keys[0]]
