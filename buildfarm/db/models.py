"""SQLAlchemy models of the job store. Changes need an alembic migration."""

import sqlalchemy as sa
from sqlalchemy import orm


class Base(orm.DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = 'jobs'

    id = sa.Column(sa.String(36), primary_key=True)
    kind = sa.Column(sa.String(32), nullable=False)
    # The validated spec with any credentials removed from URLs.
    spec = sa.Column(sa.JSON, nullable=False)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    exit_code = sa.Column(sa.Integer)
    commit = sa.Column(sa.String(64))
    reason = sa.Column(sa.Text)
    node_id = sa.Column(sa.String(36))
    log_path = sa.Column(sa.String(1024))
    # Seconds spent in each phase: queued, node_boot, agent_ready, clone,
    # run, report.
    timings = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)
    finished_at = sa.Column(sa.DateTime)


class Node(Base):
    __tablename__ = 'nodes'

    id = sa.Column(sa.String(36), primary_key=True)
    driver = sa.Column(sa.String(32), nullable=False)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    job_id = sa.Column(sa.String(36), index=True)
    # What the driver calls the node (container id, server id).
    external_id = sa.Column(sa.String(255))
    facts = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(sa.DateTime, nullable=False)
    ready_at = sa.Column(sa.DateTime)
    last_heartbeat = sa.Column(sa.DateTime)
    deleted_at = sa.Column(sa.DateTime)
