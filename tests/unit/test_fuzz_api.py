"""Every caller and operator RPC method, fuzzed (Hypothesis) on a real
controller (fake driver, SQLite): each call answers with a result or a
clear buildfarm error, never another exception; afterwards the
controller still runs a job to its end and its control loop never
failed.

The tests of this module share one controller, in order: the fuzzing,
then the check that it still serves.
"""

import uuid

from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import states
from tests import fuzz
from tests.unit import conftest
from tests.unit import test_controller as helpers


@pytest.fixture(scope='module')
def controller(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('fuzz')
    conf = config.load([], default_config_files=[])
    url = 'fake://fuzz-%s/' % uuid.uuid4().hex
    conf.set_override('transport_url', url)
    conf.set_override('auth_strategy', 'noauth')
    conf.set_override('connection', 'sqlite:///%s/db.sqlite' % tmp,
                      'database')
    conf.set_override('log_dir', str(tmp / 'logs'), 'controller')
    conf.set_override('driver', 'fake', 'controller')
    conf.set_override('node_secret_key', conftest.NODE_KEY, 'controller')
    conf.set_override('monitor_interval', 3600, 'controller')
    ctl = service.ControllerService(conf)
    # Every pass of the control loop, counted; what fails, kept.
    ctl.ticks, ctl.tick_errors, tick = [], [], ctl.scheduler.tick

    def counted(*args, **kwargs):
        try:
            return tick(*args, **kwargs)
        except Exception as e:
            ctl.tick_errors.append(e)
            raise
        finally:
            ctl.ticks.append(1)

    ctl.scheduler.tick = counted
    ctl.start()
    # Something to find: a job with a log, a node.
    api = rpcapi.ControllerAPI(ctl.transport, conf.controller.topic)
    ctl.endpoint = ctl.server.dispatcher.endpoints[0]
    api.repo_job({'git_url': 'https://example.com/r.git', 'cmd': 'true'})
    helpers._booted(ctl)
    yield ctl
    ctl.stop()
    rpc.forget_transport(url)


def _call(controller, method, args):
    try:
        result = getattr(controller.endpoint, method)({}, **args)
    except Exception as e:
        # oslo.messaging's expected_exceptions wraps what it expects
        # (buildfarm errors); anything else is a bug.
        fuzz.check_error(getattr(e, 'exc_info', (None, e))[1])
    else:
        fuzz.check_result(result)


@pytest.mark.parametrize('method', fuzz.METHODS)
def test_every_method_answers_any_input_clearly(controller, method):
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz_method(data):
        jobs = [j['id'] for j in controller.store.list_jobs(limit=20)]
        nodes = [n['id'] for n in controller.store.live_nodes()]
        _call(controller, method,
              data.draw(fuzz.arguments(method, jobs, nodes)))

    fuzz_method()
    assert controller.tick_errors == []


@pytest.mark.parametrize('name', ['target', 'jobs', 'auth', 'operators',
                                  '_policy', 'no_such_method'])
def test_only_endpoint_methods_can_be_called(controller, name):
    api = rpcapi.ControllerAPI(controller.transport,
                               controller.conf.controller.topic, timeout=10)
    # (The fake transport raises the server's exception itself.)
    with pytest.raises(Exception) as e:
        api.client.call({}, name)
    assert type(e.value).__name__ == 'NoSuchMethod'


def test_the_controller_still_runs_a_job_and_ticks(controller):
    api = rpcapi.ControllerAPI(controller.transport,
                               controller.conf.controller.topic, timeout=10)
    # Clear what the fuzzing left: jobs, nodes (some held for days).
    api.pool_set('default', min_ready=0, max_nodes=2)
    for job in api.list_jobs(state=['queued', 'running'], limit=1000):
        api.cancel_job(job['id'])
    for node in api.node_list():
        api.node_delete(node['id'])
    helpers._wait(lambda: not helpers._containers(controller))
    ticks = len(controller.ticks)
    job = api.repo_job({'git_url': 'https://example.com/r.git',
                        'cmd': 'true'})
    node = helpers._booted(controller)[0]
    agent = helpers._agent(controller, node['id'])
    assert agent.agent_ready({}, job['id'])['job_id'] == job['id']
    agent.report(job['id'], {'state': states.SUCCEEDED, 'exit_code': 0,
                             'commit': 'a' * 40})
    assert api.get_job(job['id'])['state'] == states.SUCCEEDED
    assert len(controller.ticks) > ticks
    assert controller.tick_errors == []
