"""Tamper evidence of the audit log: the ``event`` table is a set of hash chains, append-only.

Chains. Every event belongs to one chain: the events of one instance form that instance's
chain, the events without an instance (logins, password changes, calendar edits, deployments)
form one system chain. Within a chain the events are ordered by id; each stores the hash of
the event before it (``prev_hash``, NULL for the first) and its own ``hash``:

    sha256(canonical JSON of [version, prev_hash, instance_id, task_id, actor, kind, at, data_json])

so a row changed in place, removed from the middle, or moved to another chain breaks the
chain at a point ``verify`` names. Per instance, not one global chain: a command on an
instance already holds that instance's lock (``engine/locks.py``; SQLite queues every writer
with ``BEGIN IMMEDIATE``), so appending to its chain needs no extra serialisation and parallel
cases never wait for each other. The system chain is serialised with a transaction-level
advisory lock on PostgreSQL (its writers are logins and admin edits, short transactions).
Cost: one indexed read of the chain's last hash (``ix_event_instance``) per chain and batch.

Events written before migration 0011 were sealed by that migration (``seal``): every row has
a hash, and a row without one is reported as a break.

Append-only. No code path updates or deletes events, and the database refuses it: triggers
on ``event`` (``append_only_ddl``) abort UPDATE and DELETE (and TRUNCATE on PostgreSQL). They
are created by migration 0011 and, for ``metadata.create_all``, by DDL events on the table.
An attacker with the database owner's rights can drop them; the chain is what then shows the
change. By itself it cannot show events cut off at the end of a chain (or a whole chain
dropped): that needs something kept outside the database. That is the anchor (``make_anchor``): one line
naming an event id and a digest of the head (newest event id and hash) of every chain up to
that id. An operator keeps the lines elsewhere (``kunflow audit anchor >> file`` on another
machine, daily); ``verify`` with them checks that the heads up to each anchor's id are still
exactly those, so any event at or before an anchor that was deleted, including a chain's tail
or a whole chain, or changed, is found. Only events newer than the last anchor can go unseen.
An anchor leaves out the last ``settle`` of events: on PostgreSQL an id is drawn before its
transaction commits, so a lower id may still appear for a moment after a higher one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .clock import naive_utc, utcnow
from .model import event

# The version of the canonical encoding, hashed with every event: a future change of the
# encoding starts a new version instead of invalidating the old hashes.
HASH_VERSION = 1

# pg_advisory_xact_lock(class, schema hash) around appends to the system chain ("kuna").
SYSTEM_CHAIN_LOCK_CLASS = 0x6B756E61

_LAST_OF_INSTANCE = (
    sa.select(event.c.hash)
    .where(event.c.instance_id == sa.bindparam("iid"))
    .order_by(event.c.id.desc())
    .limit(1)
)
_LAST_OF_SYSTEM = (
    sa.select(event.c.hash).where(event.c.instance_id.is_(None)).order_by(event.c.id.desc())
    .limit(1)
)
# What a hash covers (with the id that orders the chain); named, not ``select(event)``: migration
# 0011 runs this with the columns of its time.
_HASHED_COLUMNS = (event.c.id, event.c.instance_id, event.c.task_id, event.c.actor, event.c.kind,
                   event.c.at, event.c.data_json)
_SYSTEM_CHAIN_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(:cls, hashtext(coalesce(current_schema(), '')))"
).bindparams(cls=SYSTEM_CHAIN_LOCK_CLASS)


# One encoder for every hash: json.dumps builds a new one per call when given options.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _at_text(at: datetime) -> str:
    return at.isoformat(sep=" ", timespec="microseconds")


def event_hash(prev_hash: str | None, instance_id: int | None, task_id: str | None,
               actor: str | None, kind: str, at: datetime, data_json: str | None) -> str:
    """The hash of one event, chained to ``prev_hash``: SHA-256 over a canonical JSON array
    (fixed order, no spaces, UTF-8) of the version and the event's fields as stored."""
    canonical = _CANONICAL.encode(
        [HASH_VERSION, prev_hash, instance_id, task_id, actor, kind, _at_text(at), data_json])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_form(row: dict) -> dict:
    """The row as the database will give it back, so that what is hashed is what is read:
    naive UTC time (a naive column drops the zone), text task ids, integer instance ids."""
    at = naive_utc(row["at"])
    iid = row.get("instance_id")
    task_id = row.get("task_id")
    return {
        "instance_id": int(iid) if iid is not None else None,
        "task_id": str(task_id) if task_id is not None else None,
        "actor": row.get("actor"),
        "kind": row["kind"],
        "at": at,
        "data_json": row.get("data_json"),
    }


