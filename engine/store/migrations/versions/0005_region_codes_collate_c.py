"""region codes compare byte by byte on PostgreSQL (COLLATE "C")

Ranges of region codes select a region's descendants; a database whose default
collation is linguistic (en_US and the like) ignores the dots in the codes and the
ranges select nothing. SQLite always compares text byte by byte: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Referenced columns first is not required (PostgreSQL re-checks the foreign keys), but
# every column holding a region code that a range or a foreign key compares is listed.
COLUMNS = [("regions", "code"), ("regions", "parent_code"), ("cases", "region_code"),
           ("assignments", "region_code"), ("tasks", "region_code"), ("tasks", "parent_code")]


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR(16) '
                   f'COLLATE "{collation}"')


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
