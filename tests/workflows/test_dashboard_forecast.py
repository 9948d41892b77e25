"""The completion forecast: dwell statistics from closed stage spans, checked on a held-out set."""

from __future__ import annotations

import random
import statistics as pystats
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from workflows.dashboard import forecast
from workflows.dashboard.tables import dash_stage_span
from workflows.lifecycle import STAGES

DAY = datetime(2025, 3, 3, 2)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def fresh_cache():
    forecast.clear_cache()
    yield
    forecast.clear_cache()


def insert_spans(engine, spans):
    """``spans``: (instance id, stage number, project type, working days or None)."""
    with engine.unit_of_work() as uow:
        for iid, number, kind, days in spans:
            uow.conn.execute(dash_stage_span.insert().values(
                instance_id=iid, stage=STAGES[number - 1].name, stage_number=number,
                project_type=kind, entered_at=DAY, left_at=DAY if days is not None else None,
                working_days=days))
        uow.commit()


def test_held_out_durations_fall_in_the_80_percent_interval(engine):
    rng = random.Random(13)
    # 60 synthetic projects: 前期手续 (7) takes ~ lognormal working days, 施工许可 (8) ~ uniform
    durations = {
        7: [max(1, round(rng.lognormvariate(3.0, 0.45))) for _ in range(60)],
        8: [rng.randint(5, 25) for _ in range(60)],
    }
    fit = [(i, n, "ratify", durations[n][i]) for n in (7, 8) for i in range(40)]
    insert_spans(engine, fit)
    with engine.unit_of_work(readonly=True) as uow:
        stats = forecast.statistics(engine, uow.conn)
    inside = 0
    for n in (7, 8):
        found = stats.for_stage(n, "ratify")
        assert found.samples == 40 and found.project_type == "ratify"
        assert found.median == pystats.median(durations[n][:40])
        assert found.low < found.median < found.high
        held_out = durations[n][40:]
        inside += sum(found.low <= d <= found.high for d in held_out)
    share = inside / 40
    assert 0.65 <= share <= 0.95, share


def test_few_samples_of_a_type_fall_back_to_every_type(engine):
    insert_spans(engine, [(i, 5, "file", 10) for i in range(3)]
                 + [(100 + i, 5, "ratify", 20 + i) for i in range(7)]
                 + [(200, 5, "ratify", None)])  # still open: not a sample
    with engine.unit_of_work(readonly=True) as uow:
        stats = forecast.read_statistics(uow.conn)
    own = stats.for_stage(5, "ratify")
    assert (own.project_type, own.samples, own.median) == ("ratify", 7, 23)
    fallback = stats.for_stage(5, "file")
    assert (fallback.project_type, fallback.samples) == (forecast.ALL_TYPES, 10)
    assert fallback.median == pystats.median([10] * 3 + list(range(20, 27)))
    assert stats.for_stage(6, "file") is None


def test_statistics_are_cached_for_five_minutes(engine, monkeypatch):
    insert_spans(engine, [(i, 2, "file", 4) for i in range(5)])
    clock = [1000.0]
    monkeypatch.setattr(forecast.time, "monotonic", lambda: clock[0])
    with engine.unit_of_work(readonly=True) as uow:
        assert forecast.statistics(engine, uow.conn).for_stage(2, "file").median == 4
    insert_spans(engine, [(10 + i, 2, "file", 40) for i in range(20)])
    with engine.unit_of_work(readonly=True) as uow:
        assert forecast.statistics(engine, uow.conn).for_stage(2, "file").median == 4
        clock[0] += forecast.CACHE_SECONDS + 1
        assert forecast.statistics(engine, uow.conn).for_stage(2, "file").median == 40