def chain_rows(conn: Connection, rows: Iterable[dict]) -> list[dict]:
    """The rows with ``prev_hash`` and ``hash`` filled in, chained after the last event of
    their chain in the database, in the order given (the order they are inserted in, which is
    their id order). Reads each chain's last hash once; on PostgreSQL takes the system chain's
    lock first when a row belongs to it. The caller inserts the rows in this transaction."""
    rows = [stored_form(r) for r in rows]
    last: dict = {}
    for r in rows:
        key = r["instance_id"]
        if key not in last:
            last[key] = last_hash(conn, key)
        r["prev_hash"] = last[key]
        r["hash"] = last[key] = event_hash(
            r["prev_hash"], r["instance_id"], r["task_id"], r["actor"], r["kind"], r["at"],
            r["data_json"])
    return rows


def last_hash(conn: Connection, instance_id: int | None) -> str | None:
    """The hash of the newest event of a chain (None for a new chain). For the system chain
    on PostgreSQL, first wait for the chain's lock (held until this transaction ends): the
    read then sees the last append of whoever held it before."""
    if instance_id is not None:
        return conn.execute(_LAST_OF_INSTANCE, {"iid": instance_id}).scalar()
    if conn.dialect.name == "postgresql":
        conn.execute(_SYSTEM_CHAIN_LOCK)
    return conn.execute(_LAST_OF_SYSTEM).scalar()


# ---------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class AuditBreak:
    """The first broken link of one chain: the event where the chain stops holding."""

    event_id: int
    instance_id: int | None  # None: the system chain
    reason: str  # what differs, in Chinese, for the operator
    previous_event_id: int | None  # the chain's event before it (None: it is the first)
    expected: str | None  # the hash the link should carry (prev_hash or hash)
    found: str | None  # the hash it carries


@dataclass(frozen=True)
class AuditReport:
    """``Engine.verify_audit()``: events and chains walked, and the first break of each broken
    chain in event id order (``breaks[0]`` is the first broken link of the whole log); with
    anchors, how many were checked and what each one that no longer holds found (Chinese)."""

    events: int
    chains: int
    breaks: tuple[AuditBreak, ...]
    anchors: int = 0
    anchor_problems: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return not self.breaks and not self.anchor_problems


def _chain_name(instance_id: int | None) -> str:
    return "系统链" if instance_id is None else f"实例 {instance_id} 的链"


