"""The 驾驶舱 as the district leader (`leader`): the overview's phase counts equal the database's,
a stage's bar opens exactly that stage's projects, a project page shows its timeline, forecast
and clock. Three projects are driven through the engine first (one registered, one at 注册落地,
one at 前期手续 with its permits open in parallel); the read model fills ``dash_project``.
Screenshots of the overview and a project page at 1440 and 390 px (test-artifacts/screenshots)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.browser.conftest import PHONE, login, new_page, screenshot
from tests.processes.conftest import Driver
from tests.processes.test_project_lifecycle import (
    Project,
    approve,
    attract,
    land_and_planning,
)
from workflows.dashboard.tables import dash_project
from workflows.lifecycle import PHASES

WIDE = {"width": 1440, "height": 900}


def _start_projects(engine) -> int:
    """Projects at three stages; returns the one at 前期手续 (parallel permits open)."""
    driver = Driver(engine, cold=False)
    Project(driver, None, "XM-DASH-001")
    attract(Project(driver, None, "XM-DASH-002"))
    permits = Project(driver, None, "XM-DASH-003")
    attract(permits)
    approve(permits, "file")
    land_and_planning(permits)
    return permits.iid


def _past_projects(engine) -> None:
    """Dwell times of six earlier 备案 projects through stages 7..13 (stage spans of finished
    cases, as the read model leaves them), so the forecast has a history to draw on."""
    from datetime import datetime, timedelta

    from workflows.dashboard.tables import dash_stage_span
    from workflows.lifecycle import STAGES

    rows = []
    for n in range(6):
        entered = datetime(2025, 1, 6) + timedelta(days=n)
        for stage in STAGES[6:]:
            days = 5 + 3 * n + stage.number
            rows.append({"instance_id": 900_000 + n, "stage": stage.name,
                         "stage_number": stage.number, "project_type": "file",
                         "entered_at": entered, "left_at": entered + timedelta(days=days),
                         "working_days": days})
            entered += timedelta(days=days)
    with engine.unit_of_work() as uow:
        uow.conn.execute(dash_stage_span.insert(), rows)
        uow.commit()


def _database_counts(engine):
    p = dash_project.c
    with engine.unit_of_work(readonly=True) as uow:
        phases = dict(uow.conn.execute(
            sa.select(p.phase, sa.func.count()).where(p.status != "terminated")
            .group_by(p.phase)).all())
        stages = dict(uow.conn.execute(
            sa.select(p.stage_number, sa.func.count()).where(p.status != "terminated")
            .group_by(p.stage_number)).all())
    return phases, stages


def _ids_listed(page) -> list[int]:
    return sorted(int(x) for x in page.locator("[data-testid=project-row]").evaluate_all(
        "rows => rows.map(r => r.dataset.instance)"))


def test_leader_reads_the_overview_a_stage_list_and_a_project(live_server, browser):
    shown = _start_projects(live_server.engine)
    _past_projects(live_server.engine)
    phases, stages = _database_counts(live_server.engine)
    assert sum(phases.values()) >= 3, "the read model keeps dash_project"
    page = new_page(browser, WIDE)
    try:
        login(page, live_server, "leader")
        page.click("[data-testid=nav-dashboard]")
        page.wait_for_selector("#stage-chart[data-ready='1'] canvas")
        shown_phases = page.locator("[data-testid=phase-count]").all_inner_texts()
        assert [int(n) for n in shown_phases] == [phases.get(ph, 0) for ph in PHASES]
        screenshot(page, "dashboard-overview-1440")

        # the busiest stage: its number on the page, then a click on its bar
        number = max(stages, key=lambda n: (stages[n], -(n or 0)))
        link = page.locator(f"[data-testid=stage-count-{number}]")
        assert int(link.inner_text()) == stages[number]
        with live_server.engine.unit_of_work(readonly=True) as uow:
            expected = sorted(uow.conn.execute(
                sa.select(dash_project.c.instance_id).where(
                    dash_project.c.stage_number == number,
                    dash_project.c.status != "terminated")).scalars())
        box = page.locator("#stage-chart").bounding_box()
        # the bars are horizontal, stage 1 on top: click along the row of the chosen stage
        rows = 13
        top, height = box["y"] + 32, box["height"] - 40
        y = top + height * (number - 0.5) / rows
        for x_share in (0.3, 0.2, 0.4, 0.5, 0.6):
            page.mouse.click(box["x"] + box["width"] * x_share, y)
            try:
                page.wait_for_url(re.compile(r".*/dashboard/projects\?.*stage=.*"), timeout=1500)
                break
            except Exception:  # noqa: BLE001 - a short bar: try a point further left
                continue
        else:
            link.click()  # the bar was too short to hit: the number beside it is the same link
            page.wait_for_url(re.compile(r".*/dashboard/projects\?.*stage=.*"))
        total = int(re.search(r"\d+", page.locator("[data-testid=project-total]").inner_text())
                    .group())
        assert total == len(expected)
        if total <= 50:  # one page: exactly the stage's projects
            assert _ids_listed(page) == expected

        page.goto(f"{live_server.url}/dashboard/projects/{shown}")
        assert page.locator("[data-testid=timeline-stage]").count() == 13
        assert "冶金、化工等涉及危险工艺的工业项目" in page.locator("main").inner_text()  # label
        assert page.locator("[data-testid=timeline-stage][data-state=current]").count() == 1
        forecast = page.locator("[data-testid=forecast]")
        assert "预测方法" in forecast.inner_text()
        assert forecast.locator("[data-testid=forecast-none]").count() == 0
        # every stage left on the way to 达产 (前期手续 .. 运营/达产) has an end date and interval
        assert forecast.locator("tbody tr").count() == 6
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 至 \d{4}年", forecast.inner_text())
        assert "6 例" in forecast.inner_text()
        assert page.locator("[data-testid=clock-row]").count() >= 2  # the parallel permits
        screenshot(page, "dashboard-project-1440")
        assert page.kf_errors == [], page.kf_errors
    finally:
        page.context.close()

    phone = new_page(browser, PHONE)
    try:
        login(phone, live_server, "leader")
        phone.goto(f"{live_server.url}/dashboard/")
        phone.wait_for_selector("#stage-chart[data-ready='1'] canvas")
        screenshot(phone, "dashboard-overview-390")
        phone.goto(f"{live_server.url}/dashboard/projects/{shown}")
        screenshot(phone, "dashboard-project-390")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, width
        assert phone.kf_errors == [], phone.kf_errors
    finally:
        phone.context.close()
