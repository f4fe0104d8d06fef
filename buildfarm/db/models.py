"""SQLAlchemy models of the job store. Changes need an alembic migration."""

import sqlalchemy as sa
from sqlalchemy import orm


CALLBACK_DUE = 'callback IS NOT NULL AND callback_sent_at IS NULL'


class Base(orm.DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = 'jobs'

    id = sa.Column(sa.String(36), primary_key=True)
    kind = sa.Column(sa.String(32), nullable=False)
    label = sa.Column(sa.String(64), nullable=False, index=True)
    # A caller's key: submitting again with it returns this job. Stored
    # as "<project_id>/<key>" (db.api.scoped_key): keys are per project.
    idempotency_key = sa.Column(sa.String(320), unique=True)
    # Nodes this job has been given so far (a dead node means a retry).
    attempt = sa.Column(sa.Integer, nullable=False, default=0)
    # Why a queued job is still waiting, for "job show".
    wait_reason = sa.Column(sa.Text)
    # The validated spec with any credentials removed from URLs.
    spec = sa.Column(sa.JSON, nullable=False)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    exit_code = sa.Column(sa.Integer)
    commit = sa.Column(sa.String(64))
    # The Glance image a build_image job uploaded.
    image_id = sa.Column(sa.String(64))
    reason = sa.Column(sa.Text)
    node_id = sa.Column(sa.String(36))
    log_path = sa.Column(sa.String(1024))
    # Seconds spent in each phase: queued, node_boot, agent_ready, clone,
    # run, report.
    timings = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(sa.DateTime, nullable=False)
    updated_at = sa.Column(sa.DateTime, nullable=False)
    # When the job was last given to a node.
    started_at = sa.Column(sa.DateTime)
    finished_at = sa.Column(sa.DateTime)
    # Whom to tell when the job ends: {'mistral_action_execution_id': ...}.
    # (SQL NULL when there is none, not JSON null, so that queries can
    # tell.)
    callback = sa.Column(sa.JSON(none_as_null=True))
    # When they were told; None while the telling is due.
    callback_sent_at = sa.Column(sa.DateTime)
    # Who submitted it (Keystone ids; None in noauth mode).
    project_id = sa.Column(sa.String(64))
    user_id = sa.Column(sa.String(64))

    __table_args__ = (
        sa.Index('ix_jobs_project_state', 'project_id', 'state'),
        # The few jobs whose callback is not sent yet, polled every second
        # (partial where the database has partial indexes).
        sa.Index('ix_jobs_callback_due', 'finished_at',
                 sqlite_where=sa.text(CALLBACK_DUE),
                 postgresql_where=sa.text(CALLBACK_DUE)),
    )


class Node(Base):
    __tablename__ = 'nodes'

    id = sa.Column(sa.String(36), primary_key=True)
    driver = sa.Column(sa.String(32), nullable=False)
    label = sa.Column(sa.String(64), nullable=False, index=True)
    state = sa.Column(sa.String(16), nullable=False, index=True)
    job_id = sa.Column(sa.String(36), index=True)
    # What the driver calls the node (container id, server id).
    external_id = sa.Column(sa.String(255))
    facts = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(sa.DateTime, nullable=False)
    ready_at = sa.Column(sa.DateTime)
    last_heartbeat = sa.Column(sa.DateTime)
    # Seconds the node took to boot and for its agent to register.
    timings = sa.Column(sa.JSON, nullable=False, default=dict)
    # A held node is kept, unused, until then (debugging a failed job).
    hold_until = sa.Column(sa.DateTime)
    deleted_at = sa.Column(sa.DateTime)


class Pool(Base):
    """What an operator changed of a label's pool at run time."""

    __tablename__ = 'pools'

    label = sa.Column(sa.String(64), primary_key=True)
    min_ready = sa.Column(sa.Integer)
    max_nodes = sa.Column(sa.Integer)
    updated_at = sa.Column(sa.DateTime, nullable=False)
