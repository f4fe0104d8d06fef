"""Clients of the controller's two RPC APIs.

``ControllerAPI`` is what callers (the CLI, Mistral actions) use; they
get one from ``get_client``. Job submission returns at once with the job
id; the job runs in the background. Version history:

    1.0 - repo_job, get_job, list_jobs, cancel_job, get_log
    1.1 - repo_job takes idempotency_key; pool_list, pool_show, pool_set,
          node_list, node_hold, node_delete
    1.2 - build_image
    1.3 - repo_job and build_image take callback (a Mistral action
          execution to complete when the job ends)
    1.4 - list_jobs takes marker and all_projects. Every call carries the
          caller's Keystone token in its context ({'auth_token': ...})
          when the controller authenticates callers (auth_strategy
          keystone); jobs and their views have project_id and user_id

``NodeCallbackAPI`` is what agents use, on the nodes' own transport
and topic (``node_topic``): registration is signed with the node's
bootstrap secret, every later message with the session key it answers
(see ``common.auth``). Version history:

    1.0 - agent_ready, heartbeat, log_chunk, report
    1.1 - heartbeat is a call: its answer renews the agent's lease
    1.2 - agent_ready takes the id of the boot job the agent started and
          answers with the job the node may run
    2.0 - agent_ready takes the agent's public key and answers with the
          session key sealed to it; signatures carry a nonce
"""

from buildfarm.common import auth
from buildfarm.common import context
from buildfarm.common import rpc

NODE_NAMESPACE = 'node'


def node_topic(conf):
    """The topic of the controller's agent API: never the callers' one,
    so that nodes and callers can be kept apart even on one broker."""
    return conf.controller.topic + '-nodes'


def get_client(conf, transport=None, token=None):
    """The ControllerAPI for ``conf`` (topic and timeout of [controller]).

    ``transport``: default, the one of conf.transport_url; ``token``: as
    for ControllerAPI.
    """
    transport = transport or rpc.get_transport(conf)
    return ControllerAPI(transport, conf.controller.topic,
                         timeout=conf.controller.rpc_timeout, token=token)


class ControllerAPI:

    RPC_API_VERSION = '1.4'

    def __init__(self, transport, topic, timeout=30, token=None):
        """``token``: the caller's Keystone token, or a function that
        returns a valid one (a keystoneauth session's get_token, which
        renews it); None for a controller without authentication."""
        self.client = rpc.get_client(transport, topic, self.RPC_API_VERSION,
                                     timeout=timeout)
        self._token = token

    def _context(self):
        token = self._token() if callable(self._token) else self._token
        return context.RequestContext(auth_token=token).to_dict()

    def _call(self, method, version='1.0', **kwargs):
        return self.client.prepare(version=version).call(
            self._context(), method, **kwargs)

    def repo_job(self, spec, idempotency_key=None, callback=None):
        """Validate and queue a repo_job; return the new job.

        Submitting again with the same ``idempotency_key`` returns the
        job of the first submission instead of a second job. With a
        ``callback`` ({'mistral_action_execution_id': ID}), the controller
        completes that Mistral action execution when the job ends.
        """
        if callback is not None:
            return self._call('repo_job', '1.3', spec=spec,
                              idempotency_key=idempotency_key,
                              callback=callback)
        if idempotency_key is None:
            return self._call('repo_job', spec=spec)
        return self._call('repo_job', '1.1', spec=spec,
                          idempotency_key=idempotency_key)

    def build_image(self, spec, idempotency_key=None, callback=None):
        """Validate and queue a build_image job; return the new job.

        The job's ``image_id`` is the Glance image once it succeeded.
        ``callback``: as for repo_job.
        """
        if callback is not None:
            return self._call('build_image', '1.3', spec=spec,
                              idempotency_key=idempotency_key,
                              callback=callback)
        return self._call('build_image', '1.2', spec=spec,
                          idempotency_key=idempotency_key)

    def get_job(self, job_id):
        return self._call('get_job', job_id=job_id)

    def list_jobs(self, state=None, limit=None, marker=None,
                  all_projects=False):
        """Jobs of the caller's project, newest first: ``limit`` of them
        (100 without one, 1000 at most) after the job ``marker`` (the id
        of the last job of the previous page); with ``all_projects``
        (operators), of every project."""
        if marker is None and not all_projects:
            return self._call('list_jobs', state=state, limit=limit)
        return self._call('list_jobs', '1.4', state=state, limit=limit,
                          marker=marker, all_projects=all_projects)

    def cancel_job(self, job_id):
        return self._call('cancel_job', job_id=job_id)

    def get_log(self, job_id, offset=0, length=65536):
        """Return ``{'data', 'offset', 'finished'}`` from ``offset`` on;
        ``finished`` is true once the job ended and all its log was read.
        """
        return self._call('get_log', job_id=job_id, offset=offset,
                          length=length)

    def pool_list(self):
        """Each label: its limits, its nodes by state, its queued jobs."""
        return self._call('pool_list', '1.1')

    def pool_show(self, label):
        return self._call('pool_show', '1.1', label=label)

    def pool_set(self, label, min_ready=None, max_nodes=None):
        """Change a pool at run time (kept across restarts)."""
        return self._call('pool_set', '1.1', label=label,
                          min_ready=min_ready, max_nodes=max_nodes)

    def node_list(self):
        return self._call('node_list', '1.1')

    def node_hold(self, node_id, seconds):
        """Keep a node (after its job ends) for ``seconds``."""
        return self._call('node_hold', '1.1', node_id=node_id,
                          seconds=seconds)

    def node_delete(self, node_id):
        """Destroy a node now; a job on it is retried elsewhere."""
        return self._call('node_delete', '1.1', node_id=node_id)


class NodeCallbackAPI:

    RPC_API_VERSION = '2.0'

    def __init__(self, transport, topic, node_id, secret, timeout=30):
        """``secret``: the node's bootstrap secret, for its registration;
        then ``use_session``."""
        self.node_id = node_id
        self._secret = secret
        self.client = rpc.get_client(
            transport, topic, self.RPC_API_VERSION,
            namespace=NODE_NAMESPACE, timeout=timeout)

    def use_session(self, session_key):
        self._secret = session_key

    def _call(self, method, **payload):
        payload = dict(payload, node_id=self.node_id)
        return self.client.call({}, method, auth=auth.sign(
            self._secret, method, payload), **payload)

    def agent_ready(self, facts, public_key, job_id=None):
        """Register the node; ``job_id``: the boot job it started;
        ``public_key``: what the session key is sealed to.

        Answers ``{'job_id': ..., 'session': ...}``: the boot job, if the
        node may go on with it (None if it was cancelled meanwhile), and
        the sealed session key.
        """
        return self._call('agent_ready', facts=facts, public_key=public_key,
                          job_id=job_id)

    def heartbeat(self, job_id, facts):
        """Returns once the controller heard it (the agent's lease)."""
        return self._call('heartbeat', job_id=job_id, facts=facts)

    def log_chunk(self, job_id, seq, data):
        return self._call('log_chunk', job_id=job_id, seq=seq, data=data)

    def report(self, job_id, result):
        """Send the final report; returns once the controller stored it."""
        return self._call('report', job_id=job_id, result=result)
