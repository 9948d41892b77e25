"""The audit log is tamper-evident: every event written through the engine's commands joins its
chain (the case's, or the system chain), the database refuses UPDATE and DELETE on it, and
``verify_audit`` finds exactly the link that an attacker with database access changed or cut
out. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from click.testing import CliRunner
from sqlalchemy.exc import DBAPIError

from engine import Access, AnchorError, Engine
from engine.audit import event_hash
from engine.migrate import upgrade
from engine.model import event
from tests.conftest import actor


@pytest.fixture
def people(engine):
    return {u: actor(engine, u) for u in ("invest-clerk", "drc-clerk", "natres-clerk",
                                          "eco-clerk", "admin")}


def _cases(engine, people, n=2) -> list[int]:
    """``n`` sample_review cases past their first task, with a comment each, and a failed
    login (system chain)."""
    clerk = people["invest-clerk"]
    ids = []
    for k in range(n):
        inst = engine.start("sample_review", clerk, business_key=f"ZS-AUDIT-{k}", title="审计")
        (register,) = inst.tasks
        engine.complete(register.id, clerk, {"project_name": f"项目{k}"})
        engine.add_comment(inst.id, clerk, f"第{k}条意见")
        ids.append(inst.id)
    Access(engine.db).login_failed("nobody", "127.0.0.1", "unknown_user")
    return ids


def _events(engine, instance_id) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(event).where(event.c.instance_id == instance_id)
                            .order_by(event.c.id)).all()


def _as_attacker(db_url: str, statement: str, params: dict) -> None:
    """Change the log behind the engine's back, as someone with the database's password:
    switch the append-only triggers off, write, and (PostgreSQL) switch them on again."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url[len("sqlite:///"):])
        try:
            conn.execute("DROP TRIGGER IF EXISTS event_no_update")
            conn.execute("DROP TRIGGER IF EXISTS event_no_delete")
            conn.execute(statement, params)
            conn.commit()
        finally:
            conn.close()
        return
    eng = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with eng.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE event DISABLE TRIGGER event_no_change")
            conn.execute(sa.text(statement), params)
            conn.exec_driver_sql("ALTER TABLE event ENABLE TRIGGER event_no_change")
    finally:
        eng.dispose()


def test_events_of_real_commands_form_intact_chains(engine, people):
    ids = _cases(engine, people)
    report = engine.verify_audit()
    with engine.db.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(event)).scalar()
        chains = conn.execute(sa.select(sa.func.count(sa.distinct(event.c.instance_id)))).scalar()
    assert report.intact, report.breaks
    assert (report.events, report.chains) == (total, chains + 1)  # + the system chain
    rows = _events(engine, ids[0])
    assert [r.kind for r in rows][:2] == ["instance_started", "task_created"]
    assert "comment" in [r.kind for r in rows]
    assert rows[0].prev_hash is None
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    first = rows[0]
    assert first.hash == event_hash(None, first.instance_id, first.task_id, first.actor,
                                    first.kind, first.at, first.data_json)


def test_the_database_refuses_to_change_or_delete_events(engine, people):
    _cases(engine, people, n=1)
    statements = [event.update().values(actor="someone-else"), event.delete()]
    if engine.db.dialect.name == "postgresql":
        statements.append(sa.text("TRUNCATE event"))
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.db.begin() as conn:
            conn.execute(statement)
    assert engine.verify_audit().intact


def test_tables_made_without_migrations_are_append_only_too():
    eng = Engine("sqlite://")
    try:
        eng.create_schema()
        with eng.db.begin() as conn:
            conn.execute(event.insert().values(kind="x", at=sa.func.current_timestamp()))
        with pytest.raises(DBAPIError, match="append-only"), eng.db.begin() as conn:
            conn.execute(event.delete())
    finally:
        eng.close()


def test_an_edited_event_is_found_at_exactly_that_link(engine, people, db_url):
    first, second = _cases(engine, people)
    rows = _events(engine, first)
    completed = next(r for r in rows if r.kind == "task_completed")
    _as_attacker(db_url, "UPDATE event SET data_json = '{\"project_name\":\"改过\"}' WHERE id = :id",
                 {"id": completed.id})

    report = engine.verify_audit()
    assert len(report.breaks) == 1  # the other case's chain and the system chain hold
    (broken,) = report.breaks
    assert (broken.event_id, broken.instance_id) == (completed.id, first)
    assert "被改动" in broken.reason
    assert broken.found == completed.hash
    assert broken.previous_event_id == rows[rows.index(completed) - 1].id


