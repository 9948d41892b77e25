"""supervision_monthly — 督查督办月报 (昆府发〔2026〕10号), driven through the engine with frozen time.

One instance cycles month by month: on the 1st (China time) the 督查室 builds the ledger (建账),
every responsible unit reports last month's progress by the 6th (the next working day when the
6th is not one), signed by its head or explained with evidence; late units are urged (催办) and
escalated (督办单 → 约谈 → 通报 → 未报送); the 督查室 reconciles (对账), audits (查账, may visit),
lights every row by DMN progress_light, closes finished rows with evidence (销账) and rolls the
rest over. Every scenario runs warm (one engine) and cold (a new Engine before every step).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine
from lxml import etree

from engine import Forbidden, InvalidInput, TaskInfo
from tests.conftest import BPMN, ROOT
from tests.processes.conftest import Driver, library_deploy
from workflows.ledger import ledger_progress, operations

PROCESS = "supervision_monthly"
CN = timezone(timedelta(hours=8))
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
ROW_ID_LISTS = ("row_progress", "verified_progress", "planned_progress")


def cn(y, m, d, h=0, mi=0, s=0) -> datetime:
    """A moment in China time."""
    return datetime(y, m, d, h, mi, s, tzinfo=CN)


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def row(row_id, unit, planned, months_behind=0, task="重点任务"):
    return {"row_id": row_id, "task": f"{task}{row_id}", "unit": unit, "owner": f"{unit}责任人",
            "deadline": "2026-12-31", "planned_pct": planned, "months_behind": months_behind}


def report(row_id, actual, head_available="yes"):
    return {"report_summary": "上月重点任务推进情况：按计划完成各项工作。",
            "row_progress": [{"row_id": row_id, "actual_pct": actual, "progress_note": "推进中"}],
            "head_available": head_available, **DELIVERED}


# 同步报送 to the three channels 10号 names, with the platform's export file
DELIVERED = {"channel_office_line": True, "channel_supervision_office": True,
             "channel_online_platform": True, "delivered_on": "2026-03-05",
             "platform_export_files": ["att-platform-export"]}


class Round:
    """One supervision instance, driven as the users of the departments its tasks route to.

    Each action (start, timer run, completion) is one step; cold drivers get a brand-new Engine
    for every step (the previous step's engine is disposed, so PostgreSQL connections do not
    pile up)."""

    def __init__(self, driver: Driver, rebuild, clock):
        self.d, self.rebuild, self.clock, self.iid = driver, rebuild, clock, None
        self.eng = driver.engine
        self.admin = driver.user("admin")

    def step(self):
        if self.d.cold:
            previous, self.eng = self.eng, self.rebuild()
            previous.db.dispose()
        return self.eng

    def start(self, when: datetime, data: dict | None = None) -> None:
        self.clock.move_to(when)
        inst = self.step().start(PROCESS, self.d.user("supervision-clerk"), title="2026年督查督办",
                                 data=data)
        self.iid = inst.id
        self.running()

    def at(self, when: datetime) -> int:
        """Move the clock and run the scheduler's timer job once."""
        self.clock.move_to(when)
        fired = self.step().fire_due_timers()
        self.running()
        return fired

    def status(self) -> str:
        return self.eng.get_instance(self.iid, self.admin).status

    def running(self) -> None:
        if self.status() == "incident":
            msgs = [i["message"] for i in self.eng.list_incidents(self.admin, instance_id=self.iid)]
            pytest.fail(f"incident: {msgs}")

    def open(self) -> list[TaskInfo]:
        page = self.eng.list_tasks(self.admin, scope="all", state="open", instance_id=self.iid,
                                   limit=500)
        return [self.eng.get_task(t.id, self.admin) for t in page.items]

    def routes(self) -> list[tuple[str, str]]:
        """(element id, department code) of every open task, sorted."""
        return sorted((t.element_id, t.department_code) for t in self.open())

    def task(self, element_id: str, dept: str, unit: str | None = None) -> TaskInfo:
        """The open task of that element routed to ``dept`` (for a unit's task: of that unit)."""
        found = [t for t in self.open() if t.element_id == element_id and t.department_code == dept
                 and (unit is None or (t.data or {}).get("unit") == unit)]
        assert len(found) == 1, f"{element_id}@{dept}/{unit}: {self.routes()}"
        return found[0]

    def do(self, element_id: str, dept: str, data: dict | None = None, unit: str | None = None):
        """Complete the open task routed to ``dept`` as that department's clerk, or its head
        when the task needs one (expect_department). Row numbers (R1 …) in row lists are
        written as the ledger rows' ids, as the forms hold them."""
        eng = self.step()
        task = self.task(element_id, dept, unit)
        eng.complete(task.id, self.d.user(self.d.clerk_for(task)), self.ids(data or {}))
        self.running()

    # -- the ledger's tables (the office's own data, not the instance's)

    def rows(self) -> dict[str, dict]:
        """Ledger rows by number, with this round's progress records (``reports``)."""
        with self.d.reader.unit_of_work(readonly=True) as uow:
            rows = {r["number"]: r for r in operations.list_rows(uow.conn)}
            month = (self.data().get("report_period") or "") if self.iid else ""
            for r in rows.values():
                r["reports"] = [dict(p._mapping) for p in uow.conn.execute(
                    ledger_progress.select().where(ledger_progress.c.row_id == r["id"],
                                                   ledger_progress.c.month == month))]
        return rows

    def rid(self, number: str) -> str:
        return self.rows()[number]["row_id"]

    def ids(self, data: dict) -> dict:
        numbers = {n: r["row_id"] for n, r in self.rows().items()}
        out = dict(data)
        for key in ROW_ID_LISTS:
            if isinstance(out.get(key), list):
                out[key] = [dict(x, row_id=numbers.get(x.get("row_id"), x.get("row_id")))
                            for x in out[key]]
        if isinstance(out.get("closed_row_ids"), list):
            out["closed_row_ids"] = [numbers.get(x, x) for x in out["closed_row_ids"]]
        return out

    def refused(self, element_id: str, dept: str, data: dict, unit: str | None = None) -> dict:
        """The submission is refused with field errors; the task stays open."""
        eng = self.step()
        task = self.task(element_id, dept, unit)
        with pytest.raises(InvalidInput) as caught:
            eng.complete(task.id, self.d.user(self.d.clerk_for(task)), self.ids(data))
        assert self.task(element_id, dept, unit).state == "ready"
        return caught.value.details

    def data(self) -> dict:
        return self.eng.get_instance(self.iid, self.admin, with_data=True).data

    def ledger(self) -> dict[str, dict]:
        """Rows by number as the tables hold them: light, reason, progress, and whether this
        round's reports on them were late or signed."""
        out = {}
        for number, r in self.rows().items():
            out[number] = dict(r, report_late=any(p["late"] for p in r["reports"]),
                               report_signed=bool(r["reports"]) and all(
                                   p["signed"] for p in r["reports"]))
        return out

    def reconcile_and_audit(self, visit=None):
        self.do("reconcile_ledger", "supervision", {"reconcile_result": "match" if visit is None
                                                    else "mismatch"})
        if visit is None:
            self.do("audit_ledger", "supervision", {"site_visit": "no", "audit_notes": "无异常"})
        else:
            self.do("audit_ledger", "supervision", {"site_visit": "yes"})
            assert self.routes() == [("visit_site", "supervision")]
            details = self.refused("visit_site", "supervision",
                                   {"visit_date": "2026-03-12", "visit_findings": "现场核查"})
            assert set(details) == {"visit_evidence"}
            self.do("visit_site", "supervision", {"visit_date": "2026-03-12",
                                                  "visit_findings": "现场核查，部分进度需更正",
                                                  "visit_evidence": ["att-visit-1"],
                                                  "verified_progress": visit})
        assert self.routes() == [("compile_supervision_report", "supervision")]

    def end_with_empty_ledger(self, next_first: datetime) -> None:
        """Next 1st: the 督查室 ends this supervision instance at 建账 (open rows stay on the
        ledger for the next one)."""
        assert self.at(next_first) >= 1
        assert self.routes() == [("build_ledger", "supervision")]
        self.do("build_ledger", "supervision", {"end_supervision": True})
        assert self.routes() == []
        assert self.status() == "completed"


