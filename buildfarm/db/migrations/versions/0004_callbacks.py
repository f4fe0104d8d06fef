"""Where to report a job's end (a Mistral action execution), and when it
was reported.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('callback', sa.JSON))
        batch.add_column(sa.Column('callback_sent_at', sa.DateTime))
    # As in the models, where CALLBACK_DUE says why.
    due = sa.text('callback IS NOT NULL AND callback_sent_at IS NULL')
    op.create_index('ix_jobs_callback_due', 'jobs', ['finished_at'],
                    sqlite_where=due, postgresql_where=due)
