"""The working-day helpers that diagram code calls (``add_working_days``,
``working_days_between``, ``is_workday``, ``due_in_working_days``, ``next_month_day``) answer
by the calendar table, from a script task, with the clock frozen: the 2026 National Day week
(10-01 to 10-07 off, Sunday 09-20 and Saturday 10-10 worked) lies inside the dates used."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from tests.conftest import actor
from tests.engine.sandbox_support import script_diagram

T0 = datetime(2026, 9, 18, 2, 0)  # naive UTC: Friday 2026-09-18, 10:00 in China
DECEMBER = datetime(2026, 12, 10, 2, 0)  # naive UTC: 2026-12-10, 10:00 in China

SCRIPT = """\
after_20 = add_working_days("2026-09-18", 20)
after_0_from_a_holiday = add_working_days("2026-10-03", 0)
before_national_day = add_working_days("2026-10-08", -1)
from_a_timestamp = add_working_days("2026-09-18T10:00:00+08:00", 1)
across_national_day = working_days_between("2026-09-30", "2026-10-09")
backwards = working_days_between("2026-10-09", "2026-09-30")
make_up_saturday = is_workday("2026-10-10")
national_day = is_workday("2026-10-01")
plain_friday = is_workday("2026-09-18")
due_in_20 = due_in_working_days(20)
due_in_0 = due_in_working_days(0)
first_of_next_month = next_month_day()
next_report_day = next_month_day(6, 9)
"""


def _run_script(engine, key: str, moment: datetime) -> dict:
    """Deploy the script in a one-task diagram, start it at ``moment``, return its data."""
    admin = actor(engine, "admin")
    engine.deploy(f"{key}.bpmn", script_diagram(key, SCRIPT), actor=admin)
    with time_machine.travel(moment, tick=False):
        inst = engine.start(key, actor(engine, "drc-clerk"), business_key=f"C-{key}")
    assert inst.status != "incident", engine.list_incidents(admin, instance_id=inst.id)
    return engine.get_instance(inst.id, admin, with_data=True).data


def test_working_day_helpers_answer_by_the_calendar_in_diagram_code(engine):
    data = _run_script(engine, "calendar_helpers", T0)
    assert data["after_20"] == "2026-10-22"
    assert data["after_0_from_a_holiday"] == "2026-10-08"
    assert data["before_national_day"] == "2026-09-30"
    assert data["from_a_timestamp"] == "2026-09-20"  # a make-up Sunday
    assert data["across_national_day"] == 2  # 10-08 and 10-09
    assert data["backwards"] == -2  # 10-08 and 09-30
    assert data["make_up_saturday"] is True
    assert data["national_day"] is False
    assert data["plain_friday"] is True


def test_due_in_working_days_is_the_end_of_that_day_in_china(engine):
    data = _run_script(engine, "calendar_due", T0)
    assert data["due_in_20"] == "2026-10-22T15:59:59+00:00"  # 23:59:59 in China
    assert data["due_in_0"] == "2026-09-18T15:59:59+00:00"  # today, a working day


@pytest.mark.parametrize(
    ("moment", "first", "sixth_at_nine"),
    [
        (T0, "2026-09-30T16:00:00+00:00", "2026-10-06T01:00:00+00:00"),
        (DECEMBER, "2026-12-31T16:00:00+00:00", "2027-01-06T01:00:00+00:00"),
    ],
    ids=["september", "december"],
)
def test_next_month_day_is_a_day_of_next_month_in_china(engine, moment, first, sixth_at_nine):
    data = _run_script(engine, f"calendar_month_{moment.month}", moment)
    assert data["first_of_next_month"] == first  # 00:00 on the 1st in China
    assert data["next_report_day"] == sixth_at_nine  # 09:00 on the 6th in China