def operations_events(r: Round, kind: str) -> list[dict]:
    with r.d.reader.unit_of_work(readonly=True) as uow:
        return operations.events(uow.conn, kind)


@pytest.fixture
def deployed(engine):
    result = library_deploy(engine, PROCESS)
    assert result.definition.warnings == ()
    return result


# ---------------------------------------------------------------- the diagram itself


def test_deploys_with_its_decisions_and_a_form_for_every_user_task(deployed):
    files = set(deployed.definition.files)
    assert {"progress_light.dmn", "supervision_schedule.dmn"} <= files
    root = etree.parse(str(BPMN / f"{PROCESS}.bpmn")).getroot()
    lanes = {lane.get("name") for lane in root.iterfind(".//bpmn:lane", NS)}
    # the units' steps sit in a lane named for the role, routed by the ledger row at run time
    assert lanes == {"区政府督查室", "责任单位", "区领导", "区政府办公室"}
    user_tasks = root.findall(".//bpmn:userTask", NS)
    assert len(user_tasks) == 17
    for ut in user_tasks:
        props = {p.get("name"): p.get("value")
                 for p in ut.iterfind(".//spiffworkflow:property", NS)}
        assert props["form_key"] == ut.get("id") and props["stage"] and props["phase"], ut.get("id")
        assert f"{props['form_key']}.form" in files
        form = json.loads((BPMN / "forms" / f"{props['form_key']}.form").read_text("utf-8"))
        assert form["schemaVersion"] == 16 and form["components"]
        assert any(k in props for k in ("due_working_days", "due_expression")), ut.get("id")
    sign = root.find(".//bpmn:userTask[@id='sign_monthly_report']", NS)
    assert 'name="candidate_role" value="head"' in etree.tostring(sign, encoding="unicode")
    # time limits come from the tables, not from the scripts
    scripts = " ".join(s.text for s in root.iterfind(".//bpmn:script", NS))
    assert not re.search(r"report_day\s*=|working_days\s*=", scripts)


