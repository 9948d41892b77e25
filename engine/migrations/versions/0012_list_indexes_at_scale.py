"""indexes for lists at scale: my tasks by deadline; a process's cases by stage and status;
a department's waiting 加签 requests

1. The index on (assignee, state) ends with due_at instead of created_at.

"Mine, overdue" (light=red) was read through (state, due_at): every overdue task of the
district, then the assignee's picked out. With due_at after (assignee, state) the filter and
its count read only the user's own open tasks. The newest-first order of a user's list needs
no index: it is a handful of rows, sorted after the filter.

2. (process_key, stage, status) on instance: counting a process's cases by stage and status
(the 驾驶舱's 非煤矿山 table) read every case row of the process, each carrying its state.

3. (department_code, state, parent_task_id) on task: the 加签 requests waiting for a department
(the top of every 我的待办) were found among all its open tasks, each row read.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_task_assignee_state", table_name="task")
    op.create_index("ix_task_assignee_state_due", "task", ["assignee", "state", "due_at"])
    op.create_index("ix_instance_process_stage_status", "instance",
                    ["process_key", "stage", "status"])
    op.create_index("ix_task_department_state_parent", "task",
                    ["department_code", "state", "parent_task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_department_state_parent", table_name="task")
    op.drop_index("ix_instance_process_stage_status", table_name="instance")
    op.drop_index("ix_task_assignee_state_due", table_name="task")
    op.create_index("ix_task_assignee_state", "task", ["assignee", "state", "created_at"])
