"""The controller's job engine: from a submitted job to a destroyed node.

Submit stores the job (queued) and hands it to a launcher thread, which
boots a node. The node's agent registers, the engine dispatches the job,
stores the log chunks and the final report, and only then destroys the
node. A monitor thread ends jobs whose node never registers, dies or
stops heartbeating, so no job stays active and no node is left behind.
"""

import concurrent.futures
import json
import logging
import os
import threading
import time
import uuid

from buildfarm.agent import rpcapi as agent_rpcapi
from buildfarm.common import auth
from buildfarm.db import api as db_api
from buildfarm.drivers import base as driver_base
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import states

LOG = logging.getLogger(__name__)


def job_view(job):
    """A job as callers see it: JSON primitives only."""
    view = dict(job)
    for key in ('created_at', 'updated_at', 'finished_at'):
        if view[key] is not None:
            view[key] = view[key].isoformat() + 'Z'
    return view


class Engine:

    def __init__(self, conf, store, driver, logs, transport):
        self.conf = conf
        self.store = store
        self.driver = driver
        self.logs = logs
        self.agents = agent_rpcapi.AgentAPI(transport)
        self._key = conf.controller.node_secret_key or auth.new_key()
        self._launcher = concurrent.futures.ThreadPoolExecutor(
            conf.controller.max_concurrent_boots,
            thread_name_prefix='launcher')
        self._deleter = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix='deleter')
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._monitor_loop,
                                         name='monitor', daemon=True)
        self._lock = threading.Lock()
        # In memory only, never stored: git URLs with credentials in them.
        self._git_urls = {}
        # Monotonic marks per job, for the phase timings.
        self._marks = {}
        # node id -> monotonic time its cancel was sent.
        self._cancelling = {}
        self._deleting = set()

    # Lifecycle

    def start(self):
        self._recover()
        self._monitor.start()

    def stop(self):
        self._stop.set()
        self._launcher.shutdown(wait=True, cancel_futures=True)
        self._deleter.shutdown(wait=True)
        if self._monitor.is_alive():
            self._monitor.join()

    def _recover(self):
        """Make the stored state true again after a controller restart."""
        for node in self.store.live_nodes():
            job = node['job_id'] and self.store.get_job(node['job_id'])
            if job and job['state'] in (states.BOOTING, states.RUNNING):
                self._end(job['id'], states.ERROR, reason=(
                    'The controller restarted while the job was on node %s; '
                    'the node was destroyed. Submit the job again.'
                    % node['id']))
            self._destroy(node['id'])
        for job in self.store.list_jobs(states_filter=[states.QUEUED]):
            if '***@' in job['spec']['git_url']:
                self._end(job['id'], states.ERROR, reason=(
                    'The controller restarted before the job started and '
                    'does not store git credentials. Submit it again.'))
            else:
                self._marks[job['id']] = {'created': time.monotonic()}
                self._launcher.submit(self._launch, job['id'])

    # Callers

    def submit(self, spec):
        spec = jobspec.validate_repo_job(spec)
        self._check_local_repo(spec['git_url'])
        job_id = str(uuid.uuid4())
        job = self.store.create_job(job_id, jobspec.REPO_JOB,
                                    jobspec.stored_spec(spec),
                                    self.logs.path(job_id))
        if job['spec']['git_url'] != spec['git_url']:
            self._git_urls[job_id] = spec['git_url']
        self._marks[job_id] = {'created': time.monotonic()}
        LOG.info('Job %s queued: %s', job_id, job['spec']['git_url'])
        self._launcher.submit(self._launch, job_id)
        return job_view(job)

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

    def get_job(self, job_id):
        return job_view(self.store.get_job(job_id))

    def list_jobs(self, state=None, limit=None):
        wanted = [state] if isinstance(state, str) else state
        return [job_view(j) for j in self.store.list_jobs(wanted, limit)]

    def get_log(self, job_id, offset=0, length=65536):
        job = self.store.get_job(job_id)
        text, offset, at_end = self.logs.read(job_id, offset, length)
        return {'data': text, 'offset': offset,
                'finished': at_end and job['state'] in states.TERMINAL}

    def cancel(self, job_id):
        job = self.store.get_job(job_id)
        reason = 'Cancelled by request.'
        if job['state'] == states.QUEUED:
            self._end(job_id, states.CANCELLED, [states.QUEUED], reason=reason)
        elif job['state'] == states.BOOTING:
            if self._end(job_id, states.CANCELLED, [states.BOOTING],
                         reason=reason + ' The node had not started it.'):
                self._destroy(job['node_id'])
        elif job['state'] == states.RUNNING:
            with self._lock:
                self._cancelling.setdefault(job['node_id'], time.monotonic())
            self.agents.cancel_job(job['node_id'], job_id)
            self.logs.note(job_id, 'cancel requested')
        return self.get_job(job_id)

    # Launching nodes

    def _agent_conf(self, node_id):
        node = self.conf.node
        job_env = dict(node.extra_env)
        if node.pip_index_url:
            job_env['PIP_INDEX_URL'] = node.pip_index_url
        if node.npm_registry:
            job_env['npm_config_registry'] = node.npm_registry
        return {
            'DEFAULT': {'transport_url': (node.transport_url or
                                          self.conf.transport_url)},
            'agent': {'node_id': node_id,
                      'controller_topic': self.conf.controller.topic,
                      'node_secret': auth.node_secret(self._key, node_id),
                      'job_env': json.dumps(job_env)},
        }

    def _launch(self, job_id):
        marks = self._marks.setdefault(job_id, {'created': time.monotonic()})
        marks['launch'] = time.monotonic()
        node_id = str(uuid.uuid4())
        self.store.create_node(node_id, self.driver.name, job_id)
        job = self.store.update_job(
            job_id, [states.QUEUED], state=states.BOOTING, node_id=node_id,
            timings={'queued': marks['launch'] - marks['created']})
        if job is None:  # cancelled while queued
            self.store.update_node(node_id, state=states.NODE_DELETED,
                                   deleted_at=db_api.utcnow())
            return
        git_url = self._git_urls.get(job_id, job['spec']['git_url'])
        spec = driver_base.NodeSpec(
            node_id=node_id, job_id=job_id,
            agent_conf=self._agent_conf(node_id),
            local_repo=jobspec.local_repo_path(git_url))
        self.logs.note(job_id, 'booting node %s (%s driver)' % (
            node_id, self.driver.name))
        try:
            external_id = self.driver.create(spec)
        except exception.BuildfarmError as e:
            LOG.warning('Job %s: node %s failed to boot: %s', job_id,
                        node_id, e)
            self._end(job_id, states.ERROR, reason=str(e))
            self._destroy(node_id)
            return
        except Exception as e:
            LOG.exception('Job %s: driver failure on node %s', job_id,
                          node_id)
            self._end(job_id, states.ERROR,
                      reason='The node could not be booted: %s' % e)
            self._destroy(node_id)
            return
        marks['booted'] = time.monotonic()
        self.store.update_node(node_id, external_id=external_id)
        self.store.update_job(job_id, timings={
            'node_boot': marks['booted'] - marks['launch']})

    # Agents

    def verify(self, node_id, method, payload, auth_info):
        try:
            auth.verify(auth.node_secret(self._key, node_id), method,
                        payload, auth_info)
        except exception.AgentAuthError:
            LOG.warning('Rejected %s from node %s: bad signature.', method,
                        node_id)
            raise

    def _node_job(self, node_id, job_id=None, live=True):
        node = self.store.get_node(node_id)
        if node is None or (live and node['state'] not in states.NODE_LIVE):
            raise exception.AgentAuthError('Unknown node %s.' % node_id)
        if job_id is not None and node['job_id'] != job_id:
            LOG.warning('Rejected message of node %s for job %s: the node '
                        'runs job %s.', node_id, job_id, node['job_id'])
            raise exception.AgentAuthError(
                'Job %s is not assigned to node %s.' % (job_id, node_id))
        return node

    def agent_ready(self, node_id, facts):
        node = self._node_job(node_id)
        now = db_api.utcnow()
        self.store.update_node(node_id, state=states.NODE_IN_USE,
                               ready_at=now, last_heartbeat=now, facts=facts)
        job_id = node['job_id']
        marks = self._marks.setdefault(job_id, {})
        marks['ready'] = time.monotonic()
        job = self.store.update_job(
            job_id, [states.BOOTING], state=states.RUNNING,
            timings={'agent_ready': marks['ready'] - marks.get(
                'booted', marks['ready'])})
        if job is not None:
            spec = dict(job['spec'])
            spec['git_url'] = self._git_urls.pop(job_id, spec['git_url'])
            self.logs.note(job_id, 'node %s is ready' % node_id)
            self.agents.run_job(node_id, {'id': job_id, 'kind': job['kind'],
                                          'spec': spec})
        return {'job_id': job_id}

    def heartbeat(self, node_id, job_id, facts):
        self._node_job(node_id)
        self.store.update_node(node_id, last_heartbeat=db_api.utcnow(),
                               facts=facts)

    def log_chunk(self, node_id, job_id, seq, data):
        self._node_job(node_id, job_id)
        self.logs.append(job_id, seq, data)
        return {'ack': seq}

    def report(self, node_id, job_id, result):
        # A resend may arrive after the node was destroyed: it is still
        # that node's job, and is acknowledged as a duplicate.
        self._node_job(node_id, job_id, live=False)
        state = result.get('state')
        if state not in states.TERMINAL:
            state = states.ERROR
            result['reason'] = 'The agent sent an invalid report.'
        timings = {k: float(v) for k, v in (result.get('timings') or
                                            {}).items() if k in
                   ('clone', 'run')}
        ready = self._marks.get(job_id, {}).get('ready')
        if ready is not None:
            timings['report'] = max(0.0, time.monotonic() - ready - sum(
                timings.values()))
        done = self._end(job_id, state, [states.RUNNING],
                         exit_code=result.get('exit_code'),
                         commit=result.get('commit'),
                         reason=result.get('reason'), timings=timings)
        self._destroy(node_id)
        return {'ack': True, 'duplicate': not done}

    # Ending jobs and destroying nodes

    def _end(self, job_id, state, expected=states.ACTIVE, **values):
        """Move a job to a terminal state once; True if this call did."""
        job = self.store.update_job(job_id, expected, state=state, **values)
        if job is None:
            return False
        self._marks.pop(job_id, None)
        self._git_urls.pop(job_id, None)
        reason = values.get('reason')
        self.logs.note(job_id, 'job %s%s' % (
            state, ': %s' % reason if reason else ''))
        self.logs.forget(job_id)
        LOG.info('Job %s ended: %s%s', job_id, state,
                 ' (%s)' % reason if reason else '')
        return True

    def _destroy(self, node_id):
        with self._lock:
            if node_id in self._deleting:
                return
            self._deleting.add(node_id)
            self._cancelling.pop(node_id, None)
        self.store.update_node(node_id, state=states.NODE_DELETING)
        try:
            self._deleter.submit(self._delete, node_id)
        except RuntimeError:  # shutting down: delete in this thread
            self._delete(node_id)

    def _delete(self, node_id):
        try:
            node = self.store.get_node(node_id)
            self.driver.delete(node_id, node['external_id'])
            self.store.update_node(node_id, state=states.NODE_DELETED,
                                   deleted_at=db_api.utcnow())
            LOG.info('Node %s deleted.', node_id)
        except Exception:
            # Left in "deleting": the monitor tries again.
            LOG.exception('Node %s could not be deleted; will retry.',
                          node_id)
        finally:
            with self._lock:
                self._deleting.discard(node_id)

    # Monitor

    def _monitor_loop(self):
        while not self._stop.wait(self.conf.controller.monitor_interval):
            try:
                self.check_nodes()
            except Exception:
                LOG.exception('Node check failed')

    def check_nodes(self):
        """End jobs whose node is dead, late or gone; destroy such nodes."""
        ctrl = self.conf.controller
        now = db_api.utcnow()
        for node in self.store.live_nodes():
            node_id = node['id']
            if node['state'] == states.NODE_DELETING:
                if node_id not in self._deleting:
                    self._destroy(node_id)
                continue
            job = self.store.get_job(node['job_id'])
            if job['state'] in states.TERMINAL:
                self._destroy(node_id)
                continue
            reason = None
            if node['state'] == states.NODE_BOOTING:
                age = (now - node['created_at']).total_seconds()
                if node['external_id'] is None:
                    continue  # still in driver.create
                if age > ctrl.boot_timeout:
                    reason = ('The node did not register within %d s '
                              '([controller] boot_timeout).'
                              % ctrl.boot_timeout)
            else:
                silent = (now - node['last_heartbeat']).total_seconds()
                if silent > ctrl.heartbeat_timeout:
                    reason = ('node_failure: no heartbeat from node %s for '
                              '%d s.' % (node_id, silent))
                deadline = self._run_deadline(job)
                if (now - node['ready_at']).total_seconds() > deadline:
                    reason = ('The node did not report within %d s of '
                              'starting the job.' % deadline)
            if reason is None:
                status = self.driver.status(node_id, node['external_id'])
                if not status.alive:
                    reason = 'node_failure: %s' % status.reason
            if reason is None:
                with self._lock:
                    asked = self._cancelling.get(node_id)
                if asked and time.monotonic() - asked > ctrl.cancel_grace:
                    self._end(job['id'], states.CANCELLED, reason=(
                        'Cancelled by request; the node did not confirm '
                        'within %d s and was destroyed.' % ctrl.cancel_grace))
                    self._destroy(node_id)
                continue
            if self._end(job['id'], states.ERROR, reason=reason):
                LOG.warning('Job %s: %s', job['id'], reason)
            self._destroy(node_id)

    def _run_deadline(self, job):
        agent = self.conf.agent
        return (job['spec']['timeout'] + agent.clone_timeout +
                2 * agent.kill_grace + self.conf.controller.cancel_grace)
