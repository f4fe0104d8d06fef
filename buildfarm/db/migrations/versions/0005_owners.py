"""Who submitted a job: its Keystone project and user.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('project_id', sa.String(64)))
        batch.add_column(sa.Column('user_id', sa.String(64)))
    op.create_index('ix_jobs_project_state', 'jobs', ['project_id', 'state'])
