"""The Glance image id a build_image job uploaded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('image_id', sa.String(64)))
