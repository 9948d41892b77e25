"""Backups of an embedded (SQLite) installation: the database and the attachment files, with a
manifest of checksums; and their restore.

A backup is a directory::

    kunflow.db        the database, copied with SQLite's online backup API
    attachments/      the files the copied database's ``attachment`` rows name (ab/abcdef…)
    manifest.json     format, time, schema revision, counts, SHA-256 of the database copy and
                      of every attachment

Consistent under load: the database is copied in one step (``sqlite3.Connection.backup``
with all pages at once), i.e. inside one read transaction, a snapshot of the last committed
state; in WAL mode writers go on meanwhile and are simply not in the copy. The attachment
files are taken *after* the snapshot and only those its rows name: a file is stored before
the row that names it commits and is never changed or removed (content-addressed by SHA-256,
``engine/casefiles.py``), so every file the snapshot needs exists. The backup is written to
``<path>.partial`` and renamed when complete: a directory named ``path`` is a whole backup.

PostgreSQL is backed up with its own tools (pg_dump / pg_restore, docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from .casefiles import FileStore
from .clock import utcnow
from .errors import EngineError

FORMAT = "kunflow-backup"
FORMAT_VERSION = 1
DATABASE_FILE = "kunflow.db"
ATTACHMENTS_DIR = "attachments"
MANIFEST_FILE = "manifest.json"
_CHUNK = 1024 * 1024


class BackupError(EngineError):
    """A backup or restore that cannot be done (the message says why, in Chinese)."""

    code = "backup_failed"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    database_bytes: int
    instances: int
    events: int
    attachments: int  # files copied
    attachment_bytes: int
    missing: tuple[str, ...]  # SHA-256 of attachment files absent or damaged in the store
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    instances: int
    events: int
    attachments: int  # files written (others were already present and intact)
    attachments_present: int
    seconds: float


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL (or an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_checked(src: Path, dst: Path, sha256: str) -> bool:
    """Copy ``src`` to ``dst`` (through a temporary name), True when its content has the
    SHA-256 it is named by; a damaged file is not kept."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
    if digest.hexdigest() != sha256:
        tmp.unlink()
        return False
    os.replace(tmp, dst)
    return True


def _snapshot(source: Path, target: Path) -> None:
    """Copy the database in one step of the online backup API (one read transaction), then
    make the copy a self-contained file (rollback journal, not WAL) and check it."""
    src = sqlite3.connect(source, timeout=30)  # only reads; in WAL it never blocks writers
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: everything at once, a consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
        problems = dst.execute("PRAGMA quick_check").fetchall()
        if problems != [("ok",)]:
            raise BackupError(f"数据库副本校验失败：{problems[:3]}")
    finally:
        dst.close()
        src.close()


def _contents(db_file: Path) -> dict:
    """What the manifest records of a database copy: schema revision, counts, attachments."""
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

        def count(table: str) -> int:
            return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] \
                if table in tables else 0

        revisions = (sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
                     if "alembic_version" in tables else [])
        files = (conn.execute("SELECT sha256, max(size) FROM attachment GROUP BY sha256 "
                              "ORDER BY sha256").fetchall() if "attachment" in tables else [])
        return {"revisions": revisions, "instances": count("instance"), "events": count("event"),
                "files": files}
    finally:
        conn.close()


