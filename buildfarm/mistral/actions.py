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

Inputs are converted where a workflow gives text for a number or a
boolean ("2", "true") and checked against the schema the controller
checks the call with (``buildfarm.controller.schemas``) before the
controller is asked: a bad input fails the action with an error that
names it.

Mistral's executor rebuilds an action from its attributes without
calling ``__init__``: ``__init__`` only stores its arguments.
"""

import inspect
import os
import time

from mistral_lib import actions
from mistral_lib import exceptions

from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import schemas
from buildfarm.controller import validation
from buildfarm import exception
from buildfarm.mistral import results
from buildfarm import objects
from buildfarm import states

CONFIG_FILE_VARIABLE = 'BUILDFARM_CONFIG_FILE'
POLL_INTERVAL = 2
_SYNC = {'type': 'object', 'properties': {'sync': schemas.BOOLEAN}}


class _ControllerAction(actions.Action):

    #: Its name in Mistral (the entry point's), for errors.
    name = None
    #: The ControllerAPI method it calls; its schema checks the inputs.
    method = None

    def __init__(self, transport_url=None):
        self.transport_url = transport_url

    def _api(self, context):
        """The controller's client; its calls carry the token of the
        action's security context (the workflow's caller)."""
        path = os.environ.get(CONFIG_FILE_VARIABLE)
        conf = config.load(['--config-file', path] if path else [])
        return rpcapi.get_client(
            conf, rpc.get_transport(conf, self.transport_url),
            token=context.security.auth_token)

    def run(self, context):
        try:
            args = self._check(self.method, self._arguments(context))
            return self._run(self._api(context), args)
        except Exception as e:
            # Raised again as what Mistral expects, with the controller's
            # words (a bad spec, an unknown job or label...).
            raise exceptions.ActionException(
                '%s: %s' % (type(e).__name__, str(e).split('\n')[0]))

    def _check(self, method, args):
        """``args`` of ``method`` converted and checked against its
        schema; an input left None is not given."""
        schema = getattr(schemas, method)
        args = validation.convert(schema, {
            k: v for k, v in args.items() if v is not None})
        validation.check(self.name, schema, args)
        return args

    def _arguments(self, context):
        """The arguments of ``method``, from the inputs."""
        raise NotImplementedError

    def _run(self, api, args):
        return getattr(api, self.method)(**args)


def _init_with_inputs(fields):
    """An ``__init__`` that takes ``fields`` (required ones first), then
    ``sync`` and ``transport_url``, and keeps each as an attribute.
    Mistral reads the inputs from its signature."""
    P = inspect.Parameter
    params = [P('self', P.POSITIONAL_OR_KEYWORD)]
    params += [P(f.name, P.POSITIONAL_OR_KEYWORD) for f in fields
               if f.required]
    params += [P(f.name, P.POSITIONAL_OR_KEYWORD, default=None)
               for f in fields if not f.required]
    params += [P('sync', P.POSITIONAL_OR_KEYWORD, default=False),
               P('transport_url', P.POSITIONAL_OR_KEYWORD, default=None)]
    signature = inspect.Signature(params)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        inputs = dict(bound.arguments)
        del inputs['self']
        _ControllerAction.__init__(self, inputs.pop('transport_url'))
        for name, value in inputs.items():
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


class _JobAction(_ControllerAction):
    """A job submission. Its inputs are the fields of the job's spec
    that may be stored (Mistral stores action inputs), then ``sync`` and
    ``transport_url``."""

    # method: also the kind of job.
    spec_fields = ()    # the inputs that make the job's spec

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.method is None:
            return
        fields = [f for f in objects.spec_fields(cls.method)
                  if not f.secret]
        cls.spec_fields = tuple(f.name for f in fields)
        cls.__init__ = _init_with_inputs(fields)

    def _sync(self):
        """``sync`` as a boolean ("true" from a workflow is true)."""
        sync = validation.convert(_SYNC, {
            'sync': False if self.sync is None else self.sync})
        validation.check(self.name, _SYNC, sync)
        return sync['sync']

    def is_sync(self):
        # A sync input that is no boolean fails in run(), which Mistral
        # then waits for.
        try:
            return self._sync()
        except exception.InvalidInput:
            return True

    def _spec(self, context):
        return {name: getattr(self, name) for name in self.spec_fields
                if getattr(self, name) is not None}

    def _arguments(self, context):
        spec = self._spec(context)
        # The spec first on its own: errors name the input, not spec.X.
        validation.check(self.name, schemas.SPEC, spec)
        execution_id = context.execution.action_execution_id
        callback = None
        if not self._sync():
            callback = {'mistral_action_execution_id': execution_id}
        return {'spec': spec, 'callback': callback,
                'idempotency_key': 'mistral-action-execution-%s'
                % execution_id}

    def _run(self, api, args):
        job = super()._run(api, args)
        if args.get('callback'):
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

    name = 'buildfarm.repo_job'
    method = objects.REPO_JOB


class BuildImageAction(_JobAction):
    """Build the app at ``git_url``/``ref`` into a Glance image with a
    language pack. The upload uses the caller's token (the action's
    security context), which is never stored."""

    name = 'buildfarm.build_image'
    method = objects.BUILD_IMAGE

    def _spec(self, context):
        spec = super()._spec(context)
        if context.security.auth_token:
            spec['token'] = context.security.auth_token
        return spec


class JobStatusAction(_ControllerAction):
    """The outcome of a job so far (state, exit code, image...)."""

    name = 'buildfarm.job_status'
    method = 'get_job'

    def __init__(self, job_id, transport_url=None):
        super().__init__(transport_url)
        self.job_id = job_id

    def _arguments(self, context):
        return {'job_id': self.job_id}

    def _run(self, api, args):
        return results.action_result(super()._run(api, args))


class CancelJobAction(JobStatusAction):
    """Cancel a job; returns its outcome so far."""

    name = 'buildfarm.cancel_job'
    method = 'cancel_job'


class PoolScaleAction(_ControllerAction):
    """Change a pool's min_ready and/or max_nodes (kept across controller
    restarts); returns the pool."""

    name = 'buildfarm.pool_scale'
    method = 'pool_set'

    def __init__(self, label, min_ready=None, max_nodes=None,
                 transport_url=None):
        super().__init__(transport_url)
        self.label = label
        self.min_ready = min_ready
        self.max_nodes = max_nodes

    def _arguments(self, context):
        return {'label': self.label, 'min_ready': self.min_ready,
                'max_nodes': self.max_nodes}


class PoolStatusAction(_ControllerAction):
    """One pool (``label``) or all: limits, nodes by state, queued jobs."""

    name = 'buildfarm.pool_status'
    method = 'pool_show'

    def __init__(self, label=None, transport_url=None):
        super().__init__(transport_url)
        self.label = label

    def _arguments(self, context):
        return {'label': self.label}

    def _check(self, method, args):
        # Without a label it is pool_list, which takes no argument.
        if self.label is None:
            return super()._check('pool_list', {})
        return super()._check(method, args)

    def _run(self, api, args):
        if args.get('label'):
            return api.pool_show(**args)
        return {'pools': api.pool_list()}
