"""outbox_cursors: the consumers' cursors over the events (webhook subscriptions and the
e-mail channel), named for what they are (was webhook_cursors, column subscription)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table('webhook_cursors', 'outbox_cursors')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE outbox_cursors RENAME CONSTRAINT pk_webhook_cursors '
                   'TO pk_outbox_cursors')
        op.alter_column('outbox_cursors', 'subscription', new_column_name='consumer')
    else:
        with op.batch_alter_table('outbox_cursors', schema=None) as batch_op:
            batch_op.alter_column('subscription', new_column_name='consumer')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('outbox_cursors', 'consumer', new_column_name='subscription')
        op.execute('ALTER TABLE outbox_cursors RENAME CONSTRAINT pk_outbox_cursors '
                   'TO pk_webhook_cursors')
    else:
        with op.batch_alter_table('outbox_cursors', schema=None) as batch_op:
            batch_op.alter_column('consumer', new_column_name='subscription')
    op.rename_table('outbox_cursors', 'webhook_cursors')
