"""The controller over the fake:// transport with the fake driver.

The tests play the agent: they register with the node's bootstrap secret
and sign later messages with its session key exactly as an agent does,
through the real NodeCallbackAPI.
"""

import configparser
import datetime
import json
import threading
import time

import pytest

from buildfarm.common import auth
from buildfarm.common import context
from buildfarm.common import rpc
from buildfarm.common import seal
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm.db import api as db_api
from buildfarm.drivers import base
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


class _Agent(rpcapi.NodeCallbackAPI):
    """An agent's client; its session key is the one the controller
    derives (the tests know the controller's key), so that a test can
    speak for a node that registered through another _Agent."""

    def __init__(self, controller, node_id, secret=None):
        self._bootstrap = secret or auth.node_secret(NODE_KEY, node_id)
        super().__init__(controller.node_transport,
                         rpcapi.node_topic(controller.conf), node_id,
                         self._bootstrap, timeout=10)
        self.use_session(secret or auth.session_key(NODE_KEY, node_id))

    def agent_ready(self, facts, job_id=None):
        private_key, public_key = seal.new_key_pair()
        session, self._secret = self._secret, self._bootstrap
        try:
            answer = super().agent_ready(facts, public_key, job_id)
        finally:
            self._secret = session
        assert seal.open_sealed(private_key, answer.pop('session')) == (
            auth.session_key(NODE_KEY, self.node_id))
        return answer


_agent = _Agent


def _containers(controller):
    return controller.drivers['fake'].client.containers.by_id


def _booted(controller, state=states.NODE_BOOTING, count=1):
    """Wait for ``count`` nodes in ``state`` whose container exists."""
    def nodes():
        found = [n for n in controller.store.live_nodes()
                 if n['state'] == state and n['external_id']]
        return found if len(found) >= count else None
    return _wait(nodes)


def _booting_late(controller, api, conf):
    """A job and the node booting for it (a test marked boot_timeout(1))."""
    assert controller.pools.get('default').boot_timeout == 1
    job = _submit(api)
    return job, _booted(controller)[0]


def _wait_given_up(controller, node):
    """Have the watchdog look until it gave up the booting ``node``."""
    _wait(lambda: controller.scheduler.check_nodes() or (
        controller.store.get_node(node['id'])['state'] in (
            states.NODE_DELETING, states.NODE_DELETED)))


def _run_on_new_node(controller, api, job):
    """Register the node booted for ``job``; return it once it runs it."""
    node = _booted(controller)[0]
    answer = _agent(controller, node['id']).agent_ready({'cpus': 2})
    assert answer == {'ack': True, 'job_id': job['id']}
    _wait(lambda: api.get_job(job['id'])['state'] == states.RUNNING)
    return controller.store.get_node(node['id'])


def test_a_registering_node_gets_its_job_once_both_are_written(
        controller, api):
    # The message is made (an upload credential minted) after the job is
    # running and the node in use: never between the two writes.
    seen = []
    controller.lifecycle.agents.run_job = lambda node_id, message: (
        seen.append((controller.store.get_node(node_id)['state'],
                     controller.store.get_job(message['id'])['state'])))
    job = _submit(api)
    _run_on_new_node(controller, api, job)
    assert seen == [(states.NODE_IN_USE, states.RUNNING)]


def test_a_job_runs_and_its_node_is_destroyed_after_the_report(
        controller, api):
    job = _submit(api)
    assert 'waiting for a node of default to boot' in api.get_job(
        job['id'])['wait_reason']
    node = _run_on_new_node(controller, api, job)
    assert node['job_id'] == job['id']
    agent = _agent(controller, node['id'])
    agent.log_chunk(job['id'], 0, 'hello\n')
    assert len(_containers(controller)) == 1
    ack = agent.report(job['id'], {
        'state': states.SUCCEEDED, 'exit_code': 0, 'commit': 'a' * 40,
        'reason': None, 'timings': {'clone': 0.5, 'run': 1.0}})
    assert ack == {'ack': True, 'duplicate': False}
    job = api.get_job(job['id'])
    assert (job['state'], job['exit_code'], job['commit'],
            job['attempt']) == (states.SUCCEEDED, 0, 'a' * 40, 1)
    assert {'queued', 'node_boot', 'agent_ready', 'clone', 'run',
            'report'} <= set(job['timings'])
    assert 'hello\n' in api.get_log(job['id'])['data']
    _wait(lambda: not _containers(controller))
    # A resent report (its ack was lost) is acknowledged as a duplicate,
    # even though the node is gone, and changes nothing.
    assert agent.report(job['id'], {'state': states.FAILED})['duplicate']
    assert api.get_job(job['id'])['state'] == states.SUCCEEDED