def test_an_event_deleted_from_the_middle_is_found_at_the_next_link(engine, people, db_url):
    first, _ = _cases(engine, people)
    rows = _events(engine, first)
    gone = rows[2]
    _as_attacker(db_url, "DELETE FROM event WHERE id = :id", {"id": gone.id})

    (broken,) = engine.verify_audit().breaks
    assert (broken.event_id, broken.instance_id) == (rows[3].id, first)
    assert broken.previous_event_id == rows[1].id
    assert (broken.expected, broken.found) == (rows[1].hash, gone.hash)
    assert "删除" in broken.reason


def test_parallel_writers_keep_each_chain_whole(engine, people):
    """Comments on one case and logins (the system chain) from several threads at once: each
    append waits for the chain's last hash of the one before (the case's lock, the system
    chain's lock), so no two events claim the same predecessor."""
    (case,) = _cases(engine, people, n=1)
    access = Access(engine.db)
    errors = []

    def comment(k):
        try:
            for j in range(8):
                engine.add_comment(case, people["invest-clerk"], f"并发意见 {k}-{j}")
                access.login_failed(f"guest{k}", "127.0.0.1", "unknown_user")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=comment, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = engine.verify_audit()
    assert report.intact, report.breaks
    assert sum(r.kind == "comment" for r in _events(engine, case)) == 1 + 3 * 8


def test_migration_seals_the_events_written_before_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = Engine(url)
    try:
        upgrade(eng.db, revision="0010")
        with eng.db.begin() as conn:  # rows of the old shape: no hash columns yet
            for iid, kind in ((1, "instance_started"), (None, "login_failed"), (1, "comment")):
                conn.execute(sa.text("INSERT INTO event (instance_id, kind, at, data_json) "
                                     "VALUES (:i, :k, '2026-01-05 08:00:00.000000', '{}')"),
                             {"i": iid, "k": kind})
        eng.migrate()
        with eng.db.connect() as conn:
            rows = conn.execute(sa.select(event).order_by(event.c.id)).all()
        assert all(r.hash for r in rows)
        assert rows[2].prev_hash == rows[0].hash and rows[1].prev_hash is None
        report = eng.verify_audit()
        assert (report.intact, report.events, report.chains) == (True, 3, 2)
    finally:
        eng.close()


def test_audit_verify_command_reports_the_chain_or_its_first_break(engine, people, db_url,
                                                                    tmp_path):
    from web.cli import main

    first, _ = _cases(engine, people)
    env = {"KUNFLOW_DATABASE_URL": db_url, "KUNFLOW_SECRET_KEY": "audit-test",
           "KUNFLOW_ATTACHMENT_DIR": str(tmp_path / "attachments")}
    ok = CliRunner().invoke(main, ["audit", "verify"], env=env)
    report = engine.verify_audit()
    assert ok.exit_code == 0, ok.output
    assert f"审计链完整：{report.events} 条事件，{report.chains} 条链" in ok.output

    victim = _events(engine, first)[1]
    _as_attacker(db_url, "UPDATE event SET actor = 'nobody' WHERE id = :id", {"id": victim.id})
    bad = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert f"事件 {victim.id}" in bad.output and f"实例 {first}" in bad.output



# ---------------------------------------------------------------- anchors kept elsewhere

NOW = timedelta(0)  # no settling in a test: the anchor covers every event written so far


