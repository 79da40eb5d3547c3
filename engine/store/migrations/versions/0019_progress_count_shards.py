"""progress_counts: a shard column in the key (a provinsi's rows split by kab/kota, so
writers in different kab/kota do not queue on one row: runtime/counters.shard_of), and
every counter recounted from the tasks into its shard

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

COLUMNS = ('area', 'year', 'level', 'stage', 'state', 'due_at', 'late', 'week')


def _create(shard: bool) -> None:
    op.create_table('progress_counts',
    sa.Column('area', engine.store.types.RegionCode, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('stage', sa.String(length=60), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('due_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('week', sa.Integer(), nullable=False),
    *([sa.Column('shard', sa.Integer(), nullable=False)] if shard else []),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint(*COLUMNS, *(['shard'] if shard else []),
                            name=op.f('pk_progress_counts')),
    sqlite_with_rowid=False,
    )


def upgrade() -> None:
    # The counters are derived data: the table is made again and filled from the tasks
    # (a key column cannot be added in place on SQLite, and the old rows do not say which
    # kab/kota they came from).
    op.drop_table('progress_counts')
    _create(shard=True)
    # Imported here: the recount reads the tasks (runtime/counters.py).
    from sqlalchemy.orm import Session
    from engine.runtime.counters import recount
    from engine.store import counts
    with Session(bind=op.get_bind()) as session:
        recount(session)
        counts.flush(session)  # written at commit otherwise: alembic commits the connection


def downgrade() -> None:
    bind = op.get_bind()
    cols = ', '.join(COLUMNS)
    rows = bind.execute(sa.text(f"SELECT {cols}, SUM(count) AS count FROM progress_counts "
                                f"GROUP BY {cols}")).mappings().all()
    op.drop_table('progress_counts')
    _create(shard=False)
    if rows:
        bind.execute(sa.text(f"INSERT INTO progress_counts ({cols}, count) VALUES "
                             f"({', '.join(':' + c for c in (*COLUMNS, 'count'))})"),
                     [dict(r) for r in rows])
