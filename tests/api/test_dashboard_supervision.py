"""督查督办 pages of the 驾驶舱: the 督查室 urges units (a form with CSRF) and the unit's users
see the 催办 at the top of their task lists — another unit does not; a head sees their unit's
line only; caseworkers get 403 on the page, the export and the 督办单; a bad month is a 400 in
Chinese; only the 督查室 issues a 督办单, and its number stays when it is printed again."""

from __future__ import annotations

import io
import re

import time_machine
from docx import Document
from openpyxl import load_workbook

from tests.api.test_pages import Browser
from tests.workflows.test_dashboard_supervision import MONTH, _ledger

FROZEN = "2026-11-20T02:00:00Z"


@time_machine.travel(FROZEN, tick=False)
def test_supervisor_urges_units_and_only_they_see_it_in_their_task_list(app):
    engine = app.extensions["kunflow"]
    _ledger(engine)
    office = Browser(app, "supervisor")
    page = office.get(f"/dashboard/supervision?month={MONTH}")
    assert page.status_code == 200
    assert re.findall(r'data-unit="([^"]+)"', page.text)[:2] == ["kunbei", "housing"]
    assert "催办所选单位" in page.text and "约谈" in page.text
    refused = office.client.post("/dashboard/supervision/urge",
                                 data={"month": MONTH, "units": ["kunbei"]})
    assert refused.status_code in (400, 403)  # no CSRF token
    done = office.post("/dashboard/supervision/urge",
                       data={"month": MONTH, "units": ["kunbei", "drc"], "message": "请今日报送"})
    assert done.status_code == 302
    after = office.get(f"/dashboard/supervision?month={MONTH}").text
    assert re.search(r'data-testid="sv-urged-kunbei">已催办 1 次（1 未读）', after)

    clerk = Browser(app, "kunbei-clerk")
    tasks = clerk.get("/tasks?view=department").text
    assert 'data-testid="urges"' in tasks and "请今日报送" in tasks and "许红梅" in tasks
    assert "/tasks/t-kunbei" in tasks  # the link to its open report task
    other = Browser(app, "housing-clerk").get("/tasks").text
    assert 'data-testid="urges"' not in other
    urge_id = re.search(r'data-urge-id="(\d+)"', tasks).group(1)
    assert Browser(app, "housing-clerk").post(f"/tasks/urges/{urge_id}/seen").status_code == 302
    assert "请今日报送" in clerk.get("/tasks").text  # another unit cannot mark it seen
    assert clerk.post(f"/tasks/urges/{urge_id}/seen").status_code == 302
    assert 'data-testid="urges"' not in clerk.get("/tasks").text


@time_machine.travel(FROZEN, tick=False)
def test_scope_bad_input_and_who_may_urge(app):
    _ledger(app.extensions["kunflow"])
    head = Browser(app, "housing-head")
    page = head.get(f"/dashboard/supervision?month={MONTH}")
    assert re.findall(r'data-unit="([^"]+)"', page.text) == ["housing"]
    assert "催办所选单位" not in page.text
    assert head.get(f"/dashboard/supervision?month={MONTH}&unit=kunbei").status_code == 403
    urged = head.post("/dashboard/supervision/urge", data={"month": MONTH, "units": ["housing"]})
    assert urged.status_code == 403
    sheet = load_workbook(io.BytesIO(
        head.get(f"/dashboard/export/supervision.xlsx?month={MONTH}").data)).active
    assert [sheet.cell(r, 3).value for r in range(4, sheet.max_row + 1)] == ["任务1", "任务2"]

    clerk = Browser(app, "kunbei-clerk")
    for url in (f"/dashboard/supervision?month={MONTH}",
                f"/dashboard/export/supervision.xlsx?month={MONTH}",
                "/dashboard/supervision/notice/1?unit=kunbei",
                "/dashboard/supervision/notice/1.docx?unit=kunbei"):
        assert clerk.get(url).status_code == 403, url

    office = Browser(app, "supervisor")
    bad = office.get("/dashboard/supervision?month=2026-13")
    assert bad.status_code == 400 and "月份格式应为 YYYY-MM" in bad.text
    assert office.get("/dashboard/supervision?month=x%00").status_code == 400
    assert office.post("/dashboard/supervision/urge",
                       data={"month": MONTH, "units": ["nowhere"]}).status_code == 400
    assert office.get("/dashboard/supervision/notice/1?unit=youyi").status_code == 404


@time_machine.travel(FROZEN, tick=False)
def test_notice_issued_once_by_the_office_and_printed_with_its_number(app):
    r1, *_ = _ledger(app.extensions["kunflow"])
    url = f"/dashboard/supervision/notice/{r1}?unit=kunbei"
    leader = Browser(app, "leader")
    draft = leader.get(url)
    assert draft.status_code == 200 and "（未签发）" in draft.text and "@page" in draft.text
    assert leader.post(url).status_code == 403
    office = Browser(app, "supervisor")
    assert office.post(url).status_code == 302
    assert office.post(url).status_code == 302  # issuing again keeps the number
    page = leader.get(url).text
    assert "督办〔2026〕1号" in page and "昆北街道办事处" in page and "2026年11月20日" in page
    assert "2026年12月31日" in page and "昆都仑区人民政府督查室" in page
    doc = Document(io.BytesIO(leader.get(f"/dashboard/supervision/notice/{r1}.docx?unit=kunbei").data))
    assert "督办〔2026〕1号" in "\n".join(p.text for p in doc.paragraphs)
    assert office.post(f"/dashboard/supervision/notice/{r1}?unit=housing").status_code == 302
    assert "督办〔2026〕2号" in office.get(f"/dashboard/supervision/notice/{r1}?unit=housing").text
