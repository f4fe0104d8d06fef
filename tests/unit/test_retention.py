"""Bounded: finished jobs, their logs and dead nodes' rows are pruned as
configured; lists are paged; queued jobs are capped per project."""

import datetime
import os
import uuid

import pytest

from buildfarm.cli import job as job_cli
from buildfarm.common import context
from buildfarm.controller import jobs as jobs_mod
from buildfarm.controller import logstore
from buildfarm.controller import retention
from buildfarm.controller import rpcapi
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import states

NOBODY = context.RequestContext()
ALPHA = context.RequestContext('alice', 'alpha', ('member',))
BETA = context.RequestContext('bob', 'beta', ('member',))

NOW = db_api.utcnow()
SPEC = {'git_url': 'https://example.com/r.git', 'cmd': 'true'}


def _ago(days):
    return NOW - datetime.timedelta(days=days)


def _job(store, logs=None, state=states.SUCCEEDED, ended_days_ago=None,
         callback=None, sent=False, created_at=None, job_id=None):
    job_id = job_id or str(uuid.uuid4())
    store.create_job(job_id, 'repo_job', 'default', SPEC,
                     logs and logs.path(job_id), callback=callback)
    if logs:
        logs.note(job_id, 'attempt 1')
    if state != states.QUEUED:
        store.transition_job(job_id, states.RUNNING, node_id=None)
    if state in states.TERMINAL:
        store.transition_job(job_id, state)
    values = {}
    if ended_days_ago is not None:
        values['finished_at'] = _ago(ended_days_ago)
    if sent:
        values['callback_sent_at'] = NOW
    if created_at is not None:
        values['created_at'] = created_at
    if values:
        store.update_job(job_id, **values)
    return job_id


def _node(store, state, died_days_ago=None, job_id=None):
    node_id = str(uuid.uuid4())
    store.create_node(node_id, 'fake', 'default')
    store.update_node(node_id, job_id=job_id)
    if state != states.NODE_BOOTING:
        if state in (states.NODE_DELETED, states.NODE_FAILED):
            store.transition_node(node_id, states.NODE_DELETING)
        store.transition_node(node_id, state, deleted_at=(
            _ago(died_days_ago) if died_days_ago is not None else None))
    return node_id


def _exists(store, job_id):
    try:
        return store.get_job(job_id) is not None
    except exception.JobNotFound:
        return False


@pytest.fixture
def logs(tmp_path):
    return logstore.LogStore(str(tmp_path / 'logs'))


def test_old_jobs_and_their_logs_go_recent_and_due_ones_stay(conf, store,
                                                             logs):
    conf.set_override('job_retention_days', 30, 'controller')
    callback = {'mistral_action_execution_id': 'x'}
    old = _job(store, logs, ended_days_ago=40)
    old_failed = _job(store, logs, states.FAILED, ended_days_ago=31)
    recent = _job(store, logs, ended_days_ago=29)
    due = _job(store, logs, ended_days_ago=40, callback=callback)
    told = _job(store, logs, ended_days_ago=40, callback=callback, sent=True)
    queued = _job(store, logs, states.QUEUED, created_at=_ago(40))
    running = _job(store, logs, states.RUNNING, created_at=_ago(40))
    # A node still in use beside its job (its release is under way).
    held = _job(store, logs, ended_days_ago=40)
    _node(store, states.NODE_BOOTING, job_id=held)
    dead_old = _node(store, states.NODE_DELETED, died_days_ago=40)
    dead_recent = _node(store, states.NODE_FAILED, died_days_ago=1)

    assert retention.Pruner(conf, store, logs).prune() is False

    for job_id in (old, old_failed, told):
        assert not _exists(store, job_id)
        assert not os.path.exists(logs.path(job_id))
    for job_id in (recent, due, queued, running, held):
        assert _exists(store, job_id)
        assert logs.read(job_id, 0, 100)[0] == '[buildfarm] attempt 1\n'
    assert store.get_node(dead_old) is None
    assert store.get_node(dead_recent) is not None


def test_the_newest_finished_jobs_are_kept_up_to_the_count(conf, store,
                                                           logs):
    conf.set_override('max_finished_jobs', 2, 'controller')
    ended = [_job(store, logs, ended_days_ago=days) for days in (5, 4, 3)]
    # The same end time: the id breaks the tie, as in the listing.
    twins = sorted(_job(store, logs, ended_days_ago=2) for _ in range(2))
    queued = _job(store, logs, states.QUEUED)
    retention.Pruner(conf, store, logs).prune()
    assert [j for j in ended + twins if _exists(store, j)] == twins
    assert _exists(store, queued)


def test_nothing_goes_unless_configured_and_a_backlog_goes_in_batches(
        conf, store, logs):
    jobs = [_job(store, logs, ended_days_ago=400) for _ in range(5)]
    pruner = retention.Pruner(conf, store, logs)
    conf.set_override('job_retention_days', 0, 'controller')
    assert pruner.prune(batch=2) is False
    assert all(_exists(store, j) for j in jobs)
    conf.set_override('job_retention_days', 1, 'controller')
    assert pruner.prune(batch=2) is True     # more waiting
    assert sum(_exists(store, j) for j in jobs) == 3
    assert pruner.prune(batch=2) is True
    assert pruner.prune(batch=2) is False
    assert not any(_exists(store, j) for j in jobs)


