"""Mistral actions (mistral-lib) that drive the farm, registered under the
``mistral.actions`` entry point group.

Each talks to the controller through its RPC client
(``buildfarm.controller.rpcapi.get_client``), as the CLI does. The
broker comes from the buildfarm configuration of the Mistral host (the
file named by $BUILDFARM_CONFIG_FILE, else oslo.config's default places
such as /etc/buildfarm/buildfarm.conf) or, less safely since Mistral
stores action inputs, from the ``transport_url`` input.

``buildfarm.repo_job`` and ``buildfarm.build_image`` are asynchronous
unless ``sync`` is true: they submit the job and return; the controller
completes the action execution through Mistral's API when the job ends.
The job's idempotency key is derived from the action execution id, so an
action run again for the same execution never starts a second job.

Mistral's executor rebuilds an action from its attributes without
calling ``__init__``: ``__init__`` only stores its arguments.
"""

import os
import time

from mistral_lib import actions
from mistral_lib import exceptions

from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.mistral import results
from buildfarm import states

CONFIG_FILE_VARIABLE = 'BUILDFARM_CONFIG_FILE'
POLL_INTERVAL = 2


class _ControllerAction(actions.Action):

    def __init__(self, transport_url=None):
        self.transport_url = transport_url

    def _api(self):
        path = os.environ.get(CONFIG_FILE_VARIABLE)
        conf = config.load(['--config-file', path] if path else [])
        return rpcapi.get_client(
            conf, rpc.get_transport(conf, self.transport_url))

    def run(self, context):
        try:
            return self._run(self._api(), context)
        except Exception as e:
            # Raised again as what Mistral expects, with the controller's
            # words (a bad spec, an unknown job or label...).
            raise exceptions.ActionException(
                '%s: %s' % (type(e).__name__, str(e).split('\n')[0]))

    def _run(self, api, context):
        raise NotImplementedError


class _JobAction(_ControllerAction):

    method = None       # of ControllerAPI
    spec_fields = ()    # the inputs that make the job's spec

    def is_sync(self):
        return bool(self.sync)

    def _spec(self, context):
        return {name: getattr(self, name) for name in self.spec_fields
                if getattr(self, name) is not None}

    def _run(self, api, context):
        execution_id = context.execution.action_execution_id
        callback = None
        if not self.sync:
            callback = {'mistral_action_execution_id': execution_id}
        job = getattr(api, self.method)(
            self._spec(context),
            idempotency_key='mistral-action-execution-%s' % execution_id,
            callback=callback)
        if not self.sync:
            return None
        while job['state'] not in states.TERMINAL:
            time.sleep(POLL_INTERVAL)
            job = api.get_job(job['id'])
        result = results.action_result(job)
        if results.succeeded(job):
            return actions.Result(data=result)
        return actions.Result(error=result)


class RepoJobAction(_JobAction):
    """Clone ``git_url`` at ``ref`` and run ``cmd`` on a fresh node."""

    method = 'repo_job'
    spec_fields = ('git_url', 'cmd', 'ref', 'timeout', 'env', 'label')

    def __init__(self, git_url, cmd, ref=None, timeout=None, env=None,
                 label=None, sync=False, transport_url=None):
        super().__init__(transport_url)
        self.git_url = git_url
        self.cmd = cmd
        self.ref = ref
        self.timeout = timeout
        self.env = env
        self.label = label
        self.sync = sync


class BuildImageAction(_JobAction):
    """Build the app at ``git_url``/``ref`` into a Glance image with a
    language pack. The upload uses the caller's token (the action's
    security context), which is never stored."""

    method = 'build_image'
    spec_fields = ('git_url', 'image_name', 'ref', 'language_pack',
                   'timeout', 'env', 'label')

    def __init__(self, git_url, image_name, ref=None, language_pack=None,
                 timeout=None, env=None, label=None, sync=False,
                 transport_url=None):
        super().__init__(transport_url)
        self.git_url = git_url
        self.image_name = image_name
        self.ref = ref
        self.language_pack = language_pack
        self.timeout = timeout
        self.env = env
        self.label = label
        self.sync = sync

    def _spec(self, context):
        spec = super()._spec(context)
        if context.security.auth_token:
            spec['token'] = context.security.auth_token
        return spec


class JobStatusAction(_ControllerAction):
    """The outcome of a job so far (state, exit code, image...)."""

    def __init__(self, job_id, transport_url=None):
        super().__init__(transport_url)
        self.job_id = job_id

    def _run(self, api, context):
        return results.action_result(api.get_job(self.job_id))


class CancelJobAction(JobStatusAction):
    """Cancel a job; returns its outcome so far."""

    def _run(self, api, context):
        return results.action_result(api.cancel_job(self.job_id))


class PoolScaleAction(_ControllerAction):
    """Change a pool's min_ready and/or max_nodes (kept across controller
    restarts); returns the pool."""

    def __init__(self, label, min_ready=None, max_nodes=None,
                 transport_url=None):
        super().__init__(transport_url)
        self.label = label
        self.min_ready = min_ready
        self.max_nodes = max_nodes

    def _run(self, api, context):
        return api.pool_set(self.label, min_ready=self.min_ready,
                            max_nodes=self.max_nodes)


class PoolStatusAction(_ControllerAction):
    """One pool (``label``) or all: limits, nodes by state, queued jobs."""

    def __init__(self, label=None, transport_url=None):
        super().__init__(transport_url)
        self.label = label

    def _run(self, api, context):
        if self.label:
            return api.pool_show(self.label)
        return {'pools': api.pool_list()}
