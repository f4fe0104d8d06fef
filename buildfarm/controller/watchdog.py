"""The watchdog: finds nodes that are dead, late, silent or unneeded.

Called from the engine's control loop. A booting node past its label's
boot_timeout, or one whose driver says it is gone, counts as a failed
boot; a busy node that died, stopped heartbeating or overran its job's
deadline fails its job's attempt (the engine retries the job); a held
node is destroyed when its hold expires.
"""

import concurrent.futures
import logging
import time

from buildfarm.db import api as db_api
from buildfarm.drivers import base
from buildfarm import exception
from buildfarm import states

LOG = logging.getLogger(__name__)

# How long a check waits for a failed node's agent logs before moving on
# (they are then kept at a later check).
AGENT_LOGS_WAIT = 0.5


class Watchdog:

    def __init__(self, engine):
        self.engine = engine
        # Over SSH, fetching the agent's logs of a node that never
        # registered can take half a minute: it happens off the control
        # loop, and the node is handled once they are in.
        self._fetcher = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix='agent-logs')
        self._fetching = {}  # node id -> future of its agent's logs

    def stop(self):
        self._fetcher.shutdown(wait=False, cancel_futures=True)

    def check_nodes(self):
        """Destroy nodes that are dead, late, silent or no longer needed."""
        now = db_api.utcnow()
        watched = []
        for node in self.engine.store.live_nodes():
            state = node['state']
            if state == states.NODE_DELETING:
                if not self.engine.nodes.is_deleting(node['id']):
                    self.engine.nodes.destroy(node['id'])
            elif state == states.NODE_HELD:
                if node['hold_until'] is None or node['hold_until'] <= now:
                    self.engine.nodes.destroy(node['id'])
            elif state != states.NODE_BOOTING or node['external_id']:
                watched.append(node)
            # else: its driver is still creating it
        statuses = self._statuses(watched)
        failed_boots = set()
        for node in watched:
            state = node['state']
            problem = self._node_problem(node, statuses[node['id']], now)
            if problem is None and state == states.NODE_IN_USE:
                reason = self._job_problem(node, now)
                problem = reason and base.NodeStatus(False, reason)
            if problem is None:
                continue
            agent_logs = None
            if state == states.NODE_BOOTING:
                failed_boots.add(node['id'])
                fetched, agent_logs = self._agent_logs(node)
                if not fetched:
                    continue
            self.engine.keep_console(node, agent_logs)
            if state == states.NODE_BOOTING:
                LOG.warning('Node %s: %s', node['id'], problem.reason)
                self.engine.nodes.destroy(node['id'])
                self.engine.boot_failed(node['label'], problem.reason,
                                        quota=problem.capacity)
            else:
                self.engine.node_failed(node, problem.reason)
        for node_id in set(self._fetching) - failed_boots:
            self._fetching.pop(node_id).cancel()  # it registered after all

    def _agent_logs(self, node):
        """(fetched, text) for the agent's logs of a node that failed to
        boot; text is None when its driver cannot fetch them."""
        future = self._fetching.get(node['id'])
        if future is None:
            driver = self.engine.drivers[node['driver']]
            future = self._fetching[node['id']] = self._fetcher.submit(
                driver.agent_logs, node['id'], node['external_id'])
        if not concurrent.futures.wait([future], AGENT_LOGS_WAIT).done:
            return False, None
        self._fetching.pop(node['id'], None)
        try:
            return True, future.result()
        except Exception as e:
            LOG.warning('Node %s: its agent logs could not be fetched: %s',
                        node['id'], e)
            return True, None

    def _statuses(self, nodes):
        """{node_id: NodeStatus}, asking each driver once."""
        by_driver = {}
        for node in nodes:
            by_driver.setdefault(node['driver'], {})[node['id']] = (
                node['external_id'])
        statuses = {}
        for name, driver_nodes in by_driver.items():
            statuses.update(self.engine.drivers[name].statuses(driver_nodes))
        return statuses

    def _node_problem(self, node, status, now):
        """A NodeStatus saying what is wrong with the node (whose driver
        gave ``status``), or None."""
        try:
            label = self.engine.pools.get(node['label'])
        except exception.UnknownLabel:
            return base.NodeStatus(False, 'its label %s is no longer in the '
                                   'pools file' % node['label'])
        if not status.alive:
            return status
        if node['state'] == states.NODE_BOOTING:
            age = (now - node['created_at']).total_seconds()
            if age <= label.boot_timeout:
                return None
            if status.register_by is None:
                return base.NodeStatus(False, (
                    'node %s did not register within %d s (the label\'s '
                    'boot_timeout)' % (node['id'], label.boot_timeout)))
            if now > status.register_by:
                return base.NodeStatus(False, (
                    'node %s is up but its agent did not register by %s UTC'
                    % (node['id'], status.register_by.isoformat(' ',
                                                                'seconds'))))
            return None
        silent = (now - node['last_heartbeat']).total_seconds()
        if silent > self.engine.conf.controller.heartbeat_timeout:
            return base.NodeStatus(False, 'no heartbeat from node %s for '
                                   '%d s' % (node['id'], silent))
        return None

    def _job_problem(self, node, now):
        job = self.engine.store.get_job(node['job_id'])
        if job['state'] in states.TERMINAL:
            self.engine.release(node['id'])
            return None
        deadline = self._run_deadline(job)
        if (now - job['started_at']).total_seconds() > deadline:
            return ('node %s did not report within %d s of starting the job'
                    % (node['id'], deadline))
        grace = self.engine.conf.controller.cancel_grace
        asked = self.engine.cancel_requested_at(node['id'])
        if asked and time.monotonic() - asked > grace:
            if self.engine.end(job['id'], states.CANCELLED,
                               [states.RUNNING], reason=(
                                   'Cancelled by request; the node did not '
                                   'confirm within %d s and was destroyed.'
                                   % grace)):
                self.engine.nodes.destroy(node['id'])
        return None

    def _run_deadline(self, job):
        conf = self.engine.conf
        return (job['spec']['timeout'] + conf.agent.clone_timeout +
                2 * conf.agent.kill_grace + conf.controller.cancel_grace)
