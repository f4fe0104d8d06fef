"""Every caller and operator RPC method, fuzzed (Hypothesis) over the
real RabbitMQ, on a controller with the local driver: each call answers
with a result or a clear buildfarm error (the class the controller
raised, not a RemoteError), never a timeout; then another caller still
runs a job to its end and the control loop still ticks."""

import random
import uuid

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import states
from tests.functional import conftest
from tests import fuzz


@pytest.fixture(scope='module')
def farm(tmp_path_factory, make_vhost):
    # A uid range of its own: other tests' local nodes may run meanwhile.
    first = random.randrange(62000, 64900, 50)
    conf = conftest.controller_conf(
        tmp_path_factory.mktemp('fuzz'), make_vhost(),
        'bf-fuzz-%s' % uuid.uuid4().hex[:8],
        {('controller', 'driver'): 'local',
         ('controller', 'monitor_interval'): 1,
         ('local', 'job_uids'): '%d-%d' % (first, first + 49)})
    controller = service.ControllerService(conf)
    controller.ticks, tick = [], controller.scheduler.tick

    def counted(*args, **kwargs):
        controller.ticks.append(1)
        return tick(*args, **kwargs)

    controller.scheduler.tick = counted
    controller.start()
    yield controller
    controller.stop()
    rpc.forget_transport(conf.transport_url)
    rpc.forget_transport(conf.controller.node_transport_url)


def _raw_client(controller):
    """A client that calls any method with any arguments."""
    return rpc.get_client(controller.transport,
                          controller.conf.controller.topic,
                          rpcapi.ControllerAPI.RPC_API_VERSION, timeout=30)


def test_every_method_over_the_broker_then_a_job_runs(farm, git_server):
    client = _raw_client(farm)
    api = rpcapi.ControllerAPI(farm.transport, farm.conf.controller.topic)
    api.pool_set('default', max_nodes=2)
    answered = {}

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(fuzz.METHODS), data=st.data())
    def call(method, data):
        jobs = [j['id'] for j in farm.store.list_jobs(limit=20)]
        nodes = [n['id'] for n in farm.store.live_nodes()]
        args = data.draw(fuzz.arguments(method, jobs, nodes))
        try:
            result = client.call({}, method, **args)
        except rpc.MessagingException as e:
            raise AssertionError('%s(%.300r): %r' % (method, args, e))
        except Exception as e:
            fuzz.check_error(e)
        else:
            fuzz.check_result(result)
        answered[method] = answered.get(method, 0) + 1

    call()
    assert set(answered) == set(fuzz.METHODS)
    # Another caller: the jobs the fuzzing queued are cancelled, its own
    # runs to its end on a local node.
    other = rpcapi.ControllerAPI(farm.transport, farm.conf.controller.topic)
    other.pool_set('default', min_ready=0, max_nodes=2)
    for job in other.list_jobs(state=['queued', 'running'], limit=1000):
        other.cancel_job(job['id'])
    for node in other.node_list():
        if node['state'] == 'held':
            other.node_delete(node['id'])
    ticks = len(farm.ticks)
    job = other.repo_job({'git_url': git_server['url'], 'cmd': 'cat version'})
    job = conftest.wait_until(
        lambda: (lambda j: j if j['state'] in states.TERMINAL else None)(
            other.get_job(job['id'])), timeout=60, what='the job ended')
    assert job['state'] == states.SUCCEEDED, job['reason']
    assert job['commit'] == git_server['head']
    assert len(farm.ticks) > ticks
