"""Clients and endpoints of each RPC API agree on version and arguments."""

import inspect

import pytest

from buildfarm.agent import manager as agent_manager
from buildfarm.agent import rpcapi as agent_rpcapi
from buildfarm.controller import manager as controller_manager
from buildfarm.controller import rpcapi as controller_rpcapi

PAIRS = [
    (controller_rpcapi.ControllerAPI, controller_manager.ControllerManager,
     {'repo_job', 'build_image', 'get_job', 'list_jobs', 'cancel_job',
      'get_log', 'pool_list', 'pool_show', 'pool_set', 'node_list',
      'node_hold', 'node_delete'}),
    (controller_rpcapi.NodeCallbackAPI,
     controller_manager.NodeCallbackManager,
     {'agent_ready', 'heartbeat', 'log_chunk', 'report'}),
    (agent_rpcapi.AgentAPI, agent_manager.AgentManager,
     {'run_job', 'cancel_job'}),
]


@pytest.mark.parametrize('client,endpoint,methods', PAIRS)
def test_versions_agree(client, endpoint, methods):
    assert endpoint.target.version == client.RPC_API_VERSION


@pytest.mark.parametrize('client,endpoint,methods', PAIRS)
def test_every_client_method_has_an_endpoint(client, endpoint, methods):
    public = {n for n, _ in inspect.getmembers(client, inspect.isfunction)
              if not n.startswith('_')}
    assert public == methods
    for name in methods:
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