def test_a_warm_pool_serves_jobs_without_a_boot(controller, api):
    api.pool_set('default', min_ready=2)
    nodes = _booted(controller, count=2)
    for node in nodes:
        _agent(controller, node['id']).agent_ready({})
    assert api.pool_show('default')['nodes']['ready'] == 2
    job = _submit(api)
    _wait(lambda: api.get_job(job['id'])['state'] == states.RUNNING)
    assert api.get_job(job['id'])['node_id'] in {n['id'] for n in nodes}
    # The pool tops itself up to two idle nodes again.
    _booted(controller, count=1)
    pool = api.pool_show('default')
    assert (pool['nodes']['in-use'], pool['min_ready']) == (1, 2)


def test_jobs_wait_in_order_at_max_nodes_and_say_why(controller, api):
    api.pool_set('default', max_nodes=1)
    first, second = _submit(api), _submit(api)
    node = _run_on_new_node(controller, api, first)
    waiting = api.get_job(second['id'])
    assert waiting['state'] == states.QUEUED
    assert 'pool default is at max_nodes (1 of 1' in waiting['wait_reason']
    assert api.pool_show('default')['queued_jobs'] == 1
    _agent(controller, node['id']).report(first['id'],
                                          {'state': states.SUCCEEDED})
    _run_on_new_node(controller, api, second)


def test_pool_changes_survive_a_restart(conf):
    first = service.ControllerService(conf)
    first.start()
    first.operators.pool_set(context.RequestContext(), 'default',
                             min_ready=0, max_nodes=3)
    first.stop()
    second = service.ControllerService(conf)
    try:
        assert second.pools.get('default').max_nodes == 3
    finally:
        second.stop()


def test_a_bad_stored_pool_change_does_not_stop_the_control_loop(conf):
    # As an older controller stored pool_set('default', min_ready=0.5):
    # each tick failed with a TypeError, at every restart too.
    store = db_api.JobStore(conf.database.connection)
    store.upgrade()
    store.set_pool('default', min_ready=0.5)
    controller = service.ControllerService(conf)
    controller.start()
    try:
        api = rpcapi.ControllerAPI(controller.transport,
                                   conf.controller.topic, timeout=10)
        assert api.pool_show('default')['min_ready'] == 0
        job = _submit(api)
        _run_on_new_node(controller, api, job)
    finally:
        controller.stop()


def test_bad_pool_changes_are_refused(api):
    with pytest.raises(exception.InvalidPool, match='min_ready'):
        api.pool_set('default', min_ready=20, max_nodes=2)
    with pytest.raises(exception.InvalidJobSpec, match="Unknown label 'gpu'"):
        api.pool_set('gpu', min_ready=1)
    with pytest.raises(exception.InvalidJobSpec, match="Unknown label 'gpu'"):
        _submit(api, label='gpu')


def test_forged_and_misdirected_messages_are_rejected(controller, api):
    job1 = _submit(api)
    node1 = _run_on_new_node(controller, api, job1)
    job2 = _submit(api)
    node2 = _run_on_new_node(controller, api, job2)
    forged = _agent(controller, node1['id'], secret='guessed')
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        forged.report(job1['id'], {'state': states.SUCCEEDED})
    # Node 2's genuine credentials cannot speak for node 1's job.
    agent2 = _agent(controller, node2['id'])
    with pytest.raises(exception.AgentAuthError, match='not assigned'):
        agent2.report(job1['id'], {'state': states.SUCCEEDED})
    assert api.get_job(job1['id'])['state'] == states.RUNNING


