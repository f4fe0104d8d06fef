"""The controller's job engine: from a submitted job to a destroyed node.

A submitted job is stored (queued). One control loop thread hands queued
jobs, oldest first, to ready nodes of their label, boots nodes so that
each pool has its ``min_ready`` idle nodes plus one per waiting job (up
to ``max_nodes``), and watches every live node: a node that never
registers, dies or stops heartbeating is destroyed, and its job, if it
had one, is retried on a fresh node up to ``max_attempts``. The agent's
report is stored before its node is destroyed.
"""

import datetime
import logging
import os
import threading
import time
import uuid

from buildfarm.agent import rpcapi as agent_rpcapi
from buildfarm.common import auth
from buildfarm.controller import nodes as nodes_mod
from buildfarm.controller import uploads
from buildfarm.controller import watchdog
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import states

LOG = logging.getLogger(__name__)


def _iso(value):
    return value.isoformat() + 'Z' if value is not None else None


def node_view(node):
    view = dict(node)
    for key in ('created_at', 'ready_at', 'last_heartbeat', 'hold_until',
                'deleted_at'):
        view[key] = _iso(view[key])
    return view


class Engine:

    def __init__(self, conf, store, pools, drivers, logs, transport,
                 metrics):
        self.conf = conf
        self.metrics = metrics
        self.store = store
        self.pools = pools
        self.logs = logs
        self.uploads = uploads.UploadTargets(conf)
        self.agents = agent_rpcapi.AgentAPI(transport)
        self.persistent_key = bool(conf.controller.node_secret_key)
        self._key = conf.controller.node_secret_key or auth.new_key()
        self.nodes = nodes_mod.NodeKeeper(
            conf, store, drivers, self._key, self.boot_failed, self.wake,
            metrics)
        self.watchdog = watchdog.Watchdog(self)
        self.drivers = drivers
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._loop = threading.Thread(target=self._control_loop,
                                      name='control-loop', daemon=True)
        self._lock = threading.Lock()
        # In memory only, never stored: specs of jobs with credentials in
        # their git URL or with secret_env, until they are dispatched.
        self._full_specs = {}
        # node id -> monotonic time its job's cancel was sent.
        self._cancelling = {}
        # label -> (monotonic time until which boots pause, why).
        self._boot_pause = {}
        self._boot_failures = {}
        self._last_monitor = self._last_reap = 0.0

    # Lifecycle

    def start(self):
        self._reconcile()
        self._loop.start()
        self.wake()

    def cancel_requested_at(self, node_id):
        """Monotonic time a cancel was sent to the node's job, or None."""
        with self._lock:
            return self._cancelling.get(node_id)

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._loop.is_alive():
            self._loop.join()
        self.watchdog.stop()
        self.nodes.stop()

    def wake(self):
        self._wake.set()

    def _reconcile(self):
        """Make the stored state true again after a restart.

        With a configured node key, live nodes keep running and their
        agents keep talking to us: their jobs finish normally and the
        control loop checks each node. Without one, no agent could prove
        who it is any more, so their nodes are destroyed and their jobs
        retried.
        """
        for node in self.store.live_nodes():
            creating = (node['state'] == states.NODE_BOOTING and
                        not node['external_id'])
            if creating:
                # The old process died while its driver created this node.
                self.nodes.destroy(node['id'])
                continue
            self._adopt(node)
            if node['state'] == states.NODE_IN_USE and self.persistent_key:
                job = self.store.get_job(node['job_id'])
                if job['state'] == states.RUNNING:
                    # The dispatch may have been lost with the old process;
                    # an agent that has its job ignores a second one.
                    self._dispatch_message(job, node['id'])
            elif not self.persistent_key:
                self.node_failed(node, 'the controller restarted without '
                                 '[controller] node_secret_key, so the '
                                 'node could no longer be trusted')
        for job in self.store.list_jobs(states_filter=[states.QUEUED]):
            if jobspec.lost_secrets(job['spec']):
                self.end(job['id'], states.ERROR, reason=(
                    'The controller restarted before the job started and '
                    'does not store git credentials, secret_env or tokens. '
                    'Submit it again.'))

    def _adopt(self, node):
        try:
            label = self.pools.get(node['label'])
        except exception.UnknownLabel:
            return  # the watchdog destroys it
        driver = self.drivers[node['driver']]
        driver.adopt(node['id'], label.settings)
        if node['state'] != states.NODE_BOOTING:
            driver.registered(node['id'])

    # Callers

    def submit(self, spec, idempotency_key=None, kind=jobspec.REPO_JOB,
               callback=None):
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
        job_id = str(uuid.uuid4())
        job = self.store.create_job(
            job_id, kind, label.name, jobspec.stored_spec(spec),
            self.logs.path(job_id), idempotency_key=idempotency_key,
            callback=callback)
        if job['id'] != job_id:
            LOG.info('Job %s returned again for its idempotency key.',
                     job['id'])
            return self.job_view(job)
        if jobspec.has_secrets(spec):
            self._full_specs[job_id] = spec
        LOG.info('Job %s queued on %s: %s', job_id, label.name,
                 job['spec']['git_url'])
        self.wake()
        return self.job_view(job)

    def _check_callback(self, callback):
        if callback is None:
            return
        execution_id = isinstance(callback, dict) and callback.get(
            'mistral_action_execution_id')
        if not (isinstance(execution_id, str) and execution_id and
                set(callback) == {'mistral_action_execution_id'}):
            raise exception.InvalidJobSpec(
                'callback must be {"mistral_action_execution_id": ID}, got '
                '%r' % (callback,))
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

    def job_view(self, job, live_counts=None):
        """A job as callers see it: JSON primitives only."""
        view = dict(job)
        for key in ('created_at', 'updated_at', 'started_at',
                    'finished_at', 'callback_sent_at'):
            view[key] = _iso(view[key])
        if job['state'] == states.QUEUED:
            view['wait_reason'] = self._wait_reason(job, live_counts)
        return view

    def _live_counts(self):
        counts = {}
        for node in self.store.live_nodes():
            counts[node['label']] = counts.get(node['label'], 0) + 1
        return counts

    def _wait_reason(self, job, live_counts=None):
        try:
            label = self.pools.get(job['label'])
        except exception.UnknownLabel:
            return ('waiting: its label %s is not in this controller\'s '
                    'pools file; add it back or cancel the job'
                    % job['label'])
        paused = self._boot_pause.get(label.name)
        if live_counts is None:
            live_counts = self._live_counts()
        live = live_counts.get(label.name, 0)
        if paused and paused[0] > time.monotonic():
            reason = 'waiting: %s' % paused[1]
        elif live >= label.max_nodes:
            reason = ('waiting: pool %s is at max_nodes (%d of %d nodes in '
                      'use); jobs run in order of submission'
                      % (label.name, live, label.max_nodes))
        else:
            reason = 'waiting for a node of %s to boot' % label.name
        if job['wait_reason']:
            reason += ' (%s)' % job['wait_reason']
        return reason

    def get_job(self, job_id):
        return self.job_view(self.store.get_job(job_id))

    def list_jobs(self, state=None, limit=None):
        wanted = [state] if isinstance(state, str) else state
        counts = self._live_counts()
        return [self.job_view(j, counts)
                for j in self.store.list_jobs(wanted, limit)]

    def get_log(self, job_id, offset=0, length=65536):
        job = self.store.get_job(job_id)
        text, offset, at_end = self.logs.read(job_id, offset, length)
        return {'data': text, 'offset': offset,
                'finished': at_end and job['state'] in states.TERMINAL}

    def cancel(self, job_id):
        job = self.store.get_job(job_id)
        if job['state'] == states.QUEUED:
            if self.end(job_id, states.CANCELLED, [states.QUEUED],
                        reason='Cancelled by request before it started.'):
                self._drop_boot_node(job)
        elif job['state'] == states.RUNNING:
            with self._lock:
                self._cancelling.setdefault(job['node_id'], time.monotonic())
            self.agents.cancel_job(job['node_id'], job_id)
            self.logs.note(job_id, 'cancel requested')
        return self.get_job(job_id)

    def _drop_boot_node(self, job):
        """A node still booting for a job that ended goes too."""
        if job['node_id'] and self.store.update_node_if(
                job['node_id'], [states.NODE_BOOTING], job_id=None):
            self.nodes.destroy(job['node_id'])

    # Pools and nodes, for operators

    def pool_list(self):
        live = self.store.live_nodes()
        queued = self.store.queued_counts()
        views = []
        for label in self.pools.all():
            view = label.view()
            view['nodes'] = {s: 0 for s in states.NODE_STATES}
            for node in live:
                if node['label'] == label.name:
                    view['nodes'][node['state']] += 1
            view['queued_jobs'] = queued.get(label.name, 0)
            views.append(view)
        return views

    def pool_show(self, label):
        name = self.pools.get(label).name
        return next(v for v in self.pool_list() if v['name'] == name)

    def pool_set(self, label, min_ready=None, max_nodes=None):
        self.pools.set(label, min_ready=min_ready, max_nodes=max_nodes)
        LOG.info('Pool %s set: min_ready=%s max_nodes=%s', label, min_ready,
                 max_nodes)
        self.wake()
        return self.pool_show(label)

    def node_list(self):
        return [node_view(n) for n in self.store.live_nodes()]

    def _live_node(self, node_id):
        node = self.store.get_node(node_id)
        if node is None or node['state'] not in states.NODE_LIVE:
            raise exception.NodeNotFound('No live node with id %s.'
                                         % node_id)
        return node

    def node_hold(self, node_id, seconds):
        """Keep the node (after its job, if it runs one) for ``seconds``."""
        if not 0 < seconds <= 7 * 24 * 3600:
            raise exception.BuildfarmError(
                'A hold lasts between 1 second and 7 days.')
        node = self._live_node(node_id)
        until = db_api.utcnow() + _seconds(seconds)
        new_state = (states.NODE_HELD if node['state'] in
                     (states.NODE_READY, states.NODE_HELD) else node['state'])
        node = self.store.update_node(node_id, hold_until=until,
                                      state=new_state)
        LOG.info('Node %s held until %s.', node_id, until)
        self.wake()
        return node_view(node)

    def node_delete(self, node_id):
        node = self._live_node(node_id)
        self.node_failed(node, 'node %s was deleted by an operator'
                         % node_id)
        self.wake()
        return node_view(self.store.get_node(node_id))

    # Agents

    def verify(self, node_id, method, payload, auth_info):
        try:
            auth.verify(auth.node_secret(self._key, node_id), method,
                        payload, auth_info)
        except exception.AgentAuthError:
            LOG.warning('Rejected %s from node %s: bad signature.', method,
                        node_id)
            self.metrics.rejected.labels(method).inc()
            raise

    def _node_for(self, method, node_id, job_id=None, live=True):
        """The node (and its job, when ``job_id`` is given) of an agent
        message; AgentAuthError if the node may not speak for them."""
        node = self.store.get_node(node_id)
        if node is None or (live and node['state'] not in states.NODE_LIVE):
            self.metrics.rejected.labels(method).inc()
            raise exception.AgentAuthError('Unknown node %s.' % node_id)
        if job_id is None:
            return node, None
        job = self.store.get_job(job_id) if node['job_id'] == job_id else None
        if job is None or job['node_id'] != node_id:
            # Not this node's job, or no longer: the job was retried
            # elsewhere after this node was given up for dead.
            LOG.warning('Rejected %s of node %s for job %s: the node runs '
                        'job %s.', method, node_id, job_id, node['job_id'])
            self.metrics.rejected.labels(method).inc()
            raise exception.AgentAuthError(
                'Job %s is not assigned to node %s.' % (job_id, node_id))
        return node, job

    def agent_ready(self, node_id, facts, job_id=None):
        """A node's agent is up. ``job_id``: the boot job it started.

        Answers the job the node may run: the one it was booted for,
        unless that job no longer waits (the node then goes).
        """
        node = self._node_for('agent_ready', node_id)[0]
        if node['state'] != states.NODE_BOOTING:  # a resent agent_ready
            job = node['job_id'] and self.store.get_job(node['job_id'])
            running = job and job['state'] == states.RUNNING and (
                job['node_id'] == node_id)
            return {'ack': True, 'job_id': job['id'] if running else None}
        now = db_api.utcnow()
        booted = node['created_at'] + _seconds(
            node['timings'].get('node_boot', 0))
        values = dict(ready_at=now, last_heartbeat=now, facts=facts,
                      timings=dict(node['timings'], agent_ready=max(
                          0.0, (now - booted).total_seconds())))
        LOG.info('Node %s (%s) is ready.', node_id, node['label'])
        self.drivers[node['driver']].registered(node_id)
        self._boot_failures.pop(node['label'], None)
        if not node['job_id']:
            if self.store.update_node_if(node_id, [states.NODE_BOOTING],
                                         state=states.NODE_READY, **values):
                self.wake()
            return {'ack': True, 'job_id': None}
        # The job first: a node in use beside a job still queued would
        # look to the control loop like a job without a node.
        job = self.store.get_job(node['job_id'])
        if not self._start(job, dict(node, **values),
                           send=job_id != job['id']):
            LOG.info('Node %s: its job %s no longer waits; the node goes.',
                     node_id, job['id'])
            self.nodes.destroy(node_id)
            return {'ack': True, 'job_id': None}
        if not self.store.update_node_if(node_id, [states.NODE_BOOTING],
                                         state=states.NODE_IN_USE, **values):
            # Given up for dead meanwhile: the job waits for another node.
            self.store.update_job(job['id'], [states.RUNNING],
                                  state=states.QUEUED, node_id=None)
            return {'ack': True, 'job_id': None}
        return {'ack': True, 'job_id': job['id']}

    def heartbeat(self, node_id, job_id, facts):
        self._node_for('heartbeat', node_id)
        self.store.update_node(node_id, last_heartbeat=db_api.utcnow(),
                               facts=facts)
        return {'ack': True}

    def log_chunk(self, node_id, job_id, seq, data):
        self._node_for('log_chunk', node_id, job_id)
        self.logs.append(job_id, seq, data)
        return {'ack': seq}

    def report(self, node_id, job_id, result):
        # A resend may arrive after the node was destroyed: it is still
        # that node's job, and is acknowledged as a duplicate.
        job = self._node_for('report', node_id, job_id, live=False)[1]
        state = result.get('state')
        if state not in states.TERMINAL:
            state = states.ERROR
            result['reason'] = 'The agent sent an invalid report.'
        timings = {k: float(v) for k, v in (result.get('timings') or
                                            {}).items() if k in
                   ('clone', 'run', 'compile', 'assemble', 'upload')}
        # What neither clone nor run took from dispatch to now: handing
        # the job over and reporting back.
        started = job['started_at']
        if started is not None:
            timings['report'] = max(0.0, (
                db_api.utcnow() - started).total_seconds() - sum(
                timings.values()))
        ended = self.end(job_id, state, [states.RUNNING],
                         exit_code=result.get('exit_code'),
                         commit=result.get('commit'),
                         image_id=result.get('image_id'),
                         reason=result.get('reason'), timings=timings)
        if ended:
            for phase, seconds in ended['timings'].items():
                self.metrics.phase.labels(phase).observe(seconds)
        self.release(node_id)
        return {'ack': True, 'duplicate': ended is None}

    # Ending jobs, retrying them, releasing nodes

    def end(self, job_id, state, expected=states.ACTIVE, **values):
        """Move a job to a terminal state once; return the ended job if
        this call did it, else None."""
        job = self.store.update_job(job_id, expected, state=state, **values)
        if job is None:
            return None
        self._full_specs.pop(job_id, None)
        reason = values.get('reason')
        self.logs.note(job_id, 'job %s%s' % (
            state, ': %s' % reason if reason else ''))
        self.logs.forget(job_id)
        LOG.info('Job %s ended: %s%s', job_id, state,
                 ' (%s)' % reason if reason else '')
        self.wake()
        return job

    def release(self, node_id):
        """A node whose job ended: held if an operator asked, else gone."""
        with self._lock:
            self._cancelling.pop(node_id, None)
        node = self.store.get_node(node_id)
        if node is None or node['state'] not in states.NODE_LIVE:
            return
        if node['hold_until'] and node['hold_until'] > db_api.utcnow():
            self.store.update_node_if(node_id, [states.NODE_IN_USE],
                                      state=states.NODE_HELD)
            LOG.info('Node %s kept: held until %s.', node_id,
                     node['hold_until'])
        else:
            self.nodes.destroy(node_id)

    def keep_console(self, node, agent_logs=None):
        """Keep what a failed node's console last said, and the agent's
        own logs if given (fetched from a node whose agent never
        registered): in the log of its job's attempt, and in ours."""
        driver = self.drivers[node['driver']]
        if not node['external_id']:
            return
        texts = [('console', driver.console_log(node['id'],
                                                node['external_id'])),
                 ('agent log', agent_logs)]
        for what, text in texts:
            if not text:
                continue
            tail = text.strip()[-2000:]
            LOG.warning('Node %s: its %s said:\n%s', node['id'], what, tail)
            if node['job_id']:
                self.logs.note(node['job_id'], '%s of node %s, last '
                               'lines:\n%s' % (what, node['id'], tail))

    def node_failed(self, node, reason):
        """The node is dead or untrusted: destroy it; retry its job."""
        job_id = node['job_id']
        self.nodes.destroy(node['id'])
        with self._lock:
            self._cancelling.pop(node['id'], None)
        if not job_id:
            return
        job = self.store.get_job(job_id)
        if job['state'] != states.RUNNING:
            return
        self.metrics.node_failures.labels(node['label']).inc()
        LOG.warning('Job %s: %s', job_id, reason)
        if job['attempt'] < self.conf.controller.max_attempts:
            retried = self.store.update_job(
                job_id, [states.RUNNING], state=states.QUEUED, node_id=None,
                wait_reason='attempt %d failed: %s' % (job['attempt'],
                                                       reason))
            if retried is not None:
                self.logs.forget(job_id)
                self.logs.note(job_id, 'node failure (%s); the job will '
                               'run again on a fresh node' % reason)
                self.wake()
            return
        self.end(job_id, states.ERROR, [states.RUNNING], reason=(
            'node_failure: %s (after %d attempts)' % (reason,
                                                      job['attempt'])))

    def boot_failed(self, label, reason, quota):
        """A node of ``label`` did not come up: pause boots for a while;
        a real failure counts as an attempt of the oldest waiting job."""
        self.metrics.boot_failures.labels(
            label, 'quota' if quota else 'error').inc()
        if quota:
            pause = self.conf.controller.quota_backoff
            self._boot_pause[label] = (time.monotonic() + pause,
                                       'cloud quota or capacity: %s'
                                       % reason)
            return
        failures = self._boot_failures.get(label, 0) + 1
        self._boot_failures[label] = failures
        self._boot_pause[label] = (time.monotonic() + min(2 ** failures, 60),
                                   'the last boot failed: %s' % reason)
        waiting = self.store.oldest_queued(label, 1)
        if not waiting:
            return
        job = waiting[0]
        if job['attempt'] + 1 >= self.conf.controller.max_attempts:
            self.end(job['id'], states.ERROR, [states.QUEUED], reason=(
                'node_failure: no node could be booted (%d attempts): %s'
                % (job['attempt'] + 1, reason)))
        else:
            self.store.update_job(job['id'], [states.QUEUED],
                                  attempt=job['attempt'] + 1,
                                  wait_reason='a node failed to boot: %s'
                                  % reason)

    # The control loop

    def _control_loop(self):
        while not self._stop.is_set():
            self._wake.wait(self.conf.controller.monitor_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
            except Exception:
                LOG.exception('Control loop iteration failed')

    def tick(self, force=False):
        """One pass: dispatch, boot, and (when due) check and reap."""
        now = time.monotonic()
        self._dispatch_and_boot()
        ctrl = self.conf.controller
        if force or now - self._last_monitor >= ctrl.monitor_interval:
            self._last_monitor = now
            self.watchdog.check_nodes()
        if force or now - self._last_reap >= ctrl.reap_interval:
            self._last_reap = now
            self.metrics.reaped.inc(self.nodes.reap())

    def _dispatch_and_boot(self):
        live = self.store.live_nodes()
        ready = {}
        for node in live:
            if node['state'] == states.NODE_READY:
                ready.setdefault(node['label'], []).append(node)
        # Only as many queued jobs as there are idle nodes are read: with
        # thousands queued, a pass costs what the nodes cost.
        for label, idle in ready.items():
            for job in self.store.oldest_queued(label, len(idle)):
                if self._dispatch(job, idle[0]):
                    idle.pop(0)
        waiting = self.store.queued_counts()
        for label in self.pools.all():
            idle = ready.get(label.name, [])
            extra = len(idle) - label.min_ready
            if extra > 0 and not waiting.get(label.name):
                # The operator shrank the pool: idle nodes beyond it go.
                for node in idle[:extra]:
                    if self.store.update_node_if(
                            node['id'], [states.NODE_READY],
                            state=states.NODE_DELETING):
                        self.nodes.destroy(node['id'])
                continue
            self._top_up(label, live, len(idle), waiting.get(label.name, 0))

    def _top_up(self, label, live, idle, waiting):
        mine = [n for n in live if n['label'] == label.name]
        booting = sum(1 for n in mine if n['state'] == states.NODE_BOOTING)
        paused = self._boot_pause.get(label.name)
        if paused and paused[0] > time.monotonic():
            return
        wanted = label.min_ready + waiting - idle - booting
        room = min(label.max_nodes - len(mine),
                   label.max_concurrent_boots - booting)
        count = max(0, min(wanted, room))
        # Each node booted while jobs wait is booted for one of them: its
        # agent starts the job as soon as it runs.
        jobs = self.store.oldest_queued(label.name, count) if count else []
        for i in range(count):
            job = jobs[i] if i < len(jobs) else None
            message = job and self._job_message(job)
            if job and message is None:
                continue  # ended: it could not be handed over
            self.nodes.boot(label, message)

    def _dispatch(self, job, node):
        """Give a queued job to a ready node."""
        node = self.store.update_node_if(node['id'], [states.NODE_READY],
                                         state=states.NODE_IN_USE,
                                         job_id=job['id'])
        if node is None:
            return False
        if not self._start(job, node):
            # Cancelled meanwhile: the node serves another.
            self.store.update_node_if(node['id'], [states.NODE_IN_USE],
                                      state=states.NODE_READY, job_id=None)
            return False
        return True

    def _start(self, job, node, send=True):
        """Mark the job running on the node and, with ``send``, hand it
        over; False if the job no longer waits."""
        now = db_api.utcnow()
        job = self.store.update_job(
            job['id'], [states.QUEUED], state=states.RUNNING,
            node_id=node['id'], attempt=job['attempt'] + 1, started_at=now,
            timings=dict(node['timings'],
                         queued=(now - job['created_at']).total_seconds()))
        if job is None:
            return False
        self.metrics.queue_wait.labels(job['label']).observe(
            job['timings']['queued'])
        self.logs.note(job['id'], 'attempt %d on node %s (%s)' % (
            job['attempt'], node['id'], node['label']))
        if send:
            self._dispatch_message(job, node['id'])
        return True

    def _job_message(self, job):
        """The job as its agent gets it: with the secrets left out of the
        database while this controller still holds them. None if it cannot
        be handed over (the job then ends, saying why)."""
        message = {'id': job['id'], 'kind': job['kind'],
                   'spec': self._full_specs.get(job['id'], job['spec'])}
        if job['kind'] == jobspec.BUILD_IMAGE:
            try:
                message['upload'] = self.uploads.target(message['spec'])
            except exception.BuildfarmError as e:
                self.end(job['id'], states.ERROR, reason=str(e))
                self._drop_boot_node(job)
                return None
            message['spec'] = dict(message['spec'], token=None)
        return message

    def _dispatch_message(self, job, node_id):
        message = self._job_message(job)
        if message is None:
            self.release(node_id)
        else:
            self.agents.run_job(node_id, message)


def _seconds(value):
    return datetime.timedelta(seconds=value)