# ---------------------------------------------------------------- report on time, signed; 销账


def test_report_on_time_signed_lights_green_then_closed_and_rolled_over(deployed, driver, rebuild):
    with time_machine.travel(cn(2026, 2, 20, 10), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 20, 10))
        assert r.routes() == []
        assert r.at(cn(2026, 2, 28, 23, 59)) == 0
        # March 1st, 00:00 China time: the round opens with 建账
        assert r.at(cn(2026, 3, 1, 0, 0, 1)) == 1
        assert r.routes() == [("build_ledger", "supervision")]
        built = [row("R1", "drc", 100), row("R2", "housing", 40)]
        r.do("build_ledger", "supervision", {"ledger": built})
        assert r.routes() == [("prepare_monthly_report", "drc"),
                              ("prepare_monthly_report", "housing")]
        d = r.data()
        # 建账 by ledger_open_round: the rows are the ledger's own, every row open
        rows = r.rows()
        assert [(n, x["units"], x["status"], x["origin"]) for n, x in rows.items()] == [
            ("R1", ["drc"], "open", "round"), ("R2", ["housing"], "open", "round")]
        assert d["units"] == ["drc", "housing"] and d["ledger"] == []
        assert "opened_round" not in d  # the handler's result is unpacked, not kept
        assert (d["round_month"], d["report_period"]) == ("2026-03", "2026-02")
        assert d["report_deadline_day"] == "2026-03-06"  # a Friday: no move
        for t in r.open():
            assert t.due_at == naive_utc(cn(2026, 3, 6, 23, 59, 59))  # due by the 6th's end
            assert t.stage == "月报报送"

        # reminder two working days before the deadline (non-interrupting)
        assert r.at(cn(2026, 3, 4, 8, 59)) == 0
        assert r.at(cn(2026, 3, 4, 9, 0, 1)) == 1
        assert r.routes() == [("prepare_monthly_report", "drc"),
                              ("prepare_monthly_report", "housing")]

        r.clock.move_to(cn(2026, 3, 5, 10))
        r.do("prepare_monthly_report", "drc", report("R1", 100), unit="drc")
        sign = r.task("sign_monthly_report", "drc")
        assert sign.candidate_role == "head"
        assert sign.due_at == naive_utc(cn(2026, 3, 6, 23, 59, 59))
        with pytest.raises(Forbidden):  # a caseworker cannot sign for the head
            r.eng.complete(sign.id, driver.user("drc-clerk"), {"sign_decision": "approve"})
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve", "sign_opinion": "同意报送"})
        r.do("prepare_monthly_report", "housing", report("R2", 40))
        r.do("sign_monthly_report", "housing", {"sign_decision": "approve"})
        assert r.routes() == [("reconcile_ledger", "supervision")]
        assert r.at(cn(2026, 3, 7, 0, 0, 1)) == 0  # nobody is urged

        r.reconcile_and_audit()
        ledger = r.ledger()
        assert {k: v["light"] for k, v in ledger.items()} == {"R1": "green", "R2": "green"}
        assert ledger["R1"]["report_signed"] and not ledger["R1"]["report_late"]
        r.do("compile_supervision_report", "supervision", {"supervision_report": "3月督查报告"})
        assert r.routes() == [("close_ledger_rows", "supervision")]
        assert r.data()["finished_row_ids"] == [r.rid("R1")]
        # 销账 needs its evidence
        details = r.refused("close_ledger_rows", "supervision", {"closed_row_ids": ["R1"]})
        assert set(details) == {"closure_evidence"}
        r.clock.move_to(cn(2026, 3, 12, 10))
        closing = {"closed_row_ids": ["R1"], "closure_evidence": ["att-close-r1"]}
        r.do("close_ledger_rows", "supervision", closing)
        assert r.routes() == []
        d = r.data()
        # 销账 by ledger_close_rows: the row is closed in the ledger with evidence and date
        rows = r.rows()
        assert not {"settled_ledger", "closed_ledger", "opened_round"} & set(d)
        assert (rows["R1"]["status"], rows["R1"]["closure_evidence"]) == ("closed",
                                                                          ["att-close-r1"])
        assert rows["R1"]["closed_on"].isoformat() == "2026-03-12"
        assert rows["R2"]["status"] == "open"  # rolled over to April
        assert d["round_month"] == "2026-04"
        assert d["round_history"][0]["closed"] == [r.rid("R1")]
        assert d["round_history"][0]["rolled_over"] == [r.rid("R2")]

        # April: the rolled-over row is reported again; 4/6 is 清明 → deadline 4/7
        assert r.at(cn(2026, 3, 31, 23, 59)) == 0
        assert r.at(cn(2026, 4, 1, 0, 0, 1)) == 1
        r.do("build_ledger", "supervision", {"ledger_note": "结转事项R2"})
        assert r.routes() == [("prepare_monthly_report", "housing")]
        assert r.task("prepare_monthly_report", "housing").due_at == naive_utc(cn(2026, 4, 7, 23, 59, 59))
        r.clock.move_to(cn(2026, 4, 3, 15))
        r.do("prepare_monthly_report", "housing", report("R2", 100))
        r.do("sign_monthly_report", "housing", {"sign_decision": "approve"})
        r.reconcile_and_audit()
        r.do("compile_supervision_report", "supervision", {"supervision_report": "4月督查报告"})
        r.do("close_ledger_rows", "supervision",
             {"closed_row_ids": ["R2"], "closure_evidence": ["att-close-r2"]})
        assert {n: x["status"] for n, x in r.rows().items()} == {"R1": "closed", "R2": "closed"}
        # May 1st: nothing left on the ledger, the supervision ends
        assert r.at(cn(2026, 5, 1, 0, 0, 1)) == 1
        r.do("build_ledger", "supervision", {})
        assert r.status() == "completed"


