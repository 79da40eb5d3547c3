"""e-mail: users' addresses and preferences, and the e-mail channel's outbox rows

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('email_pref', sa.String(length=10), nullable=False,
                                      server_default='each'))
    op.create_table('email_deliveries',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('event_id', BigId, nullable=True),
    sa.Column('digest_id', BigId, nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('lease_until', engine.store.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', engine.store.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_email_deliveries_event_id_events')),
    sa.ForeignKeyConstraint(['digest_id'], ['email_deliveries.id'], name=op.f('fk_email_deliveries_digest_id_email_deliveries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_deliveries')),
    sa.UniqueConstraint('user_id', 'event_id', name='uq_email_deliveries_user_event'),
    sa.UniqueConstraint('user_id', 'day', name='uq_email_deliveries_user_day'),
    )
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_email_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_email_deliveries_digest_id', ['digest_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_email_deliveries_digest_id')
        batch_op.drop_index('ix_email_deliveries_due')
    op.drop_table('email_deliveries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_pref')
        batch_op.drop_column('email')
