"""The demo's 督查督办月报, March to November 2026: the demo 分解表 (``supervision_breakdown``,
marked 演示数据) imported into the ledger before the first round, one ``supervision_monthly``
instance per month with late, unsigned, revised and missing reports, a leader's 现场交办 added
in June, and the 会商 of rows red two rounds running."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from engine import TaskInfo
from workflows.ledger import UnitDirectory, commit_import, ledger_progress, operations

from . import catalog
from .supervision_breakdown import breakdown_xlsx, simulation
from .world import DemoError, World, china, iso_day, utc

SUPERVISION_KEY = "DC-2026-03"  # the first month's supervision instance


_MONTH_EVENTS = {  # what goes wrong in each round besides the usual on-time signed reports
    3: ["late"], 4: ["unsigned"], 5: ["revise", "late"], 6: ["very_late"], 7: ["unsigned"],
    8: ["late", "unsigned"], 9: ["unsigned", "revise"], 10: ["late"], 11: ["missing", "unsigned"],
}


class Supervision:
    """督查督办月报, March to November 2026: one supervision_monthly instance per month.

    The diagram can cycle month by month in one instance, but the engine keeps every finished
    sub-process of the rounds (the units' reports, the rows' lights), each with a copy of the
    ledger: after seven months that instance's state was 10 MB and each step cost over a
    second. So each month's round runs in an instance of its own: started on the 1st with the
    rows the last round rolled over, ended when the next 1st's 建账 of the last round is
    ended at the next 1st's 建账 ("结束本督查实例"); the rows stay on the ledger (the office's
    own tables), so the new instance reports on them."""

    def __init__(self, w: World, seed: int):
        self.w = w
        self.rng = random.Random(f"{seed}:{SUPERVISION_KEY}")
        self.iid: int | None = None
        self.instances: dict[str, int] = {}
        self.notices = 0
        self.sim = simulation()
        self.progress: dict[str, list[dict]] = {}  # a unit's last report, for its revision

    def import_breakdown(self) -> list[int]:
        """The demo 分解表, built for the org chart of the day, imported by the 督查室."""
        departments = self.w.engine.list_departments()
        directory = UnitDirectory(departments)
        content = breakdown_xlsx({d.name for d in departments})
        with self.w.engine.unit_of_work() as uow:
            result = commit_import(uow.conn, directory, "2026年任务分解表（演示数据）.xlsx",
                                   content, "supervision-clerk")
            if not result["ok"]:
                raise DemoError(f"演示分解表导入失败：{result['errors'][:3]}")
            uow.commit()
        return result["row_ids"]

    def add_onsite_assignment(self) -> None:
        """June: a district leader's 现场交办 at a project site becomes a ledger row."""
        directory = UnitDirectory(self.w.engine.list_departments())
        with self.w.engine.unit_of_work() as uow:
            _row_id, errors = operations.add_onsite_row(
                uow.conn, directory, task="协调解决重点项目施工用电接入问题", leader="王志军",
                assigned_on=iso_day(self.w.now()), units=["区发改委", "区住建局"],
                lead_unit="区发改委", deadline="2026年9月30日", occasion="重点项目现场调研",
                actor="supervision-clerk")
            if errors:
                raise DemoError(f"现场交办未能记入台账：{errors}")
            uow.commit()

    def actual(self, row: dict, month: int) -> int:
        """A unit's reported progress on a row for ``month`` (its plan less the row's lag)."""
        finished, lag = self.sim.get((row["source_table"], row["number"]), (None, 0))
        if finished and month >= finished:
            return 100
        value = (row.get("planned_pct") or 0) - lag + self.rng.randint(-3, 3)
        return max(0, min(95, value))

    def run(self) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        cal = w.calendar
        yield w.office(w.today() + timedelta(days=1), rng)
        self.import_breakdown()  # 建账 from the 分解表, before the first round
        for month in range(3, 12):
            # 建账 on the month's first working day — on the 1st itself when the holidays
            # leave no working day before the report deadline
            first = date(2026, month, 1)
            day = cal.add_working_days(first, 0)
            if (cal.add_working_days(date(2026, month, 6), 0) - day).days < 2:
                day = first
            yield w.office(day, rng)
            if self.iid is not None:  # last month's instance ends; its open rows stay on the ledger
                if not w.is_open(self.iid, "build_ledger"):
                    raise DemoError(f"督查督办：{month} 月未开轮（{w.open_tasks(self.iid)}）")
                w.do(self.iid, "build_ledger", {
                    "end_supervision": True,
                    "ledger_note": f"未销账事项由2026年{month}月督查督办接续"})
                yield w.now() + timedelta(minutes=rng.randint(10, 40))
            if month == 6:
                self.add_onsite_assignment()
            key = f"DC-2026-{month:02d}"
            self.iid = self.instances[f"2026-{month:02d}"] = w.start(
                "supervision_monthly", "supervision-clerk", key, supervision_title(month),
                {"first_round_month": f"2026-{month:02d}"})
            w.do(self.iid, "build_ledger", {
                "ledger_note": "首轮建账（分解表已导入台账）" if month == 3
                else "上月未销账事项继续督办"})
            yield from self.round(month)

    def round(self, month: int) -> Iterator[datetime]:
        w, rng = self.w, self.rng
        facts = w.data(self.iid)
        deadline = date.fromisoformat(facts["report_deadline_day"])
        units = list(facts["units"])
        rng.shuffle(units)
        events = list(_MONTH_EVENTS[month])
        behaviour = {u: "signed" for u in units}
        for unit, event_kind in zip(units, events, strict=False):
            behaviour[unit] = event_kind
        if month == 11:  # 昆北街道 has not reported this month: 约谈 and 通报 on the way
            missing = next((u for u, b in behaviour.items() if b == "missing"), None)
            if missing and "kunbei" in behaviour and missing != "kunbei":
                behaviour[missing], behaviour["kunbei"] = behaviour["kunbei"], "missing"
        cal = w.calendar
        # report days: the working days after 建账 and before the deadline, or — when the
        # holidays take them all (May Day, National Day) — the holidays themselves
        built = china(w.now()).date()
        before = [built + timedelta(days=n) for n in range(1, (deadline - built).days)]
        report_days = [d for d in before if cal.is_workday(d)] or before or [built]
        actions: list[tuple[datetime, int, Callable[[], None]]] = []

        def at(day: date, fn: Callable[[], None], hour: float = 9) -> None:
            """``fn`` on ``day`` within the hour after ``hour`` o'clock (China time)."""
            minute = int(hour * 60) + rng.randint(0, 50)
            moment = utc(datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute))
            actions.append((moment, len(actions), fn))

        # a report is on time until 24:00 of the deadline day: the 催办 opens at its end and the
        # 督查室 urges on the next working day
        urge_day = cal.add_working_days(deadline, 1)
        for unit, kind in behaviour.items():
            report = {
                "report_files": w.attach(f"{unit}-{month - 1}月工作台账.xlsx"),
                "head_available": "no" if kind == "unsigned" else "yes",
                # 同步报送 to the three channels, the platform's export attached (dated on the
                # day the report is submitted, in _report)
                "channel_office_line": True, "channel_supervision_office": True,
                "channel_online_platform": True,
                "platform_export_files": w.attach(f"{unit}-督查督办平台报送记录.xlsx"),
            }
            day = rng.choice(report_days)
            if kind in ("signed", "unsigned", "revise"):
                at(day, self._report(unit, report, month), 9)
                if kind == "unsigned":
                    at(day, self._explain(unit), 15)
                elif kind == "revise":  # sent back by the head, corrected, signed: one day
                    at(day, self._sign(unit, "revise"), 11)
                    at(day, self._revise(unit), 14)
                    at(day, self._sign(unit, "approve"), 16.5)
                else:
                    at(day, self._sign(unit, "approve"), 14)
            elif kind == "late":
                at(urge_day, self._urge(), 9)
                late_day = cal.add_working_days(deadline, 1)
                at(late_day, self._report(unit, report, month), 10)
                at(late_day, self._sign(unit, "approve"), 15)
            elif kind == "very_late":
                at(urge_day, self._urge(), 9)
                at(cal.add_working_days(deadline, 2), self._notice(deadline), 9)
                late_day = cal.add_working_days(deadline, 3)
                at(late_day, self._report(unit, report, month), 10)
                at(late_day, self._sign(unit, "approve"), 15)
            else:  # missing: urged, 督办单, 约谈, 通报 — and still nothing
                at(urge_day, self._urge(), 9)
                at(cal.add_working_days(deadline, 2), self._notice(deadline), 9)
                at(cal.add_working_days(deadline, 5), self._interview(unit), 10)
                at(cal.add_working_days(deadline, 10), self._circular(unit), 10)
        actions.sort(key=lambda a: (a[0], a[1]))
        for when, _n, fn in actions:
            yield when
            fn()
        # 对账 → 查账 → 督查报告 → 销账 (November's round stands at 对账 "today")
        for _ in range(30):
            if w.is_open(self.iid, "reconcile_ledger"):
                break
            yield w.workdays(1, rng)
        else:
            opened = [(t.element_id, t.department_code) for t in w.open_tasks(self.iid)]
            raise DemoError(f"督查督办：{month} 月报送后未进入对账（打开的：{opened}）")
        yield w.workdays(rng.choice([1, 1, 2]), rng)
        visit = month in (5, 9)
        w.do(self.iid, "reconcile_ledger", {
            "reconcile_result": "mismatch" if visit else "match",
            "reconcile_notes": "部分单位填报进度与佐证材料不一致" if visit else "报送情况与台账一致"})
        yield w.workdays(1, rng)
        if visit:
            w.do(self.iid, "audit_ledger", {"site_visit": "yes",
                                            "audit_notes": "抽查两项任务，赴现场核实"})
            yield w.workdays(rng.randint(1, 3), rng)
            reported = self.reported(w.data(self.iid)["report_period"])
            behind = [r for r in reported if 10 <= r[2] < 100]
            row_id, task, pct = rng.choice(behind) if behind else reported[0]
            w.do(self.iid, "visit_site", {
                "visit_date": iso_day(w.now()),
                "visit_findings": f"{task}：现场核查，实际进度低于填报，已责令更正。",
                "visit_evidence": w.attach("现场核查照片.jpg"),
                "verified_progress": [{"row_id": row_id, "actual_pct": max(0, pct - 10)}]})
        else:
            w.do(self.iid, "audit_ledger", {"site_visit": "no", "audit_notes": "无异常"})
        if w.is_open(self.iid, "organise_consultation"):  # 堵点难点: red two rounds running
            yield from self.consultation(month)
        yield w.workdays(rng.randint(1, 2), rng)
        w.do(self.iid, "compile_supervision_report", {
            "supervision_report": f"2026年{month}月督查通报：各责任单位报送{month - 1}月份工作完成情况，"
                                  "红黄灯事项已交办责任单位限期整改。",
            "supervision_report_files": w.attach(f"{month}月督查报告.docx")})
        if w.is_open(self.iid, "close_ledger_rows"):
            yield w.workdays(rng.randint(1, 3), rng)
            finished = w.data(self.iid).get("finished_row_ids") or []
            w.do(self.iid, "close_ledger_rows", {
                "closed_row_ids": finished, "closure_evidence": w.attach("销账佐证材料.pdf"),
                "closure_note": "已完成事项经核实予以销账"})

    # -- a unit's actions in a round (each checks that its task is open)

    def _task(self, element_id: str, unit: str | None = None) -> TaskInfo | None:
        return self.w.find(self.iid, element_id, unit)

    def _report(self, unit, report, month):
        """The unit's report on the ledger rows its form lists (``unit_rows``)."""
        def act():
            t = self._task("prepare_monthly_report", unit)
            if t is None:
                return
            rows = self.w.engine.get_task(t.id, self.w.admin).data.get("unit_rows") or []
            progress = [{"row_id": r["row_id"], "actual_pct": self.actual(r, month - 1),
                         "progress_note": "按节点推进" if self.sim.get(
                             (r["source_table"], r["number"]), (None, 0))[1] == 0
                         else "进度滞后，已制定追赶计划"} for r in rows]
            self.progress[unit] = progress
            summary = f"{month - 1}月份重点任务推进情况：" + "；".join(
                f"{r['task']}完成{p['actual_pct']}%" for r, p in zip(rows, progress, strict=True))
            self.w.complete(t, {**report, "report_summary": summary, "row_progress": progress,
                                "delivered_on": iso_day(self.w.now())})
        return act

    def reported(self, month: str) -> list[tuple[str, str, int]]:
        """(row id, task, reported percent) of the open rows reported on for ``month``."""
        with self.w.engine.unit_of_work(readonly=True) as uow:
            tasks = {r["id"]: r["task"] for r in operations.list_rows(uow.conn, status="open")}
            got = uow.conn.execute(sa.select(ledger_progress.c.row_id, ledger_progress.c.percent)
                                   .where(ledger_progress.c.month == month)
                                   .order_by(ledger_progress.c.row_id)).all()
        return [(str(rid), tasks[rid], pct) for rid, pct in got
                if pct is not None and rid in tasks] or [(str(rid), task, 0)
                                                        for rid, task in tasks.items()][:1]

    def consultation(self, month: int) -> Iterator[datetime]:
        """会商 on the 堵点难点 (区政府办公室), the units' opinions, the recorded outcome."""
        w, rng = self.w, self.rng
        yield w.workdays(1, rng)
        w.do(self.iid, "organise_consultation", {
            "consult_date": iso_day(w.workdays(2, rng)),
            "consult_topic": f"{month}月督查连续两轮红灯事项会商",
            "consult_participants": "区政府办公室、区政府督查室及相关责任单位分管负责人"})
        yield w.workdays(1, rng)
        w.each(self.iid, "consultation_opinion", lambda t: {
            "consult_opinion": "受要素保障和前期手续影响进度滞后，需协调解决用地和资金问题。",
            "consult_unit_measures": "倒排工期，每周调度，专人跟进前期手续。"})
        yield w.workdays(1, rng)
        w.do(self.iid, "record_consultation_outcome", {
            "consult_outcome": "会商明确由牵头单位倒排工期，区政府办每月调度，相关部门并联办理前期手续。",
            "consult_measures": "牵头单位10日内报送追赶计划；自然资源、住建部门5个工作日内办结相关手续。",
            "consult_minutes": w.attach("会商纪要.pdf")})

    def _sign(self, unit, decision):
        def act():
            t = self._task("sign_monthly_report", unit)
            if t is not None:
                self.w.complete(t, {"sign_decision": decision, "sign_opinion": (
                    "同意报送" if decision == "approve" else "部分任务进度数据需核实后重报")})
        return act

    def _revise(self, unit):
        def act():
            t = self._task("revise_monthly_report", unit)
            if t is not None:
                self.w.complete(t, {"report_summary": "已按负责人意见核实并更正各项任务进度。",
                                    "row_progress": self.progress.get(unit, []),
                                    "revise_note": "已更正"})
        return act

    def _explain(self, unit):
        def act():
            t = self._task("explain_unsigned_report", unit)
            if t is not None:
                channel, text = self.rng.choice(catalog.UNSIGNED_EXPLANATIONS)
                self.w.complete(t, {"explanation": text, "head_approval_channel": channel,
                                    "explanation_files": self.w.attach("负责人审核截图.png")})
        return act

    def _urge(self):
        def act():
            for t in [x for x in self.w.open_tasks(self.iid) if x.element_id == "urge_report"]:
                self.w.complete(t, {"urge_method": self.rng.choice(["phone", "platform"]),
                                    "urge_notes": "已提醒单位尽快报送上月工作完成情况"})
        return act

    def _notice(self, deadline: date):
        def act():
            for t in [x for x in self.w.open_tasks(self.iid)
                      if x.element_id == "issue_supervision_notice"]:
                self.notices += 1
                self.w.complete(t, {
                    "notice_number": f"督办〔2026〕{self.notices + 2}号",
                    "notice_deadline": (deadline + timedelta(days=6)).isoformat(),
                    "notice_file": self.w.attach("督办单.pdf")})
        return act

    def _interview(self, unit):
        def act():
            t = self._task("interview_unit_head")
            if t is not None:
                self.w.complete(t, {"interview_date": iso_day(self.w.now()), "interviewer": "分管副区长",
                                    "interview_record": "约谈责任单位主要负责人，要求立即报送并说明原因"})
        return act

    def _circular(self, unit):
        def act():
            t = self._task("issue_circular")
            if t is not None:
                self.w.complete(t, {"circular_number": "昆督通〔2026〕9号",
                                    "circular_content": "未按时报送月报，予以全区通报。"})
        return act


def supervision_title(month: int) -> str:
    """The title of the supervision instance of ``month`` (2026)."""
    return f"2026年{month}月全区重点工作督查督办（昆府发〔2026〕10号）"
