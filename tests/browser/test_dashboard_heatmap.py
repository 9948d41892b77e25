"""驾驶舱 部门办理 and 流程热力图 in a browser, as the district leader: the heatmap of
project_lifecycle colours real elements of the diagram and puts its badges on them; the
departments page lists every department and drills down to a department's open tasks.
Screenshots at 1440 and 390 px."""

from __future__ import annotations

import sqlalchemy as sa

from engine import local_today
from tests.browser.conftest import login, new_page, screenshot
from workflows.dashboard import dash_task_stat
from workflows.dashboard.departments import month_window

WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PROCESS = "project_lifecycle"


def _histogram(engine) -> list[str]:
    """The elements of project_lifecycle with completed tasks in the heatmap's default period:
    six of its tasks get figures for this month unless the dashboard's read model has counted
    some already (other tests drive the process too)."""
    definition = engine.get_definition(PROCESS)
    tasks = list(engine.spec(definition.id).parsed.tasks.values())[:6]
    window = month_window(12, local_today())
    s = dash_task_stat.c
    counted = (sa.select(s.element_id).distinct()
               .where(s.process_key == PROCESS, s.month >= window[0], s.count > 0))
    with engine.unit_of_work() as uow:
        if not uow.conn.execute(counted).first():
            for n, info in enumerate(tasks):
                for days, count in ((1 + n, 3), (4 + 2 * n, 2)):
                    uow.conn.execute(dash_task_stat.insert().values(
                        process_key=PROCESS, element_id=info.element_id,
                        department_code=info.department or "invest", month=window[-1],
                        days=days, count=count, on_time=count - (n % 2), with_due=count,
                    ))
            uow.commit()
        return sorted(uow.conn.execute(counted).scalars())


def _open_tasks(engine, department: str) -> int:
    t = sa.table("task", sa.column("department_code"), sa.column("state"))
    with engine.unit_of_work(readonly=True) as uow:
        return uow.conn.execute(
            sa.select(sa.func.count()).select_from(t)
            .where(t.c.department_code == department, t.c.state.in_(("ready", "claimed")))
        ).scalar()


def test_leader_sees_the_heatmap_on_the_diagram_and_drills_into_a_department(live_server,
                                                                               browser):
    engine = live_server.engine
    measured = _histogram(engine)
    case = engine.start("sample_review", live_server.user("invest-clerk"),
                        title="驾驶舱浏览器测试项目")

    page = new_page(browser, WIDE)
    try:
        login(page, live_server, "leader")
        page.goto(live_server.url + "/dashboard/heatmap/")
        page.click(f"[data-testid=heatmap-link-{PROCESS}]")
        page.wait_for_selector(".heatmap-canvas[data-ready='1']")
        badges = page.locator(".djs-overlays .heat-badge")
        on_diagram = set(badges.evaluate_all("els => els.map(e => e.dataset.element)"))
        assert set(measured) <= on_diagram
        # the badge sits on the element's own overlay box, and the task's shape is filled
        first = measured[0]
        assert page.locator(f".djs-overlays[data-container-id='{first}'] .heat-badge").count() == 1
        assert page.locator(f"[data-element-id='{first}'] .djs-visual > rect.heat-filled").count() == 1
        assert page.locator("[data-testid=heatmap-legend]").is_visible()
        assert page.locator("[data-testid=slow-row]").count() >= len(measured)
        assert page.locator("[data-testid=heatmap-empty]").count() == 0
        screenshot(page, "dashboard-heatmap-1440")

        page.click("[data-testid=dash-nav-departments]")
        page.wait_for_selector("[data-chart='open-overdue'][data-ready='1']")
        assert page.locator("[data-testid=dept-row]").count() >= 30
        screenshot(page, "dashboard-departments-1440")
        open_invest = _open_tasks(engine, "invest")
        row = page.locator("[data-testid=dept-row][data-code=invest]")
        assert row.locator("td").nth(1).inner_text() == str(open_invest)
        row.locator("a").first.click()
        page.wait_for_url("**/dashboard/departments/invest**")
        assert f"在办任务（{open_invest}）" in page.locator("h2").first.inner_text()
        tasks = page.locator("[data-testid=dept-task]")
        assert tasks.count() == min(open_invest, 50)
        # soonest due first, so the new case (no deadline yet, just created) may be on a later
        # page when other tests left many; its link leads to the case page
        link = page.locator(f"[data-testid=dept-tasks] a[href$='/cases/{case.id}']")
        if link.count() == 0:
            link = page.locator("[data-testid=dept-tasks] a[href*='/cases/']").first
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(f"**{href}")
        assert page.kf_errors == []
    finally:
        page.context.close()

    phone = new_page(browser, PHONE)
    try:
        login(phone, live_server, "leader")
        phone.goto(live_server.url + "/dashboard/departments")
        phone.wait_for_selector("[data-chart='open-overdue'][data-ready='1']")
        screenshot(phone, "dashboard-departments-390")
        phone.goto(f"{live_server.url}/dashboard/heatmap/{PROCESS}")
        phone.wait_for_selector(".heatmap-canvas[data-ready='1']")
        assert phone.locator(".djs-overlays .heat-badge").count() >= len(measured)
        screenshot(phone, "dashboard-heatmap-390")
        assert phone.kf_errors == []
    finally:
        phone.context.close()
