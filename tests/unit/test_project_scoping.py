"""The controller with auth_strategy keystone (Keystone faked at HTTP),
over the fake transport: callers see their own project's jobs only."""

import pytest
import requests_mock

from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import exception
from tests.unit import fake_keystone

SPEC = {'git_url': 'https://example.com/repo.git', 'cmd': 'true'}


@pytest.fixture
def keystone():
    with requests_mock.Mocker() as mocker:
        yield fake_keystone.FakeKeystone(mocker)


@pytest.fixture
def farm(conf, keystone):
    fake_keystone.configure(conf)
    ctl = service.ControllerService(conf)
    ctl.start()
    tokens = {
        'alice': keystone.issue('alice', 'alpha', ['member', 'reader']),
        'bob': keystone.issue('bob', 'beta', ['member', 'reader']),
        'oscar': keystone.issue('oscar', 'alpha', [
            'member', 'reader', 'buildfarm_operator']),
        'admin': keystone.issue('admin', 'admin', ['admin', 'member']),
        'nobody': None,
        'forged': 'tok-forged',
    }
    yield {who: rpcapi.ControllerAPI(ctl.transport, conf.controller.topic,
                                     timeout=10, token=token)
           for who, token in tokens.items()}
    ctl.stop()


def test_a_job_records_who_submitted_it(farm):
    job = farm['alice'].repo_job(dict(SPEC))
    assert (job['project_id'], job['user_id']) == ('alpha', 'alice')
    assert farm['alice'].get_job(job['id'])['project_id'] == 'alpha'


@pytest.mark.parametrize('who', ['nobody', 'forged'])
def test_a_call_without_a_valid_token_is_refused(farm, who):
    with pytest.raises(exception.NotAuthorized):
        farm[who].list_jobs()
    with pytest.raises(exception.NotAuthorized):
        farm[who].repo_job(dict(SPEC))


def test_another_projects_job_is_not_found(farm):
    job = farm['alice'].repo_job(dict(SPEC))
    bob = farm['bob']
    for call in (lambda: bob.get_job(job['id']),
                 lambda: bob.get_log(job['id']),
                 lambda: bob.cancel_job(job['id'])):
        with pytest.raises(exception.JobNotFound):
            call()
    assert bob.list_jobs() == []
    assert farm['alice'].get_job(job['id'])['state'] == 'queued'


def test_list_jobs_shows_the_callers_project(farm):
    alices = farm['alice'].repo_job(dict(SPEC))
    bobs = farm['bob'].repo_job(dict(SPEC))
    assert [j['id'] for j in farm['alice'].list_jobs()] == [alices['id']]
    assert [j['id'] for j in farm['oscar'].list_jobs()] == [alices['id']]
    everyone = {j['id'] for j in farm['oscar'].list_jobs(all_projects=True)}
    assert everyone == {alices['id'], bobs['id']}


def test_all_projects_needs_an_operator(farm):
    with pytest.raises(exception.Forbidden, match='all_projects'):
        farm['bob'].list_jobs(all_projects=True)
    assert farm['admin'].list_jobs(all_projects=True) == []


def test_operators_see_and_cancel_any_job(farm):
    job = farm['bob'].repo_job(dict(SPEC))
    for who in ('oscar', 'admin'):
        assert farm[who].get_job(job['id'])['user_id'] == 'bob'
        assert farm[who].get_log(job['id'])['data'] == ''
    assert farm['oscar'].cancel_job(job['id'])['state'] == 'cancelled'


@pytest.mark.parametrize('call', [
    lambda api: api.pool_list(),
    lambda api: api.pool_show('default'),
    lambda api: api.pool_set('default', max_nodes=2),
    lambda api: api.node_list(),
    lambda api: api.node_hold('n1', 60),
    lambda api: api.node_delete('n1'),
])
def test_operator_actions_are_forbidden_to_members(farm, call):
    with pytest.raises(exception.Forbidden, match='buildfarm:(pool|node)'):
        call(farm['bob'])


def test_operators_scale_pools(farm):
    assert farm['oscar'].pool_set('default', max_nodes=2)['max_nodes'] == 2
    assert farm['admin'].pool_show('default')['max_nodes'] == 2
    assert farm['oscar'].node_list() == []


def test_idempotency_keys_are_per_project(farm):
    job = farm['alice'].repo_job(dict(SPEC), idempotency_key='deploy-1')
    again = farm['alice'].repo_job(dict(SPEC), idempotency_key='deploy-1')
    assert again['id'] == job['id']
    # Keys are per project: bob's deploy-1 is a job of his own.
    theirs = farm['bob'].repo_job(dict(SPEC), idempotency_key='deploy-1')
    assert theirs['id'] != job['id']
    assert theirs['project_id'] == 'beta'
    assert farm['bob'].repo_job(dict(SPEC), idempotency_key='deploy-1')[
        'id'] == theirs['id']