def test_the_control_loop_prunes(conf, controller):
    conf.set_override('job_retention_days', 7, 'controller')
    old = _job(controller.store, controller.logs, ended_days_ago=8)
    recent = _job(controller.store, controller.logs, ended_days_ago=6)
    controller.scheduler.tick(force=True)
    assert not _exists(controller.store, old)
    assert _exists(controller.store, recent)


# Pagination

def test_pages_follow_a_stable_order_newest_first(store):
    same = _ago(1)
    ids = [_job(store, state=states.QUEUED, created_at=created)
           for created in (_ago(3), same, same, same, _ago(0))]
    expected = [ids[4]] + sorted(ids[1:4], reverse=True) + [ids[0]]
    seen, marker = [], None
    while True:
        page = store.list_jobs(limit=2, marker=marker)
        if not page:
            break
        seen += [j['id'] for j in page]
        marker = page[-1]['id']
    assert seen == expected
    assert [j['id'] for j in store.list_jobs(
        [states.QUEUED], marker=expected[1])] == expected[2:]
    with pytest.raises(exception.JobNotFound, match='marker: no job with '
                       'id nope'):
        store.list_jobs(marker='nope')


def test_lists_have_a_default_and_a_largest_limit(conf, controller):
    for _ in range(jobs_mod.DEFAULT_LIMIT + 1):
        _job(controller.store, state=states.QUEUED)
    api = rpcapi.ControllerAPI(controller.transport, conf.controller.topic)
    assert len(api.list_jobs()) == jobs_mod.DEFAULT_LIMIT
    assert len(api.list_jobs(limit=1000)) == jobs_mod.DEFAULT_LIMIT + 1
    first = api.list_jobs(limit=2)
    assert api.list_jobs(limit=1, marker=first[0]['id']) == first[1:]
    # Checked at the boundary, by the schema of list_jobs.
    for bad in (0, -1, True, 1.5, '2', 1001):
        with pytest.raises(exception.InvalidInput,
                           match='^list_jobs: limit: '):
            api.list_jobs(limit=bad)
    with pytest.raises(exception.InvalidInput, match='^list_jobs: marker: '):
        api.list_jobs(marker=5)


def test_the_cli_pages_with_limit_and_marker(monkeypatch):
    asked = []

    class _API:
        def list_jobs(self, **kwargs):
            asked.append(kwargs)
            return []

    app = type('App', (), {'client': lambda self: _API()})()
    command = job_cli.ListJobs(app, None)
    parser = command.get_parser('buildfarm job list')
    command.take_action(parser.parse_args(['--limit', '5', '--marker',
                                           'j-1']))
    command.take_action(parser.parse_args([]))
    assert asked == [{'state': None, 'limit': 5, 'marker': 'j-1',
                      'all_projects': False},
                     {'state': None, 'limit': None, 'marker': None,
                      'all_projects': False}]


# Queued jobs per project

def test_queued_jobs_are_capped_per_project(conf, controller):
    conf.set_override('max_queued_jobs_per_project', 2, 'controller')
    jobs = controller.jobs
    first = jobs.submit(ALPHA, dict(SPEC), idempotency_key='k1')
    jobs.submit(ALPHA, dict(SPEC))
    with pytest.raises(exception.QueueFull) as e:
        jobs.submit(ALPHA, dict(SPEC))
    assert str(e.value) == (
        'Project alpha has 2 jobs queued, the most this controller takes '
        '([controller] max_queued_jobs_per_project); submit again once '
        'some have started.')
    # A resubmission with its key is the same job, not another.
    again = jobs.submit(ALPHA, dict(SPEC), idempotency_key='k1')
    assert again['id'] == first['id']
    assert jobs.submit(BETA, dict(SPEC))
    # Without authentication every caller is one project.
    jobs.submit(NOBODY, dict(SPEC))
    jobs.submit(NOBODY, dict(SPEC))
    api = rpcapi.ControllerAPI(controller.transport, conf.controller.topic)
    with pytest.raises(exception.QueueFull, match='Project .none: no '
                       'authentication. has 2 jobs queued'):
        api.repo_job(dict(SPEC))
    # A job that leaves the queue makes room.
    jobs.cancel(ALPHA, first['id'])
    assert jobs.submit(ALPHA, dict(SPEC))
    assert controller.store.queued_count('alpha') == 2


def test_queued_jobs_forget_nodes_that_are_gone(store):
    claimed, freed = (_job(store, state=states.QUEUED) for _ in range(2))
    booting = str(uuid.uuid4())
    store.create_node(booting, 'fake', 'default', job_id=claimed)
    gone = str(uuid.uuid4())
    store.create_node(gone, 'fake', 'default', job_id=freed)
    store.transition_node(gone, states.NODE_DELETING)
    assert store.free_queued_claims() == 1
    assert store.get_job(claimed)['node_id'] == booting
    assert store.get_job(freed)['node_id'] is None
