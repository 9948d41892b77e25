"""registers of enterprises, mines, 选矿厂 and 尾矿库; cases started from them; audit rows

Revision ID: w_registers_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "w_registers_0001"
down_revision = None
branch_labels = ("registers",)
depends_on = None


def _stamps():
    return [
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _licence(prefix):
    return [
        sa.Column(f"{prefix}_no", sa.String(100)),
        sa.Column(f"{prefix}_issued", sa.Date()),
        sa.Column(f"{prefix}_expiry", sa.Date()),
    ]


def _facility(name, *columns):
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("town", sa.String(64)),
        *columns,
        sa.Column("notes", sa.Text()),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["register_enterprise.id"],
            name=f"fk_{name}_enterprise_id_register_enterprise",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_enterprise_id", name, ["enterprise_id"])
    op.create_index(f"ix_{name}_town", name, ["town"])


def upgrade():
    op.create_table(
        "register_enterprise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("town", sa.String(64)),
        sa.Column("industry", sa.String(100)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(200)),
        sa.Column("address", sa.String(400)),
        sa.Column("notes", sa.Text()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_register_enterprise"),
        sa.UniqueConstraint("credit_code", name="uq_register_enterprise_credit_code"),
    )
    op.create_index("ix_register_enterprise_town", "register_enterprise", ["town"])
    _facility(
        "register_mine",
        sa.Column("mineral", sa.String(100)),
        sa.Column("status", sa.String(16), nullable=False),
        *_licence("mining_licence"),
        *_licence("safety_licence"),
        sa.Column("scale", sa.String(100)),
    )
    _facility(
        "register_plant",
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("capacity", sa.String(100)),
        *_licence("safety_licence"),
        sa.Column("discharge_permit_no", sa.String(100)),
        sa.Column("discharge_permit_expiry", sa.Date()),
    )
    _facility(
        "register_tailings",
        sa.Column("grade", sa.String(8)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_on", sa.Date()),
        sa.Column("capacity", sa.String(100)),
        *_licence("safety_licence"),
    )
    op.create_table(
        "register_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(200), nullable=False),
        sa.Column("business_key", sa.String(200)),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_register_case"),
        sa.UniqueConstraint("instance_id", name="uq_register_case_instance_id"),
    )
    op.create_index("ix_register_case_kind_entry_id", "register_case", ["kind", "entry_id"])
    op.create_table(
        "register_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.Integer()),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_register_event"),
    )
    op.create_index("ix_register_event_kind_entry_id", "register_event", ["kind", "entry_id"])


def downgrade():
    op.drop_table("register_event")
    op.drop_table("register_case")
    op.drop_table("register_tailings")
    op.drop_table("register_plant")
    op.drop_table("register_mine")
    op.drop_table("register_enterprise")
