"""What a failed node last said: its console and, for a node whose agent
never registered, the agent's own logs, kept in its job's log and ours.

Over SSH, fetching the agent's logs can take half a minute: it happens
off the control loop, and the node is handled once they are in.
"""

import concurrent.futures
import logging

from buildfarm import exception

LOG = logging.getLogger(__name__)

# How long a check waits for a failed node's agent logs before moving on
# (they are then kept at a later check).
AGENT_LOGS_WAIT = 0.5


class Consoles:

    def __init__(self, drivers, pools, logs):
        self.drivers = drivers
        self.pools = pools
        self.logs = logs
        self._fetcher = concurrent.futures.ThreadPoolExecutor(
            2, thread_name_prefix='agent-logs')
        self._fetching = {}  # node id -> future of its agent's logs

    def stop(self):
        self._fetcher.shutdown(wait=False, cancel_futures=True)

    def agent_logs(self, node):
        """(fetched, text) for the agent's logs of a node that failed to
        boot; text is None when its driver cannot fetch them. Not fetched
        yet: ask again at the next check."""
        future = self._fetching.get(node['id'])
        if future is None:
            driver = self.drivers[node['driver']]
            try:
                settings = self.pools.get(node['label']).settings
            except exception.UnknownLabel:
                settings = {}
            future = self._fetching[node['id']] = self._fetcher.submit(
                driver.agent_logs, node['id'], node['external_id'],
                settings)
        if not concurrent.futures.wait([future], AGENT_LOGS_WAIT).done:
            return False, None
        self._fetching.pop(node['id'], None)
        try:
            return True, future.result()
        except Exception as e:
            LOG.warning('Node %s: its agent logs could not be fetched: %s',
                        node['id'], e)
            return True, None

    def forget_all_but(self, node_ids):
        """Stop fetching for nodes no longer failing (they registered
        after all)."""
        for node_id in set(self._fetching) - set(node_ids):
            self._fetching.pop(node_id).cancel()

    def keep(self, node, agent_logs=None):
        """Keep what a failed node's console last said, and the agent's
        logs if given: in the log of its job's attempt, and in ours."""
        if not node['external_id']:
            return
        driver = self.drivers[node['driver']]
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
