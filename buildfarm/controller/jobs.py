"""The callers' API: submit jobs, see them, follow their logs, cancel
them."""

import logging
import os
import uuid

from buildfarm.controller import validation
from buildfarm.controller import views
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import jobspec
from buildfarm.policies import jobs as job_policy
from buildfarm import states

LOG = logging.getLogger(__name__)
# Jobs a list gives without a limit (at most: schemas.MAX_LIST_LIMIT).
DEFAULT_LIMIT = 100


class Jobs:
    """Each method takes the caller's RequestContext first: a job belongs
    to the project it was submitted in, and a caller whom the policy does
    not let see every project's jobs finds no other project's job."""

    def __init__(self, conf, store, pools, drivers, logs, memory, agents,
                 uploads, lifecycle, auth):
        """``agents``: the agent RPC client; ``auth``: what decides who
        sees every project's jobs (``controller.auth``)."""
        self.conf = conf
        self.store = store
        self.pools = pools
        self.drivers = drivers
        self.logs = logs
        self.memory = memory
        self.agents = agents
        self.uploads = uploads
        self.lifecycle = lifecycle
        self.auth = auth

    def _project(self, context):
        """The project whose jobs ``context`` sees (None: the jobs of no
        project), or db_api.ANY_PROJECT."""
        if self.auth.check(context, job_policy.ALL_PROJECTS):
            return db_api.ANY_PROJECT
        return context.project_id

    def submit(self, context, spec, idempotency_key=None,
               kind=jobspec.REPO_JOB, callback=None):
        spec = jobspec.validate(kind, spec)
        self._check_callback(callback)
        if kind == jobspec.BUILD_IMAGE:
            self.uploads.check()
        label = self.pools.get(spec.get('label'))
        spec['label'] = label.name
        if (kind == jobspec.BUILD_IMAGE and
                not self.drivers[label.driver].builds_images):
            raise exception.InvalidJobSpec(
                'Nodes of label %s (driver %s) cannot build images: their '
                'image has no runtime image archive. Use a label of the '
                'docker driver.' % (label.name, label.driver))
        self._check_local_repo(spec['git_url'])
        if self._queue_full(context.project_id):
            # Submitting again with a key already used is no new job.
            existing = idempotency_key and self.store.find_job_by_key(
                context.project_id, idempotency_key)
            if existing:
                return self._view(existing)
            raise exception.QueueFull(
                'Project %s has %d jobs queued, the most this controller '
                'takes ([controller] max_queued_jobs_per_project); submit '
                'again once some have started.' % (
                    context.project_id or '(none: no authentication)',
                    self.conf.controller.max_queued_jobs_per_project))
        job_id = str(uuid.uuid4())
        job = self.store.create_job(
            job_id, kind, label.name, jobspec.stored_spec(spec),
            self.logs.path(job_id), idempotency_key=idempotency_key,
            callback=callback, project_id=context.project_id,
            user_id=context.user_id)
        if job['id'] != job_id:
            LOG.info('Job %s returned again for its idempotency key.',
                     job['id'])
            return self._view(job)
        if jobspec.has_secrets(spec):
            self.memory.secrets.keep(job_id, spec)
        LOG.info('Job %s queued on %s: %s', job_id, label.name,
                 job['spec']['git_url'])
        self.lifecycle.wake()
        return self._view(job)

    def _queue_full(self, project_id):
        cap = self.conf.controller.max_queued_jobs_per_project
        return cap and self.store.queued_count(project_id) >= cap

    def _check_callback(self, callback):
        if callback is None:
            return
        execution_id = isinstance(callback, dict) and callback.get(
            'mistral_action_execution_id')
        # A UUID: the id goes into the URL of Mistral's API.
        if not (validation.is_uuid(execution_id) and
                set(callback) == {'mistral_action_execution_id'}):
            raise exception.InvalidJobSpec(
                'callback must be {"mistral_action_execution_id": UUID}, '
                'got %.200r' % (callback,))
        if not (self.conf.mistral.url or self.conf.mistral.cloud):
            raise exception.InvalidJobSpec(
                'This controller cannot complete Mistral action executions: '
                'set its [mistral] url or cloud, or run the action with '
                'sync: true.')

    def _check_local_repo(self, git_url):
        path = jobspec.local_repo_path(git_url)
        if path is None:
            return
        allowed = [os.path.realpath(d)
                   for d in self.conf.controller.allowed_local_repo_dirs]
        real = os.path.realpath(path)
        if not any(real == d or real.startswith(d + os.sep) for d in allowed):
            raise exception.InvalidJobSpec(
                'git_url %s: this controller does not serve local '
                'repositories from %s (see [controller] '
                'allowed_local_repo_dirs).' % (git_url, path))
        if not os.path.isdir(real):
            raise exception.InvalidJobSpec(
                'git_url %s: no such directory on the controller.' % git_url)

    def _view(self, job, live_counts=None):
        if job['state'] != states.QUEUED:
            return views.job_view(job)
        try:
            label = self.pools.get(job['label'])
        except exception.UnknownLabel:
            label = None
        if live_counts is None:
            live_counts = self._live_counts()
        return views.job_view(job, views.wait_reason(
            job, label, self.memory.pauses.why(job['label']),
            live_counts.get(job['label'], 0)))

    def _live_counts(self):
        counts = {}
        for node in self.store.live_nodes():
            counts[node['label']] = counts.get(node['label'], 0) + 1
        return counts

    def get_job(self, context, job_id):
        return self._view(self.store.get_job(job_id,
                                             self._project(context)))

    def list_jobs(self, context, state=None, limit=None, marker=None,
                  all_projects=False):
        """The jobs of the caller's project, newest first; with
        ``all_projects`` (operators only), every project's."""
        if all_projects and not self.auth.check(context,
                                                job_policy.ALL_PROJECTS):
            raise exception.Forbidden(
                'all_projects: only admins and operators (policy %s) list '
                'the jobs of every project.' % job_policy.ALL_PROJECTS)
        # The schema (controller.schemas) checked limit and marker.
        limit = DEFAULT_LIMIT if limit is None else limit
        wanted = [state] if isinstance(state, str) else state
        counts = self._live_counts()
        return [self._view(j, counts)
                for j in self.store.list_jobs(
                    wanted, limit, marker=marker,
                    project_id=(db_api.ANY_PROJECT if all_projects
                                else context.project_id))]

    def get_log(self, context, job_id, offset=0, length=65536):
        job = self.store.get_job(job_id, self._project(context))
        text, offset, at_end = self.logs.read(job_id, offset, length)
        return {'data': text, 'offset': offset,
                'finished': at_end and job['state'] in states.TERMINAL}

    def cancel(self, context, job_id):
        job = self.store.get_job(job_id, self._project(context))
        if job['state'] == states.QUEUED:
            self.lifecycle.cancel_queued(job)
        elif job['state'] == states.RUNNING:
            node, why = self.lifecycle.node_of(job)
            if node is None:
                self.lifecycle.cancel_lost(job, why)
                return self.get_job(context, job_id)
            self.memory.cancels.asked(job['node_id'])
            self.agents.cancel_job(job['node_id'], job_id)
            self.logs.note(job_id, 'cancel requested')
        LOG.info('Job %s: cancel requested by user %s.', job_id,
                 context.user_id)
        return self.get_job(context, job_id)
