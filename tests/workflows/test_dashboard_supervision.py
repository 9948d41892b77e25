"""督查督办 on the 驾驶舱 (workflows/dashboard/supervision.py, ledger/urges.py, notice_sheet.py):
each unit's report state, lights, escalation step and 销账 for a month from rows inserted
directly; a head's scope; 催办 recorded for a unit and its open report task; the month's Excel
(title, merged header, one row per ledger row, a red light's fill, frozen header, print area);
督办单 numbers stable and unique per year; the Word document."""

from __future__ import annotations

import io
from datetime import date, datetime

import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook

from workflows.dashboard import notice_sheet
from workflows.dashboard import supervision as sv
from workflows.ledger import ledger_event, ledger_progress, ledger_row, ledger_row_unit
from workflows.ledger.tables import ledger_notice, ledger_urge
from workflows.ledger.urges import mark_seen, open_urges, record_urges

MONTH = "2026-10"  # reported in November (China time)
NOW = datetime(2026, 11, 20, 2, 0)  # naive UTC, after every escalation below
NAMES = {"drc": "区发改委", "housing": "区住建局", "kunbei": "昆北街道办事处", "youyi": "友谊街道办事处",
         "miit": "区工信局", "finance": "区财政局"}


def name(code):
    return NAMES.get(code, code)


def _row(conn, number, units, light, status="open", closed_on=None, created=datetime(2026, 3, 1)):
    row_id = conn.execute(
        sa.insert(ledger_row).values(
            source_table="2026年重点任务分解表", number=str(number), task=f"任务{number}",
            lead_unit=units[0], deadline=date(2026, 12, 31), status=status, light=light,
            closed_on=closed_on, actual_pct=100 if status == "closed" else 40, created_at=created,
        )
    ).inserted_primary_key[0]
    for n, code in enumerate(units):
        conn.execute(sa.insert(ledger_row_unit).values(
            row_id=row_id, department_code=code, role="lead" if n == 0 else "responsible"))
    return row_id


def _report(conn, row_id, unit, *, late=False, signed=True, status="submitted", light=None,
            percent=50):
    conn.execute(sa.insert(ledger_progress).values(
        row_id=row_id, department_code=unit, month=MONTH, percent=percent, light=light,
        reported_at=datetime(2026, 11, 5, 2), late=late, signed=signed, status=status,
        instance_key="DC-2026-11"))


def _round(conn):
    """A round instance of November with its report tasks and kunbei's escalation to 约谈."""
    meta = sa.MetaData()
    definition = sa.Table("definition", meta, autoload_with=conn)
    instance = sa.Table("instance", meta, autoload_with=conn)
    task = sa.Table("task", meta, autoload_with=conn)
    at = datetime(2026, 11, 2, 1)
    def_id = conn.execute(sa.select(sa.func.max(definition.c.id)).where(
        definition.c.key == "supervision_monthly")).scalar()  # deployed in the app's tests
    if def_id is None:
        def_id = conn.execute(sa.insert(definition).values(
            key="supervision_monthly", version=99, name="督查督办月报", filename="x.bpmn",
            bpmn_xml="<x/>", checksum="x", meta_json="{}", deployed_at=at)).inserted_primary_key[0]
    iid = conn.execute(sa.insert(instance).values(
        definition_id=def_id, process_key="supervision_monthly", business_key="DC-2026-11",
        status="running", version=1, serializer_version="1", state_json="{}", started_at=at,
        updated_at=at, completed_tasks=0)).inserted_primary_key[0]
    due = datetime(2026, 11, 6, 15, 59, 59)

    def add(tid, element, dept, state, created, completed=None, stage="月报报送", due=due):
        conn.execute(sa.insert(task).values(
            id=tid, instance_id=iid, process_key="supervision_monthly", element_id=element,
            name=element, department_code=dept, state=state, created_at=created,
            due_at=due if element == "prepare_monthly_report" else None,
            completed_at=completed, stage=stage))

    add("t-drc", "prepare_monthly_report", "drc", "completed", at, datetime(2026, 11, 4))
    add("t-housing", "prepare_monthly_report", "housing", "completed", at, datetime(2026, 11, 8))
    add("t-kunbei", "prepare_monthly_report", "kunbei", "ready", at)
    add("t-youyi", "prepare_monthly_report", "youyi", "completed", at, datetime(2026, 11, 5))
    # miit's new row: its report asked for after the escalations, due next week
    add("t-miit", "prepare_monthly_report", "miit", "ready", datetime(2026, 11, 13, 1),
        due=datetime(2026, 11, 25, 15, 59, 59))
    # housing and kunbei were both late at the deadline: two 催办; housing reported on the
    # 8th, before the 督办单 of the 9th; kunbei still had not by the 约谈 of the 12th
    add("u1", "urge_report", "supervision", "completed", datetime(2026, 11, 6, 16), stage="催办督办")
    add("u2", "urge_report", "supervision", "completed", datetime(2026, 11, 6, 16), stage="催办督办")
    add("n1", "issue_supervision_notice", "supervision", "completed", datetime(2026, 11, 9, 16),
        stage="催办督办")
    add("i1", "interview_unit_head", "leaders", "ready", datetime(2026, 11, 12, 16),
        stage="催办督办")
    add("x1", "explain_unsigned_report", "youyi", "completed", datetime(2026, 11, 5, 3),
        datetime(2026, 11, 5, 6))


