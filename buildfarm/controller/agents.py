"""What agents tell the controller: registration, heartbeats, log chunks
and reports.

Every message is checked against its node's secrets (``verify``) before
anything else: registration against the bootstrap secret, and only once;
every later message against the session key. A replayed message, or one
for a job that is not the node's, is dropped and counted.
"""

import datetime
import logging

from buildfarm.common import auth
from buildfarm.common import seal
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import objects
from buildfarm import states

LOG = logging.getLogger(__name__)
# Characters of a log chunk: agents send 64 KiB at most.
MAX_CHUNK = 256 * 1024


class AgentCallbacks:

    def __init__(self, store, nodes, logs, metrics, memory, lifecycle,
                 node_key):
        """``nodes``: the NodeKeeper; ``node_key`` derives each node's
        secret."""
        self.store = store
        self.nodes = nodes
        self.logs = logs
        self.metrics = metrics
        self.memory = memory
        self.lifecycle = lifecycle
        self._key = node_key

    def verify(self, node_id, method, payload, auth_info):
        if not isinstance(node_id, str):
            self.metrics.rejected.labels(method).inc()
            raise exception.AgentAuthError('%s: no node id.' % method)
        if method == 'agent_ready':
            secret = auth.node_secret(self._key, node_id)
        else:
            secret = auth.session_key(self._key, node_id)
        try:
            auth.verify(secret, method, payload, auth_info,
                        self.memory.nonces)
        except exception.AgentAuthError as e:
            LOG.warning('Rejected %s from node %s: %s', method, node_id, e)
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

    def agent_ready(self, node_id, facts, public_key, job_id=None):
        """A node's agent is up. ``job_id``: the boot job it started.

        Answers the job the node may run (the one it was booted for,
        unless that job no longer waits: the node then goes), and the
        session key sealed to ``public_key``. A node registers once:
        its bootstrap secret is spent.
        """
        node = self._node_for('agent_ready', node_id)[0]
        try:
            session = seal.seal_to(public_key,
                                   auth.session_key(self._key, node_id))
        except (TypeError, ValueError, AttributeError) as e:
            self.metrics.rejected.labels('agent_ready').inc()
            raise exception.AgentAuthError(
                'Node %s: unusable public key (%s).' % (node_id, e))
        if not self.store.claim_registration(node_id):
            self.metrics.rejected.labels('agent_ready').inc()
            LOG.warning('Rejected a second registration of node %s.',
                        node_id)
            raise exception.AgentAuthError(
                'Node %s has registered already: its bootstrap secret '
                'works once.' % node_id)
        answer = self._register(node, facts, job_id)
        return dict(answer, ack=True, session=session)

    def _register(self, node, facts, job_id):
        node_id = node['id']
        now = db_api.utcnow()
        booted = node['created_at'] + datetime.timedelta(
            seconds=node['timings'].get('node_boot', 0))
        values = dict(ready_at=now, last_heartbeat=now, facts=facts,
                      timings=dict(node['timings'], agent_ready=max(
                          0.0, (now - booted).total_seconds())))
        LOG.info('Node %s (%s) is ready.', node_id, node['label'])
        self.memory.pauses.succeeded(node['label'])
        if not node['job_id']:
            if self.store.transition_node(node_id, states.NODE_READY,
                                          [states.NODE_BOOTING], **values):
                self.lifecycle.wake()
            return {'job_id': None}
        # The job first: a node in use beside a job still queued would
        # look to the control loop like a job without a node. Stopped
        # between the two (a failed write), the job runs on a node still
        # booting: the reconciler destroys the node and retries the job.
        job = self.lifecycle.start(self.store.get_job(node['job_id']),
                                   dict(node, **values), send=False)
        if job is None:
            LOG.info('Node %s: its job %s no longer waits; the node goes.',
                     node_id, node['job_id'])
            self.nodes.destroy(node_id)
            return {'job_id': None}
        if not self.store.transition_node(node_id, states.NODE_IN_USE,
                                          [states.NODE_BOOTING], **values):
            # Given up for dead meanwhile: the job waits for another node.
            self.lifecycle.requeue(job['id'])
            return {'job_id': None}
        if job_id != job['id']:
            # The agent did not start it: sent now, once both writes are
            # done (making the message may take a while: an upload
            # credential is minted), so the reconciler never sees the job
            # running on a node still booting for long.
            self.lifecycle.send(job, node_id)
        return {'job_id': job['id']}

    def heartbeat(self, node_id, job_id, facts):
        self._node_for('heartbeat', node_id)
        self.store.update_node(node_id, last_heartbeat=db_api.utcnow(),
                               facts=facts)
        return {'ack': True}

    def log_chunk(self, node_id, job_id, seq, data):
        self._node_for('log_chunk', node_id, job_id)
        if (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or
                not isinstance(data, str) or len(data) > MAX_CHUNK):
            self.metrics.rejected.labels('log_chunk').inc()
            raise exception.AgentAuthError(
                'log_chunk: a chunk is a number from 0 and at most %d '
                'characters of text.' % MAX_CHUNK)
        self.logs.append(job_id, seq, data)
        return {'ack': seq}

    def report(self, node_id, job_id, result):
        # A resend may arrive after the node was destroyed: it is still
        # that node's job, and is acknowledged as a duplicate.
        job = self._node_for('report', node_id, job_id, live=False)[1]
        report = objects.Report.from_dict(result)
        timings = dict(report.timings)
        # What neither clone nor run took from dispatch to now: handing
        # the job over and reporting back.
        started = job['started_at']
        if started is not None:
            timings['report'] = max(0.0, (
                db_api.utcnow() - started).total_seconds() - sum(
                timings.values()))
        # The job ends first, then its node goes. A failed write raises
        # to the agent, which sends the report again; stopped between the
        # two, the node is in use beside an ended job, and the watchdog or
        # the reconciler releases it.
        ended = self.lifecycle.end(
            job_id, report.state, [states.RUNNING],
            exit_code=report.exit_code, commit=report.commit,
            image_id=report.image_id, reason=report.reason, timings=timings)
        if ended:
            for phase, seconds in ended['timings'].items():
                self.metrics.phase.labels(phase).observe(seconds)
        self.lifecycle.release(node_id)
        return {'ack': True, 'duplicate': ended is None}
