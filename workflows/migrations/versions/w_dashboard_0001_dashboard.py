"""驾驶舱 summary tables: projects, stage spans, task histogram, linked cases

Revision ID: w_dashboard_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "w_dashboard_0001"
down_revision = None
branch_labels = ("dashboard",)
depends_on = None


def upgrade():

    op.create_table(
        "dash_case_link",
        sa.Column("case_instance_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("project_instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("case_instance_id", name=op.f("pk_dash_case_link")),
    )
    op.create_index(
        op.f("ix_dash_case_link_project_instance_id"),
        "dash_case_link",
        ["project_instance_id"],
        unique=False,
    )
    op.create_table(
        "dash_project",
        sa.Column("instance_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("business_key", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("investor", sa.String(length=400), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("project_type", sa.String(length=16), server_default="unknown", nullable=False),
        sa.Column("street", sa.String(length=64), nullable=True),
        sa.Column("lead_department", sa.String(length=64), nullable=True),
        sa.Column("leader", sa.String(length=64), nullable=True),
        sa.Column("is_key", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("investment", sa.Float(), nullable=True),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("stage_number", sa.Integer(), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("light", sa.String(length=8), server_default="green", nullable=False),
        sa.Column("light_reason", sa.String(length=200), nullable=True),
        sa.Column("report_light", sa.String(length=8), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_production", sa.Date(), nullable=True),
        sa.Column("planned_full_production", sa.Date(), nullable=True),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_production", sa.Date(), nullable=True),
        sa.Column("open_tasks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("overdue_tasks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_dash_project")),
    )
    op.create_index(
        op.f("ix_dash_project_business_key"), "dash_project", ["business_key"], unique=False
    )
    op.create_index(
        op.f("ix_dash_project_lead_department"), "dash_project", ["lead_department"], unique=False
    )
    op.create_index(op.f("ix_dash_project_leader"), "dash_project", ["leader"], unique=False)
    op.create_index(op.f("ix_dash_project_light"), "dash_project", ["light"], unique=False)
    op.create_index(
        op.f("ix_dash_project_phase_stage_number"),
        "dash_project",
        ["phase", "stage_number"],
        unique=False,
    )
    op.create_index(op.f("ix_dash_project_street"), "dash_project", ["street"], unique=False)
    op.create_table(
        "dash_stage_span",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("stage_number", sa.Integer(), nullable=False),
        sa.Column("project_type", sa.String(length=16), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dash_stage_span")),
    )
    op.create_index(
        op.f("ix_dash_stage_span_instance_id_stage_number"),
        "dash_stage_span",
        ["instance_id", "stage_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dash_stage_span_stage_project_type_left_at"),
        "dash_stage_span",
        ["stage", "project_type", "left_at"],
        unique=False,
    )
    op.create_table(
        "dash_task_stat",
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("with_due", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "process_key",
            "element_id",
            "department_code",
            "month",
            "days",
            name=op.f("pk_dash_task_stat"),
        ),
    )
    op.create_index(
        op.f("ix_dash_task_stat_department_code_month"),
        "dash_task_stat",
        ["department_code", "month"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dash_task_stat_month_process_key"),
        "dash_task_stat",
        ["month", "process_key"],
        unique=False,
    )


def downgrade():
    op.drop_table("dash_task_stat")
    op.drop_table("dash_stage_span")
    op.drop_table("dash_project")
    op.drop_table("dash_case_link")