# ---------------------------------------------------------------- 建账 refused by the handler


def test_rows_added_at_build_are_checked_whole_and_sent_back_never_an_incident(
        deployed, driver, rebuild):
    """The rows the 督查室 adds at 建账 are validated by the server like its other fields (a unit
    not among the form's options, a row without its number); what the form cannot see (a number
    used twice, or already on the ledger) is found by ledger_open_round, which enters none of
    the rows and sends 建账 back with the errors per row — the case never stops at an incident."""
    with time_machine.travel(cn(2026, 2, 25, 9), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 25, 9))
        assert r.at(cn(2026, 3, 1, 0, 0, 1)) == 1
        wrong = [row("R1", "drc", 30), row("R2", "区财政局", 50), row("", "housing", "五十")]
        assert r.refused("build_ledger", "supervision", {"ledger": wrong}) == {
            "ledger[1].unit": "督查台账 第 2 行 · 责任单位：只能选择给定的选项",
            "ledger[2].row_id": "督查台账 第 3 行 · 台账编号：必填",
            "ledger[2].planned_pct": "督查台账 第 3 行 · 本月计划累计进度（%）：须为数字",
        }
        assert r.status() == "running" and r.rows() == {}
        twice = [row("R1", "drc", 30), row("R1", "housing", 50)]
        r.do("build_ledger", "supervision", {"ledger": twice})
        assert r.status() == "running"
        assert r.routes() == [("build_ledger", "supervision")]  # sent back with the errors
        assert r.data()["ledger_errors"] == ["第 2 行 · 序号：序号 R1 在《督查室建账》中重复"]
        # shown on the form that comes back (a read-only field)
        shown = r.task("build_ledger", "supervision").data["ledger_errors_text"]
        assert shown == "第 2 行 · 序号：序号 R1 在《督查室建账》中重复"
        assert r.rows() == {}  # nothing half-entered
        fixed = [row("R1", "drc", 30), row("R2", "housing", 50)]
        r.do("build_ledger", "supervision", {"ledger": fixed})
        assert r.routes() == [("prepare_monthly_report", "drc"),
                              ("prepare_monthly_report", "housing")]
        assert sorted(r.rows()) == ["R1", "R2"] and r.data()["ledger_errors"] == []


# ---------------------------------------------------------------- unsigned: explanation + evidence


