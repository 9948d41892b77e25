"""Cases started from a register entry (contract §4 of issue 12) and what an entry's page
shows of them: its cases, the hazards and the inspections they record.

``STARTS`` says which processes an entry of each kind may start; the page offers only those
deployed whose start lane admits the actor's department (the engine decides that: a process
not deployed yet is simply not offered). A case gets the start variables of contract §4 and a
business key naming its entry (``KS-12-HR-20260901-3FA2``: 矿山 12, hazard_rectification).

The engine commits the start in its own unit of work, so ``register_case`` is written right
after it; the row is unique per instance, so writing it twice changes nothing, and
``reconcile_cases`` finds a case whose row was lost (a crash between the two) by its key.
Case summaries are read through the engine's public API as the system: whoever may read an
entry sees the status, stage, hazards and inspections of its cases; opening a case itself
goes through the engine's visibility rules.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import sqlalchemy as sa

from engine import SYSTEM, Actor, Forbidden, InstanceInfo, NotFound, local_today, utcnow

from .entries import FACILITIES, Registers, check_kind
from .fields import KIND_NAMES
from .tables import register_case, register_event

STARTS: dict[str, tuple[str, ...]] = {
    "hazard_rectification": ("mine", "plant", "tailings"),
    "radioactive_check": ("mine", "plant", "tailings"),
    "mine_closure": ("mine",),
    "service_request": ("enterprise",),
    "river_sand": ("enterprise",),
}
KEY_PREFIX = {"enterprise": "QY", "mine": "KS", "plant": "XK", "tailings": "WK"}
STATUS_NAMES = {
    "running": "办理中",
    "suspended": "已挂起",
    "completed": "已办结",
    "terminated": "已终止",
}
HAZARD_LEVELS = {"general": "一般隐患", "major": "重大隐患"}
REVIEW_RESULTS = {"pass": "合格", "fail": "不合格"}


def start_variables(kind: str, entry: Mapping, enterprise_name: str | None) -> dict:
    """The start data of contract §4 for a case started from ``entry``."""
    data = {
        "register_kind": kind,
        "register_id": entry["id"],
        "register_name": entry["name"],
        "enterprise_name": enterprise_name,
        "town": entry.get("town"),
    }
    if kind == "mine":
        expiry = entry.get("mining_licence_expiry")
        data.update(
            mine_name=entry["name"],
            licence_no=entry.get("mining_licence_no"),
            licence_expiry=expiry.isoformat() if expiry else None,
            mine_status=entry.get("status"),
        )
    return data


def key_prefix(kind: str, entry_id: int) -> str:
    return f"{KEY_PREFIX[kind]}-{entry_id}-"


def business_key(kind: str, entry_id: int, process_key: str) -> str:
    initials = "".join(w[0] for w in process_key.split("_") if w).upper()[:4] or "KF"
    day = local_today().strftime("%Y%m%d")
    return f"{key_prefix(kind, entry_id)}{initials}-{day}-{secrets.token_hex(2).upper()}"


class RegisterCases:
    """Start processes from entries and read their cases back."""

    def __init__(self, registers: Registers, starts: Mapping[str, tuple[str, ...]] = STARTS):
        self.registers = registers
        self.engine = registers.engine
        self.starts = dict(starts)

    def offered(self, kind: str, actor: Actor) -> list[dict]:
        """The processes ``actor`` may start from an entry of ``kind`` (deployed ones only)."""
        check_kind(kind)
        return [
            {"key": d.key, "name": d.name}
            for d in self.engine.startable_definitions(actor)
            if kind in self.starts.get(d.key, ())
        ]

    def start(self, kind: str, entry_id: int, process_key: str, actor: Actor) -> InstanceInfo:
        entry = self.registers.get(kind, entry_id, actor)  # NotFound / Forbidden
        if kind not in self.starts.get(process_key, ()):
            raise Forbidden(f"{KIND_NAMES[kind]}名录不能发起该流程：{process_key}")
        enterprise_name = entry["name"] if kind == "enterprise" else entry["enterprise_name"]
        definition = self.engine.get_definition(process_key)
        info = self.engine.start(
            process_key,
            actor,
            business_key=business_key(kind, entry_id, process_key),
            title=f"{entry['name']}：{definition.name}",
            data=start_variables(kind, entry, enterprise_name),
        )
        self.record(kind, entry_id, info, actor.username)
        return info

    def record(self, kind: str, entry_id: int, info: InstanceInfo, started_by: str) -> bool:
        """Write the ``register_case`` row of a case (and a ``start`` event); False when it is
        there already."""
        with self.engine.unit_of_work() as uow:
            conn = uow.conn
            if conn.execute(
                sa.select(register_case.c.id).where(register_case.c.instance_id == info.id)
            ).first():
                return False
            conn.execute(
                register_case.insert().values(
                    kind=kind,
                    entry_id=entry_id,
                    instance_id=info.id,
                    process_key=info.process_key,
                    business_key=info.business_key,
                    started_by=started_by or "system",
                    started_at=info.started_at,
                )
            )
            conn.execute(
                register_event.insert().values(
                    kind=kind,
                    entry_id=entry_id,
                    action="start",
                    actor=started_by or "system",
                    at=utcnow(),
                    data={
                        "instance_id": info.id,
                        "process_key": info.process_key,
                        "business_key": info.business_key,
                    },
                )
            )
            uow.commit()
        return True

    def reconcile_cases(self, kind: str, entry_id: int) -> int:
        """Record the cases of an entry that carry its key but have no ``register_case`` row;
        returns how many were added."""
        prefix = key_prefix(kind, entry_id)
        page = self.engine.list_instances(SYSTEM, business_key_contains=prefix, limit=500)
        added = 0
        for info in page.items:
            if (info.business_key or "").startswith(prefix) and info.process_key in self.starts:
                added += self.record(kind, entry_id, info, info.started_by or "system")
        return added

    # ------------------------------------------------------------ reading back

    def case_rows(self, refs: list[tuple[str, int]]) -> list[dict]:
        """The ``register_case`` rows of the entries ``refs`` (kind, id), newest first."""
        if not refs:
            return []
        cond = sa.or_(
            *(sa.and_(register_case.c.kind == k, register_case.c.entry_id == i) for k, i in refs)
        )
        with self.engine.unit_of_work(readonly=True) as uow:
            rows = (
                uow.conn.execute(
                    sa.select(register_case)
                    .where(cond)
                    .order_by(register_case.c.started_at.desc(), register_case.c.id.desc())
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def entry_page(self, kind: str, entry_id: int, actor: Actor) -> dict:
        """What an entry's page shows: the entry, its enterprise, its facilities (for an
        enterprise: 一企一档), its cases with their status, the hazards and inspections they
        record, and the processes ``actor`` may start from it."""
        regs = self.registers
        entry = regs.get(kind, entry_id, actor)
        facilities = {k: [] for k in FACILITIES}
        names = {(kind, entry_id): entry["name"]}
        if kind == "enterprise":
            enterprise = entry
            for k in FACILITIES:
                facilities[k] = regs.list(k, actor, enterprise_id=entry_id)
                names.update({(k, f["id"]): f["name"] for f in facilities[k]})
        else:
            try:
                enterprise = regs.get("enterprise", entry["enterprise_id"], actor)
            except (Forbidden, NotFound):
                enterprise = None
        cases = [self._case(row, names) for row in self.case_rows(list(names))]
        cases = [c for c in cases if c is not None]
        return {
            "kind": kind,
            "entry": entry,
            "enterprise": enterprise,
            "facilities": facilities,
            "cases": cases,
            "hazards": [h for c in cases for h in c["hazards"]],
            "inspections": sorted(
                (i for c in cases for i in c["inspections"]),
                key=lambda i: i["date"] or "",
                reverse=True,
            ),
            "offered": self.offered(kind, actor),
            "can_edit": regs.can_edit(actor, kind),
        }

    def _case(self, row: Mapping, names: Mapping) -> dict | None:
        try:
            info = self.engine.get_instance(row["instance_id"], SYSTEM, with_data=True)
        except NotFound:
            return None
        data = info.data or {}
        entry_name = names.get((row["kind"], row["entry_id"]), "")
        case = {
            "instance_id": info.id,
            "process_key": info.process_key,
            "title": info.title,
            "business_key": info.business_key,
            "status": info.status,
            "status_name": STATUS_NAMES.get(info.status, info.status),
            "stage": info.stage,
            "started_at": info.started_at,
            "started_by": row["started_by"],
            "entry_kind": row["kind"],
            "entry_id": row["entry_id"],
            "entry_name": entry_name,
            "open_tasks": [
                {"name": t.name, "department_code": t.department_code, "due_at": t.due_at}
                for t in info.tasks
            ],
            "hazards": [],
            "inspections": [],
        }
        if info.process_key == "hazard_rectification":
            self._hazard_facts(case, data, entry_name)
        return case

    @staticmethod
    def _hazard_facts(case: dict, data: Mapping, entry_name: str) -> None:
        """The hazard and inspections a hazard_rectification case has recorded so far."""
        if data.get("hazard_description") or data.get("hazard_level"):
            if case["status"] == "completed":
                state = "已关停" if data.get("shutdown_date") else "已销号"
            else:
                state = case["stage"] or case["status_name"]
            case["hazards"].append(
                {
                    "instance_id": case["instance_id"],
                    "entry_name": entry_name,
                    "level": HAZARD_LEVELS.get(data.get("hazard_level"), data.get("hazard_level")),
                    "description": data.get("hazard_description"),
                    "state": state,
                    "found_on": data.get("inspection_date"),
                }
            )
        if data.get("inspection_date"):
            case["inspections"].append(
                {
                    "instance_id": case["instance_id"],
                    "entry_name": entry_name,
                    "what": "检查",
                    "date": str(data["inspection_date"])[:10],
                    "by": data.get("inspection_team"),
                    "result": HAZARD_LEVELS.get(data.get("hazard_level"), ""),
                }
            )
        if data.get("review_date"):
            case["inspections"].append(
                {
                    "instance_id": case["instance_id"],
                    "entry_name": entry_name,
                    "what": "复查",
                    "date": str(data["review_date"])[:10],
                    "by": None,
                    "result": REVIEW_RESULTS.get(data.get("review_result"), ""),
                }
            )
