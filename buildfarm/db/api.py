"""The job store: every read and write of the database goes through here.

Functions return plain dicts so that callers never hold ORM objects across
threads or sessions.
"""

import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from buildfarm.db import migration
from buildfarm.db import models
from buildfarm import exception
from buildfarm import states


# The project filter of get_job and list_jobs that lets every job through.
ANY_PROJECT = object()


def scoped_key(project_id, idempotency_key):
    """How a job's idempotency key is stored: within its project, so that
    two projects' keys never meet."""
    if idempotency_key is None:
        return None
    return '%s/%s' % (project_id or '', idempotency_key)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _as_dict(row):
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def _sqlite_pragmas(dbapi_connection, record):
    # WAL: readers (job show, log polling) never wait for the writer, and a
    # commit costs no fsync of the whole file, which matters on slow disks.
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.close()


class JobStore:

    def __init__(self, connection):
        kwargs = {}
        if connection.startswith('sqlite'):
            # The controller's RPC threads share one SQLite file.
            kwargs['connect_args'] = {'check_same_thread': False,
                                      'timeout': 30}
        self.engine = sa.create_engine(connection, **kwargs)
        if connection.startswith('sqlite'):
            sa.event.listen(self.engine, 'connect', _sqlite_pragmas)
        self._session = orm.sessionmaker(self.engine)

    def upgrade(self):
        migration.upgrade(self.engine)

    # Jobs

    def create_job(self, job_id, kind, label, spec, log_path,
                   idempotency_key=None, callback=None, project_id=None,
                   user_id=None):
        """Store a new queued job of ``project_id`` and ``user_id`` (who
        submitted it); with an ``idempotency_key`` this project used
        already, return that key's job instead."""
        now = utcnow()
        idempotency_key = scoped_key(project_id, idempotency_key)
        job = models.Job(id=job_id, kind=kind, label=label, spec=spec,
                         state=states.QUEUED, log_path=log_path, timings={},
                         attempt=0, idempotency_key=idempotency_key,
                         callback=callback, project_id=project_id,
                         user_id=user_id, created_at=now, updated_at=now)
        try:
            with self._session.begin() as session:
                session.add(job)
                session.flush()
                return _as_dict(job)
        except sa.exc.IntegrityError:
            if idempotency_key is None:
                raise
        with self._session() as session:
            existing = session.scalars(sa.select(models.Job).where(
                models.Job.idempotency_key == idempotency_key)).one()
            return _as_dict(existing)

    def get_job(self, job_id, project_id=ANY_PROJECT):
        """The job; a job of another project than ``project_id`` (None:
        jobs of no project) is not found either, so that callers cannot
        tell it exists."""
        with self._session() as session:
            job = session.get(models.Job, job_id)
            if job is None or (project_id is not ANY_PROJECT and
                               job.project_id != project_id):
                raise exception.JobNotFound('No job with id %s.' % job_id)
            return _as_dict(job)

    def list_jobs(self, states_filter=None, limit=None, marker=None,
                  project_id=ANY_PROJECT):
        """Jobs of ``project_id`` (None: of no project), newest first (by
        created_at, then id: a stable order); with ``marker``, those after
        that job (which must be one of them)."""
        job = models.Job
        query = sa.select(job).order_by(job.created_at.desc(),
                                        job.id.desc())
        if states_filter:
            query = query.where(job.state.in_(states_filter))
        if project_id is not ANY_PROJECT:
            query = query.where(job.project_id.is_(None)
                                if project_id is None else
                                job.project_id == project_id)
        if limit:
            query = query.limit(limit)
        with self._session() as session:
            if marker is not None:
                last = session.get(job, marker)
                if last is None or not (
                        project_id is ANY_PROJECT or
                        last.project_id == project_id):
                    raise exception.JobNotFound(
                        'marker: no job with id %s.' % marker)
                query = query.where(sa.or_(
                    job.created_at < last.created_at,
                    sa.and_(job.created_at == last.created_at,
                            job.id < last.id)))
            return [_as_dict(j) for j in session.scalars(query)]

    def find_job_by_key(self, project_id, idempotency_key):
        """The job ``project_id`` submitted with ``idempotency_key``, or
        None."""
        key = scoped_key(project_id, idempotency_key)
        with self._session() as session:
            job = session.scalars(sa.select(models.Job).where(
                models.Job.idempotency_key == key)).first()
            return _as_dict(job) if job else None

    def queued_count(self, project_id):
        """Queued jobs of ``project_id`` (None: those without one)."""
        owner = (models.Job.project_id.is_(None) if project_id is None
                 else models.Job.project_id == project_id)
        query = sa.select(sa.func.count()).select_from(models.Job).where(
            models.Job.state == states.QUEUED, owner)
        with self._session() as session:
            return session.execute(query).scalar_one()

    def free_queued_claims(self):
        """Queued jobs that name a node no longer booting or in use for
        them forget it; how many did."""
        claimed = sa.exists().where(
            models.Node.id == models.Job.node_id,
            models.Node.job_id == models.Job.id,
            models.Node.state.in_([states.NODE_BOOTING,
                                   states.NODE_IN_USE]))
        stmt = sa.update(models.Job).where(
            models.Job.state == states.QUEUED,
            models.Job.node_id.is_not(None), ~claimed).values(node_id=None)
        with self._session.begin() as session:
            return session.execute(
                stmt.execution_options(synchronize_session=False)).rowcount

    # Retention

    def prunable_jobs(self, finished_before=None, keep=None, limit=500):
        """Ids of up to ``limit`` ended jobs, oldest first, that ended
        before ``finished_before`` or are older than the newest ``keep``
        ended jobs; never one whose callback is still due or that a live
        node still names."""
        job = models.Job
        ended = job.finished_at.is_not(None)
        older = []
        if finished_before is not None:
            older.append(job.finished_at < finished_before)
        with self._session() as session:
            if keep:
                # The keep-th newest: the jobs after it go.
                last = session.execute(sa.select(
                    job.finished_at, job.id).where(ended).order_by(
                    job.finished_at.desc(), job.id.desc()).offset(
                    keep - 1).limit(1)).first()
                if last is not None:
                    older.append(sa.or_(
                        job.finished_at < last.finished_at,
                        sa.and_(job.finished_at == last.finished_at,
                                job.id < last.id)))
            if not older:
                return []
            held = sa.exists().where(models.Node.job_id == job.id,
                                     models.Node.state.in_(states.NODE_LIVE))
            query = sa.select(job.id).where(
                ended, job.state.in_(states.TERMINAL), sa.or_(*older),
                sa.or_(job.callback.is_(None),
                       job.callback_sent_at.is_not(None)),
                ~held).order_by(job.finished_at).limit(limit)
            return list(session.scalars(query))

    def delete_jobs(self, job_ids):
        """Delete these jobs (ended ones only); how many went."""
        with self._session.begin() as session:
            return session.execute(sa.delete(models.Job).where(
                models.Job.id.in_(job_ids),
                models.Job.state.in_(states.TERMINAL)).execution_options(
                synchronize_session=False)).rowcount

    def prune_dead_nodes(self, died_before, limit=500):
        """Delete up to ``limit`` rows of nodes deleted (or failed)
        before ``died_before``; how many went."""
        node = models.Node
        ids = sa.select(node.id).where(
            node.state.in_([states.NODE_DELETED, states.NODE_FAILED]),
            node.deleted_at < died_before).limit(limit)
        with self._session.begin() as session:
            return session.execute(sa.delete(node).where(
                node.id.in_(ids)).execution_options(
                synchronize_session=False)).rowcount

    def callbacks_due(self, limit=20):
        """Ended jobs whose callback was not sent yet, oldest first.

        A job has finished_at once it ended; asking by it rather than by
        state lets the database use ix_jobs_callback_due.
        """
        query = sa.select(models.Job).where(
            models.Job.callback.is_not(None),
            models.Job.callback_sent_at.is_(None),
            models.Job.finished_at.is_not(None)).order_by(
            models.Job.finished_at).limit(limit)
        with self._session() as session:
            return [_as_dict(j) for j in session.scalars(query)]

    def oldest_queued(self, label, limit):
        """The oldest queued jobs of ``label`` that no node booting (or
        just up) was booted for."""
        claiming = sa.select(models.Node.id).where(models.Node.state.in_(
            [states.NODE_BOOTING, states.NODE_IN_USE]))
        query = sa.select(models.Job).where(
            models.Job.state == states.QUEUED, models.Job.label == label,
            sa.or_(models.Job.node_id.is_(None),
                   models.Job.node_id.not_in(claiming)),
        ).order_by(models.Job.created_at).limit(limit)
        with self._session() as session:
            return [_as_dict(j) for j in session.scalars(query)]

    def queued_counts(self):
        """{label: number of queued jobs}"""
        query = sa.select(models.Job.label, sa.func.count()).where(
            models.Job.state == states.QUEUED).group_by(models.Job.label)
        with self._session() as session:
            return dict(session.execute(query).all())

    def transition_job(self, job_id, to_state, from_states=None,
                       timings=None, **values):
        """Move a job to ``to_state`` if states.JOB_TRANSITIONS allows it
        from its current state (and that state is one of ``from_states``,
        when given); return the new row, or None if someone else moved it
        first. ``timings`` is merged into the stored timings."""
        allowed = states.sources(states.JOB_TRANSITIONS, to_state)
        if from_states is not None:
            allowed &= frozenset(from_states)
        return self._update_job(job_id, allowed, timings,
                                state=to_state, **values)

    def update_job(self, job_id, expected_states=None, timings=None,
                   **values):
        """Update a job's other fields (never its state: see
        transition_job); None if its state is not one of
        ``expected_states``."""
        if 'state' in values:
            raise ValueError('A job\'s state changes by transition_job.')
        return self._update_job(job_id, expected_states, timings, **values)

    def _update_job(self, job_id, expected_states, timings, **values):
        now = utcnow()
        with self._session.begin() as session:
            job = session.get(models.Job, job_id)
            if job is None:
                raise exception.JobNotFound('No job with id %s.' % job_id)
            if timings:
                values['timings'] = dict(job.timings or {}, **timings)
            values['updated_at'] = now
            if values.get('state') in states.TERMINAL:
                values['finished_at'] = now
            # A conditional UPDATE, so that of two threads racing to end a
            # job exactly one wins.
            stmt = sa.update(models.Job).where(models.Job.id == job_id)
            if expected_states is not None:
                stmt = stmt.where(models.Job.state.in_(expected_states))
            if session.execute(stmt.values(**values)).rowcount == 0:
                return None
        return self.get_job(job_id)

    # Nodes

    def create_node(self, node_id, driver, label, job_id=None):
        """A booting node; with ``job_id``, booted for that queued job,
        unless the job no longer waits (then the row's job_id is None)."""
        with self._session.begin() as session:
            if job_id is not None:
                claim = sa.update(models.Job).where(
                    models.Job.id == job_id,
                    models.Job.state == states.QUEUED).values(
                    node_id=node_id)
                if session.execute(claim).rowcount == 0:
                    job_id = None
            node = models.Node(id=node_id, driver=driver, label=label,
                               job_id=job_id, state=states.NODE_BOOTING,
                               facts={}, timings={}, created_at=utcnow())
            session.add(node)
            session.flush()
            return _as_dict(node)

    def get_node(self, node_id):
        with self._session() as session:
            node = session.get(models.Node, node_id)
            return _as_dict(node) if node else None

    def transition_node(self, node_id, to_state, from_states=None,
                        **values):
        """Move a node to ``to_state`` if states.NODE_TRANSITIONS allows
        it from its current state (and that state is one of
        ``from_states``, when given); return the new row or None."""
        allowed = states.sources(states.NODE_TRANSITIONS, to_state)
        if from_states is not None:
            allowed &= frozenset(from_states)
        return self._update_node(node_id, allowed, state=to_state,
                                 **values)

    def update_node(self, node_id, expected_states=None, **values):
        """Update a node's other fields (never its state: see
        transition_node); None if it is gone or its state is not one of
        ``expected_states``."""
        if 'state' in values:
            raise ValueError('A node\'s state changes by transition_node.')
        return self._update_node(node_id, expected_states, **values)

    def _update_node(self, node_id, expected_states, **values):
        with self._session.begin() as session:
            stmt = sa.update(models.Node).where(models.Node.id == node_id)
            if expected_states is not None:
                stmt = stmt.where(models.Node.state.in_(expected_states))
            if session.execute(stmt.values(**values)).rowcount == 0:
                return None
        return self.get_node(node_id)

    def claim_registration(self, node_id):
        """Mark a booting node registered, once: False if it registered
        already (or is no longer booting)."""
        with self._session.begin() as session:
            return session.execute(sa.update(models.Node).where(
                models.Node.id == node_id,
                models.Node.state == states.NODE_BOOTING,
                models.Node.ready_at.is_(None)).values(
                ready_at=utcnow())).rowcount == 1

    def live_nodes(self):
        query = sa.select(models.Node).where(
            models.Node.state.in_(states.NODE_LIVE)).order_by(
            models.Node.created_at)
        with self._session() as session:
            return [_as_dict(n) for n in session.scalars(query)]

    # Pools

    def pool_overrides(self):
        """{label: {'min_ready': n, 'max_nodes': m}} set at run time."""
        with self._session() as session:
            return {p.label: {'min_ready': p.min_ready,
                              'max_nodes': p.max_nodes}
                    for p in session.scalars(sa.select(models.Pool))}

    def set_pool(self, label, **values):
        with self._session.begin() as session:
            pool = session.get(models.Pool, label)
            if pool is None:
                pool = models.Pool(label=label)
                session.add(pool)
            for key, value in values.items():
                if value is not None:
                    setattr(pool, key, value)
            pool.updated_at = utcnow()