def test_unsigned_report_needs_an_explanation_with_an_attachment(deployed, driver, rebuild):
    with time_machine.travel(cn(2026, 2, 25, 9), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 25, 9))
        r.at(cn(2026, 3, 1, 0, 0, 1))
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 30),
                                                        row("R2", "housing", 50),
                                                        row("R3", "kunbei", 60)]})
        r.clock.move_to(cn(2026, 3, 3, 10))
        # 区发改委: the head sends the report back once, then signs
        r.do("prepare_monthly_report", "drc", report("R1", 25), unit="drc")
        r.do("sign_monthly_report", "drc", {"sign_decision": "revise", "sign_opinion": "数据有误"})
        revise = r.task("revise_monthly_report", "drc")
        assert revise.candidate_role is None
        # sent back: the summary reported before is prefilled, and required again
        summary = report("R1", 25)["report_summary"]
        assert revise.data["report_summary"] == summary
        corrected = {"row_progress": [{"row_id": "R1", "actual_pct": 30}], "revise_note": "已更正"}
        assert r.refused("revise_monthly_report", "drc", corrected) == {
            "report_summary": "“上月工作完成情况”为必填项"}
        r.do("revise_monthly_report", "drc", {**corrected, "report_summary": summary})
        sign = r.task("sign_monthly_report", "drc")
        assert sign.data["sign_decision"] is None  # a fresh decision is required
        assert set(r.refused("sign_monthly_report", "drc", {})) == {"sign_decision"}
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve"})

        # 区住建局: the head cannot sign in time → explanation with evidence (attachment required)
        r.do("prepare_monthly_report", "housing", report("R2", 45, head_available="no"),
             unit="housing")
        assert ("explain_unsigned_report", "housing") in r.routes()
        assert ("sign_monthly_report", "housing") not in r.routes()
        explanation = {"explanation": "主要负责人在外参加培训，已通过微信审核同意。",
                       "head_approval_channel": "wechat"}
        details = r.refused("explain_unsigned_report", "housing", explanation)
        assert set(details) == {"explanation_files"}
        details = r.refused("explain_unsigned_report", "housing",
                            {**explanation, "head_approval_channel": "fax",
                             "explanation_files": ["att-wechat-1"]})
        assert set(details) == {"head_approval_channel"}
        r.do("explain_unsigned_report", "housing", {**explanation,
                                                    "explanation_files": ["att-wechat-1"]})

        # 昆北街道办事处: the head does not sign before the deadline → explanation
        r.clock.move_to(cn(2026, 3, 5, 17))
        r.do("prepare_monthly_report", "kunbei", report("R3", 60), unit="kunbei")
        assert r.task("sign_monthly_report", "kunbei").due_at == naive_utc(cn(2026, 3, 6, 23, 59, 59))
        assert r.at(cn(2026, 3, 6, 23, 59)) == 0
        assert r.at(cn(2026, 3, 7, 0, 0, 1)) == 1
        assert r.routes() == [("explain_unsigned_report", "kunbei")]
        assert set(r.refused("explain_unsigned_report", "kunbei",
                             {"explanation": "负责人出差，短信确认", "head_approval_channel": "sms"})
                   ) == {"explanation_files"}
        r.do("explain_unsigned_report", "kunbei",
             {"explanation": "负责人出差，短信确认", "head_approval_channel": "sms",
              "explanation_files": ["att-sms-1"]})

        # 对账 finds a difference; 查账 visits the site and corrects R2
        r.reconcile_and_audit(visit=[{"row_id": "R2", "actual_pct": 42}])
        reports = {x["unit"]: x for x in r.data()["reports"]}
        assert reports["drc"]["signed"] and not reports["drc"]["explained"]
        assert not reports["housing"]["signed"] and reports["housing"]["explained"]
        assert reports["housing"]["explanation_files"] == ["att-wechat-1"]
        assert reports["kunbei"]["explanation_files"] == ["att-sms-1"]
        assert not any(x["late"] for x in reports.values())  # explained on time is not late
        ledger = r.ledger()
        assert ledger["R2"]["actual_pct"] == 42 and ledger["R2"]["planned_pct"] == 50
        (audited,) = [e for e in operations_events(r, "audit") if e["row_id"] == ledger["R2"]["id"]]
        assert audited["detail"]["corrected"] and audited["detail"]["site_visit"] == "yes"
        assert {k: (v["light"], v["light_reason"]) for k, v in ledger.items()} == {
            "R1": ("green", "按计划推进"),
            "R2": ("yellow", "进度滞后"),
            "R3": ("green", "按计划推进"),
        }
        # nothing finished: no 销账, every row rolls over
        r.do("compile_supervision_report", "supervision", {"supervision_report": "3月督查报告"})
        assert r.routes() == []
        rows = r.rows()
        assert [(n, x["status"]) for n, x in rows.items()] == [("R1", "open"), ("R2", "open"),
                                                               ("R3", "open")]
        assert rows["R2"]["months_behind"] == 1
        r.end_with_empty_ledger(cn(2026, 4, 1, 0, 0, 1))


# ---------------------------------------------------------------- late: 催办 → 督办单 → 约谈 → 通报


