"""Clients and endpoints of each RPC API agree on version and arguments."""

import inspect

import pytest

from buildfarm.agent import manager as agent_manager
from buildfarm.agent import rpcapi as agent_rpcapi
from buildfarm.controller import manager as controller_manager
from buildfarm.controller import rpcapi as controller_rpcapi

CONTROLLER_API = {'repo_job', 'build_image', 'get_job', 'list_jobs',
                  'cancel_job', 'get_log', 'pool_list', 'pool_show',
                  'pool_set', 'node_list', 'node_hold', 'node_delete'}
NODE_API = {'agent_ready', 'heartbeat', 'log_chunk', 'report'}
# (client, its public methods, endpoint, the endpoint's methods)
PAIRS = [
    (controller_rpcapi.ControllerAPI, CONTROLLER_API,
     controller_manager.ControllerManager, CONTROLLER_API),
    (controller_rpcapi.NodeCallbackAPI, NODE_API | {'use_session'},
     controller_manager.NodeCallbackManager, NODE_API),
    # Every agent method travels sealed in one "deliver".
    (agent_rpcapi.AgentAPI, {'run_job', 'cancel_job'},
     agent_manager.AgentManager, {'deliver'}),
]


@pytest.mark.parametrize('client,methods,endpoint,endpoints', PAIRS)
def test_versions_agree(client, methods, endpoint, endpoints):
    assert endpoint.target.version == client.RPC_API_VERSION


@pytest.mark.parametrize('client,methods,endpoint,endpoints', PAIRS)
def test_every_client_method_has_an_endpoint(client, methods, endpoint,
                                             endpoints):
    public = {n for n, _ in inspect.getmembers(client, inspect.isfunction)
              if not n.startswith('_')}
    assert public == methods
    for name in endpoints:
        assert callable(getattr(endpoint, name)), name


def test_node_callbacks_use_their_own_namespace():
    assert (controller_manager.NodeCallbackManager.target.namespace ==
            controller_rpcapi.NODE_NAMESPACE)
    assert controller_manager.ControllerManager.target.namespace is None


def test_get_client_takes_topic_and_timeout_from_the_configuration(conf):
    conf.set_override('topic', 'another-controller', 'controller')
    conf.set_override('rpc_timeout', 7, 'controller')
    api = controller_rpcapi.get_client(conf)
    assert api.client.target.topic == 'another-controller'
    assert api.client.timeout == 7


def test_calls_carry_the_token_in_their_context(conf):
    tokens = iter(['first', 'renewed'])
    api = controller_rpcapi.get_client(conf, token=lambda: next(tokens))
    assert api._context() == {'auth_token': 'first'}
    assert api._context() == {'auth_token': 'renewed'}
    assert controller_rpcapi.get_client(conf)._context() == {}


def test_list_jobs_asks_for_1_4_only_for_its_new_arguments(conf):
    api = controller_rpcapi.get_client(conf)
    asked = []
    api._call = lambda method, version='1.0', **kw: asked.append(version)
    api.list_jobs(state='queued')
    api.list_jobs(all_projects=True)
    api.list_jobs(marker='job-1')
    assert asked == ['1.0', '1.4', '1.4']
