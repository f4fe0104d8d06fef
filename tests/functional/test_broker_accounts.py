"""Callers' broker accounts (tools/rabbitmq-caller-account.sh) on a real
RabbitMQ and controller: every caller call carries the caller's Keystone
token, so an account that could consume the controller's queue, or bind
one of its own to the controller's exchange, would collect the tokens of
all callers. The caller account can call, and the broker refuses it the
rest.
"""

import os
import secrets
import subprocess
import uuid

import kombu
import pytest

from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm import exception
from buildfarm import states

CALLER_ACCOUNT = os.path.join(os.path.dirname(__file__), '..', '..',
                              'tools', 'rabbitmq-caller-account.sh')
EXCHANGE = 'buildfarm'


def _caller_account(transport_url, topic):
    """Make a caller account on the vhost of ``transport_url``; return
    its transport URL."""
    vhost = transport_url.rsplit('/', 1)[1]
    user, password = vhost + '-caller', 'pw-%s' % secrets.token_hex(12)
    subprocess.run([CALLER_ACCOUNT, vhost, user, password, topic],
                   check=True, capture_output=True, timeout=120)
    return 'rabbit://%s:%s@127.0.0.1:5672/%s' % (user, password, vhost)


def _delete_account(url):
    rpc.forget_transport(url)
    user = url.split('//', 1)[1].split(':', 1)[0]
    subprocess.run(['rabbitmqctl', '-q', 'delete_user', user],
                   capture_output=True, timeout=60)


@pytest.fixture(scope='module')
def caller_url(farm):
    """The transport URL of a caller account on the farm's vhost."""
    url = _caller_account(farm.conf.transport_url, farm.conf.controller.topic)
    yield url
    _delete_account(url)


def _caller(farm, url, token=None):
    return rpcapi.ControllerAPI(rpc.get_transport(farm.conf, url),
                                farm.conf.controller.topic, timeout=30,
                                token=token)


def _refused(url, action):
    """The broker's refusal of ``action(channel)``, as text."""
    with kombu.Connection(url.replace('rabbit://', 'amqp://')) as connection:
        channel = connection.channel()
        with pytest.raises(Exception) as refused:
            action(channel)
        return str(refused.value)


def test_a_caller_account_calls_the_controller(clean_farm, caller_url,
                                               git_server):
    caller = _caller(clean_farm, caller_url)
    job = caller.repo_job({'git_url': git_server['url'], 'cmd': 'true'})
    assert clean_farm.wait(job['id'])['state'] == states.SUCCEEDED
    assert caller.get_job(job['id'])['state'] == states.SUCCEEDED
    assert job['id'] in [j['id'] for j in caller.list_jobs()]
    assert caller.pool_show('default')['min_ready'] == 0
    with pytest.raises(exception.JobNotFound):
        caller.get_job(str(uuid.uuid4()))


def test_a_caller_account_cannot_take_calls(clean_farm, caller_url):
    topic = clean_farm.conf.controller.topic
    server = clean_farm.service.conf.controller.controller_id
    # Not as an RPC server of the controller's topic ...
    received = []

    class Rogue:
        target = rpc.target('1.4')

        def list_jobs(self, ctxt, **kwargs):
            received.append(ctxt)
            return []

    rogue = rpc.get_server(rpc.get_transport(clean_farm.conf, caller_url),
                           topic, 'rogue', [Rogue()])
    with pytest.raises(rpc.MessagingException) as refused:
        rogue.start()
    assert 'ACCESS_REFUSED' in str(refused.value)
    # ... nor by hand: the controller's queues, by consuming, declaring,
    # purging, deleting them, or binding a queue or exchange of its own
    # to the controller's exchange (directly or as its alternate).
    for queue in (topic, '%s.%s' % (topic, server)):
        for action in (
                lambda ch: ch.basic_consume(queue, callback=print),
                lambda ch: ch.basic_get(queue),
                lambda ch: ch.queue_declare(queue),
                lambda ch: ch.queue_purge(queue),
                lambda ch: ch.queue_delete(queue)):
            assert 'ACCESS_REFUSED' in _refused(caller_url, action), queue
    assert 'ACCESS_REFUSED' in _refused(caller_url, lambda ch: (
        ch.queue_declare('%s_fanout_%s' % (topic, uuid.uuid4().hex))))
    own = 'reply_%s' % uuid.uuid4().hex

    def bind(key):
        def action(channel):
            channel.queue_declare(own, auto_delete=True)
            channel.queue_bind(own, EXCHANGE, key)
        return action
    for key in (topic, '#', '%s.%s' % (topic, server)):
        assert 'ACCESS_REFUSED' in _refused(caller_url, bind(key)), key
    assert 'ACCESS_REFUSED' in _refused(caller_url, lambda ch: (
        ch.exchange_declare(own, 'fanout', auto_delete=True),
        ch.exchange_bind(own, EXCHANGE, '#')))
    # Nor may it call anything but the controller's topic.
    assert 'ACCESS_REFUSED' in _refused(caller_url, lambda ch: (
        kombu.Producer(ch).publish('x', exchange=EXCHANGE,
                                   routing_key=topic + '-nodes'),
        ch.basic_qos(0, 1, False)))
    # Calls with a token still reach the controller, and only it.
    caller = _caller(clean_farm, caller_url, token='caller-token-secret')
    for _ in range(5):
        assert isinstance(caller.list_jobs(), list)
    assert received == []


def test_a_caller_account_cannot_redirect_the_exchange(make_vhost, request):
    # oslo.messaging declares the exchange before it publishes, so the
    # account may declare it, and so delete it: it must not then declare
    # it again with an alternate exchange of its own, which would collect
    # every call the controller's queue no longer gets. A vhost of its
    # own: the farm's exchange stays where it is.
    url = _caller_account(make_vhost(), 'buildfarm-controller')
    request.addfinalizer(lambda: _delete_account(url))
    own = 'reply_%s' % uuid.uuid4().hex
    refusal = _refused(url, lambda ch: (
        ch.exchange_declare(own, 'fanout', auto_delete=True),
        ch.exchange_declare(EXCHANGE, 'topic', durable=False,
                            auto_delete=False,
                            arguments={'alternate-exchange': own})))
    assert 'ACCESS_REFUSED' in refusal
    assert "exchange '%s'" % EXCHANGE in refusal