def backup_sqlite(database_url: str, attachment_root: str | os.PathLike, path: str | os.PathLike
                  ) -> BackupResult:
    """Back up the SQLite database of ``database_url`` and its attachment files into the new
    directory ``path`` (see the module's docstring). A file missing or damaged in the store is
    listed in ``missing`` (and in the manifest); everything else is still backed up."""
    began = time.perf_counter()
    source = sqlite_path(database_url)
    if source is None:
        raise BackupError("kunflow backup 只用于 SQLite 数据库；PostgreSQL 请用 pg_dump 备份"
                          "（见 docs/operations.md）")
    if not source.is_file():
        raise BackupError(f"数据库文件不存在：{source}")
    target = Path(path)
    if target.exists():
        raise BackupError(f"备份目录已存在：{target}（请指定一个新目录）")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # what an interrupted backup left
    partial.mkdir(parents=True)
    try:
        db_copy = partial / DATABASE_FILE
        try:
            _snapshot(source, db_copy)
        except sqlite3.Error as exc:
            raise BackupError(f"读取数据库 {source} 失败：{exc}") from None
        contents = _contents(db_copy)
        store = FileStore(attachment_root)
        copied, missing, files, total = 0, [], [], 0
        for sha, size in contents["files"]:
            src = store.path(sha)
            dst = partial / ATTACHMENTS_DIR / sha[:2] / sha
            if src.is_file() and _copy_checked(src, dst, sha):
                copied += 1
                size = dst.stat().st_size
                total += size
                files.append({"sha256": sha, "size": size})
            else:
                missing.append(sha)
        manifest = {
            "format": FORMAT, "version": FORMAT_VERSION,
            "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            "database": {"file": DATABASE_FILE, "sha256": file_sha256(db_copy),
                         "size": db_copy.stat().st_size, "revisions": contents["revisions"],
                         "instances": contents["instances"], "events": contents["events"]},
            "attachments": {"dir": ATTACHMENTS_DIR, "files": files, "missing": missing},
        }
        (partial / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupResult(target, manifest["database"]["size"], contents["instances"],
                        contents["events"], copied, total, tuple(missing),
                        time.perf_counter() - began)


def check_backup(path: str | os.PathLike) -> dict:
    """The manifest of the backup in ``path`` after checking every checksum it lists;
    BackupError naming what does not match."""
    root = Path(path)
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root} 不是完整的 kunflow 备份（没有 {MANIFEST_FILE}）") from None
    except ValueError:
        raise BackupError(f"{root / MANIFEST_FILE} 无法解析") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"不支持的备份格式：{manifest.get('format')} {manifest.get('version')}")
    db = manifest["database"]
    db_file = root / db["file"]
    if not db_file.is_file() or file_sha256(db_file) != db["sha256"]:
        raise BackupError(f"备份中的数据库文件缺失或已损坏（SHA-256 不符）：{db_file}")
    bad = []
    for f in manifest["attachments"]["files"]:
        p = root / manifest["attachments"]["dir"] / f["sha256"][:2] / f["sha256"]
        if not p.is_file() or file_sha256(p) != f["sha256"]:
            bad.append(f["sha256"])
    if bad:
        raise BackupError(f"备份中有 {len(bad)} 个附件文件缺失或已损坏：{'、'.join(bad[:5])}")
    return manifest


def database_in_use(path: Path) -> bool:
    """Whether the database file looks in use: it has a non-empty write-ahead log (a process
    has it open, or did not close it cleanly), or a writer holds its lock right now."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return True
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def _has_tables(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'"
                            ).fetchone()[0] > 0
    finally:
        conn.close()


def restore_sqlite(path: str | os.PathLike, database_url: str,
                   attachment_root: str | os.PathLike, force: bool = False) -> RestoreResult:
    """Restore the backup in ``path`` into the SQLite database of ``database_url`` and the
    attachment store ``attachment_root``, after checking the manifest's checksums. Refuses
    to overwrite an existing database unless ``force`` (stop every kunflow process first:
    their caches would not know the restored state). The database is written with the
    online backup API into the target, so SQLite's own locking and journal keep it whole."""
    began = time.perf_counter()
    target = sqlite_path(database_url)
    if target is None:
        raise BackupError("kunflow restore 只用于 SQLite 数据库；PostgreSQL 请用 pg_restore 恢复"
                          "（见 docs/operations.md）")
    manifest = check_backup(path)
    root = Path(path)
    if target.exists() and target.stat().st_size > 0 and _has_tables(target) and not force:
        busy = "，且似乎正在使用中" if database_in_use(target) else ""
        raise BackupError(f"目标数据库已存在{busy}：{target}。请先停止 kunflow 的所有进程，"
                          "确认要覆盖后加 --force 重新执行")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{root / manifest['database']['file']}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise BackupError(f"写入数据库 {target} 失败（是否仍有进程在使用它？）：{exc}") from None
    finally:
        dst.close()
        src.close()
    store = FileStore(attachment_root)
    written = present = 0
    att = manifest["attachments"]
    for f in att["files"]:
        sha = f["sha256"]
        dst_file = store.path(sha)
        if dst_file.is_file() and file_sha256(dst_file) == sha:
            present += 1
            continue
        if not _copy_checked(root / att["dir"] / sha[:2] / sha, dst_file, sha):
            raise BackupError(f"附件 {sha} 在恢复时校验失败")
        written += 1
    db = manifest["database"]
    return RestoreResult(target, db["instances"], db["events"], written, present,
                         time.perf_counter() - began)