def test_replays_and_the_spent_bootstrap_secret_are_rejected(
        controller, api):
    job = _submit(api)
    node = _run_on_new_node(controller, api, job)
    agent = _agent(controller, node['id'])
    payload = {'node_id': node['id'], 'job_id': job['id'], 'seq': 0,
               'data': 'once\n'}
    signed = auth.sign(auth.session_key(NODE_KEY, node['id']), 'log_chunk',
                       payload)
    assert agent.client.call({}, 'log_chunk', auth=signed, **payload) == {
        'ack': 0}
    with pytest.raises(exception.AgentAuthError, match='replayed'):
        agent.client.call({}, 'log_chunk', auth=signed, **payload)
    assert controller.memory.nonces.replays == 1
    # The bootstrap secret signed the registration and signs nothing else.
    bootstrap = auth.node_secret(NODE_KEY, node['id'])
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        _agent(controller, node['id'], secret=bootstrap).heartbeat(
            job['id'], {})
    assert api.get_log(job['id'])['data'].count('once') == 1


@pytest.mark.parametrize('seq,data', [(-1, 'x'), ('0', 'x'), (True, 'x'),
                                      (0, 5), (0, 'x' * 300000)])
def test_a_malformed_log_chunk_is_refused(controller, api, seq, data):
    job = _submit(api)
    node = _run_on_new_node(controller, api, job)
    with pytest.raises(exception.AgentAuthError, match='a chunk is'):
        _agent(controller, node['id']).log_chunk(job['id'], seq, data)


def test_the_caller_api_is_not_served_to_nodes(controller):
    """Nodes speak on the agent topic; caller and operator methods are
    not there (and, on a real broker, not on the nodes' vhost at all)."""
    client = rpc.get_client(controller.node_transport,
                            rpcapi.node_topic(controller.conf),
                            rpcapi.ControllerAPI.RPC_API_VERSION, timeout=5)
    with pytest.raises(Exception) as raised:
        client.call({}, 'pool_set', label='default', min_ready=5)
    assert 'pool_set' in str(raised.value)
    assert controller.pools.get('default').min_ready == 0


@pytest.mark.boot_timeout(1)
def test_a_node_that_never_registers_is_replaced(controller, api, conf):
    job, slow = _booting_late(controller, api, conf)
    _wait_given_up(controller, slow)
    job = api.get_job(job['id'])
    assert job['state'] == states.QUEUED
    assert 'did not register within 1 s' in job['wait_reason']
    # After the back-off, a fresh node is booted for it.
    controller.memory.pauses.clear()
    controller.scheduler.wake()
    fresh = _booted(controller)[0]
    assert fresh['id'] != slow['id']


@pytest.mark.boot_timeout(1)
def test_a_node_that_is_up_gets_until_register_by(controller, api, conf,
                                                  monkeypatch):
    job, late = _booting_late(controller, api, conf)
    driver = controller.drivers[late['driver']]
    register_by = db_api.utcnow() + datetime.timedelta(seconds=1.5)
    monkeypatch.setattr(driver, 'status', lambda node_id, external_id: (
        base.NodeStatus(True, register_by=register_by)))
    time.sleep(1.2)     # past boot_timeout, not past register_by
    controller.scheduler.check_nodes()
    assert controller.store.get_node(late['id'])['state'] == (
        states.NODE_BOOTING)
    time.sleep(0.5)     # past register_by
    controller.scheduler.check_nodes()
    assert controller.store.get_node(late['id'])['state'] in (
        states.NODE_DELETING, states.NODE_DELETED)
    assert 'is up but its agent did not register by' in (
        api.get_job(job['id'])['wait_reason'])


@pytest.mark.boot_timeout(1)
def test_a_failed_boot_is_handled_once_its_agent_logs_are_in(
        controller, api, conf, monkeypatch):
    job, slow = _booting_late(controller, api, conf)
    driver = controller.drivers[slow['driver']]
    fetched = threading.Event()
    monkeypatch.setattr(driver, 'agent_logs', lambda *args: (
        fetched.wait(10) and 'agent: Connection refused'))
    time.sleep(1.2)
    started = time.monotonic()
    controller.scheduler.check_nodes()
    # The control loop did not wait for them; the node is still there.
    assert time.monotonic() - started < 2
    assert controller.store.get_node(slow['id'])['state'] == (
        states.NODE_BOOTING)
    fetched.set()
    _wait(lambda: controller.scheduler.check_nodes() or (
        controller.store.get_node(slow['id'])['state'] != states.NODE_BOOTING))
    assert 'did not register within 1 s' in api.get_job(
        job['id'])['wait_reason']
    log = controller.logs.read(job['id'], 0, 10 ** 6)[0]
    assert 'agent log of node %s' % slow['id'] in log
    assert 'agent: Connection refused' in log


