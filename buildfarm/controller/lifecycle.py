"""The lifecycle of jobs and nodes: starting a job on a node, ending it,
retrying it after its node failed, and releasing or destroying nodes.

Every job and node state change the controller makes goes through here
(and through db.api's transitions), whoever noticed the need: the caller
API, the agents' messages, the scheduler, the watchdog's findings or the
reconciler.

A job and its node change in separate writes, any of which may fail (a
locked database, a crash). The order of each sequence leaves, when it
stops half way, a state the reconciler repairs (see reconciler.py):
starting a job on an idle node marks the node in use, then the job
running (scheduler._dispatch); on the node booted for it, the job
running, then the node in use (agents._register); ending marks the job
ended, then releases its node; a failed node is destroyed, then its job
retried. Log notes are best effort and come after the writes that
decide anything.
"""

import logging

from buildfarm.controller import watchdog
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import objects
from buildfarm import states

LOG = logging.getLogger(__name__)


class Lifecycle:

    def __init__(self, conf, store, nodes, logs, metrics, memory, agents,
                 uploads, consoles, wake):
        """``nodes``: the NodeKeeper; ``memory``: the controller's
        memory.Memory; ``agents``: the agent RPC client; ``wake()`` makes
        the scheduler look again at once."""
        self.conf = conf
        self.store = store
        self.nodes = nodes
        self.logs = logs
        self.metrics = metrics
        self.memory = memory
        self.agents = agents
        self.uploads = uploads
        self.consoles = consoles
        self.wake = wake

    # Starting

    def start(self, job, node, send=True):
        """Mark the queued job running on the node and, with ``send``,
        hand it over; the running job, or None if it no longer waits."""
        now = db_api.utcnow()
        job = self.store.transition_job(
            job['id'], states.RUNNING, node_id=node['id'],
            attempt=job['attempt'] + 1, started_at=now,
            timings=dict(node['timings'],
                         queued=(now - job['created_at']).total_seconds()))
        if job is None:
            return None
        self.metrics.queue_wait.labels(job['label']).observe(
            job['timings']['queued'])
        self.logs.note(job['id'], 'attempt %d on node %s (%s)' % (
            job['attempt'], node['id'], node['label']))
        if send:
            self.send(job, node['id'])
        return job

    def job_message(self, job):
        """The job as its agent gets it, with the secrets the database
        does not keep while this controller still holds them. None if it
        cannot be handed over (the job then ends, saying why)."""
        spec = self.memory.secrets.get(job['id'], job['spec'])
        upload = None
        if job['kind'] == jobspec.BUILD_IMAGE:
            try:
                upload = self.uploads.target(spec, job)
            except exception.BuildfarmError as e:
                self.end(job['id'], states.ERROR, reason=str(e))
                self.drop_boot_node(job)
                return None
            spec = dict(spec, token=None)  # it travels in the upload target
        return objects.JobMessage(id=job['id'], kind=job['kind'], spec=spec,
                                  upload=upload).to_dict()

    def send(self, job, node_id):
        """Hand a running job to its node's agent (again, after a
        restart: an agent that has it ignores a second one)."""
        message = self.job_message(job)
        if message is None:
            self.release(node_id)
            return
        try:
            self.agents.run_job(node_id, message)
        except Exception as e:
            # Not waiting for the run deadline: the job gets another node.
            LOG.warning('Job %s could not be sent to node %s: %s',
                        job['id'], node_id, e)
            node = self.store.get_node(node_id)
            if node is not None:
                self.node_failed(node, 'the job could not be sent to node '
                                 '%s: %s' % (node_id, e))

    # Ending and retrying

    def end(self, job_id, state, from_states=None, **values):
        """Move a job to a terminal state once; return the ended job if
        this call did it, else None."""
        job = self.store.transition_job(job_id, state, from_states,
                                        **values)
        if job is None:
            return None
        self.memory.secrets.forget(job_id)
        self.uploads.release_later(job)  # a minted upload credential goes
        reason = values.get('reason')
        self.logs.note(job_id, 'job %s%s' % (
            state, ': %s' % reason if reason else ''))
        self.logs.forget(job_id)
        LOG.info('Job %s ended: %s%s', job_id, state,
                 ' (%s)' % reason if reason else '')
        self.wake()
        return job

    def requeue(self, job_id, wait_reason=None):
        """A running job whose node is gone waits for another; True if
        this call did it."""
        values = {'wait_reason': wait_reason} if wait_reason else {}
        job = self.store.transition_job(
            job_id, states.QUEUED, [states.RUNNING], node_id=None, **values)
        if job is None:
            return False
        self.logs.forget(job_id)
        self.wake()
        return True

    def cancel_queued(self, job):
        """End a job that has not started; its booting node goes too."""
        if self.end(job['id'], states.CANCELLED, [states.QUEUED],
                    reason='Cancelled by request before it started.'):
            self.drop_boot_node(job)

    def cancel_unconfirmed(self, node, job):
        """The agent did not confirm a cancel within the grace: the job
        ends, its node goes."""
        grace = self.conf.controller.cancel_grace
        if self.end(job['id'], states.CANCELLED, [states.RUNNING], reason=(
                'Cancelled by request; the node did not confirm within %d '
                's and was destroyed.' % grace)):
            self.nodes.destroy(node['id'])

    # Nodes

    def drop_boot_node(self, job):
        """A node still booting for a job that ended goes too."""
        if job['node_id'] and self.store.update_node(
                job['node_id'], [states.NODE_BOOTING], job_id=None):
            self.nodes.destroy(job['node_id'])

    def release(self, node_id):
        """A node whose job ended: held if an operator asked, else gone."""
        self.memory.cancels.forget(node_id)
        node = self.store.get_node(node_id)
        if node is None or node['state'] not in states.NODE_LIVE:
            return
        if node['hold_until'] and node['hold_until'] > db_api.utcnow():
            if self.store.transition_node(node_id, states.NODE_HELD,
                                          [states.NODE_IN_USE]):
                LOG.info('Node %s kept: held until %s.', node_id,
                         node['hold_until'])
        else:
            self.nodes.destroy(node_id)

    def node_failed(self, node, reason):
        """The node is dead or untrusted: destroy it; retry its job."""
        job_id = node['job_id']
        # The node first: stopped between the two, the job is running
        # without its node, which the reconciler retries.
        self.nodes.destroy(node['id'])
        self.memory.cancels.forget(node['id'])
        if not job_id:
            return
        job = self.store.get_job(job_id)
        if job['state'] != states.RUNNING or job['node_id'] != node['id']:
            return
        self.metrics.node_failures.labels(node['label']).inc()
        LOG.warning('Job %s: %s', job_id, reason)
        self._retry_or_end(job, reason)

    def _retry_or_end(self, job, reason):
        job_id = job['id']
        if job['attempt'] < self.conf.controller.max_attempts:
            if self.requeue(job_id, 'attempt %d failed: %s'
                            % (job['attempt'], reason)):
                self.logs.note(job_id, 'node failure (%s); the job will '
                               'run again on a fresh node' % reason)
            return
        self.end(job_id, states.ERROR, [states.RUNNING], reason=(
            'node_failure: %s (after %d attempts)' % (reason,
                                                      job['attempt'])))

    def node_of(self, job):
        """(node, None): the node in use (or held) that runs the running
        ``job``; (None, why) if none does."""
        node_id = job['node_id']
        node = node_id and self.store.get_node(node_id)
        if not node:
            return None, 'its node %s is gone' % node_id
        if node['job_id'] != job['id']:
            return None, 'its node %s serves another job' % node_id
        if node['state'] not in (states.NODE_IN_USE, states.NODE_HELD):
            return None, 'its node %s is %s' % (node_id, node['state'])
        return node, None

    def lost(self, job, why):
        """A running job that no node runs (``why``, from node_of): a
        write failed or the controller stopped while handing it over or
        taking its report. Its node goes if it still lives; the job is
        retried, or ends in error after max_attempts."""
        self._drop_node_of(job)
        self._retry_or_end(job, '%s (the controller lost track of the '
                           'job: a write failed or it restarted)' % why)

    def cancel_lost(self, job, why):
        """Cancel a running job that no node runs: it ends now."""
        if self.end(job['id'], states.CANCELLED, [states.RUNNING], reason=(
                'Cancelled by request; %s.' % why)):
            self._drop_node_of(job)

    def _drop_node_of(self, job):
        """Destroy the job's node if it still lives for the job (booting
        for it, say)."""
        node = job['node_id'] and self.store.get_node(job['node_id'])
        if node and node['job_id'] == job['id'] and (
                node['state'] in states.NODE_LIVE):
            self.nodes.destroy(node['id'])

    def boot_failed(self, label, reason, quota):
        """A node of ``label`` did not come up: pause boots for a while;
        a real failure counts as an attempt of the oldest waiting job."""
        self.metrics.boot_failures.labels(
            label, 'quota' if quota else 'error').inc()
        pauses = self.memory.pauses
        if quota:
            pauses.pause(label, self.conf.controller.quota_backoff,
                         'cloud quota or capacity: %s' % reason)
            return
        failures = pauses.failed(label)
        pauses.pause(label, min(2 ** failures, 60),
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

    # What the watchdog found

    def act(self, findings):
        """Act on the watchdog's findings (watchdog.Finding)."""
        failing_boots = []
        for found in findings:
            node = found.node
            if found.action == watchdog.DESTROY:
                self.nodes.destroy(node['id'])
            elif found.action == watchdog.RELEASE:
                self.release(node['id'])
            elif found.action == watchdog.CANCEL_OVERDUE:
                self.cancel_unconfirmed(node, found.job)
            elif found.action == watchdog.BOOT_FAILED:
                failing_boots.append(node['id'])
                fetched, agent_logs = self.consoles.agent_logs(node)
                if not fetched:
                    continue  # handled at a later check, once they are in
                self.consoles.keep(node, agent_logs)
                LOG.warning('Node %s: %s', node['id'], found.reason)
                self.nodes.destroy(node['id'])
                self.boot_failed(node['label'], found.reason,
                                 found.capacity)
            else:
                self.consoles.keep(node)
                self.node_failed(node, found.reason)
        self.consoles.forget_all_but(failing_boots)
