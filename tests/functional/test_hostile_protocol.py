"""Hostile jobs against the farm's protocol, on real Docker nodes and a
real RabbitMQ: whatever a job finds or captures, its node's broker
account and messages get it nothing.

The test plays the job that became root in its node and found what the
agent holds (the test knows the controller's key, so it can derive what
a node's agent has in memory): every attack must fail, the job still
ends as it should, and the counters show the rejections.
"""

import kombu
import pytest

from buildfarm.common import auth
from buildfarm.common import rpc
from buildfarm.common import seal
from buildfarm.controller import rpcapi
from buildfarm import exception
from buildfarm import states
from tests.functional import conftest


def _running(farm, git_server, seconds=8):
    job = farm.submit(git_url=git_server['url'],
                      cmd='echo up; sleep %d; echo done' % seconds)
    farm.wait_for_log(job['id'], 'up\n')
    job = farm.api.get_job(job['id'])
    return job, job['node_id']


def _node_amqp(farm):
    return farm.conf.node.transport_url.replace('rabbit://', 'amqp://')


def _refused(url, action):
    """The broker's refusal of ``action(channel)``, as text."""
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        with pytest.raises(Exception) as refused:
            action(channel)
        return str(refused.value)


def test_a_nodes_account_cannot_reach_the_caller_or_operator_api(
        clean_farm, git_server, request):
    job, node_id = _running(clean_farm, git_server)
    node_url = clean_farm.conf.node.transport_url
    node_transport = rpc.get_transport(clean_farm.conf, node_url)
    request.addfinalizer(lambda: rpc.forget_transport(node_url))
    intruder = rpcapi.ControllerAPI(node_transport,
                                    clean_farm.conf.controller.topic,
                                    timeout=5)
    for attempt in (lambda: intruder.pool_set('default', min_ready=3),
                    lambda: intruder.node_delete(node_id),
                    lambda: intruder.cancel_job(job['id']),
                    lambda: intruder.list_jobs()):
        with pytest.raises(rpc.MessagingException):
            attempt()
    # Nor on the agent topic: the nodes' server has no caller methods.
    on_agent_topic = rpc.get_client(
        node_transport, rpcapi.node_topic(clean_farm.conf),
        rpcapi.ControllerAPI.RPC_API_VERSION, timeout=5)
    with pytest.raises(Exception):
        on_agent_topic.call({}, 'list_jobs')
    assert clean_farm.api.pool_show('default')['min_ready'] == 0
    assert clean_farm.wait(job['id'])['state'] == states.SUCCEEDED


def test_a_nodes_account_cannot_take_other_nodes_messages(clean_farm,
                                                          git_server):
    job, node_id = _running(clean_farm, git_server)
    url = _node_amqp(clean_farm)
    # The controller's queue (every node's reports) is not the node's.
    assert 'ACCESS_REFUSED' in _refused(url, lambda ch: ch.basic_consume(
        'buildfarm-controller-nodes', callback=print))

    def bind(routing_key):
        def action(channel):
            channel.queue_declare('reply_0bad', auto_delete=True)
            channel.queue_bind('reply_0bad', 'buildfarm', routing_key)
        return action
    # No wildcard, nor the key of the controller's or another agent's
    # queue without its secret part.
    for key in ('#', 'buildfarm-agent.*', 'buildfarm-controller-nodes',
                'buildfarm-agent.%s' % node_id):
        assert 'ACCESS_REFUSED' in _refused(url, bind(key)), key
    # The name of the node's queue holds a part only it can derive, so
    # consuming it by the name a job could guess finds nothing.
    guessed = 'buildfarm-agent.%s' % node_id
    assert 'NOT_FOUND' in _refused(url, lambda ch: ch.queue_declare(
        guessed, passive=True))
    assert clean_farm.wait(job['id'])['state'] == states.SUCCEEDED


def test_forged_and_replayed_messages_are_dropped_and_counted(
        clean_farm, git_server):
    job, node_id = _running(clean_farm, git_server, seconds=12)
    transport = clean_farm.service.node_transport
    server = auth.agent_server(auth.node_secret(conftest.NODE_KEY, node_id),
                               node_id)
    to_agent = rpc.get_client(transport, rpc.AGENT_TOPIC, '2.0').prepare(
        server=server)
    # A raw job as the old API sent it, and a box sealed with a guess:
    # neither runs anything.
    to_agent.cast({}, 'run_job', job={'id': 'x', 'kind': 'repo_job',
                                      'spec': {'cmd': 'touch /tmp/pwned'}})
    forged = seal.seal('guessed', 'cancel_job', node_id,
                       {'job_id': job['id']})
    to_agent.cast({}, 'deliver', box=forged)
    # A genuine box, captured and replayed: the agent drops the copy
    # (counted). (A run_job of the job the node runs already, which the
    # agent ignores, so that the job goes on.)
    genuine = seal.seal(auth.session_key(conftest.NODE_KEY, node_id),
                        'run_job', node_id, {'job': {
                            'id': job['id'], 'kind': 'repo_job',
                            'spec': job['spec']}})
    to_agent.cast({}, 'deliver', box=genuine)
    to_agent.cast({}, 'deliver', box=genuine)
    conftest.wait_until(
        lambda: clean_farm.service.store.get_node(node_id)['facts'].get(
            'rejected_messages') == 2,
        timeout=30, what='the agent counting a forged and a replayed box')
    # A log chunk signed with the session key, replayed.
    agent = rpcapi.NodeCallbackAPI(
        transport, rpcapi.node_topic(clean_farm.conf), node_id,
        auth.session_key(conftest.NODE_KEY, node_id), timeout=10)
    payload = {'node_id': node_id, 'job_id': job['id'], 'seq': 10 ** 6,
               'data': 'injected\n'}
    signed = auth.sign(auth.session_key(conftest.NODE_KEY, node_id),
                       'log_chunk', payload)
    agent.client.call({}, 'log_chunk', auth=signed, **payload)
    with pytest.raises(exception.AgentAuthError, match='replayed'):
        agent.client.call({}, 'log_chunk', auth=signed, **payload)
    assert clean_farm.service.memory.nonces.replays >= 1
    assert clean_farm.wait(job['id'])['state'] == states.SUCCEEDED


def test_the_bootstrap_secret_works_once(clean_farm, git_server):
    job, node_id = _running(clean_farm, git_server)
    # What a job could find in user data or the configuration file.
    bootstrap = auth.node_secret(conftest.NODE_KEY, node_id)
    thief = rpcapi.NodeCallbackAPI(
        clean_farm.service.node_transport,
        rpcapi.node_topic(clean_farm.conf), node_id, bootstrap, timeout=10)
    _, public_key = seal.new_key_pair()
    with pytest.raises(exception.AgentAuthError, match='works once'):
        thief.agent_ready({}, public_key, job['id'])
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        thief.report(job['id'], {'state': states.FAILED, 'exit_code': 1})
    assert clean_farm.wait(job['id'])['state'] == states.SUCCEEDED