def test_the_watchdog_asks_each_driver_once_for_all_its_nodes(
        controller, api, monkeypatch):
    jobs = [_submit(api) for _ in range(3)]
    booting = _booted(controller, count=3)
    running = _run_on_new_node(controller, api, jobs[0])
    driver = controller.drivers['fake']
    asked = []
    monkeypatch.setattr(driver, 'statuses', lambda nodes: asked.append(
        dict(nodes)) or {n: base.NodeStatus(True) for n in nodes})
    controller.scheduler.check_nodes()
    assert [{n: w.external_id for n, w in a.items()} for a in asked] == [
        {n['id']: n['external_id'] for n in booting}]
    # The driver hears whose agent registered, and the label's settings.
    assert {n: w.registered for n, w in asked[0].items()} == {
        n['id']: n['id'] == running['id'] for n in booting}
    settings = controller.pools.get('default').settings
    assert all(w.settings == settings for w in asked[0].values())


def test_a_node_that_dies_mid_job_is_retried_then_fails(controller, api,
                                                        conf):
    conf.set_override('max_attempts', 2, 'controller')
    job = _submit(api)
    for attempt in (1, 2):
        node = _run_on_new_node(controller, api, job)
        _containers(controller)[node['external_id']].kill(137)
        controller.scheduler.check_nodes()
        seen = api.get_job(job['id'])
        assert seen['attempt'] == attempt
    assert seen['state'] == states.ERROR
    assert seen['reason'].startswith('node_failure: the container of node')
    assert 'exit code 137' in seen['reason']
    assert '(after 2 attempts)' in seen['reason']
    _wait(lambda: not _containers(controller))


def test_a_missing_worker_image_ends_the_job_with_advice(controller, api,
                                                         conf):
    conf.set_override('image', 'missing:latest', 'docker')
    conf.set_override('max_attempts', 2, 'controller')
    job = _submit(api)
    _wait(lambda: api.get_job(job['id'])['attempt'] == 1)
    controller.memory.pauses.clear()
    controller.scheduler.wake()
    job = _wait(lambda: (lambda j: j if j['state'] in states.TERMINAL
                         else None)(api.get_job(job['id'])))
    assert job['state'] == states.ERROR
    assert 'no node could be booted' in job['reason']
    assert 'buildfarm image build' in job['reason']
    assert not _containers(controller)


def test_cancel_while_queued_or_running(controller, api, conf):
    conf.set_override('cancel_grace', 1, 'controller')
    api.pool_set('default', max_nodes=1)
    job = _submit(api)
    queued = _submit(api)
    node = _run_on_new_node(controller, api, job)
    assert api.cancel_job(queued['id'])['state'] == states.CANCELLED
    assert api.cancel_job(job['id'])['state'] == states.RUNNING
    # The agent never confirms.
    job = _wait(lambda: controller.scheduler.check_nodes() or (
        lambda j: j if j['state'] != states.RUNNING else None)(
        api.get_job(job['id'])))
    assert job['state'] == states.CANCELLED
    assert 'did not confirm' in job['reason']
    _wait(lambda: node['external_id'] not in _containers(controller))


def test_idempotent_submit_returns_the_first_job(controller, api):
    first = api.repo_job({'git_url': 'https://example.com/r', 'cmd': 'x'},
                         idempotency_key='mistral-action-1')
    again = api.repo_job({'git_url': 'https://example.com/r', 'cmd': 'x'},
                         idempotency_key='mistral-action-1')
    other = api.repo_job({'git_url': 'https://example.com/r', 'cmd': 'x'},
                         idempotency_key='mistral-action-2')
    assert again['id'] == first['id'] != other['id']
    assert len(api.list_jobs()) == 2


def test_hold_keeps_a_node_after_its_job(controller, api):
    job = _submit(api)
    node = _run_on_new_node(controller, api, job)
    held = api.node_hold(node['id'], 3600)
    assert held['hold_until'] is not None
    _agent(controller, node['id']).report(job['id'],
                                          {'state': states.FAILED})
    assert controller.store.get_node(node['id'])['state'] == states.NODE_HELD
    assert node['external_id'] in _containers(controller)
    api.node_delete(node['id'])
    _wait(lambda: node['external_id'] not in _containers(controller))


