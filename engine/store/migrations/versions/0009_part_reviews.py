"""what a part looked like at its last submission, what changed then, why it was sent back

Three nullable columns on ``form_parts``: ``submitted_data`` (the part's data at its last
submission, the baseline a verifikator compares against), ``changes`` (the cells that
submission changed against the one before, with the return it answered) and ``sent_back``
(who sent the part back, when, why and which cells; cleared by the next submission).
Kept on the part row rather than in event payloads: the events are the webhooks' outbox,
and a snapshot of the largest analysis (~6,500 values) would travel with every submission.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
COLUMNS = ('submitted_data', 'changes', 'sent_back')


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): in place on both backends, no table rebuild.
    for name in COLUMNS:
        op.add_column('form_parts', sa.Column(name, JSON, nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place, as migration 0007 relies on too.
    for name in reversed(COLUMNS):
        op.execute(f"ALTER TABLE form_parts DROP COLUMN {name}")
