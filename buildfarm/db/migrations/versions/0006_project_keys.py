"""Idempotency keys are per project: a stored key is prefixed with its
job's project ("<project_id>/<key>", "/<key>" without one).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.alter_column('idempotency_key', type_=sa.String(320),
                           existing_type=sa.String(255))
    op.execute("UPDATE jobs SET idempotency_key = "
               "COALESCE(project_id, '') || '/' || idempotency_key "
               "WHERE idempotency_key IS NOT NULL")