def test_remaining_stages_add_up_on_the_working_day_calendar(engine):
    # every stage from 8 on takes 10 working days (p10 = p90 = 10) for five past projects
    insert_spans(engine, [(i, n, "file", 10) for i in range(5) for n in range(8, 13)])
    with engine.unit_of_work(readonly=True) as uow:
        stats = forecast.read_statistics(uow.conn)
        calendar = engine.calendar.current(uow.conn)
    index = forecast.WorkingDayIndex(calendar)
    entered, today = date(2025, 9, 22), date(2025, 9, 24)  # the 国庆 holidays lie ahead
    result = forecast.forecast_project(
        stats, index, project_type="file", stage_number=8, entered=entered, today=today,
        planned_production=date(2025, 11, 1), actual_production=None)
    ends = [s.expected_end for s in result.stages]
    assert [s.stage_number for s in result.stages] == [8, 9, 10, 11, 12]
    assert ends[0] == calendar.add_working_days(entered, 10)
    for before, after in zip(ends, ends[1:], strict=False):
        assert after == calendar.add_working_days(before, 10)
    assert result.production == ends[2]  # 投产 begins when 竣工验收 ends
    assert result.late is (result.production > date(2025, 11, 1)) is True
    assert forecast.production_late(stats, index, project_type="file", stage_number=8,
                                    entered=entered, today=today,
                                    planned_production=date(2025, 11, 1))
    on_time = date(2026, 6, 30)
    assert not forecast.production_late(stats, index, project_type="file", stage_number=8,
                                        entered=entered, today=today,
                                        planned_production=on_time)
    # a stage already longer than usual ends today at the earliest, not in the past
    late_entry = forecast.forecast_project(
        stats, index, project_type="file", stage_number=8, entered=date(2025, 1, 6),
        today=today, planned_production=None, actual_production=None)
    assert late_entry.stages[0].expected_end == today
    assert late_entry.late is False


def test_a_stage_nobody_has_left_yet_has_no_forecast_beyond_it(engine):
    insert_spans(engine, [(i, 3, "file", 6) for i in range(5)])
    with engine.unit_of_work(readonly=True) as uow:
        stats = forecast.read_statistics(uow.conn)
        index = forecast.WorkingDayIndex(engine.calendar.current(uow.conn))
    result = forecast.forecast_project(
        stats, index, project_type="file", stage_number=3, entered=date(2025, 3, 3),
        today=date(2025, 3, 4), planned_production=date(2025, 4, 1), actual_production=None)
    assert result.stages[0].expected_end is not None
    assert all(s.expected_end is None for s in result.stages[1:])
    assert result.production is None and result.late is False


def test_the_demos_dwell_times_forecast_its_own_projects_left_out_one_at_a_time(demo_database):
    """On the demo's spans (kept by the read model while the demo was loaded): fit on every
    other project, check each project's closed stages against the interval."""
    db = sa.create_engine(demo_database[0])
    try:
        with db.connect() as conn:
            s = dash_stage_span.c
            rows = conn.execute(sa.select(s.instance_id, s.stage_number, s.project_type,
                                          s.working_days)
                                .where(s.working_days.is_not(None))).all()
    finally:
        db.dispose()
    projects = {r.instance_id for r in rows}
    assert len(projects) >= 20, "the demo's projects leave stages"

    def fit(rows):
        counts = {}
        for r in rows:
            key = (r.stage_number, r.project_type, r.working_days)
            counts[key] = counts.get(key, 0) + 1
        return forecast.StageStatistics([(*k, n) for k, n in counts.items()])

    everything = fit(rows)
    for number in {r.stage_number for r in rows}:
        days = [r.working_days for r in rows if r.stage_number == number]
        assert everything.for_stage(number, "no-such-type").median == pystats.median(days)
    inside = total = 0
    for iid in projects:
        stats = fit([r for r in rows if r.instance_id != iid])
        for r in (r for r in rows if r.instance_id == iid):
            found = stats.for_stage(r.stage_number, r.project_type)
            if found is not None:
                total += 1
                inside += found.low <= r.working_days <= found.high
    assert total >= 100
    assert 0.55 <= inside / total <= 0.97, (inside, total)
