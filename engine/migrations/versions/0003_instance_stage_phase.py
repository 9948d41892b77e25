"""instance stage and phase (read model for the dashboard)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("phase", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_instance_phase_stage", ["process_key", "phase", "stage"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_phase_stage")
        batch_op.drop_column("phase")
        batch_op.drop_column("stage")