def test_late_report_is_urged_after_the_6th_and_escalated_to_circular(deployed, driver, rebuild):
    with time_machine.travel(cn(2026, 2, 26, 9), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 26, 9))
        r.at(cn(2026, 3, 1, 0, 0, 1))
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 50),
                                                        row("R2", "housing", 20, months_behind=2),
                                                        row("R3", "kunbei", 80)]})
        r.at(cn(2026, 3, 4, 9, 0, 1))  # reminder
        r.clock.move_to(cn(2026, 3, 4, 15))
        r.do("prepare_monthly_report", "kunbei", report("R3", 40), unit="kunbei")
        r.do("sign_monthly_report", "kunbei", {"sign_decision": "approve"})

        # the end of the 6th (24:00): the units without a report are urged by the 督查室
        assert r.at(cn(2026, 3, 6, 23, 59)) == 0
        assert r.at(cn(2026, 3, 7, 0, 0, 1)) == 1
        assert r.routes() == [("prepare_monthly_report", "drc"),
                              ("prepare_monthly_report", "housing"),
                              ("urge_report", "supervision"), ("urge_report", "supervision")]
        r.do("urge_report", "supervision", {"urge_method": "phone", "urge_contact": "住建局办公室"},
             unit="housing")
        # 区发改委 reports late (before the 督办单): its open 催办 and later steps are cancelled
        r.clock.move_to(cn(2026, 3, 9, 10))
        r.do("prepare_monthly_report", "drc", report("R1", 50), unit="drc")
        sign = r.task("sign_monthly_report", "drc")
        assert sign.due_at == naive_utc(cn(2026, 3, 10, 23, 59, 59))  # 1 working day to sign
        assert [t.data["unit"] for t in r.open() if t.element_id == "urge_report"] == []
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve"})

        # 2nd working day after the deadline: 督办单 (only 区住建局 is still missing)
        assert r.at(cn(2026, 3, 9, 23, 59)) == 0
        assert r.at(cn(2026, 3, 10, 0, 0, 1)) == 1
        assert r.routes() == [("issue_supervision_notice", "supervision"),
                              ("prepare_monthly_report", "housing")]
        notice = {"notice_number": "督办第3号", "notice_deadline": "2026-03-12",
                  "notice_file": ["att-notice-3"]}
        details = r.refused("issue_supervision_notice", "supervision", notice)
        assert set(details) == {"notice_number"}
        r.do("issue_supervision_notice", "supervision", {**notice, "notice_number": "督办〔2026〕3号"})
        # 5th working day: 约谈 by a district leader
        assert r.at(cn(2026, 3, 13, 0, 0, 1)) == 1
        assert r.routes() == [("interview_unit_head", "leaders"),
                              ("prepare_monthly_report", "housing")]
        r.do("interview_unit_head", "leaders", {"interview_date": "2026-03-13",
                                                "interviewer": "分管副区长",
                                                "interview_record": "约谈区住建局主要负责人"})
        # 10th working day: 通报 to the 区长 and 副区长
        assert r.at(cn(2026, 3, 20, 0, 0, 1)) == 1
        assert r.routes() == [("issue_circular", "leaders"), ("prepare_monthly_report", "housing")]
        r.do("issue_circular", "leaders", {"circular_number": "昆督通〔2026〕1号",
                                           "circular_content": "区住建局未按时报送月报，予以通报。"})
        assert r.routes() == [("prepare_monthly_report", "housing")]
        # 15th working day: still nothing → recorded as not submitted, the round goes on
        assert r.at(cn(2026, 3, 27, 0, 0, 1)) == 1
        assert r.routes() == [("reconcile_ledger", "supervision")]
        reports = {x["unit"]: x for x in r.data()["reports"]}
        assert reports["housing"]["status"] == "missing" and reports["housing"]["late"]
        assert reports["drc"]["late"] and reports["drc"]["signed"]
        assert not reports["kunbei"]["late"]

        r.reconcile_and_audit()
        ledger = r.ledger()
        assert {k: (v["light"], v["light_reason"]) for k, v in ledger.items()} == {
            "R1": ("yellow", "月报逾期或未报送"),        # on plan, reported late
            "R2": ("red", "连续滞后3个月及以上"),        # third month behind
            "R3": ("red", "落后计划进度超过30%"),        # 40 points behind
        }
        assert ledger["R2"]["months_behind"] == 3
        r.do("compile_supervision_report", "supervision", {"supervision_report": "3月督查报告"})
        r.end_with_empty_ledger(cn(2026, 4, 1, 0, 0, 1))


# ---------------------------------------------------------------- the 6th on a weekend