def test_a_cut_off_tail_passes_the_chains_but_not_an_anchor(engine, people, db_url):
    """The last events of a chain deleted leave an intact-looking chain; an anchor taken before
    finds it. Events written after the anchor keep it holding."""
    first, _ = _cases(engine, people)
    anchor = engine.audit_anchor(NOW)
    assert engine.verify_audit([anchor]).intact
    engine.add_comment(first, people["invest-clerk"], "锚点之后的意见")
    later = engine.audit_anchor(NOW)
    assert engine.verify_audit([anchor, later]).intact

    rows = _events(engine, first)
    _as_attacker(db_url, "DELETE FROM event WHERE id >= :id AND instance_id = :iid",
                 {"id": rows[-2].id, "iid": first})
    assert engine.verify_audit().intact  # the chain alone cannot tell
    report = engine.verify_audit([anchor, later])
    assert not report.intact and report.breaks == ()
    assert report.anchors == 2 and len(report.anchor_problems) == 2
    assert "锚点（截至事件" in report.anchor_problems[0]


def test_a_whole_chain_dropped_or_a_head_edited_fails_the_anchor(engine, people, db_url):
    first, second = _cases(engine, people)
    anchor = engine.audit_anchor(NOW)
    # The newest event of a chain changed and its hash made again: every link still holds.
    head = _events(engine, second)[-1]
    forged = event_hash(head.prev_hash, head.instance_id, head.task_id, "nobody", head.kind,
                        head.at, head.data_json)
    _as_attacker(db_url, "UPDATE event SET actor = 'nobody', hash = :h WHERE id = :id",
                 {"id": head.id, "h": forged})
    edited = engine.verify_audit([anchor])
    assert edited.breaks == () and len(edited.anchor_problems) == 1
    assert "末尾事件与锚点记录不同" in edited.anchor_problems[0]

    _as_attacker(db_url, "DELETE FROM event WHERE instance_id = :iid", {"iid": first})
    (problem,) = engine.verify_audit([anchor]).anchor_problems
    assert "整条链被删除" in problem


def test_an_anchor_leaves_out_the_events_still_settling(engine, people):
    """By default the newest ten minutes are left out (on PostgreSQL a lower id may commit
    after a higher one): with every event just written, the anchor covers none of them."""
    _cases(engine, people)
    fresh = engine.audit_anchor()
    assert fresh.split()[2:4] == ["0", "0"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11), tick=False):
        settled = engine.audit_anchor()
    assert settled == engine.audit_anchor(NOW)
    assert engine.verify_audit([fresh, settled]).intact


@pytest.mark.parametrize("line", ["", "kunflow-audit-anchor v1 12 3", "kunflow-audit-anchor v2 1 1 "
                                  + "0" * 64, "kunflow-audit-anchor v1 -1 1 " + "0" * 64,
                                  "kunflow-audit-anchor v1 1 1 " + "G" * 64])
def test_a_line_that_is_not_an_anchor_is_refused(engine, line):
    with pytest.raises(AnchorError):
        engine.verify_audit([line])


def test_the_anchor_commands(engine, people, db_url, tmp_path):
    from web.cli import main

    first, _ = _cases(engine, people)
    env = {"KUNFLOW_DATABASE_URL": db_url, "KUNFLOW_SECRET_KEY": "audit-test",
           "KUNFLOW_ATTACHMENT_DIR": str(tmp_path / "attachments")}
    made = CliRunner().invoke(main, ["audit", "anchor", "--settle-minutes", "0"], env=env)
    assert made.exit_code == 0, made.output
    kept = tmp_path / "anchors.txt"
    kept.write_text("# 每日锚点\n" + made.output, encoding="utf-8")
    ok = CliRunner().invoke(main, ["audit", "verify", "--anchors", str(kept)], env=env)
    assert ok.exit_code == 0, ok.output
    assert "1 个锚点相符" in ok.output

    last = _events(engine, first)[-1]
    _as_attacker(db_url, "DELETE FROM event WHERE id = :id", {"id": last.id})
    cut = CliRunner().invoke(main, ["audit", "verify", "--anchors", str(kept)], env=env)
    assert cut.exit_code == 1
    assert "各链自身完整" in cut.output and "1/1 个锚点不符" in cut.output

    kept.write_text("not an anchor\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["audit", "verify", "--anchors", str(kept)], env=env)
    assert bad.exit_code == 2 and "不是 kunflow 审计锚点" in bad.output
    missing = CliRunner().invoke(main, ["audit", "verify", "--anchors",
                                        str(tmp_path / "none.txt")], env=env)
    assert missing.exit_code == 2 and "无法读取锚点文件" in missing.output
