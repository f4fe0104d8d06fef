"""Pools by label, job attempts and idempotency keys, node holds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('label', sa.String(64), nullable=False,
                                   server_default='default'))
        batch.add_column(sa.Column('idempotency_key', sa.String(255)))
        batch.add_column(sa.Column('attempt', sa.Integer, nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('wait_reason', sa.Text))
        batch.add_column(sa.Column('started_at', sa.DateTime))
        batch.create_index('ix_jobs_label', ['label'])
        batch.create_unique_constraint('uq_jobs_idempotency_key',
                                       ['idempotency_key'])
    with op.batch_alter_table('nodes') as batch:
        batch.add_column(sa.Column('label', sa.String(64), nullable=False,
                                   server_default='default'))
        batch.add_column(sa.Column('timings', sa.JSON, nullable=False,
                                   server_default='{}'))
        batch.add_column(sa.Column('hold_until', sa.DateTime))
        batch.create_index('ix_nodes_label', ['label'])
    op.create_table(
        'pools',
        sa.Column('label', sa.String(64), primary_key=True),
        sa.Column('min_ready', sa.Integer),
        sa.Column('max_nodes', sa.Integer),
        sa.Column('updated_at', sa.DateTime, nullable=False),
    )