def test_deadline_on_a_saturday_moves_to_monday(deployed, driver, rebuild):
    # 2026-06-06 is a Saturday: the deadline moves to Monday 2026-06-08
    assert datetime(2026, 6, 6).weekday() == 5
    with time_machine.travel(cn(2026, 6, 1, 10), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        # started on June 1st for the June round: its 1st has passed, the round opens at once
        r.start(cn(2026, 6, 1, 10), {"first_round_month": "2026-06"})
        assert r.routes() == [("build_ledger", "supervision")]
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 50),
                                                        row("R2", "housing", 50)]})
        d = r.data()
        assert d["report_deadline_day"] == "2026-06-08"
        assert d["remind_at"] == "2026-06-04T09:00:00+08:00"  # two working days before
        assert {t.due_at for t in r.open()} == {naive_utc(cn(2026, 6, 8, 23, 59, 59))}
        assert r.at(cn(2026, 6, 4, 9, 0, 1)) == 1  # reminder, Thursday
        assert r.at(cn(2026, 6, 7, 0, 0, 1)) == 0  # the end of Saturday the 6th: nobody is urged
        # a report at 23:59 on Monday the 8th, the moved deadline, is on time
        assert r.at(cn(2026, 6, 8, 23, 59)) == 0
        r.do("prepare_monthly_report", "drc", report("R1", 50), unit="drc")
        r.clock.move_to(cn(2026, 6, 8, 23, 59, 30))
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve"})
        # Tuesday the 9th, 00:00: 区住建局 is urged; its report at that minute is late
        assert r.at(cn(2026, 6, 9, 0, 0, 0)) == 1
        assert r.routes() == [("prepare_monthly_report", "housing"), ("urge_report", "supervision")]
        r.do("prepare_monthly_report", "housing", report("R2", 50))
        assert r.routes() == [("sign_monthly_report", "housing")]  # its 催办 is withdrawn
        r.do("sign_monthly_report", "housing", {"sign_decision": "approve"})
        r.reconcile_and_audit()
        ledger = r.ledger()
        assert (ledger["R1"]["light"], ledger["R1"]["report_late"]) == ("green", False)
        assert (ledger["R2"]["light"], ledger["R2"]["report_late"]) == ("yellow", True)
        r.do("compile_supervision_report", "supervision", {"supervision_report": "6月督查报告"})
        r.end_with_empty_ledger(cn(2026, 7, 1, 0, 0, 1))


# ---------------------------------------------------------------- on time until 24:00 of the 6th


def test_report_at_2359_on_the_6th_is_on_time_at_midnight_late(deployed, driver, rebuild):
    """昆府发〔2026〕10号 “每月6日前报送”: on time until 24:00 (China time) of the 6th
    (2026-03-06 is a Friday, a working day)."""
    with time_machine.travel(cn(2026, 2, 26, 9), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 26, 9))
        r.at(cn(2026, 3, 1, 0, 0, 1))
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 50),
                                                        row("R2", "housing", 50)]})
        assert r.data()["report_deadline_day"] == "2026-03-06"
        assert r.at(cn(2026, 3, 4, 9, 0, 1)) == 1  # the reminder
        assert r.at(cn(2026, 3, 6, 23, 59)) == 0  # nobody urged during the 6th
        r.do("prepare_monthly_report", "drc", report("R1", 50), unit="drc")
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve"})
        assert r.at(cn(2026, 3, 7, 0, 0, 0)) == 1  # 24:00: 区住建局 is urged
        assert r.routes() == [("prepare_monthly_report", "housing"), ("urge_report", "supervision")]
        r.do("prepare_monthly_report", "housing", report("R2", 50))
        r.do("sign_monthly_report", "housing", {"sign_decision": "approve"})
        reports = {x["unit"]: x for x in r.data()["reports"]}
        assert reports["drc"]["submitted_at"].startswith("2026-03-06T15:59")  # 23:59 China
        assert not reports["drc"]["late"] and reports["housing"]["late"]
        r.reconcile_and_audit()
        ledger = r.ledger()
        assert (ledger["R1"]["light"], ledger["R1"]["report_late"]) == ("green", False)
        assert (ledger["R2"]["light"], ledger["R2"]["report_late"]) == ("yellow", True)


# ---------------------------------------------------------------- no round before March 2026


@pytest.mark.parametrize("started, data", [
    (cn(2025, 11, 10, 9), None),                             # the next month would be December
    (cn(2026, 1, 5, 9), {"first_round_month": "2026-01"}),   # a January round asked for
])
def test_no_round_before_march_2026(deployed, driver, rebuild, started, data):
    """“从2026年3月起”: the first round is March 2026 (the report of February, due 6 March)."""
    with time_machine.travel(started, tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(started, data)
        assert r.routes() == [] and r.data()["round_month"] == "2026-03"
        for first in (cn(2025, 12, 1, 0, 0, 1), cn(2026, 1, 1, 0, 0, 1), cn(2026, 2, 1, 0, 0, 1),
                      cn(2026, 2, 28, 23, 59, 59)):
            if first > started:
                assert r.at(first) == 0
        assert r.routes() == []
        assert r.at(cn(2026, 3, 1, 0, 0, 1)) == 1
        assert r.routes() == [("build_ledger", "supervision")]
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 50)]})
        d = r.data()
        assert (d["round_month"], d["report_period"], d["report_deadline_day"]) == (
            "2026-03", "2026-02", "2026-03-06")


