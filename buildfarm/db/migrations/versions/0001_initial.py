"""Jobs and nodes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('spec', sa.JSON, nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('exit_code', sa.Integer),
        sa.Column('commit', sa.String(64)),
        sa.Column('reason', sa.Text),
        sa.Column('node_id', sa.String(36)),
        sa.Column('log_path', sa.String(1024)),
        sa.Column('timings', sa.JSON, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.Column('finished_at', sa.DateTime),
    )
    op.create_index('ix_jobs_state', 'jobs', ['state'])
    op.create_table(
        'nodes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('driver', sa.String(32), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('job_id', sa.String(36)),
        sa.Column('external_id', sa.String(255)),
        sa.Column('facts', sa.JSON, nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('ready_at', sa.DateTime),
        sa.Column('last_heartbeat', sa.DateTime),
        sa.Column('deleted_at', sa.DateTime),
    )
    op.create_index('ix_nodes_state', 'nodes', ['state'])
    op.create_index('ix_nodes_job_id', 'nodes', ['job_id'])
