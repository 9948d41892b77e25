"""Tables of the registers (名录): enterprises (一企一档), mines, 选矿厂 (plants), 尾矿库 (tailings
ponds), the cases started from an entry, and an audit row per change.

Defined on ``workflows.schema.metadata``; created and migrated with the engine's tables
(revision ``w_registers_0001``, Alembic branch ``registers``). Names start with ``register_`` so
they never meet the engine's own tables. ``town`` holds the department code of the entry's
属地 街镇 (``kunhe``, ``buerhantu``, ``kunbei`` …).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..schema import metadata


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("demo", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    ]


enterprise = sa.Table(
    "register_enterprise",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("credit_code", sa.String(18), nullable=False, unique=True),
    sa.Column("town", sa.String(64), index=True),
    sa.Column("industry", sa.String(100)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("contact", sa.String(200)),
    sa.Column("address", sa.String(400)),
    sa.Column("notes", sa.Text),
    *_stamps(),
)

def _facility(table: str, *columns: sa.Column) -> sa.Table:
    """A facility of an enterprise (mine, 选矿厂, 尾矿库): its name, owner and 属地 街镇, its own
    columns, notes and stamps."""
    return sa.Table(
        table,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "enterprise_id",
            sa.Integer,
            sa.ForeignKey("register_enterprise.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("town", sa.String(64), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        *columns,
        sa.Column("safety_licence_no", sa.String(100)),
        sa.Column("safety_licence_issued", sa.Date),
        sa.Column("safety_licence_expiry", sa.Date),
        sa.Column("notes", sa.Text),
        *_stamps(),
    )


mine = _facility(
    "register_mine",
    sa.Column("mineral", sa.String(100)),
    sa.Column("mining_licence_no", sa.String(100)),
    sa.Column("mining_licence_issued", sa.Date),
    sa.Column("mining_licence_expiry", sa.Date),
    sa.Column("scale", sa.String(100)),
)

plant = _facility(
    "register_plant",
    sa.Column("capacity", sa.String(100)),
    sa.Column("discharge_permit_no", sa.String(100)),
    sa.Column("discharge_permit_expiry", sa.Date),
)

tailings = _facility(
    "register_tailings",
    sa.Column("grade", sa.String(8)),
    sa.Column("closed_on", sa.Date),
    sa.Column("capacity", sa.String(100)),
)

register_case = sa.Table(
    "register_case",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("entry_id", sa.Integer, nullable=False),
    sa.Column("instance_id", sa.Integer, nullable=False, unique=True),
    sa.Column("process_key", sa.String(200), nullable=False),
    sa.Column("business_key", sa.String(200)),
    sa.Column("started_by", sa.String(100), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Index("ix_register_case_kind_entry_id", "kind", "entry_id"),
)

register_event = sa.Table(
    "register_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("entry_id", sa.Integer),
    sa.Column("action", sa.String(16), nullable=False),  # create / update / import / start
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("data", sa.JSON),
    sa.Index("ix_register_event_kind_entry_id", "kind", "entry_id"),
)

TABLES = {"enterprise": enterprise, "mine": mine, "plant": plant, "tailings": tailings}
"""The four registers by kind (the ``register_kind`` of contract §4)."""