def _ledger(engine):
    with engine.unit_of_work() as uow:
        c = uow.conn
        r1 = _row(c, 1, ["drc", "housing", "kunbei"], "red")
        r2 = _row(c, 2, ["housing"], "yellow")
        r3 = _row(c, 3, ["youyi"], "green", status="closed", closed_on=date(2026, 11, 20))
        _row(c, 4, ["youyi"], "green", status="closed", closed_on=date(2026, 5, 1))  # long done
        r5 = _row(c, 5, ["miit"], None, created=datetime(2026, 10, 15))
        _report(c, r1, "drc", light="red")
        _report(c, r1, "housing", late=True, light="red")
        _report(c, r2, "housing", late=True, light="green")
        _report(c, r1, "kunbei", status="missing", light="red", percent=None)
        _report(c, r3, "youyi", signed=False, light="green", percent=100)
        _round(c)
        uow.commit()
    return r1, r2, r3, r5


def test_each_unit_state_lights_escalation_and_closure(engine):
    r1, r2, r3, r5 = _ledger(engine)
    with engine.unit_of_work(readonly=True) as uow:
        board = sv.unit_lines(uow.conn, MONTH, None, NOW, name)
        assert sv.months(uow.conn) == [MONTH]
    lines = {x["unit"]: x for x in board["lines"]}
    assert set(lines) == {"drc", "housing", "kunbei", "youyi", "miit"}
    assert {u: x["state"] for u, x in lines.items()} == {
        "drc": "on_time", "housing": "late", "kunbei": "missing", "youyi": "unsigned",
        "miit": "pending"}
    assert lines["youyi"]["state_label"] == "未签字（附情况说明）"
    assert lines["housing"]["lights"] == {"red": 1, "yellow": 0, "green": 1}
    assert lines["drc"]["lights"] == {"red": 1, "yellow": 0, "green": 0}
    # escalation: housing reported between the 催办 and the 督办单; kunbei reached 约谈
    assert {u: x["step"] for u, x in lines.items()} == {
        "drc": None, "housing": "催办", "kunbei": "约谈", "youyi": None, "miit": None}
    # 销账: youyi's row 3 closed in the round (row 4 long before, left out); miit's new row
    assert (lines["youyi"]["closed"], lines["youyi"]["open"], lines["youyi"]["rows"]) == (1, 0, 1)
    assert (lines["miit"]["open"], lines["miit"]["rolled"]) == (1, 0)
    assert (lines["housing"]["open"], lines["housing"]["rolled"]) == (2, 2)
    assert lines["kunbei"]["task_id"] == "t-kunbei" and lines["drc"]["task_id"] is None
    assert board["lines"][0]["unit"] == "kunbei"  # worst first
    assert board["totals"]["states"]["missing"] == 1 and board["totals"]["units"] == 5


def test_a_head_sees_only_the_lines_and_rows_of_their_unit(engine):
    r1, r2, _r3, _r5 = _ledger(engine)
    with engine.unit_of_work(readonly=True) as uow:
        board = sv.unit_lines(uow.conn, MONTH, frozenset({"housing"}), NOW, name)
        rows = sv.ledger_lines(uow.conn, MONTH, frozenset({"housing"}))
    assert [x["unit"] for x in board["lines"]] == ["housing"]
    assert [x["id"] for x in rows] == [r1, r2]
    assert rows[0]["report_states"] == {"late": 1}  # only housing's report on row 1


