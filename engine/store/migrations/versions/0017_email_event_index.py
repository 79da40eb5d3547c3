"""email_deliveries: an index on event_id, for the e-mail channel's "queued already?"
check (the unique key (user_id, event_id) does not serve it: SQLite scanned the table
for every event it looked at)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_email_deliveries_event_id', ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_email_deliveries_event_id')