def test_leaked_containers_are_reaped_on_second_sighting(controller):
    controller.scheduler.stop()   # no control loop reaping behind our back
    driver = controller.drivers['fake']
    client = driver.client
    leaked = client.containers.create(
        image=controller.conf.docker.image, name='leak',
        labels={'buildfarm.controller-id': 'buildfarm',
                'buildfarm.node-id': 'not-in-the-database'})
    assert controller.nodes.reap() == 0
    assert leaked.id in client.containers.by_id
    assert controller.nodes.reap() == 1
    assert leaked.id not in client.containers.by_id


def test_bad_input_is_refused_over_rpc(api):
    with pytest.raises(exception.InvalidJobSpec, match='timeout must be'):
        _submit(api, timeout=0)
    with pytest.raises(exception.InvalidJobSpec, match='does not serve'):
        _submit(api, git_url='file:///etc')
    with pytest.raises(exception.JobNotFound):
        api.get_job('6f1e2a40-1b2c-4d3e-8f00-0123456789ab')
    with pytest.raises(exception.InvalidInput,
                       match="get_job: job_id: 'no-such-job' is not a UUID"):
        api.get_job('no-such-job')
    with pytest.raises(exception.InvalidInput,
                       match="pool_set: min_ready: 0.5 is not of type"):
        api.pool_set('default', min_ready=0.5)
    with pytest.raises(exception.InvalidInput,
                       match="node_hold: seconds: '60' is not of type"):
        api.node_hold('6f1e2a40-1b2c-4d3e-8f00-0123456789ab', '60')


def test_credentials_in_the_url_are_never_stored(controller, api):
    job = _submit(api, git_url='https://user:s3cret@example.com/repo.git')
    assert 's3cret' not in repr(job)
    _run_on_new_node(controller, api, job)
    with controller.store.engine.connect() as connection:
        dump = '\n'.join(connection.connection.iterdump())
    assert 's3cret' not in dump


def test_restart_keeps_running_jobs_on_live_nodes(conf):
    first = service.ControllerService(conf)
    first.start()
    api = rpcapi.ControllerAPI(first.transport, conf.controller.topic)
    job = _submit(api)
    node = _run_on_new_node(first, api, job)
    client = first.drivers['fake'].client
    first.stop()
    second = service.ControllerService(conf)
    second.drivers['fake'].client = client   # the same "Docker engine"
    second.start()
    try:
        # The new driver is told, when asked about it, that the node's
        # agent is in.
        asked = []
        second.drivers['fake'].statuses = lambda nodes: asked.append(
            nodes) or {n: base.NodeStatus(True) for n in nodes}
        second.scheduler.check_nodes()   # and maybe its control loop
        assert asked and all(a == {node['id']: base.WatchedNode(
            node['external_id'], second.pools.get('default').settings,
            registered=True)} for a in asked)
        agent = _agent(second, node['id'])
        agent.report(job['id'], {'state': states.SUCCEEDED, 'exit_code': 0})
        shown = second.jobs.get_job(context.RequestContext(), job['id'])
        assert shown['state'] == states.SUCCEEDED
        _wait(lambda: not client.containers.by_id)
    finally:
        second.stop()


def test_shrinking_the_pool_removes_idle_nodes(controller, api):
    api.pool_set('default', min_ready=2)
    for node in _booted(controller, count=2):
        _agent(controller, node['id']).agent_ready({})
    _wait(lambda: api.pool_show('default')['nodes']['ready'] == 2)
    api.pool_set('default', min_ready=0)
    _wait(lambda: not _containers(controller))
    assert api.pool_show('default')['nodes']['ready'] == 0


