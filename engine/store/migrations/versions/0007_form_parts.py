"""form data in parts (one row per unit), roll-up rows, a unit on role assignments

The form data of a stage leaves ``tasks.data`` for ``form_parts``: units saving the same
stage then write different rows. Existing data becomes the stage's whole part (unit "").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import engine.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
REGION = sa.String(16).with_variant(sa.String(16, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table('form_parts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_form_parts_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_parts')),
    sa.UniqueConstraint('task_id', 'unit', name='uq_form_parts_task_unit')
    )
    op.create_table('form_rollups',
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('child_code', REGION, nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('updated_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_form_rollups_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'child_code', name=op.f('pk_form_rollups'))
    )
    op.execute("INSERT INTO form_parts (task_id, unit, state, data, version, updated_at, updated_by) "
               "SELECT id, '', NULL, data, 1, updated_at, 'migrasi' FROM tasks WHERE data IS NOT NULL")
    # Not a batch operation: on SQLite that rebuilds the table, and dropping the old one
    # would cascade into every row that refers to it. SQLite >= 3.35 drops a column in place.
    op.execute("ALTER TABLE tasks DROP COLUMN data")
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('unit')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', JSON, nullable=True))
    op.drop_table('form_rollups')
    op.drop_table('form_parts')
