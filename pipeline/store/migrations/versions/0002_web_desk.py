"""the web desk: accounts, audit log, uploads awaiting 上报 (drafts), drawn sheets

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('unit_key', sa.String(length=200), nullable=True),
    sa.Column('password', sa.String(length=200), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('fails', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', TS, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('name', name=op.f('uq_account_name'))
    )
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.Column('who', sa.String(length=100), nullable=False),
    sa.Column('ip', sa.String(length=64), server_default='', nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.Text(), server_default='', nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    op.create_index(op.f('ix_audit_at'), 'audit', ['at'], unique=False)
    op.create_table('draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('unit_key', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_at', TS, nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('year', sa.String(length=12), server_default='', nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), server_default='{}', nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_draft_account_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft'))
    )
    op.create_index(op.f('ix_draft_account_id'), 'draft', ['account_id'], unique=False)
    op.create_index(op.f('ix_draft_unit_key'), 'draft', ['unit_key'], unique=False)
    op.create_table('sheet_grid',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sheet', sa.String(length=200), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'sheet', name=op.f('pk_sheet_grid'))
    )


def downgrade() -> None:
    op.drop_table('sheet_grid')
    op.drop_index(op.f('ix_draft_unit_key'), table_name='draft')
    op.drop_index(op.f('ix_draft_account_id'), table_name='draft')
    op.drop_table('draft')
    op.drop_index(op.f('ix_audit_at'), table_name='audit')
    op.drop_table('audit')
    op.drop_table('account')
