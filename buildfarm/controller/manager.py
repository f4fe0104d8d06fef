"""RPC endpoints of the controller, one class per API of ``rpcapi``."""

from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import schemas
from buildfarm.controller import validation
from buildfarm import exception
from buildfarm import jobspec

_expected = rpc.expected_exceptions(exception.BuildfarmError)


class ControllerManager:
    """Endpoints for callers and operators; see ``rpcapi.ControllerAPI``.

    Each checks its arguments against its schema (``schemas``) first.
    """

    target = rpc.target(rpcapi.ControllerAPI.RPC_API_VERSION)

    def __init__(self, jobs, operators):
        self.jobs = jobs
        self.operators = operators

    @_expected
    @validation.schema(schemas.repo_job)
    def repo_job(self, context, spec, idempotency_key=None, callback=None):
        return self.jobs.submit(spec, idempotency_key=idempotency_key,
                                callback=callback)

    @_expected
    @validation.schema(schemas.build_image)
    def build_image(self, context, spec, idempotency_key=None,
                    callback=None):
        return self.jobs.submit(spec, idempotency_key=idempotency_key,
                                kind=jobspec.BUILD_IMAGE,
                                callback=callback)

    @_expected
    @validation.schema(schemas.get_job)
    def get_job(self, context, job_id):
        return self.jobs.get_job(job_id)

    @_expected
    @validation.schema(schemas.list_jobs)
    def list_jobs(self, context, state=None, limit=None, marker=None,
                  all_projects=False):
        return self.jobs.list_jobs(state=state, limit=limit)

    @_expected
    @validation.schema(schemas.cancel_job)
    def cancel_job(self, context, job_id):
        return self.jobs.cancel(job_id)

    @_expected
    @validation.schema(schemas.get_log)
    def get_log(self, context, job_id, offset=0, length=65536):
        return self.jobs.get_log(job_id, offset, length)

    @_expected
    @validation.schema(schemas.pool_list)
    def pool_list(self, context):
        return self.operators.pool_list()

    @_expected
    @validation.schema(schemas.pool_show)
    def pool_show(self, context, label):
        return self.operators.pool_show(label)

    @_expected
    @validation.schema(schemas.pool_set)
    def pool_set(self, context, label, min_ready=None, max_nodes=None):
        return self.operators.pool_set(label, min_ready=min_ready,
                                       max_nodes=max_nodes)

    @_expected
    @validation.schema(schemas.node_list)
    def node_list(self, context):
        return self.operators.node_list()

    @_expected
    @validation.schema(schemas.node_hold)
    def node_hold(self, context, node_id, seconds):
        return self.operators.node_hold(node_id, seconds)

    @_expected
    @validation.schema(schemas.node_delete)
    def node_delete(self, context, node_id):
        return self.operators.node_delete(node_id)


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
