"""Clients of the controller's two RPC APIs.

``ControllerAPI`` is what callers (the CLI, Mistral actions) use. Job
submission returns at once with the job id; the job runs in the
background. Version history:

    1.0 - repo_job, get_job, list_jobs, cancel_job, get_log

``NodeCallbackAPI`` is what agents use; every message is signed with the
node's one-time secret. Version history:

    1.0 - agent_ready, heartbeat, log_chunk, report
"""

from buildfarm.common import auth
from buildfarm.common import rpc

NODE_NAMESPACE = 'node'


class ControllerAPI:

    RPC_API_VERSION = '1.0'

    def __init__(self, transport, topic, timeout=30):
        self.client = rpc.get_client(transport, topic, self.RPC_API_VERSION,
                                     timeout=timeout)

    def _call(self, method, **kwargs):
        return self.client.prepare().call({}, method, **kwargs)

    def repo_job(self, spec):
        """Validate and queue a repo_job; return the new job."""
        return self._call('repo_job', spec=spec)

    def get_job(self, job_id):
        return self._call('get_job', job_id=job_id)

    def list_jobs(self, state=None, limit=None):
        return self._call('list_jobs', state=state, limit=limit)

    def cancel_job(self, job_id):
        return self._call('cancel_job', job_id=job_id)

    def get_log(self, job_id, offset=0, length=65536):
        """Return ``{'data', 'offset', 'finished'}`` from ``offset`` on;
        ``finished`` is true once the job ended and all its log was read.
        """
        return self._call('get_log', job_id=job_id, offset=offset,
                          length=length)


class NodeCallbackAPI:

    RPC_API_VERSION = '1.0'

    def __init__(self, transport, topic, node_id, secret, timeout=30):
        self.node_id = node_id
        self._secret = secret
        self.client = rpc.get_client(
            transport, topic, self.RPC_API_VERSION,
            namespace=NODE_NAMESPACE, timeout=timeout)

    def _signed(self, method, payload):
        payload = dict(payload, node_id=self.node_id)
        return dict(payload, auth=auth.sign(self._secret, method, payload))

    def _call(self, method, **payload):
        return self.client.prepare().call(
            {}, method, **self._signed(method, payload))

    def agent_ready(self, facts):
        return self._call('agent_ready', facts=facts)

    def heartbeat(self, job_id, facts):
        self.client.prepare().cast(
            {}, 'heartbeat',
            **self._signed('heartbeat', {'job_id': job_id, 'facts': facts}))

    def log_chunk(self, job_id, seq, data):
        return self._call('log_chunk', job_id=job_id, seq=seq, data=data)

    def report(self, job_id, result):
        """Send the final report; returns once the controller stored it."""
        return self._call('report', job_id=job_id, result=result)