def verify(conn: Connection, batch: int = 5000) -> AuditReport:
    """Walk every chain in id order and check each link: the stored ``prev_hash`` is the hash
    of the chain's event before it, and the stored ``hash`` is the hash of the row's fields.
    A chain is reported once, at its first break (later events of a broken chain are checked
    against their own stored predecessor, so an independent second break elsewhere is still
    found in its own chain). Reads in pages of ``batch`` rows by id."""
    cols = (*_HASHED_COLUMNS, event.c.prev_hash, event.c.hash)
    last: dict = {}  # chain key -> (event id, hash) of its newest event so far
    broken: dict = {}
    count = 0
    after = 0
    while True:
        page = conn.execute(
            sa.select(*cols).where(event.c.id > after).order_by(event.c.id).limit(batch)).all()
        if not page:
            break
        for r in page:
            count += 1
            key = r.instance_id
            prev_id, prev_hash = last.get(key, (None, None))
            problem = None
            if r.hash is None:
                problem = ("事件没有哈希（未经链写入，或哈希被清除）", None, None)
            elif r.prev_hash != prev_hash:
                if prev_id is None:
                    why = "链的第一条事件却指向前一条事件（之前的事件被删除，或事件被移入此链）"
                elif r.prev_hash is None:
                    why = "事件不指向链中前一条事件（前一条事件被插入或移入，或本条被改动）"
                else:
                    why = ("与链中前一条事件的链接不符（其间的事件被删除，"
                           "或前一条事件被改动并重算了哈希）")
                problem = (why, prev_hash, r.prev_hash)
            else:
                computed = event_hash(r.prev_hash, r.instance_id, r.task_id, r.actor, r.kind,
                                      r.at, r.data_json)
                if computed != r.hash:
                    problem = ("事件内容与其哈希不符（事件被改动）", computed, r.hash)
            if problem is not None and key not in broken:
                broken[key] = AuditBreak(r.id, key, problem[0], prev_id, problem[1], problem[2])
            last[key] = (r.id, r.hash)
        after = page[-1].id
    breaks = tuple(sorted(broken.values(), key=lambda b: b.event_id))
    return AuditReport(events=count, chains=len(last), breaks=breaks)


def describe_break(b: AuditBreak) -> str:
    """One line (Chinese) for an operator: where the chain breaks and why."""
    where = f"事件 {b.event_id}（{_chain_name(b.instance_id)}"
    where += f"，前一条事件 {b.previous_event_id}）" if b.previous_event_id else "，链首）"
    text = f"{where}：{b.reason}"
    if b.expected or b.found:
        text += f"；应为 {b.expected or '无'}，实为 {b.found or '无'}"
    return text


# ---------------------------------------------------------------------------- set-up


def seal(conn: Connection, batch: int = 5000) -> int:
    """Hash the events that have none yet (those written before the chain existed), chain by
    chain in id order, continuing after the chain's last hashed event. Run once by migration
    0011 before the append-only triggers exist. Returns the rows sealed."""
    last: dict = {}
    sealed = 0
    after = 0
    update = (event.update().where(event.c.id == sa.bindparam("b_id"))
              .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")))
    while True:
        page = conn.execute(
            sa.select(*_HASHED_COLUMNS, event.c.hash).where(event.c.id > after)
            .order_by(event.c.id).limit(batch)).all()
        if not page:
            return sealed
        changes = []
        for r in page:
            key = r.instance_id
            if r.hash is not None:
                last[key] = r.hash
                continue
            prev = last.get(key)
            h = event_hash(prev, r.instance_id, r.task_id, r.actor, r.kind, r.at, r.data_json)
            changes.append({"b_id": r.id, "b_prev": prev, "b_hash": h})
            last[key] = h
        if changes:
            conn.execute(update, changes)
            sealed += len(changes)
        after = page[-1].id


APPEND_ONLY_MESSAGE = "event is append-only (audit log)"


def append_only_ddl(dialect_name: str) -> list[str]:
    """The statements that make the database refuse UPDATE and DELETE on ``event``."""
    if dialect_name == "sqlite":
        return [
            "CREATE TRIGGER IF NOT EXISTS event_no_update BEFORE UPDATE ON event "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
            "CREATE TRIGGER IF NOT EXISTS event_no_delete BEFORE DELETE ON event "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
        ]
    if dialect_name == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' "
            "USING ERRCODE = 'insufficient_privilege'; END $$",
            "CREATE TRIGGER event_no_change BEFORE UPDATE OR DELETE ON event "
            "FOR EACH ROW EXECUTE FUNCTION event_append_only()",
            "CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event "
            "FOR EACH STATEMENT EXECUTE FUNCTION event_append_only()",
        ]
    return []


def drop_append_only_ddl(dialect_name: str) -> list[str]:
    """The statements that remove the triggers again (migration 0011's downgrade)."""
    if dialect_name == "sqlite":
        return ["DROP TRIGGER IF EXISTS event_no_update", "DROP TRIGGER IF EXISTS event_no_delete"]
    if dialect_name == "postgresql":
        return ["DROP TRIGGER IF EXISTS event_no_change ON event",
                "DROP TRIGGER IF EXISTS event_no_truncate ON event",
                "DROP FUNCTION IF EXISTS event_append_only()"]
    return []


