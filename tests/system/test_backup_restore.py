"""``kunflow backup`` while a caseworker keeps completing tasks and attaching files, then
``kunflow restore`` into a new place: the copy is a consistent prefix of what was acknowledged
(every completion acknowledged before the backup began is in it, every completed task has its
event), every case loads, every attachment's SHA-256 matches, the audit chain verifies. The
restore refuses a damaged backup and an existing database without ``--force``. SQLite only:
PostgreSQL is backed up with pg_dump (the command says so)."""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine import CaseFiles, FileStore
from engine.model import attachment, event, instance, task
from tests.conftest import BPMN, actor, district_engine, seed_org
from web.cli import main

PDF = b"%PDF-1.4\n%%EOF\n"


def _env(root, name: str) -> dict:
    return {"KUNFLOW_DATABASE_URL": f"sqlite:///{root / name / 'kunflow.db'}",
            "KUNFLOW_ATTACHMENT_DIR": str(root / name / "attachments"),
            "KUNFLOW_SECRET_KEY": "backup-test"}


class Caseworker(threading.Thread):
    """Starts cases, attaches a file to each first task and completes it, until stopped;
    ``done`` lists the task ids whose completion the engine acknowledged, in order."""

    def __init__(self, engine, files):
        super().__init__(daemon=True)
        self.engine, self.files = engine, files
        self.clerk = actor(engine, "invest-clerk")
        self.done: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        k = 0
        try:
            while not self.stop.is_set():
                k += 1
                inst = self.engine.start("sample_review", self.clerk, title=f"备份压力 {k}")
                (register,) = inst.tasks
                self.files.add_attachment(
                    self.clerk, filename=f"材料{k}.pdf", content_type="application/pdf",
                    stream=io.BytesIO(PDF + f"{k}\n".encode()), task_id=register.id)
                self.engine.complete(register.id, self.clerk, {"project_name": f"项目{k}"})
                self.done.append(register.id)
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.error = exc

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.done) < n and self.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.error is None, self.error
        assert len(self.done) >= n, "the caseworker thread made no progress"


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """A live installation, backed up under load and restored into a new place: (root,
    acknowledged before the backup, backup output, restore output)."""
    root = tmp_path_factory.mktemp("backup")
    live = _env(root, "live")
    (root / "live").mkdir()
    engine = district_engine(live["KUNFLOW_DATABASE_URL"])
    try:
        engine.migrate()
        seed_org(engine)
        engine.deploy("sample_review.bpmn", (BPMN / "sample_review.bpmn").read_bytes(),
                      actor=actor(engine, "admin"))
        files = CaseFiles(engine, FileStore(live["KUNFLOW_ATTACHMENT_DIR"]), max_bytes=1 << 20)
        worker = Caseworker(engine, files)
        worker.start()
        try:
            worker.wait_for(8)
            before = list(worker.done)
            backup = CliRunner().invoke(main, ["backup", str(root / "copy")], env=live)
            worker.wait_for(len(worker.done) + 8)  # the work goes on after the snapshot too
        finally:
            worker.stop.set()
            worker.join(60)
        assert worker.error is None, worker.error
    finally:
        engine.close()
    restored = CliRunner().invoke(main, ["restore", str(root / "copy")],
                                  env=_env(root, "restored"))
    return root, before, backup, restored


def test_backup_and_restore_commands_succeed(backed_up):
    _, _, backup, restored = backed_up
    assert backup.exit_code == 0, backup.output
    assert "已备份" in backup.output
    assert restored.exit_code == 0, restored.output
    assert "审计链完整" in restored.output


def test_the_restored_copy_is_a_consistent_prefix_and_every_case_loads(backed_up):
    root, before, _, _ = backed_up
    engine = district_engine(_env(root, "restored")["KUNFLOW_DATABASE_URL"])
    try:
        with engine.db.connect() as conn:
            completed = set(conn.execute(
                sa.select(task.c.id).where(task.c.state == "completed")).scalars())
            logged = set(conn.execute(
                sa.select(event.c.task_id).where(event.c.kind == "task_completed")).scalars())
            ids = conn.execute(sa.select(instance.c.id).order_by(instance.c.id)).scalars().all()
        assert set(before) <= completed  # nothing acknowledged before the backup is lost
        assert completed == logged  # no completion without its event, nor the reverse
        admin = actor(engine, "admin")
        for iid in ids:  # each state loads from its stored JSON (a fresh engine: no cache)
            assert engine.get_instance(iid, admin, with_data=True).id == iid
        assert engine.verify_audit().intact
    finally:
        engine.close()


def test_every_restored_attachment_matches_its_sha256(backed_up):
    root, before, _, _ = backed_up
    env = _env(root, "restored")
    engine = district_engine(env["KUNFLOW_DATABASE_URL"])
    try:
        with engine.db.connect() as conn:
            rows = conn.execute(sa.select(attachment.c.sha256, attachment.c.size)).all()
    finally:
        engine.close()
    assert len(rows) >= len(before)
    store = FileStore(env["KUNFLOW_ATTACHMENT_DIR"])
    for sha, size in rows:
        content = store.path(sha).read_bytes()
        assert (hashlib.sha256(content).hexdigest(), len(content)) == (sha, size)


def test_restore_refuses_an_existing_database_without_force(backed_up):
    root, _, _, _ = backed_up
    again = CliRunner().invoke(main, ["restore", str(root / "copy")], env=_env(root, "restored"))
    assert again.exit_code == 1
    assert "目标数据库已存在" in again.output and "--force" in again.output
    forced = CliRunner().invoke(main, ["restore", "--force", str(root / "copy")],
                                env=_env(root, "restored"))
    assert forced.exit_code == 0, forced.output


def test_restore_refuses_a_damaged_backup(backed_up):
    root, _, _, _ = backed_up
    damaged = root / "damaged"
    shutil.copytree(root / "copy", damaged)
    victim = next(p for p in (damaged / "attachments").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b"x")
    result = CliRunner().invoke(main, ["restore", str(damaged)], env=_env(root, "elsewhere"))
    assert result.exit_code == 1
    assert "损坏" in result.output and victim.name in result.output
    assert not (root / "elsewhere" / "kunflow.db").exists()


def test_backup_refuses_an_existing_directory_and_postgresql(backed_up):
    root, _, _, _ = backed_up
    again = CliRunner().invoke(main, ["backup", str(root / "copy")], env=_env(root, "live"))
    assert again.exit_code == 1 and "已存在" in again.output
    pg = CliRunner().invoke(main, ["backup", str(root / "pg")], env={
        **_env(root, "live"), "KUNFLOW_DATABASE_URL": "postgresql://u@127.0.0.1:1/kunflow"})
    assert pg.exit_code == 2
    assert "pg_dump" in pg.output and "pg_restore" in pg.output
