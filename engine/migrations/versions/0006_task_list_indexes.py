"""task-list indexes: "done by me" covering its filters, "started by me", text search

Revision ID: 0006
Revises: 0004

Measured by bench/tasklist.py (docs/benchmarks.md, "Task lists at 100k tasks").
"""

from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_DONE_OLD = ["completed_by", "completed_at"]
_DONE_NEW = ["completed_by", "completed_at", "id", "process_key", "stage", "due_at", "instance_id"]


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_completed_by")
        batch_op.create_index("ix_task_completed_by", _DONE_NEW)
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.create_index("ix_instance_started_by", ["started_by", "id", "process_key", "stage"])
        batch_op.create_index("ix_instance_title_key", ["title", "business_key"])


def downgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_title_key")
        batch_op.drop_index("ix_instance_started_by")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_completed_by")
        batch_op.create_index("ix_task_completed_by", _DONE_OLD)
