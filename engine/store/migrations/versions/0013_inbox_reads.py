"""inbox_reads: which inbox items each user has read (an item is shared by a role's holders)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('inbox_reads',
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('item_id', BigId, nullable=False),
    sa.Column('read_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inbox.id'], name=op.f('fk_inbox_reads_item_id_inbox'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'item_id', name=op.f('pk_inbox_reads'))
    )
    with op.batch_alter_table('inbox_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_reads_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_reads_item_id'))
    op.drop_table('inbox_reads')
