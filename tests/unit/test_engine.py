"""The controller engine over the fake:// transport with the fake driver.

The tests play the agent: they sign messages with the node's secret
exactly as an agent does, through the real NodeCallbackAPI.
"""

import time

import pytest

from buildfarm.common import auth
from buildfarm.controller import rpcapi
from buildfarm import exception
from buildfarm import states
from tests.unit.conftest import NODE_KEY


def _wait(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError('condition not met in %s s' % timeout)


@pytest.fixture
def api(controller):
    return rpcapi.ControllerAPI(controller.transport,
                                controller.conf.controller.topic, timeout=10)


def _submit(api, **spec):
    spec.setdefault('git_url', 'https://example.com/repo.git')
    spec.setdefault('cmd', 'true')
    return api.repo_job(spec)


def _node(controller, job_id):
    job = _wait(lambda: (lambda j: j if j['node_id'] and
                         controller.store.get_node(j['node_id'])['external_id']
                         else None)(controller.store.get_job(job_id)))
    return controller.store.get_node(job['node_id'])


def _agent(controller, node_id, secret=None):
    return rpcapi.NodeCallbackAPI(
        controller.transport, controller.conf.controller.topic, node_id,
        secret or auth.node_secret(NODE_KEY, node_id), timeout=10)


def _containers(controller):
    return controller.driver.client.containers.by_id


def test_a_job_runs_and_its_node_is_destroyed_after_the_report(
        controller, api):
    job = _submit(api)
    node = _node(controller, job['id'])
    agent = _agent(controller, node['id'])
    assert agent.agent_ready({'cpus': 2}) == {'job_id': job['id']}
    assert api.get_job(job['id'])['state'] == states.RUNNING
    agent.log_chunk(job['id'], 0, 'hello\n')
    assert len(_containers(controller)) == 1
    ack = agent.report(job['id'], {
        'state': states.SUCCEEDED, 'exit_code': 0, 'commit': 'a' * 40,
        'reason': None, 'timings': {'clone': 0.5, 'run': 1.0}})
    assert ack == {'ack': True, 'duplicate': False}
    job = api.get_job(job['id'])
    assert (job['state'], job['exit_code'], job['commit']) == (
        states.SUCCEEDED, 0, 'a' * 40)
    assert set(job['timings']) == {'queued', 'node_boot', 'agent_ready',
                                   'clone', 'run', 'report'}
    assert 'hello\n' in api.get_log(job['id'])['data']
    _wait(lambda: not _containers(controller))
    # A resent report (its ack was lost) is acknowledged as a duplicate,
    # even though the node is gone, and changes nothing.
    assert agent.report(job['id'], {'state': states.FAILED})['duplicate']
    assert api.get_job(job['id'])['state'] == states.SUCCEEDED


def test_forged_and_misdirected_messages_are_rejected(controller, api):
    job1, job2 = _submit(api), _submit(api)
    node1 = _node(controller, job1['id'])
    node2 = _node(controller, job2['id'])
    forged = _agent(controller, node1['id'], secret='guessed')
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        forged.agent_ready({})
    # Node 2's genuine credentials cannot speak for node 1's job.
    agent2 = _agent(controller, node2['id'])
    with pytest.raises(exception.AgentAuthError, match='not assigned'):
        agent2.report(job1['id'], {'state': states.SUCCEEDED})
    assert api.get_job(job1['id'])['state'] == states.BOOTING


def test_a_node_that_never_registers_ends_the_job(controller, api, conf):
    conf.set_override('boot_timeout', 1, 'controller')
    job = _submit(api)
    _node(controller, job['id'])
    time.sleep(1.5)
    controller.engine.check_nodes()
    job = api.get_job(job['id'])
    assert job['state'] == states.ERROR
    assert 'did not register within 1 s' in job['reason']
    _wait(lambda: not _containers(controller))


def test_a_node_that_dies_mid_job_ends_it_with_node_failure(controller, api):
    job = _submit(api)
    node = _node(controller, job['id'])
    _agent(controller, node['id']).agent_ready({})
    _containers(controller)[node['external_id']].kill(137)
    controller.engine.check_nodes()
    job = api.get_job(job['id'])
    assert job['state'] == states.ERROR
    assert job['reason'].startswith('node_failure:')
    assert 'exit code 137' in job['reason']
    _wait(lambda: not _containers(controller))


def test_a_missing_worker_image_ends_the_job_with_advice(controller, api,
                                                         conf):
    conf.set_override('image', 'missing:latest', 'docker')
    job = _submit(api)
    job = _wait(lambda: (lambda j: j if j['state'] in states.TERMINAL
                         else None)(api.get_job(job['id'])))
    assert job['state'] == states.ERROR
    assert 'buildfarm image build' in job['reason']
    assert not _containers(controller)


def test_cancel_while_queued_or_running(controller, api, conf):
    conf.set_override('cancel_grace', 1, 'controller')
    job = _submit(api)
    node = _node(controller, job['id'])
    _agent(controller, node['id']).agent_ready({})
    assert api.cancel_job(job['id'])['state'] == states.RUNNING
    time.sleep(1.2)   # the agent never confirms
    controller.engine.check_nodes()
    job = api.get_job(job['id'])
    assert job['state'] == states.CANCELLED
    assert 'did not confirm' in job['reason']
    _wait(lambda: not _containers(controller))


def test_bad_input_is_refused_over_rpc(api):
    with pytest.raises(exception.InvalidJobSpec, match='timeout must be'):
        _submit(api, timeout=0)
    with pytest.raises(exception.InvalidJobSpec, match='does not serve'):
        _submit(api, git_url='file:///etc')
    with pytest.raises(exception.JobNotFound):
        api.get_job('no-such-job')


def test_credentials_in_the_url_are_never_stored(controller, api):
    job = _submit(api, git_url='https://user:s3cret@example.com/repo.git')
    assert 's3cret' not in repr(job)
    node = _node(controller, job['id'])
    agent = _agent(controller, node['id'])
    agent.agent_ready({})
    with controller.engine.store.engine.connect() as connection:
        dump = '\n'.join(connection.connection.iterdump())
    assert 's3cret' not in dump


def test_restart_ends_jobs_whose_node_it_lost(conf):
    from buildfarm.controller import service
    first = service.ControllerService(conf)
    first.start()
    api = rpcapi.ControllerAPI(first.transport, conf.controller.topic,
                               timeout=10)
    job = _submit(api)
    _node(first, job['id'])
    first.stop()
    second = service.ControllerService(conf)
    second.start()
    try:
        job = second.engine.get_job(job['id'])
        assert job['state'] == states.ERROR
        assert 'controller restarted' in job['reason']
        assert all(n['state'] in (states.NODE_DELETING, states.NODE_DELETED)
                   for n in [second.store.get_node(job['node_id'])])
    finally:
        second.stop()
