"""Reads of the process admin's catalogue (issue 11): every process key with its versions
(comment, cases running and ended per version, files), its draft; one version's files; the
draft of a key (or the newest version offered as its start); the diff of two versions."""

from __future__ import annotations

import json

import sqlalchemy as sa

from .. import versiondiff
from ..checks import MAX_ID, text
from ..context import Context
from ..dto import Actor, ProcessDraftInfo, ProcessSummary, VersionDiff, VersionSummary
from ..errors import Forbidden, InvalidInput, NotFound
from ..model import definition, definition_file, instance, process_draft

ENDED = ("completed", "terminated")
DRAFT = "draft"


def require_admin(actor: Actor | None, what: str = "流程管理") -> None:
    if actor is not None and not actor.is_admin:
        raise Forbidden(f"只有流程管理员可以使用{what}")


def check_key(key) -> str:
    text(key, "流程标识", 200, required=True)
    return key


def draft_info(row) -> ProcessDraftInfo:
    return ProcessDraftInfo(
        process_key=row.process_key,
        bpmn_xml=row.bpmn_xml,
        files=json.loads(row.files_json or "{}"),
        base_version=row.base_version,
        revision=row.revision,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def draft_row(conn, key: str):
    return conn.execute(sa.select(process_draft).where(process_draft.c.process_key == key)
                        ).first()


def version_files(conn, definition_id: int) -> dict[str, str]:
    return {
        r.filename: r.content
        for r in conn.execute(
            sa.select(definition_file.c.filename, definition_file.c.content)
            .where(definition_file.c.definition_id == definition_id)
            .order_by(definition_file.c.filename))
    }


def version_row(conn, key: str, version: int | None):
    """The definition row of ``key`` at ``version`` (newest when None), or None."""
    stmt = sa.select(definition).where(definition.c.key == key)
    if version is None:
        stmt = stmt.order_by(definition.c.version.desc()).limit(1)
    else:
        stmt = stmt.where(definition.c.version == version)
    return conn.execute(stmt).first()


def check_version(version) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_ID:
        raise NotFound(f"版本 {version} 不存在")
    return version


class Catalogue:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def process_catalogue(self, actor: Actor) -> list[ProcessSummary]:
        """Every process key (deployed or only drafted), by key: its versions newest first with
        the cases running and ended on each (one grouped count), and its draft."""
        require_admin(actor)
        with self.ctx.uow(readonly=True) as uow:
            conn = uow.conn
            counts: dict[int, list[int]] = {}
            for r in conn.execute(
                sa.select(instance.c.definition_id, instance.c.status,
                          sa.func.count().label("n"))
                .group_by(instance.c.definition_id, instance.c.status)
            ):
                slot = counts.setdefault(r.definition_id, [0, 0])
                slot[1 if r.status in ENDED else 0] += r.n
            files: dict[int, list[str]] = {}
            for r in conn.execute(sa.select(definition_file.c.definition_id,
                                            definition_file.c.filename)
                                  .order_by(definition_file.c.filename)):
                files.setdefault(r.definition_id, []).append(r.filename)
            columns = [c for c in definition.c if c.name not in ("bpmn_xml", "meta_json")]
            versions: dict[str, list[VersionSummary]] = {}
            names: dict[str, str] = {}
            for r in conn.execute(sa.select(*columns).order_by(definition.c.key,
                                                               definition.c.version.desc())):
                running, done = counts.get(r.id, (0, 0))
                versions.setdefault(r.key, []).append(VersionSummary(
                    id=r.id, version=r.version, name=r.name, filename=r.filename,
                    deployed_by=r.deployed_by, deployed_at=r.deployed_at, comment=r.comment,
                    running=running, done=done, files=tuple(files.get(r.id, ()))))
                names.setdefault(r.key, r.name)
            drafts = {r.process_key: draft_info(r)
                      for r in conn.execute(sa.select(process_draft))}
        out = []
        for key in sorted({*versions, *drafts}):
            draft = drafts.get(key)
            name = names.get(key) or _process_name(draft.bpmn_xml, key)
            out.append(ProcessSummary(key, name, tuple(versions.get(key, ())), draft))
        return out

    def get_definition_file(self, key: str, version: int, filename: str,
                            actor: Actor | None = None) -> str:
        """The text of a DMN / form file deployed with ``key`` version ``version``."""
        require_admin(actor)
        check_key(key)
        check_version(version)
        text(filename, "文件名", 400, required=True)
        with self.ctx.uow(readonly=True) as uow:
            row = version_row(uow.conn, key, version)
            if row is None:
                raise NotFound(f"流程 {key} 版本 {version} 不存在")
            content = uow.conn.execute(
                sa.select(definition_file.c.content).where(
                    definition_file.c.definition_id == row.id,
                    definition_file.c.filename == filename)
            ).scalar()
        if content is None:
            raise NotFound(f"流程 {key} 版本 {version} 没有文件 {filename}")
        return content

    def get_process_draft(self, key: str, actor: Actor) -> ProcessDraftInfo | None:
        """The stored draft of ``key``; when there is none, the newest version with its files
        as the start of one (revision 0, nothing stored); None when the key has neither."""
        require_admin(actor)
        check_key(key)
        with self.ctx.uow(readonly=True) as uow:
            row = draft_row(uow.conn, key)
            if row is not None:
                return draft_info(row)
            newest = version_row(uow.conn, key, None)
            if newest is None:
                return None
            return ProcessDraftInfo(
                process_key=key, bpmn_xml=newest.bpmn_xml,
                files=version_files(uow.conn, newest.id), base_version=newest.version,
                revision=0, created_by=None, created_at=None, updated_by=None,
                updated_at=None)

    def diff_versions(self, key: str, a, b, actor: Actor | None = None) -> VersionDiff:
        """What changed from ``a`` to ``b`` (version numbers, or "draft")."""
        require_admin(actor)
        check_key(key)
        with self.ctx.uow(readonly=True) as uow:
            a_xml, a_files = self._source(uow.conn, key, a)
            b_xml, b_files = self._source(uow.conn, key, b)
        return versiondiff.diff(key, str(a), str(b), a_xml, a_files, b_xml, b_files)

    def _source(self, conn, key: str, which) -> tuple[str, dict[str, str]]:
        if which == DRAFT:
            row = draft_row(conn, key)
            if row is None:
                raise NotFound(f"流程 {key} 没有草稿")
            return row.bpmn_xml, json.loads(row.files_json or "{}")
        if isinstance(which, str):
            try:
                which = int(which)
            except ValueError:
                raise InvalidInput(f"版本须为版本号或 draft：{which}") from None
        row = version_row(conn, key, check_version(which))
        if row is None:
            raise NotFound(f"流程 {key} 版本 {which} 不存在")
        return row.bpmn_xml, version_files(conn, row.id)


def _process_name(xml: str, key: str) -> str:
    """The name of process ``key`` in a draft's XML (the key when it has none)."""
    root = versiondiff.xml_root(xml)
    if root is None:
        return key
    for node in root.iter(f"{{{versiondiff.BPMN_NS}}}process"):
        if node.get("id") == key and node.get("name"):
            return node.get("name")
    return key