def test_metrics_count_nodes_queue_and_rejections(controller, api):
    from prometheus_client import exposition
    api.pool_set('default', max_nodes=1)
    job, _ = _submit(api), _submit(api)
    node = _run_on_new_node(controller, api, job)
    with pytest.raises(exception.AgentAuthError):
        _agent(controller, node['id'], secret='forged').heartbeat(None, {})
    text = exposition.generate_latest(controller.metrics.registry).decode()
    assert 'buildfarm_nodes{label="default",state="in-use"} 1.0' in text
    assert 'buildfarm_queued_jobs{label="default"} 1.0' in text
    assert 'buildfarm_node_boots_total{label="default"} 1.0' in text
    assert ('buildfarm_agent_messages_rejected_total{method="heartbeat"} '
            '1.0') in text
    assert 'buildfarm_job_queue_wait_seconds_count{label="default"} 1.0' in (
        text)


def test_a_node_given_up_for_dead_cannot_end_the_retried_job(controller,
                                                             api):
    job = _submit(api)
    old = _run_on_new_node(controller, api, job)
    controller.lifecycle.node_failed(old, 'no heartbeat')   # but it lives on
    new = _run_on_new_node(controller, api, job)
    assert new['id'] != old['id']
    late = _agent(controller, old['id'])
    with pytest.raises(exception.AgentAuthError):
        late.log_chunk(job['id'], 0, 'stale output')
    with pytest.raises(exception.AgentAuthError, match='not assigned'):
        late.report(job['id'], {'state': states.FAILED})
    assert api.get_job(job['id'])['state'] == states.RUNNING
    _agent(controller, new['id']).report(job['id'],
                                         {'state': states.SUCCEEDED})
    assert api.get_job(job['id'])['state'] == states.SUCCEEDED


def test_a_quota_error_makes_jobs_wait_not_fail(controller, api):
    driver = controller.drivers['fake']
    real_create = driver.create
    calls = []

    def out_of_quota(spec):
        calls.append(spec.node_id)
        raise exception.QuotaExceeded('Quota exceeded for instances: 10 of '
                                      '10 used.')
    driver.create = out_of_quota
    job = _submit(api)
    _wait(lambda: calls)
    job = _wait(lambda: (lambda j: j if 'cloud quota' in (
        j.get('wait_reason') or '') else None)(api.get_job(job['id'])))
    assert job['state'] == states.QUEUED
    assert job['attempt'] == 0
    assert 'Quota exceeded for instances' in job['wait_reason']
    # Once the quota frees up, the job runs.
    driver.create = real_create
    controller.memory.pauses.clear()
    controller.scheduler.wake()
    _run_on_new_node(controller, api, job)


def _boot_job(controller, node):
    """The boot job the node's agent finds in its configuration file."""
    driver = controller.drivers['fake']
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(driver.agent_conf(node['id']))
    value = conf.get('agent', 'boot_job', fallback=None)
    return value and json.loads(value.replace('$$', '$'))


def test_a_node_booted_for_a_job_carries_it_and_runs_it_at_once(
        controller, api):
    job = _submit(api, cmd='echo "$HOME"', secret_env={'TOKEN': 's3cr3t'})
    node = _booted(controller)[0]
    boot_job = _boot_job(controller, node)
    assert boot_job['id'] == job['id']
    assert boot_job['spec']['cmd'] == 'echo "$HOME"'
    # The agent gets the secret; the database does not.
    assert boot_job['spec']['secret_env'] == {'TOKEN': 's3cr3t'}
    assert 's3cr3t' not in repr(controller.store.get_job(job['id']))
    sent = []
    controller.lifecycle.agents.run_job = lambda *args: sent.append(args)
    answer = _agent(controller, node['id']).agent_ready({}, job['id'])
    assert answer == {'ack': True, 'job_id': job['id']}
    assert api.get_job(job['id'])['state'] == states.RUNNING
    assert controller.store.get_node(node['id'])['state'] == (
        states.NODE_IN_USE)
    assert sent == []  # the agent already has it
    # The bootstrap secret is spent: a second registration (a job that
    # found it) is refused and changes nothing.
    with pytest.raises(exception.AgentAuthError, match='works once'):
        _agent(controller, node['id']).agent_ready({}, job['id'])
    assert api.get_job(job['id'])['state'] == states.RUNNING
    assert len(_containers(controller)) == 1


def test_a_job_cancelled_while_its_node_boots_takes_the_node_along(
        controller, api):
    job = _submit(api)
    node = _booted(controller)[0]
    assert api.cancel_job(job['id'])['state'] == states.CANCELLED
    _wait(lambda: not _containers(controller))
    # An agent that registers anyway is told to drop the job.
    with pytest.raises(exception.AgentAuthError):
        _agent(controller, node['id']).agent_ready({}, job['id'])


