"""indexes of an action: one events index, ix_tasks_due without state, stage in ix_tasks_region

Every action updates a task's state and appends an event; each index either touches
is one more page its commit writes. Events get one index, (case_id, task_id, id),
that serves a case's history and a task's; ix_tasks_due no longer includes the state.
The stage a click names (region, year, stage) is one entry of ix_tasks_region.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_task')
        batch_op.drop_index(batch_op.f('ix_events_case_id'))
        batch_op.create_index('ix_events_case', ['case_id', 'task_id', 'id'], unique=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_due')
        batch_op.create_index('ix_tasks_due', ['due_at'], unique=False)
        batch_op.drop_index('ix_tasks_region')
        batch_op.create_index('ix_tasks_region', ['region_code', 'year', 'stage'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_region')
        batch_op.create_index('ix_tasks_region', ['region_code', 'year'], unique=False)
        batch_op.drop_index('ix_tasks_due')
        batch_op.create_index('ix_tasks_due', ['state', 'due_at'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_case')
        batch_op.create_index(batch_op.f('ix_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_events_task', ['task_id', 'id'], unique=False)
