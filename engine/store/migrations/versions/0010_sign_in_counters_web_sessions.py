"""sign-in counters per address and per username at an address; server-side web sessions

``sign_in_failures`` (a row per refused sign-in, per username, never pruned) gives way to
``sign_in_counters`` (one row per key and window, counted with atomic upserts, pruned as
sign-ins go on). Its rows only throttle guessing for 15 minutes: they are not carried over.
``web_sessions`` holds the signed-in browsers: the cookie keeps only a random secret whose
SHA-256 names the row, so a session ends when its row is deleted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_username_at')
    op.drop_table('sign_in_failures')
    op.create_table('sign_in_counters',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('resets_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_counters'))
    )
    with op.batch_alter_table('sign_in_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_counters_resets_at'), ['resets_at'], unique=False)
    op.create_table('web_sessions',
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('created_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('secret_hash', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('sign_in_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_counters_resets_at'))
    op.drop_table('sign_in_counters')
    op.create_table('sign_in_failures',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('at', engine.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_username_at', ['username', 'at'], unique=False)