@pytest.mark.boot_timeout(1)
def test_a_job_whose_boot_node_died_gets_another_node(controller, api, conf):
    job, slow = _booting_late(controller, api, conf)
    _wait_given_up(controller, slow)
    controller.memory.pauses.clear()
    controller.scheduler.wake()
    fresh = _wait(lambda: [n for n in controller.store.live_nodes()
                           if n['id'] != slow['id'] and n['external_id']])[0]
    assert fresh['job_id'] == job['id']
    assert _boot_job(controller, fresh)['id'] == job['id']


def test_a_build_needs_an_image_service(api):
    with pytest.raises(exception.BuildfarmError,
                       match=r'set \[build_image\] image_endpoint or cloud'):
        api.build_image({'git_url': 'https://example.com/app.git',
                         'image_name': 'app'})


def test_a_build_on_nodes_that_cannot_build_images_is_refused(
        conf, controller, api, monkeypatch):
    conf.set_override('image_endpoint', 'http://glance.example:9292/',
                      'build_image')
    monkeypatch.setattr(controller.drivers['fake'], 'builds_images', False)
    with pytest.raises(exception.InvalidJobSpec,
                       match='Nodes of label default .* cannot build images'):
        api.build_image({'git_url': 'https://example.com/app.git',
                         'image_name': 'app'})
    assert controller.store.list_jobs() == []


def test_a_build_node_gets_the_upload_target_and_the_callers_token(
        conf, controller, api):
    conf.set_override('image_endpoint', 'http://glance.example:9292/',
                      'build_image')
    job = api.build_image({'git_url': 'https://example.com/app.git',
                           'image_name': 'app', 'token': 'tok-123'})
    assert job['kind'] == 'build_image'
    boot_job = _boot_job(controller, _booted(controller)[0])
    assert boot_job['kind'] == 'build_image'
    assert boot_job['upload']['endpoint'] == 'http://glance.example:9292'
    assert boot_job['upload']['token'] == 'tok-123'
    assert boot_job['spec']['token'] is None  # only in the upload target
    assert boot_job['upload']['max_bytes'] == 4096 * 2 ** 20
    assert 'tok-123' not in repr(controller.store.get_job(job['id']))


def test_a_build_whose_upload_token_cannot_be_had_ends_saying_why(
        conf, controller, api, tmp_path, monkeypatch):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'none.yaml'))
    conf.set_override('cloud', 'no-such-cloud', 'build_image')
    job = api.build_image({'git_url': 'https://example.com/app.git',
                           'image_name': 'app'})
    job = _wait(lambda: (lambda j: j if j['state'] in states.TERMINAL
                         else None)(api.get_job(job['id'])))
    assert job['state'] == states.ERROR
    assert job['reason'].startswith("The controller could not get a token "
                                    "and endpoint of cloud 'no-such-cloud'")
    assert not _containers(controller)


def test_a_callback_is_kept_with_the_job_and_checked(controller, api,
                                                     conf):
    spec = {'git_url': 'https://example.com/repo.git', 'cmd': 'true'}
    execution = '2b7c8f0e-5d4a-4e3b-9c21-0f1e2d3c4b5a'
    with pytest.raises(exception.InvalidJobSpec, match=r'set its \[mistral\]'):
        api.repo_job(spec, callback={'mistral_action_execution_id': execution})
    conf.set_override('url', 'http://127.0.0.1:9/v2', 'mistral')
    job = api.repo_job(spec, idempotency_key='k1', callback={
        'mistral_action_execution_id': execution})
    assert job['callback'] == {'mistral_action_execution_id': execution}
    assert job['callback_sent_at'] is None
    for bad in ({'mistral_action_execution_id': ''}, {'url': 'http://x'},
                {'mistral_action_execution_id': '../executions/OTHER-ID#'},
                'aex-1'):
        with pytest.raises(exception.InvalidInput, match='callback'):
            api.repo_job(spec, callback=bad)
        # Behind the schema, the submission itself checks it too.
        with pytest.raises(exception.InvalidJobSpec,
                           match='callback must be'):
            controller.jobs.submit(context.RequestContext(), spec,
                                   callback=bad)
