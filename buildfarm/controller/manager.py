"""RPC endpoints of the controller, one class per API of ``rpcapi``."""

import functools

from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import schemas
from buildfarm.controller import validation
from buildfarm import exception
from buildfarm import jobspec

_expected = rpc.expected_exceptions(exception.BuildfarmError)


def _policy(rule):
    """An endpoint of the callers' API: its caller is authenticated and
    ``rule`` checked before anything else; the endpoint gets the
    caller's RequestContext instead of the raw RPC context."""
    def decorator(method):
        @functools.wraps(method)
        def endpoint(self, context, **kwargs):
            return method(self, self.auth.authorize(context, rule), **kwargs)
        endpoint = _expected(endpoint)
        endpoint.rule = rule
        return endpoint
    return decorator


class ControllerManager:
    """Endpoints for callers and operators; see ``rpcapi.ControllerAPI``.

    ``auth``: ``controller.auth``'s NoAuth or KeystoneAuth. Each
    endpoint authorizes its caller, then checks its arguments against its
    schema (``schemas``), before anything else.
    """

    target = rpc.target(rpcapi.ControllerAPI.RPC_API_VERSION)

    def __init__(self, jobs, operators, auth):
        self.jobs = jobs
        self.operators = operators
        self.auth = auth

    @_policy('buildfarm:job:repo_job')
    @validation.schema(schemas.repo_job)
    def repo_job(self, context, spec, idempotency_key=None, callback=None):
        return self.jobs.submit(context, spec,
                                idempotency_key=idempotency_key,
                                callback=callback)

    @_policy('buildfarm:job:build_image')
    @validation.schema(schemas.build_image)
    def build_image(self, context, spec, idempotency_key=None,
                    callback=None):
        return self.jobs.submit(context, spec,
                                idempotency_key=idempotency_key,
                                kind=jobspec.BUILD_IMAGE,
                                callback=callback)

    @_policy('buildfarm:job:get_job')
    @validation.schema(schemas.get_job)
    def get_job(self, context, job_id):
        return self.jobs.get_job(context, job_id)

    @_policy('buildfarm:job:list_jobs')
    @validation.schema(schemas.list_jobs)
    def list_jobs(self, context, state=None, limit=None, marker=None,
                  all_projects=False):
        return self.jobs.list_jobs(context, state=state, limit=limit,
                                   marker=marker, all_projects=all_projects)

    @_policy('buildfarm:job:cancel_job')
    @validation.schema(schemas.cancel_job)
    def cancel_job(self, context, job_id):
        return self.jobs.cancel(context, job_id)

    @_policy('buildfarm:job:get_log')
    @validation.schema(schemas.get_log)
    def get_log(self, context, job_id, offset=0, length=65536):
        return self.jobs.get_log(context, job_id, offset, length)

    @_policy('buildfarm:pool:list')
    @validation.schema(schemas.pool_list)
    def pool_list(self, context):
        return self.operators.pool_list()

    @_policy('buildfarm:pool:show')
    @validation.schema(schemas.pool_show)
    def pool_show(self, context, label):
        return self.operators.pool_show(label)

    @_policy('buildfarm:pool:set')
    @validation.schema(schemas.pool_set)
    def pool_set(self, context, label, min_ready=None, max_nodes=None):
        return self.operators.pool_set(context, label, min_ready=min_ready,
                                       max_nodes=max_nodes)

    @_policy('buildfarm:node:list')
    @validation.schema(schemas.node_list)
    def node_list(self, context):
        return self.operators.node_list()

    @_policy('buildfarm:node:hold')
    @validation.schema(schemas.node_hold)
    def node_hold(self, context, node_id, seconds):
        return self.operators.node_hold(context, node_id, seconds)

    @_policy('buildfarm:node:delete')
    @validation.schema(schemas.node_delete)
    def node_delete(self, context, node_id):
        return self.operators.node_delete(context, node_id)


class NodeCallbackManager:
    """Endpoints for agents; see ``rpcapi.NodeCallbackAPI``.

    Each message is checked against the node's secrets before anything
    else; a message that fails is dropped with AgentAuthError.
    """

    target = rpc.target(rpcapi.NodeCallbackAPI.RPC_API_VERSION,
                        namespace=rpcapi.NODE_NAMESPACE)

    def __init__(self, agents):
        self.agents = agents

    @_expected
    def agent_ready(self, context, node_id, facts, public_key, auth,
                    job_id=None):
        self.agents.verify(node_id, 'agent_ready', {
            'node_id': node_id, 'facts': facts, 'public_key': public_key,
            'job_id': job_id}, auth)
        return self.agents.agent_ready(node_id, facts, public_key, job_id)

    @_expected
    def heartbeat(self, context, node_id, job_id, facts, auth):
        self.agents.verify(node_id, 'heartbeat', {
            'node_id': node_id, 'job_id': job_id, 'facts': facts}, auth)
        return self.agents.heartbeat(node_id, job_id, facts)

    @_expected
    def log_chunk(self, context, node_id, job_id, seq, data, auth):
        self.agents.verify(node_id, 'log_chunk', {
            'node_id': node_id, 'job_id': job_id, 'seq': seq, 'data': data},
            auth)
        return self.agents.log_chunk(node_id, job_id, seq, data)

    @_expected
    def report(self, context, node_id, job_id, result, auth):
        self.agents.verify(node_id, 'report', {
            'node_id': node_id, 'job_id': job_id, 'result': result}, auth)
        return self.agents.report(node_id, job_id, result)
