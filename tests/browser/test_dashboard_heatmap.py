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
    """Completed-task figures for six of project_lifecycle's tasks this month, unless the
    dashboard's read model has already counted some (then those are shown)."""
    definition = engine.get_definition(PROCESS)
    tasks = list(engine.spec(definition.id).parsed.tasks.values())[:6]
    month = month_window(1, local_today())[0]
    with engine.unit_of_work() as uow:
        counted = uow.conn.execute(
            sa.select(dash_task_stat.c.element_id).where(dash_task_stat.c.process_key == PROCESS)
        ).scalars().all()
        if counted:
            return sorted(set(counted))
        for n, info in enumerate(tasks):
            for days, count in ((1 + n, 3), (4 + 2 * n, 2)):
                uow.conn.execute(dash_task_stat.insert().values(
                    process_key=PROCESS, element_id=info.element_id,
                    department_code=info.department or "invest", month=month, days=days,
                    count=count, on_time=count - (n % 2), with_due=count,
                ))
        uow.commit()
    return [info.element_id for info in tasks]


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
        page.click("[data-testid=dept-row][data-code=invest] a")
        page.wait_for_url("**/dashboard/departments/invest**")
        tasks = page.locator("[data-testid=dept-task]")
        assert tasks.count() >= 1
        assert "驾驶舱浏览器测试项目" in page.locator("[data-testid=dept-tasks]").inner_text()
        page.click(f"[data-testid=dept-tasks] a[href$='/cases/{case.id}']")
        page.wait_for_url(f"**/cases/{case.id}")
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
