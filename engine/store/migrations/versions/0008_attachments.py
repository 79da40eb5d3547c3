"""attachments kept once by SHA-256, their uses by stages, rendered documents

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
import engine.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('stored_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachments'))
    )
    op.create_table('attachment_uses',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by', sa.String(length=80), nullable=False),
    sa.Column('uploaded_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_attachment_uses_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['attachments.sha256'], name=op.f('fk_attachment_uses_sha256_attachments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_uses')),
    sa.UniqueConstraint('task_id', 'sha256', name='uq_attachment_uses_task_sha256')
    )
    with op.batch_alter_table('attachment_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_uses_sha256'), ['sha256'], unique=False)
    op.create_table('rendered_documents',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=False),
    sa.Column('form', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('rendered_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.Column('done_at', engine.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_rendered_documents_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['attachments.sha256'], name=op.f('fk_rendered_documents_sha256_attachments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rendered_documents')),
    sa.UniqueConstraint('task_id', 'form', 'media_type', 'done_at', name='uq_rendered_documents_task_form_type_done')
    )
    with op.batch_alter_table('rendered_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rendered_documents_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rendered_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rendered_documents_sha256'))
    op.drop_table('rendered_documents')
    with op.batch_alter_table('attachment_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_uses_sha256'))
    op.drop_table('attachment_uses')
    op.drop_table('attachments')