# ---------------------------------------------------------------- 同步报送 to the three channels


def test_report_records_its_delivery_to_the_three_channels(deployed, driver, rebuild):
    """10号: “向区政府办公室对应战线工作人员、政府督查室……及区政府督查督办网络平台，同步报送”:
    each channel is confirmed (all three required), with the date and the platform's export."""
    with time_machine.travel(cn(2026, 2, 26, 9), tick=False) as clock:
        r = Round(driver, rebuild, clock)
        r.start(cn(2026, 2, 26, 9))
        r.at(cn(2026, 3, 1, 0, 0, 1))
        r.do("build_ledger", "supervision", {"ledger": [row("R1", "drc", 50)]})
        r.clock.move_to(cn(2026, 3, 5, 10))
        bare = {k: v for k, v in report("R1", 50).items() if k not in DELIVERED}
        assert set(r.refused("prepare_monthly_report", "drc", bare)) == set(DELIVERED)
        # a channel left unticked is refused: the three are reported to at the same time
        partial = {**report("R1", 50), "channel_online_platform": False}
        assert set(r.refused("prepare_monthly_report", "drc", partial)) == {
            "channel_online_platform"}
        r.do("prepare_monthly_report", "drc", report("R1", 50))
        r.do("sign_monthly_report", "drc", {"sign_decision": "approve"})
        (drc,) = r.data()["reports"]
        assert drc["delivery"] == {
            "channels": ["区政府办对应战线", "区政府督查室", "督查督办网络平台"],
            "delivered_on": "2026-03-05", "platform_export_files": ["att-platform-export"]}
        # the case's submitted data (its events' data): the report's values under its form's labels
        (done,) = [t for t in r.eng.case_tasks(r.iid, r.admin)
                   if t.element_id == "prepare_monthly_report"]
        (sent,) = [e.data for e in r.eng.list_events(r.iid, r.admin)
                   if e.task_id == done.id and e.kind == "task_completed"]
        assert {k: sent[k] for k in DELIVERED} == DELIVERED
        labels = r.eng.field_labels(r.iid)["prepare_monthly_report"]
        assert labels["channel_online_platform"].label == "已报送区政府督查督办网络平台"
        assert labels["platform_export_files"].label == "督查督办网络平台报送记录（平台导出文件）"


# ---------------------------------------------------------------- every limit marked with its source


SEED = ROOT.parent / "shared" / "seeds" / "000_f235151b42dc8bc2.txt"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}


def _quoted_in_seed(text: str) -> bool:
    seed = "".join(SEED.read_text(encoding="utf-8").split())
    return all("".join(q.split()) in seed for q in re.findall(r"“(.*?)”", text))


def test_every_limit_timer_threshold_and_rule_names_its_source():
    """Contract §2: each time limit, timer, threshold and escalation step of the diagram, and
    each rule of its decision tables, says whether it is the gazette's (quoted verbatim), a
    statute's or the district's own (local)."""
    if not SEED.is_file():
        pytest.skip("the gazette's text (shared/seeds) is not beside this checkout")
    root = etree.parse(str(BPMN / f"{PROCESS}.bpmn")).getroot()
    unmarked, checked = [], []
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.get("id"):
            continue
        props = {p.get("name"): p.get("value")
                 for p in node.findall("./bpmn:extensionElements/spiffworkflow:properties/"
                                       "spiffworkflow:property", NS)}
        timed = node.find("bpmn:timerEventDefinition", NS) is not None
        limited = {"due_working_days", "due_days", "due_expression"} & set(props)
        threshold = node.get("id") in {"decide_progress_light", "blockage_gateway",
                                       "decide_round_schedule"}
        if timed or limited or threshold:
            checked.append(node.get("id"))
            source = props.get("source") or ""
            if not source.startswith(("gazette: “", "statute: 《", "local: ")) or not (
                    _quoted_in_seed(source)):
                unmarked.append(node.get("id"))
    assert unmarked == [] and len(checked) == 28  # 17 user tasks, 8 timers, 3 thresholds
    for dmn in ("supervision_schedule.dmn", "progress_light.dmn"):
        rules = etree.parse(str(BPMN / dmn)).getroot().iterfind(".//dmn:rule", DMN_NS)
        for rule in rules:
            text = rule.findtext("dmn:description", namespaces=DMN_NS) or ""
            assert text.startswith(("gazette: “", "statute: 《", "local: ")), rule.get("id")
            assert _quoted_in_seed(text), rule.get("id")
