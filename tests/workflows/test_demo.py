"""``kunflow demo``: the demo loaded once (seed 2026) into a temporary SQLite database through
the command (``demo_database`` in tests/conftest.py), then what it contains. Only on SQLite (it
is the embedded default's demo)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine import Engine
from engine.casefiles import FileStore
from engine.model import app_user, attachment, event, incident, instance, message, task
from tests.conftest import ROOT
from web.cli import main
from workflows.demo import (
    DEMO_STREETS,
    MINE_STATES,
    TODAY,
    DemoError,
    load_demo,
    plan_demo,
    start_mine_closure,
)
from workflows.lifecycle import STAGES
from workflows.org import load_org
from workflows.registers.tables import enterprise, mine, plant, register_case, tailings

TODAY_UTC = TODAY - timedelta(hours=8)
STREETS = [d.code for d in load_org(ROOT / "config" / "org.yaml")[0] if d.code in DEMO_STREETS]
STREET_KINDS = {"street.subdistrict", "street.town"}


@pytest.fixture(scope="module")
def demo(demo_database):
    """(database engine, CLI environment, first run's output) of the session's demo."""
    url, env, output = demo_database
    db = sa.create_engine(url)
    yield db, env, output
    db.dispose()


def rows(db, stmt):
    with db.connect() as conn:
        return conn.execute(stmt).all()


def data_of(db, iid: int) -> dict:
    """The newest data a case's events carried is not enough: read it through the engine."""
    eng = Engine(str(db.url))
    try:
        return eng.get_instance(iid, eng.get_user("admin").actor(), with_data=True).data
    finally:
        eng.db.dispose()


def test_the_command_reports_what_it_loaded(demo):
    _db, _env, output = demo
    assert "演示数据已加载（种子 2026" in output
    assert "督查督办月报：2026-03 至 2026-11，共 9 轮" in output
    assert "项目 41 个（其中非煤矿山项目 6 个）" in output
    assert "演示名录：企业 8 家、矿山 6 座、选矿厂 2 座、尾矿库 2 座" in output
    assert "从名录发起的案件 15 件（办理中 9 件）" in output
    assert "街镇待办：15/15 个街镇有待办" in output


def test_every_street_holds_open_work(demo):
    """Each of the 15 街镇 of the org chart has a task in its queue "today" (a whistle to sign or
    rate, a request to record, a firm's feedback); the demo's streets are all of them."""
    db = demo[0]
    streets = {d.code for d in load_org(ROOT / "config" / "org.yaml")[0] if d.kind in STREET_KINDS}
    assert len(streets) == 15 and set(DEMO_STREETS) == streets
    open_by = dict(
        rows(
            db,
            sa.select(task.c.department_code, sa.func.count())
            .where(task.c.state.in_(("ready", "claimed")))
            .group_by(task.c.department_code),
        )
    )
    assert {s for s in streets if open_by.get(s)} == streets
    # projects and whistles are spread over every 街镇 too
    for key in ("project_lifecycle", "whistle_referral"):
        placed = set()
        for (iid,) in rows(db, sa.select(instance.c.id).where(instance.c.process_key == key)):
            placed.add(data_of(db, iid)["street"])
        assert placed == streets, key


def test_registered_mines_in_each_status_and_the_other_registers(demo):
    db = demo[0]
    statuses = {r.status for r in rows(db, sa.select(mine.c.status))}
    assert statuses == {"生产", "停产停建", "整合技改", "临近关闭"}
    assert len(rows(db, sa.select(enterprise.c.id))) == 8
    assert len(rows(db, sa.select(plant.c.id))) == 2
    assert {r.status for r in rows(db, sa.select(tailings.c.status))} == {"运行", "闭库"}


def test_cases_started_from_register_entries_are_linked_and_part_way(demo):
    """Started as the entry page's 发起 starts them: every case has its register_case row and
    carries the entry in its data and key; some are finished, some open "today"."""
    db = demo[0]
    linked = rows(
        db,
        sa.select(
            register_case.c.kind,
            register_case.c.entry_id,
            register_case.c.process_key,
            register_case.c.business_key,
            instance.c.status,
            instance.c.id,
        ).join(instance, instance.c.id == register_case.c.instance_id),
    )
    assert len(linked) == 16  # 15 planned, and the closure of the 临近关闭 mine
    assert {r.kind for r in linked} == {"mine", "plant", "tailings", "enterprise"}
    assert {r.process_key for r in linked} == {
        "hazard_rectification",
        "mine_closure",
        "radioactive_check",
        "river_sand",
        "service_request",
    }
    prefix = {"mine": "KS", "plant": "XK", "tailings": "WK", "enterprise": "QY"}
    levels, sand = set(), set()
    for r in linked:
        assert r.business_key.startswith(f"{prefix[r.kind]}-{r.entry_id}-")
        facts = data_of(db, r.id)
        assert (facts["register_kind"], facts["register_id"]) == (r.kind, r.entry_id)
        if r.process_key == "hazard_rectification":
            levels.add(facts.get("hazard_level"))
        if r.process_key == "river_sand":
            sand.add(facts["case_kind"])
    assert levels == {"none", "general", "major", None}  # None: the check is still to be done
    assert sand == {"permit", "enforcement"}
    status = {r.status for r in linked}
    assert status == {"running", "completed"}
    by_street = {
        r.started_by
        for r in rows(
            db,
            sa.select(register_case.c.started_by).where(
                register_case.c.process_key == "service_request"
            ),
        )
    }
    assert {"kunhe-clerk", "buerhantu-clerk", "kunbei-clerk"} <= by_street


def test_every_lifecycle_stage_has_a_project(demo):
    db = demo[0]
    found = dict(
        rows(
            db,
            sa.select(instance.c.stage, sa.func.count())
            .where(instance.c.process_key == "project_lifecycle")
            .group_by(instance.c.stage),
        )
    )
    assert set(found) == {s.name for s in STAGES}
    assert sum(found.values()) == 41
    phases = dict(
        rows(
            db,
            sa.select(instance.c.stage, instance.c.phase).where(
                instance.c.process_key == "project_lifecycle"
            ),
        )
    )
    assert all(phases[s.name] == s.phase for s in STAGES)
    statuses = dict(
        rows(
            db,
            sa.select(instance.c.status, sa.func.count())
            .where(instance.c.process_key == "project_lifecycle")
            .group_by(instance.c.status),
        )
    )
    assert statuses["running"] > 30 and statuses["completed"] >= 3  # dropped, exited, 达产


def test_the_dashboard_holds_every_project_with_its_light_as_of_the_demo_day(demo):
    """The read model kept a row per project in the demo's steps; lights are brought to the
    demo's day at its end: every live project with a task overdue on that day is not green."""
    from workflows.dashboard.tables import dash_project

    db = demo[0]
    projects = dict(rows(db, sa.select(dash_project.c.instance_id, dash_project.c.stage)))
    cases = dict(rows(db, sa.select(instance.c.id, instance.c.stage)
                      .where(instance.c.process_key == "project_lifecycle")))
    assert projects.keys() == cases.keys()
    late = {iid for (iid,) in rows(db, sa.select(task.c.instance_id).distinct().where(
        task.c.process_key == "project_lifecycle", task.c.state.in_(("ready", "claimed")),
        task.c.due_at < TODAY_UTC, task.c.paused_at.is_(None)))}
    assert late, "the demo has overdue project work"
    lights = dict(rows(db, sa.select(dash_project.c.instance_id, dash_project.c.light)
                       .where(dash_project.c.status.not_in(("completed", "terminated")))))
    assert {iid for iid in late if iid in lights and lights[iid] == "green"} == set()
    assert {"red", "yellow", "green"} <= set(lights.values())


def test_six_mine_cases_each_in_another_major_state(demo):
    db = demo[0]
    cases = rows(
        db,
        sa.select(instance.c.business_key, instance.c.stage, instance.c.parent_instance_id).where(
            instance.c.process_key == "mine_approval"
        ),
    )
    assert sorted(c.stage for c in cases) == sorted(MINE_STATES)
    parents = {
        r.id: r.business_key for r in rows(db, sa.select(instance.c.id, instance.c.business_key))
    }
    assert all(parents[c.parent_instance_id] == c.business_key for c in cases)  # called
    messages = rows(db, sa.select(message.c.name, message.c.delivered_to, message.c.payload_json))
    # approved mines told their projects; a major issue was raised to 会商研判 from outside
    assert any(m.name == "mine_approval_result" and m.delivered_to for m in messages)
    assert any(m.name == "mine_major_issue" and m.delivered_to for m in messages)
    notices = [json.loads(m.payload_json) for m in messages if m.name == "mine_notice"]
    assert {"审批结果", "安全生产许可", "联合检查结果"} <= {n["subject"] for n in notices}


def test_supervision_every_month_with_late_and_unsigned_reports(demo):
    db = demo[0]
    cases = rows(
        db,
        sa.select(instance.c.id, instance.c.business_key, instance.c.status)
        .where(instance.c.process_key == "supervision_monthly")
        .order_by(instance.c.business_key),
    )
    assert [c.business_key for c in cases] == [f"DC-2026-{m:02d}" for m in range(3, 12)]
    assert [c.status for c in cases] == ["completed"] * 8 + ["running"]
    reports = []
    for case in cases:
        facts = data_of(db, case.id)
        rounds = facts.get("round_history") or [
            {"round_month": facts["round_month"], "reports": facts["reports"]}
        ]
        assert rounds[0]["round_month"] == case.business_key.replace("DC-", "")
        reports += rounds[0]["reports"]
    late = [r for r in reports if r["late"]]
    unsigned = [r for r in reports if not r["signed"] and r["explained"]]
    assert late and unsigned
    assert all(r["explanation"] and r["explanation_files"] for r in unsigned)
    assert any(r["status"] == "missing" for r in reports)  # November: not reported at all


def test_the_district_handlers_proposed_the_leaders_and_kept_the_ledgers(demo):
    """The shipped diagrams' service tasks ran in the demo: every project's 包联 proposal came
    from assign_package_leader (the 区领导 confirmed it), every supervision round's ledger
    was opened and closed by ledger_open_rows / ledger_close_rows."""
    db = demo[0]
    projects = rows(
        db,
        sa.select(instance.c.id, instance.c.business_key).where(
            instance.c.process_key == "project_lifecycle"
        ),
    )
    mine_projects = {
        key
        for (key,) in rows(
            db, sa.select(instance.c.business_key).where(instance.c.process_key == "mine_approval")
        )
    }
    leaders = {u.username: u.display_name for u in load_org(ROOT / "config" / "org.yaml")[1]}
    confirmed = 0
    for project in projects:
        facts = data_of(db, project.id)
        proposal = facts["package_proposal"]  # the service task ran after 线索登记
        assert proposal["package_leader"] == leaders[proposal["package_leader_username"]]
        assert (proposal["lead_department"] == "natres") == (project.business_key in mine_projects)
        assert facts["package_leader"] == proposal["package_leader"]  # prefilled
        if facts.get("package_notes"):  # the 区领导 confirmed it
            assert facts["lead_department"] == proposal["lead_department"]
            confirmed += 1
    assert confirmed >= len(projects) - 2  # all but the lead still waiting for its leader

    # ledger (issue 12): the ledger is the office's own tables, imported from the demo 分解表
    from workflows.ledger import ledger_event, ledger_row, ledger_row_unit

    units = {d.code for d in load_org(ROOT / "config" / "org.yaml")[0]}
    for (iid,) in rows(db, sa.select(instance.c.id)
                       .where(instance.c.process_key == "supervision_monthly")):
        facts = data_of(db, iid)
        assert not {"opened_round", "settled_ledger", "closed_ledger"} & set(facts)
    ledger = rows(db, sa.select(ledger_row))
    assert {r.origin for r in ledger} == {"breakdown", "onsite"}
    assert all("演示数据" in r.source_table for r in ledger if r.origin == "breakdown")
    assert {u for (u,) in rows(db, sa.select(ledger_row_unit.c.department_code))} <= units
    closed = [r for r in ledger if r.status == "closed"]  # 销账 with evidence and date
    assert closed and all(r.closure_evidence and r.closed_on and r.actual_pct >= 100
                          for r in closed)
    assert {r.light for r in ledger if r.status == "open"} >= {"red", "green"}
    kinds = {k for (k,) in rows(db, sa.select(ledger_event.c.kind).distinct())}
    assert kinds >= {"import", "open", "progress", "reconcile", "audit", "light", "close",
                     "onsite", "consult"}


def test_whistles_and_hazards_are_in_progress(demo):
    db = demo[0]
    counts = dict(
        rows(
            db,
            sa.select(instance.c.process_key + "/" + instance.c.status, sa.func.count()).group_by(
                instance.c.process_key, instance.c.status
            ),
        )
    )
    assert counts["whistle_referral/running"] >= 4 and counts["whistle_referral/completed"] >= 2
    assert counts["hazard_rectification/running"] >= 4
    assert counts["hazard_rectification/completed"] >= 2


def test_a_year_of_work_done_by_the_departments_users(demo):
    db = demo[0]
    assert rows(db, sa.select(sa.func.count()).select_from(incident))[0][0] == 0
    started = [r[0] for r in rows(db, sa.select(instance.c.started_at))]
    assert min(started) < datetime(2025, 12, 31) and max(started) < TODAY_UTC
    done = rows(
        db,
        sa.select(
            task.c.department_code,
            task.c.candidate_role,
            app_user.c.roles,
            app_user.c.department_code.label("user_department"),
        )
        .join(app_user, app_user.c.username == task.c.completed_by)
        .where(task.c.state == "completed"),
    )
    assert len(done) > 1000
    for t in done:  # every step completed by a user of the department it routed to
        assert t.user_department == t.department_code
        assert t.candidate_role is None or t.candidate_role in t.roles.split()
    open_tasks = rows(
        db,
        sa.select(task.c.state, task.c.due_at, task.c.created_at).where(
            task.c.state.in_(("ready", "claimed"))
        ),
    )
    assert any(t.state == "claimed" for t in open_tasks)
    assert any(t.state == "ready" for t in open_tasks)
    assert any(t.due_at is not None and t.due_at < TODAY_UTC for t in open_tasks)  # overdue
    assert all(t.created_at <= TODAY_UTC for t in open_tasks)
    fired = rows(
        db, sa.select(sa.func.count()).select_from(event).where(event.c.kind == "timer_fired")
    )[0][0]
    assert fired > 100  # monthly rounds, reports, escalations came from the timers


def test_evidence_is_uploaded_to_the_steps_that_cite_it(demo):
    db, env, _output = demo
    files = {r.id: r for r in rows(db, sa.select(attachment))}
    assert len(files) > 300
    store = FileStore(env["KUNFLOW_ATTACHMENT_DIR"])
    assert all(store.path(f.sha256).is_file() and f.size > 0 for f in files.values())
    assert {f.content_type for f in files.values()} == {"image/png", "text/plain; charset=utf-8"}
    cited = 0
    for (data_json,) in rows(
        db, sa.select(event.c.data_json).where(event.c.kind == "task_completed")
    ):
        data = json.loads(data_json or "{}")
        for key in (
            "site_photos",
            "agreement_file",
            "closure_evidence",
            "explanation_files",
            "rectification_evidence",
            "scene_photos",
        ):
            for att_id in data.get(key) or []:
                assert files[att_id].field == key  # attached to the step, in that field
                cited += 1
    assert cited > 100


def test_loading_again_skips_or_refuses(demo):
    db, env, _output = demo
    before = rows(db, sa.select(sa.func.count()).select_from(instance))[0][0]
    runner = CliRunner()
    skipped = runner.invoke(main, ["demo", "--if-empty"], env=env, catch_exceptions=False)
    assert skipped.exit_code == 0 and f"已有 {before} 个流程实例，跳过演示数据" in skipped.output
    refused = runner.invoke(main, ["demo"], env=env, catch_exceptions=False)
    assert refused.exit_code == 1 and "已有演示数据" in refused.output
    assert rows(db, sa.select(sa.func.count()).select_from(instance))[0][0] == before


def test_the_seed_decides_the_cases(demo):
    db = demo[0]
    from_registers = sa.select(register_case.c.instance_id)
    loaded = {
        tuple(r)
        for r in rows(
            db,
            sa.select(instance.c.process_key, instance.c.business_key, instance.c.title).where(
                instance.c.id.not_in(from_registers)
            ),
        )
    }
    plan = plan_demo(2026, STREETS)
    assert loaded == plan.cases()
    assert plan_demo(2026, STREETS).cases() == plan.cases()
    other = plan_demo(7, STREETS)
    assert {c[1:] for c in other.cases()} != {c[1:] for c in plan.cases()}
    assert json.dumps(sorted(plan.cases()), ensure_ascii=False)  # plain data
    # the register-started cases: the same entries, processes and steps for every seed
    started = sorted(
        rows(
            db,
            sa.select(register_case.c.process_key, instance.c.title).join(
                instance, instance.c.id == register_case.c.instance_id
            ),
        )
    )
    started = [(p, t) for p, t in started if p != "mine_closure"]  # the hook's, not the plan's
    assert [p for p, _t in started] == sorted(s.process_key for s in plan.register_cases)
    assert all(any(t.startswith(s.entry) for _p, t in started) for s in plan.register_cases)


def test_the_demo_needs_the_district_handlers(tmp_path):
    bare = Engine(f"sqlite:///{tmp_path / 'bare.db'}")  # no workflows.register
    try:
        with pytest.raises(DemoError, match="assign_package_leader, ledger_check_round"):
            load_demo(bare)
    finally:
        bare.db.dispose()


def test_the_demo_closes_the_mine_marked_for_closure_once(demo):
    """``start_mine_closure`` started 关闭 of the register's 临近关闭 mine from its entry; the
    case waits on its first step, and calling the hook again starts nothing."""
    db, _env, output = demo
    eng = Engine(str(db.url))
    try:
        assert start_mine_closure(eng) is None
    finally:
        eng.db.dispose()
    assert "另发起矿山关闭 1 件" in output
    (closure,) = rows(db, sa.select(register_case.c.entry_id, instance.c.status).join(
        instance, instance.c.id == register_case.c.instance_id).where(
        register_case.c.process_key == "mine_closure"))
    assert closure.status == "running"
    (status,) = rows(db, sa.select(mine.c.status).where(
        mine.c.id == closure.entry_id))
    assert status == ("临近关闭",)
