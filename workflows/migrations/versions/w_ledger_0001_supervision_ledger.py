"""supervision ledger: rows of the 分解表, their units, monthly progress, events (issue 12)"""

import sqlalchemy as sa
from alembic import op

revision = "w_ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None


def upgrade():
    op.create_table(
        "ledger_row",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_table", sa.String(200), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("lead_leader", sa.String(200), nullable=True),
        sa.Column("lead_unit", sa.String(64), nullable=True),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("deadline_text", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("light", sa.String(16), nullable=True),
        sa.Column("light_reason", sa.String(200), nullable=True),
        sa.Column("months_behind", sa.Integer, nullable=False, server_default="0"),
        sa.Column("red_rounds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("planned_pct", sa.Integer, nullable=True),
        sa.Column("actual_pct", sa.Integer, nullable=True),
        sa.Column("closure_evidence", sa.JSON, nullable=True),
        sa.Column("closure_note", sa.Text, nullable=True),
        sa.Column("closed_on", sa.Date, nullable=True),
        sa.Column("origin", sa.String(16), nullable=False, server_default="breakdown"),
        sa.Column("origin_note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_row"),
        sa.UniqueConstraint("source_table", "number", name="uq_ledger_row_source_table_number"),
    )
    op.create_index("ix_ledger_row_status_source_table", "ledger_row", ["status", "source_table"])
    op.create_index("ix_ledger_row_light", "ledger_row", ["light"])
    op.create_table(
        "ledger_row_unit",
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("row_id", "department_code", "role", name="pk_ledger_row_unit"),
        sa.ForeignKeyConstraint(
            ["row_id"], ["ledger_row.id"], name="fk_ledger_row_unit_row_id_ledger_row"
        ),
    )
    op.create_index("ix_ledger_row_unit_department_code", "ledger_row_unit", ["department_code"])
    op.create_table(
        "ledger_progress",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("percent", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("light", sa.String(16), nullable=True),
        sa.Column("reported_at", sa.DateTime, nullable=True),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("signed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="submitted"),
        sa.Column("instance_key", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_progress"),
        sa.ForeignKeyConstraint(
            ["row_id"], ["ledger_row.id"], name="fk_ledger_progress_row_id_ledger_row"
        ),
        sa.UniqueConstraint(
            "row_id",
            "department_code",
            "month",
            name="uq_ledger_progress_row_id_department_code_month",
        ),
    )
    op.create_index("ix_ledger_progress_month", "ledger_progress", ["month"])
    op.create_table(
        "ledger_event",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(120), nullable=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_event"),
        sa.ForeignKeyConstraint(
            ["row_id"], ["ledger_row.id"], name="fk_ledger_event_row_id_ledger_row"
        ),
    )
    op.create_index("ix_ledger_event_row_id_at", "ledger_event", ["row_id", "at"])
    op.create_index("ix_ledger_event_kind", "ledger_event", ["kind"])


def downgrade():
    op.drop_table("ledger_event")
    op.drop_table("ledger_progress")
    op.drop_table("ledger_row_unit")
    op.drop_table("ledger_row")
