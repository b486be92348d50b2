"""first store: files, runs, units, versions, findings, 说明, reviewer actions

Revision ID: 0001
Revises: 
Create Date: 2026-12-01 09:55:57.852677
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blob'))
    )
    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('inbox', sa.Text(), nullable=False),
    sa.Column('out', sa.Text(), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('rules_version', sa.String(length=40), server_default='', nullable=False),
    sa.Column('files', sa.Integer(), server_default='0', nullable=False),
    sa.Column('units', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run'))
    )
    op.create_table('unit',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('dept', sa.Text(), server_default='', nullable=False),
    sa.Column('contact', sa.Text(), server_default='', nullable=False),
    sa.Column('phone', sa.Text(), server_default='', nullable=False),
    sa.Column('on_roster', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_unit'))
    )
    op.create_table('unit_year',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_key', sa.String(length=200), nullable=False),
    sa.Column('year', sa.String(length=12), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_year')),
    sa.UniqueConstraint('unit_key', 'year', name=op.f('uq_unit_year_unit_key_year'))
    )
    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_year_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_year_id'], ['unit_year.id'], name=op.f('fk_action_unit_year_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_unit_year_id'), ['unit_year_id'], unique=False)

    op.create_table('alias',
    sa.Column('name_norm', sa.String(length=200), nullable=False),
    sa.Column('unit_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['unit_key'], ['unit.key'], name=op.f('fk_alias_unit_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name_norm', name=op.f('pk_alias'))
    )
    op.create_table('receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=40), server_default='', nullable=False),
    sa.Column('error', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_receipt_run_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt'))
    )
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_sha256'), ['sha256'], unique=False)

    op.create_table('unmatched',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('year', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_unmatched_run_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmatched'))
    )
    with op.batch_alter_table('unmatched', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unmatched_run_id'), ['run_id'], unique=False)

    op.create_table('version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_year_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unit_name', sa.Text(), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.Column('infos', sa.Integer(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('values_csv', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_version_run_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_year_id'], ['unit_year.id'], name=op.f('fk_version_unit_year_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_version')),
    sa.UniqueConstraint('unit_year_id', 'sha256', 'sheet', name=op.f('uq_version_unit_year_id_sha256_sheet'))
    )
    with op.batch_alter_table('version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_version_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_version_unit_year_id'), ['unit_year_id'], unique=False)

    op.create_table('explanation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_year_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rejected_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['unit_year_id'], ['unit_year.id'], name=op.f('fk_explanation_unit_year_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['version.id'], name=op.f('fk_explanation_version_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_explanation'))
    )
    with op.batch_alter_table('explanation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_explanation_unit_year_id'), ['unit_year_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_explanation_version_id'), ['version_id'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('block', sa.String(length=20), nullable=False),
    sa.Column('org', sa.Text(), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=False),
    sa.Column('cell', sa.String(length=20), nullable=False),
    sa.Column('expected', sa.Text(), nullable=False),
    sa.Column('actual', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['version.id'], name=op.f('fk_finding_version_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_version_id'), ['version_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_version_id'))

    op.drop_table('finding')
    with op.batch_alter_table('explanation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_explanation_version_id'))
        batch_op.drop_index(batch_op.f('ix_explanation_unit_year_id'))

    op.drop_table('explanation')
    with op.batch_alter_table('version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_version_unit_year_id'))
        batch_op.drop_index(batch_op.f('ix_version_run_id'))

    op.drop_table('version')
    with op.batch_alter_table('unmatched', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmatched_run_id'))

    op.drop_table('unmatched')
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_sha256'))
        batch_op.drop_index(batch_op.f('ix_receipt_run_id'))

    op.drop_table('receipt')
    op.drop_table('alias')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_unit_year_id'))

    op.drop_table('action')
    op.drop_table('unit_year')
    op.drop_table('unit')
    op.drop_table('run')
    op.drop_table('blob')

