"""operations: audit hash chain on event, heartbeat of background processes, timer-sweep index

The events already written are sealed into their chains here (``engine.audit.seal``), before
the triggers that make ``event`` append-only exist: afterwards every event has a hash, and
``kunflow audit verify`` reports one without it as a break.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from engine.audit import append_only_ddl, drop_append_only_ddl, seal

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('heartbeat',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('node', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('beat_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_heartbeat'))
    )
    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_heartbeat_beat_at'), ['beat_at'], unique=False)

    op.create_index('ix_instance_status_due', 'instance', ['status', 'next_due_at'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    seal(bind)
    for statement in append_only_ddl(bind.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')

    op.drop_index('ix_instance_status_due', table_name='instance')

    with op.batch_alter_table('heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_heartbeat_beat_at'))
    op.drop_table('heartbeat')