def test_urges_are_recorded_with_the_open_report_task_and_seen_by_the_unit_only(engine):
    r1, *_ = _ledger(engine)
    with engine.unit_of_work() as uow:
        made = record_urges(uow.conn, month=MONTH, units=["kunbei", "drc"],
                            message="请今日报送", actor="supervisor")
        uow.commit()
    assert {u["department_code"]: u["task_id"] for u in made} == {"kunbei": "t-kunbei",
                                                                   "drc": None}
    with engine.unit_of_work() as uow:
        mine = open_urges(uow.conn, "kunbei")
        assert [(u["message"], u["urged_by"]) for u in mine] == [("请今日报送", "supervisor")]
        assert open_urges(uow.conn, "housing") == []
        assert not mark_seen(uow.conn, mine[0]["id"], "housing", "housing-clerk")
        assert mark_seen(uow.conn, mine[0]["id"], "kunbei", "kunbei-clerk")
        uow.commit()
    with engine.unit_of_work(readonly=True) as uow:
        assert open_urges(uow.conn, "kunbei") == []
        kinds = [e.kind for e in uow.conn.execute(sa.select(ledger_event.c.kind))]
        seen = uow.conn.execute(sa.select(ledger_urge.c.seen_by).where(
            ledger_urge.c.department_code == "kunbei")).scalar_one()
        board = sv.unit_lines(uow.conn, MONTH, None, NOW, name)
    assert kinds.count("urge") == 2 and seen == "kunbei-clerk"
    lines = {x["unit"]: x for x in board["lines"]}
    assert lines["kunbei"]["urges"]["count"] == 1 and lines["kunbei"]["urges"]["open"] == 0


def test_the_month_exports_as_an_office_prints_it(engine):
    r1, r2, r3, r5 = _ledger(engine)
    with engine.unit_of_work(readonly=True) as uow:
        lines = sv.ledger_lines(uow.conn, MONTH, None)
    ws = load_workbook(io.BytesIO(sv.export_supervision(lines, MONTH, name))).active
    assert ws["A1"].value == "昆都仑区督查督办台账（2026年10月）"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "A1:K1" in merged and "D2:E2" in merged and "G2:I2" in merged and "A2:A3" in merged
    assert (ws["D2"].value, ws["D3"].value, ws["E3"].value) == ("责任分工", "牵头单位", "责任单位")
    assert [ws.cell(r, 3).value for r in range(4, 8)] == ["任务1", "任务2", "任务3", "任务5"]
    assert ws.max_row == 7  # one row per ledger row (row 4 closed in May is not this month's)
    assert ws["E4"].value == "区住建局、昆北街道办事处" and ws["F4"].value == "2026年12月31日"
    assert ws["G4"].value == "按时报送 1、逾期报送 1、未报送 1"
    assert ws["I4"].value == "红灯" and ws["I4"].fill.fgColor.rgb == "FFE53935"
    assert (ws["J6"].value, ws["K6"].value) == ("已销账", "2026年11月20日")
    assert ws.freeze_panes == "A4"
    assert ws.print_area == "'督查督办2026-10'!$A$1:$K$7"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1


def test_notice_numbers_are_per_year_in_issue_order_and_stable(engine):
    r1, r2, *_ = _ledger(engine)

    def issue(row_id, unit, year=2026):
        with engine.unit_of_work() as uow:
            n = notice_sheet.issue_notice(uow.conn, row_id=row_id, unit=unit, actor="supervisor",
                                          issued_at=datetime(year, 11, 9, 2), year=year)
            uow.commit()
        return notice_sheet.notice_number(n["year"], n["number"])

    assert issue(r1, "kunbei") == "督办〔2026〕1号"
    assert issue(r2, "housing") == "督办〔2026〕2号"
    assert issue(r1, "kunbei") == "督办〔2026〕1号"  # reprint: the same number
    assert issue(r1, "housing") == "督办〔2026〕3号"
    assert issue(r1, "kunbei", 2027) == "督办〔2027〕1号"
    with engine.unit_of_work(readonly=True) as uow:
        numbers = uow.conn.execute(sa.select(ledger_notice.c.year, ledger_notice.c.number)).all()
        row = notice_sheet.row_for_unit(uow.conn, r1, "kunbei")
        assert notice_sheet.row_for_unit(uow.conn, r2, "kunbei") is None
        notice = notice_sheet.find_notice(uow.conn, r1, "kunbei", 2026)
    assert len(numbers) == len(set(numbers)) == 4
    fields = notice_sheet.sheet(row, "昆北街道办事处", notice, date(2026, 12, 1))
    assert fields["date"] == "2026年11月9日" and fields["deadline"] == "2026年12月31日"
    doc = Document(io.BytesIO(notice_sheet.docx(fields)))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for r in doc.tables[0].rows for c in r.cells]
    assert "督办〔2026〕1号" in text and "昆都仑区人民政府督查室" in text
    assert "昆北街道办事处" in cells and "任务1" in cells
    assert round(doc.sections[0].page_width.cm, 1) == 21.0  # A4
