"""supervision ledger: 催办 sent from the 驾驶舱 (ledger_urge) and numbered 督办单 (ledger_notice)"""

import sqlalchemy as sa
from alembic import op

revision = "w_ledger_0002"
down_revision = "w_ledger_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_urge",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("row_id", sa.Integer, nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("urged_by", sa.String(64), nullable=False),
        sa.Column("urged_at", sa.DateTime, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=True),
        sa.Column("seen_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_urge"),
        sa.ForeignKeyConstraint(
            ["row_id"], ["ledger_row.id"], name="fk_ledger_urge_row_id_ledger_row"
        ),
    )
    op.create_index(
        "ix_ledger_urge_department_code_seen_at", "ledger_urge", ["department_code", "seen_at"]
    )
    op.create_index("ix_ledger_urge_month_department_code", "ledger_urge", ["month", "department_code"])
    op.create_table(
        "ledger_notice",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("requirement", sa.Text, nullable=True),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_notice"),
        sa.ForeignKeyConstraint(
            ["row_id"], ["ledger_row.id"], name="fk_ledger_notice_row_id_ledger_row"
        ),
        sa.UniqueConstraint("year", "number", name="uq_ledger_notice_year_number"),
        sa.UniqueConstraint(
            "row_id", "department_code", "year", name="uq_ledger_notice_row_id_department_code_year"
        ),
    )


def downgrade():
    op.drop_table("ledger_notice")
    op.drop_table("ledger_urge")