# ---------------------------------------------------------------------------- anchors

ANCHOR_TAG = "kunflow-audit-anchor"
ANCHOR_VERSION = "v1"
ANCHOR_SETTLE = timedelta(minutes=10)


class AnchorError(ValueError):
    """A line that is not an anchor ``make_anchor`` wrote."""


def _heads(conn: Connection, upto: int) -> list[tuple]:
    """(chain, id, hash) of the newest event of every chain among the events up to ``upto``,
    by id; read from ``ix_event_instance``."""
    newest = (sa.select(sa.func.max(event.c.id)).where(event.c.id <= upto)
              .group_by(event.c.instance_id))
    return [tuple(r) for r in conn.execute(
        sa.select(event.c.instance_id, event.c.id, event.c.hash)
        .where(event.c.id.in_(newest)).order_by(event.c.id))]


def _digest(heads: list[tuple]) -> str:
    return hashlib.sha256(_CANONICAL.encode([list(h) for h in heads]).encode()).hexdigest()


def make_anchor(conn: Connection, settle: timedelta = ANCHOR_SETTLE) -> str:
    """The anchor line of the log as it stands, leaving out the events of the last ``settle``:
    ``kunflow-audit-anchor v1 <id> <chains> <sha256 of every chain's head up to id>`` (id 0
    when no event is that old)."""
    # Newest first by primary key, stopping at the first settled event: only the last
    # ``settle`` of the log is read, not every event's time.
    upto = conn.execute(sa.select(event.c.id).where(event.c.at <= utcnow() - settle)
                        .order_by(event.c.id.desc()).limit(1)).scalar() or 0
    heads = _heads(conn, upto)
    return f"{ANCHOR_TAG} {ANCHOR_VERSION} {upto} {len(heads)} {_digest(heads)}"


def parse_anchor(line: str) -> tuple[int, int, str]:
    """(event id, chains, digest) of an anchor line; AnchorError for anything else."""
    parts = line.split()
    if (len(parts) != 5 or parts[0] != ANCHOR_TAG or parts[1] != ANCHOR_VERSION
            or not parts[2].isdigit() or not parts[3].isdigit()
            or len(parts[4]) != 64 or any(c not in "0123456789abcdef" for c in parts[4])):
        raise AnchorError(f"不是 kunflow 审计锚点：{line[:120]}")
    return int(parts[2]), int(parts[3]), parts[4]


def check_anchor(conn: Connection, line: str) -> str | None:
    """None when the log still holds at the anchor, else what differs (Chinese)."""
    upto, chains, digest = parse_anchor(line)
    heads = _heads(conn, upto)
    if _digest(heads) == digest:
        return None
    text = f"锚点（截至事件 {upto}）不符："
    if len(heads) < chains:
        text += f"锚点记录 {chains} 条链，现只有 {len(heads)} 条（整条链被删除）"
    elif len(heads) > chains:
        text += f"锚点记录 {chains} 条链，现有 {len(heads)} 条（事件被移入新链或补写）"
    else:
        text += "各链截至该事件的末尾事件与锚点记录不同（链尾事件被删除、改动或补写）"
    return text


def verify_database(db, anchors: Iterable[str] = ()) -> AuditReport:
    """``verify`` over one snapshot of the database: the pages of the walk must see the same
    log. Under READ COMMITTED a later page could see an event whose predecessor (a lower id,
    committed later) an earlier page missed; so PostgreSQL reads in REPEATABLE READ, and SQLite
    in one deferred read transaction (WAL: writers go on meanwhile)."""
    with db.connect() as conn:
        if db.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:
            conn.execution_options(kunflow_readonly=True)
        with conn.begin():
            report = verify(conn)
            anchors = list(anchors)
            problems = tuple(p for p in (check_anchor(conn, a) for a in anchors) if p)
    return replace(report, anchors=len(anchors), anchor_problems=problems)
