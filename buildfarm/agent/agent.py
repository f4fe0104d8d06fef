"""The agent: registers with the controller, runs one job, reports.

A node booted for a waiting job finds that job in its configuration
(``[agent] boot_job``) and starts it at once, while it connects to the
broker and registers; its log and report wait for the registration. The
modules that use oslo.messaging are imported only then: importing it takes
about as long as a small clone.
"""

import json
import logging
import os
import platform
import random
import threading
import time

import psutil

from buildfarm.agent import logstream
from buildfarm.agent import runner
from buildfarm.common import auth
from buildfarm import exception
from buildfarm import objects

LOG = logging.getLogger(__name__)


def facts(rejected=0):
    """What the agent tells the controller about its node; ``rejected``:
    messages it dropped (unsealed, stale or replayed)."""
    mem = psutil.virtual_memory()
    return {'hostname': platform.node(), 'cpus': psutil.cpu_count(),
            'load': os.getloadavg()[0], 'memory_total': mem.total,
            'memory_available': mem.available,
            'disk_free': psutil.disk_usage('/').free,
            'rejected_messages': rejected}


def retry(func, what, deadline, stop_event=None):
    """Call ``func`` until it answers or ``deadline`` (monotonic) passes."""
    from buildfarm.common import rpc  # late: see the module's docstring
    delay = 0.5
    while True:
        try:
            return func()
        except rpc.MessagingException as e:
            if time.monotonic() + delay > deadline or (
                    stop_event is not None and stop_event.is_set()):
                raise
            LOG.warning('%s failed (%s); retrying in %.1f s', what, e, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10)


