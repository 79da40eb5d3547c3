"""progress_counts: per area, year, level, stage, state and deadline, how many stages

The counters a region's dashboard reads (runtime/counters.py). Filled from the tasks
already stored by revision 0019, so an upgraded database starts with counters equal to a
recount.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('progress_counts',
    sa.Column('area', engine.store.types.RegionCode, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=60), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('due_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('area', 'year', 'level', 'stage', 'state', 'due_at', 'late', 'week',
                            name=op.f('pk_progress_counts')),
    sqlite_with_rowid=False,
    )
    # Filled from the tasks by 0019, which gives the table its final key (a recount here
    # would write the columns of today's code into this revision's table).


def downgrade() -> None:
    op.drop_table('progress_counts')
