"""部门办理 and 流程热力图 figures, from task rows and histogram rows inserted directly."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from engine import NotFound
from engine.model import instance, task
from workflows.dashboard import dash_task_stat
from workflows.dashboard.departments import (
    bucket_percentile,
    department_detail,
    department_overview,
    month_window,
)
from workflows.dashboard.heatmap import process_heatmap, process_list

# Monday 15 June 2026, 10:00 in Beijing (naive UTC as stored); June 10..15 has no holiday.
NOW = datetime(2026, 6, 15, 2, 0)
PROCESS = "sample_review"


def _due(day: int) -> datetime:
    """The end of 2026-06-``day`` in Beijing, as the engine stores deadlines (naive UTC)."""
    return datetime(2026, 6, day, 15, 59, 59)


@pytest.fixture
def case(engine):
    """An instance row that the inserted tasks belong to."""
    definition = engine.get_definition(PROCESS)
    with engine.unit_of_work() as uow:
        instance_id = uow.conn.execute(
            instance.insert().values(
                definition_id=definition.id, process_key=PROCESS, business_key="2026-150203-00-01",
                title="年产 10 万吨铸件项目", status="running", version=1, serializer_version="1",
                state_json="{}", started_at=NOW - timedelta(days=60), updated_at=NOW,
            )
        ).inserted_primary_key[0]
        uow.commit()
    return instance_id


def add_tasks(engine, instance_id, *rows):
    """``rows``: (element id, department, state, due_at, assignee)."""
    with engine.unit_of_work() as uow:
        for n, (element_id, department, state, due_at, assignee) in enumerate(rows):
            uow.conn.execute(task.insert().values(
                id=str(uuid.uuid4()), instance_id=instance_id, process_key=PROCESS,
                element_id=element_id, name=f"任务 {element_id}", department_code=department,
                assignee=assignee, state=state, created_at=NOW - timedelta(days=30 - n),
                due_at=due_at,
            ))
        uow.commit()


def add_histogram(engine, *rows):
    """``rows``: (element id, department, month, days, count, on_time, with_due)."""
    with engine.unit_of_work() as uow:
        for element_id, department, month, days, count, on_time, with_due in rows:
            uow.conn.execute(dash_task_stat.insert().values(
                process_key=PROCESS, element_id=element_id, department_code=department,
                month=month, days=days, count=count, on_time=on_time, with_due=with_due,
            ))
        uow.commit()


@pytest.fixture
def figures(engine, case):
    add_tasks(
        engine, case,
        ("opinion_drc", "drc", "ready", _due(10), None),  # overdue
        ("opinion_drc", "drc", "claimed", _due(12), "drc-clerk"),  # overdue
        ("opinion_drc", "drc", "claimed", _due(20), "drc-clerk"),
        ("opinion_drc", "drc", "completed", _due(1), "drc-clerk"),  # done: not open
        ("opinion_eco", "eco", "ready", None, None),
        ("opinion_natres", "natres", "ready", _due(11), None),  # overdue
        ("opinion_natres", "natres", "cancelled", _due(11), None),
        ("opinion_natres", "natres", "ready", _due(12), None),  # overdue
    )
    add_histogram(
        engine,
        # drc: 6 completed in the window: 2 took 2 days, 1 took 3, 3 took 7; 9 of 10 on time
        ("opinion_drc", "drc", "2026-05", 2, 2, 2, 2),
        ("opinion_drc", "drc", "2026-06", 3, 1, 1, 1),
        ("opinion_drc", "drc", "2026-06", 7, 3, 2, 3),
        ("consolidate_review", "drc", "2026-04", 1, 4, 4, 4),
        # two without a due time: completed, outside the rate
        ("consolidate_review", "drc", "2026-04", 2, 2, 0, 0),
        # thirteen months back: outside the default window
        ("opinion_drc", "drc", "2025-06", 40, 50, 0, 50),
        # natres: 1 of 4 on time
        ("opinion_natres", "natres", "2026-03", 5, 4, 1, 4),
    )
    return case


def test_a_percentile_is_the_first_bucket_where_the_running_count_reaches_it():
    buckets = [(7, 3), (2, 2), (3, 1)]  # any order
    assert bucket_percentile(buckets, 50) == 3  # 2, 2, [3], 7, 7, 7: half reached at 3
    assert bucket_percentile(buckets, 80) == 7
    assert bucket_percentile([(4, 1)], 50) == 4
    assert bucket_percentile([], 50) is None
    assert bucket_percentile([(1, 0)], 50) is None


def test_the_month_window_counts_back_across_the_year():
    assert month_window(3, datetime(2026, 2, 1).date()) == ("2025-12", "2026-01", "2026-02")
    assert len(month_window(12, NOW.date())) == 12


def test_open_overdue_on_time_rates_and_the_ranking(engine, figures):
    overview = department_overview(engine, None, now=NOW)
    by_code = {f.code: f for f in overview.departments}
    drc, natres, eco = by_code["drc"], by_code["natres"], by_code["eco"]
    assert (drc.open_tasks, drc.overdue_tasks) == (3, 2)
    assert (natres.open_tasks, natres.overdue_tasks) == (2, 2)
    assert (eco.open_tasks, eco.overdue_tasks) == (1, 0)
    # the 2025-06 bucket is outside the last 12 months
    assert (drc.completed, drc.on_time, drc.with_due) == (12, 9, 10)
    assert drc.rate == pytest.approx(0.9)
    assert natres.rate == pytest.approx(0.25)
    assert eco.rate is None
    months = {m.month: (m.on_time, m.with_due) for m in drc.months}
    assert months["2026-05"] == (2, 2) and months["2026-06"] == (3, 4)
    assert months["2026-04"] == (4, 4)
    assert months["2026-01"] == (0, 0) and "2025-06" not in months
    # most overdue first; a tie goes to the lower on-time rate; idle departments are not ranked
    assert [f.code for f in overview.ranking] == ["natres", "drc", "eco"]
    assert [f.rank for f in overview.ranking] == [1, 2, 3]
    assert by_code["finance"].rank is None
    # grouped: 区直部门 before 街镇, every department of the org chart listed
    groups = [f.group for f in overview.departments]
    assert groups == sorted(groups, key=["区直部门", "街镇"].index)
    assert by_code["kunhe"].group == "街镇" and by_code["drc"].group == "区直部门"


def test_task_type_medians_come_from_the_histogram_with_diagram_names(engine, figures):
    overview = department_overview(engine, None, now=NOW)
    types = {(t.department_code, t.element_id): t for t in overview.task_types}
    opinion = types[("drc", "opinion_drc")]
    assert (opinion.count, opinion.median_days, opinion.p80_days) == (6, 3, 7)
    assert opinion.name == "发改意见" and opinion.process_name == "示例：项目联合预审"
    assert types[("drc", "consolidate_review")].median_days == 1  # 1, 1, 1, 1, 2, 2
    # slowest median first
    medians = [t.median_days for t in overview.task_types]
    assert medians == sorted(medians, reverse=True)
    # a longer period takes in the older bucket
    longer = department_overview(engine, None, months=13, now=NOW)
    assert {(t.department_code, t.element_id): t.count
            for t in longer.task_types}[("drc", "opinion_drc")] == 56


def test_a_head_sees_only_their_department(engine, figures):
    overview = department_overview(engine, frozenset({"drc"}), now=NOW)
    assert [f.code for f in overview.departments] == ["drc"]
    assert {t.department_code for t in overview.task_types} == {"drc"}
    assert [f.code for f in overview.ranking] == ["drc"]
    heat = process_heatmap(engine, PROCESS, frozenset({"natres"}), now=NOW)
    assert {e.element_id for e in heat.elements} == {"opinion_natres"}
    assert [(p.key, p.completed, p.open_now) for p in process_list(
        engine, frozenset({"natres"}), now=NOW) if p.key == PROCESS] == [(PROCESS, 4, 2)]


def test_a_department_lists_its_open_tasks_soonest_due_first_a_page_at_a_time(engine, figures):
    detail = department_detail(engine, "drc", now=NOW)
    assert detail.total == 3
    assert [t.due_at for t in detail.tasks] == [_due(10), _due(12), _due(20)]
    assert [t.overdue for t in detail.tasks] == [True, True, False]
    # due Wednesday 10 June: Thursday, Friday and Monday the 15th are working days past it
    assert [t.days_overdue for t in detail.tasks] == [3, 1, 0]
    assert detail.tasks[0].case_title == "年产 10 万吨铸件项目"
    assert detail.tasks[0].business_key == "2026-150203-00-01"
    assert detail.tasks[1].assignee == "drc-clerk"
    assert {t.element_id for t in detail.task_types} == {"opinion_drc", "consolidate_review"}
    second = department_detail(engine, "drc", page=2, page_size=2, now=NOW)
    assert (second.total, len(second.tasks), second.tasks[0].due_at) == (3, 1, _due(20))
    overdue = department_detail(engine, "drc", overdue_only=True, now=NOW)
    assert overdue.total == 2 and all(t.overdue for t in overdue.tasks)
    with pytest.raises(NotFound):
        department_detail(engine, "no-such-department", now=NOW)


def test_the_heatmap_gives_each_elements_median_p80_count_and_open_tasks(engine, figures):
    heat = process_heatmap(engine, PROCESS, None, now=NOW)
    elements = {e.element_id: e for e in heat.elements}
    drc = elements["opinion_drc"]
    assert (drc.count, drc.median_days, drc.p80_days) == (6, 3, 7)
    assert (drc.open_now, drc.overdue_now) == (3, 2)
    assert drc.name == "发改意见"
    eco = elements["opinion_eco"]  # open, never completed
    assert (eco.count, eco.median_days, eco.open_now) == (0, None, 1)
    assert heat.elements[0].element_id == "opinion_natres"  # slowest median (5) first
    assert heat.elements[-1].element_id == "opinion_eco"
    assert heat.has_data
    with pytest.raises(NotFound):
        process_heatmap(engine, "no_such_process", None, now=NOW)


def test_a_process_without_figures_has_no_data(engine):
    heat = process_heatmap(engine, "sample_loop", None, now=NOW)
    assert heat.elements == () and not heat.has_data