class Agent:

    def __init__(self, conf, transport=None):
        """``transport``: None to connect to ``conf.transport_url`` once
        started."""
        self.conf = conf
        self.node_id = conf.agent.node_id
        if not self.node_id or not conf.agent.node_secret:
            raise exception.BuildfarmError(
                'The agent needs [agent] node_id and node_secret; the '
                'controller writes them when it boots the node.')
        self._transport = transport
        self.controller = None
        self.server = None
        self._lock = threading.Lock()
        self._job_id = None
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._registered = threading.Event()
        self._session = None
        self._has_session = threading.Event()
        self._guard = auth.ReplayGuard()
        self.rejected = 0
        self._contact = time.monotonic()
        self.done = threading.Event()

    def start(self):
        """Start the boot job if any, then connect and register; returns
        at once."""
        os.makedirs(self.conf.agent.workspace, exist_ok=True)
        if self.conf.agent.boot_job:
            self.run_job(objects.JobMessage.from_dict(
                json.loads(self.conf.agent.boot_job)))
        threading.Thread(target=self._register_and_beat, daemon=True,
                         name='agent-%s' % self.node_id).start()
        deadline = threading.Timer(self.conf.agent.lease,
                                   self._stop_unless_registered)
        deadline.daemon = True
        deadline.start()

    def _stop_unless_registered(self):
        # oslo.messaging retries an unreachable broker for ever.
        if not self._registered.is_set():
            LOG.error('Node %s could not reach the controller within its '
                      'lease (%d s); stopping.', self.node_id,
                      self.conf.agent.lease)
            self._stop.set()
            self._cancel.set()
            self.done.set()

    def _connect(self):
        # Imported only now: see the module's docstring.
        from buildfarm.agent import manager
        from buildfarm.common import rpc
        from buildfarm.controller import rpcapi as controller_rpcapi
        if self._transport is None:
            rpc.register_opts(self.conf)
            self._transport = rpc.get_transport(self.conf)
        secret = self.conf.agent.node_secret
        self.controller = controller_rpcapi.NodeCallbackAPI(
            self._transport, self.conf.agent.controller_topic, self.node_id,
            secret)
        self.server = rpc.get_server(
            self._transport, rpc.AGENT_TOPIC,
            auth.agent_server(secret, self.node_id),
            [manager.AgentManager(self)])
        self.server.start()

    def _register(self, deadline):
        """Trade the bootstrap secret for the session key."""
        from buildfarm.common import seal  # late: see the module's docstring
        private_key, public_key = seal.new_key_pair()
        answer = retry(
            lambda: self.controller.agent_ready(facts(), public_key,
                                                self._job_id),
            'agent_ready', deadline, self._stop)
        self._session = seal.open_sealed(private_key, answer['session'])
        self.controller.use_session(self._session)
        self._has_session.set()
        return answer

    def _register_and_beat(self):
        deadline = time.monotonic() + self.conf.agent.lease
        try:
            self._connect()
            answer = self._register(deadline)
        except Exception:
            LOG.exception('Node %s could not register; stopping.',
                          self.node_id)
            self.stop()
            return
        self._contact = time.monotonic()
        LOG.info('Node %s registered.', self.node_id)
        if self._job_id is not None and answer.get('job_id') != self._job_id:
            LOG.info('Job %s was cancelled while the node booted.',
                     self._job_id)
            self.stop()
            return
        self._registered.set()
        interval = self.conf.agent.heartbeat_interval
        while not self._stop.wait(interval * random.uniform(0.8, 1.2)):
            try:
                self.controller.heartbeat(self._job_id,
                                          facts(self.rejected))
                self._contact = time.monotonic()
            except Exception as e:
                LOG.warning('Heartbeat failed: %s', e)
            silent = time.monotonic() - self._contact
            if silent > self.conf.agent.lease:
                # Dead-man switch: nobody will collect this node's work or
                # destroy it, so it ends itself.
                LOG.error('Node %s: no answer from the controller for %d s '
                          '(lease %d s); stopping the job and the node.',
                          self.node_id, silent, self.conf.agent.lease)
                self.stop()

    def deliver(self, box):
        """Open a message of the controller and act on it; anything not
        sealed for this node with its session key, stale or replayed is
        dropped and counted."""
        from buildfarm.common import seal
        # A job may be sent in the instant between the registration and
        # its answer.
        if not self._has_session.wait(self.conf.agent.report_timeout):
            return
        try:
            method, args = seal.unseal(self._session, self.node_id, box,
                                       self._guard)
            if method == 'run_job':
                self.run_job(objects.JobMessage.from_dict(args['job']))
            elif method == 'cancel_job':
                self.cancel_job(args['job_id'])
            else:
                raise exception.AgentAuthError('Unknown method %r.'
                                               % method)
        except (exception.AgentAuthError, KeyError, TypeError) as e:
            self.rejected += 1
            LOG.warning('Node %s dropped a message: %s', self.node_id, e)

    def run_job(self, job):
        """Start ``job`` (a JobMessage) unless the node has one."""
        with self._lock:
            if self._job_id == job.id:
                return  # dispatched again after a controller restart
            if self._job_id is not None:
                LOG.warning('Node %s already runs job %s; ignoring job %s.',
                            self.node_id, self._job_id, job.id)
                return
            self._job_id = job.id
        threading.Thread(target=self._run, args=(job,), daemon=True,
                         name='job-%s' % job.id).start()

    def cancel_job(self, job_id):
        if job_id == self._job_id:
            LOG.info('Job %s: cancel requested.', job_id)
            self._cancel.set()

    def _wait_registered(self, deadline=float('inf')):
        """What concerns a boot job waits for the registration: its log
        and report, and its command, which then runs confirmed by the
        controller and cannot use up the node's processes before the
        agent's connections and threads exist."""
        while not self._registered.wait(0.5):
            if self._stop.is_set() or time.monotonic() > deadline:
                raise exception.BuildfarmError(
                    'The node never registered with the controller.')

    def _send_chunk(self, job_id, seq, data):
        deadline = time.monotonic() + self.conf.agent.report_timeout
        self._wait_registered(deadline)
        retry(lambda: self.controller.log_chunk(job_id, seq, data),
              'log chunk %d of job %s' % (seq, job_id), deadline)
        self._contact = time.monotonic()

    def _run(self, job):
        job_id = job.id
        log = logstream.LogStream(
            lambda seq, data: self._send_chunk(job_id, seq, data),
            self.conf.agent.max_log_bytes,
            self.conf.agent.log_flush_interval, secrets=job.secrets())
        work = None
        try:
            work = self._runner(job.kind)(
                self.conf, job, log, self._cancel, self._wait_registered)
            report = work.run()
        except Exception as e:
            LOG.exception('Job %s: agent failure', job_id)
            report = objects.Report(reason='The agent failed: %s' % e)
        finally:
            try:
                log.close()
            except Exception:
                LOG.exception('Job %s: could not send the last log chunks',
                              job_id)
            if work is not None:
                work.cleanup()
        deadline = time.monotonic() + self.conf.agent.report_timeout
        try:
            self._wait_registered(deadline)
            retry(lambda: self.controller.report(job_id, report.to_dict()),
                  'report of job %s' % job_id, deadline)
            LOG.info('Job %s: report acknowledged (%s).', job_id,
                     report.state)
        except Exception:
            LOG.exception('Job %s: the controller never acknowledged the '
                          'report.', job_id)
        self.stop()

    @staticmethod
    def _runner(kind):
        if kind == objects.BUILD_IMAGE:
            # Late: repo jobs need none of it.
            from buildfarm.agent import build
            return build.BuildImageRunner
        return runner.RepoJobRunner

    def stop(self):
        if self._stop.is_set():
            return
        self._stop.set()
        self._cancel.set()
        try:
            if self.server is not None:
                self.server.stop()
                self.server.wait()
        except Exception:
            LOG.debug('RPC server of node %s already stopped', self.node_id)
        self.done.set()
