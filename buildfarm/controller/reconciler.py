"""The reconciler: repairs what a failed write or a crash left half done.

Job and node rows change one write at a time (see the order documented
in lifecycle.py, scheduler.py and agents.py). Each sequence is ordered so
that stopping between two of its writes leaves one of the states below,
which the reconciler finds and repairs, at start and then twice every
``[controller] reconcile_interval``:

- a running job that no node in use (or held) runs: retried on a fresh
  node, or ended in error once it used its ``max_attempts``; a node
  still booting for it goes;
- a queued job that names a node which is gone: freed (the control loop
  gives queued jobs only to nodes booted for them or idle);
- a node in use whose job does not run on it (the job ended, was never
  marked running, or runs elsewhere): released;
- a booting node whose driver never said what it created, past its
  label's boot_timeout: destroyed (the reaper finds what it left).

While the controller serves, a running job may be without its node for a
moment (a node's registration marks the job running, then the node in
use), so such a job is repaired on its second sighting, unchanged (so
within one interval); at start nothing is under way and it is repaired
at once.
"""

import logging

from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import states

LOG = logging.getLogger(__name__)


class Reconciler:

    def __init__(self, conf, store, pools, nodes, lifecycle):
        self.conf = conf
        self.store = store
        self.pools = pools
        self.nodes = nodes
        self.lifecycle = lifecycle
        # Running jobs seen without their node: {job id: updated_at}.
        self._suspects = {}

    def run(self, at_start=False):
        freed = self.store.free_queued_claims()
        if freed:
            LOG.info('Freed %d queued jobs from nodes that are gone.', freed)
        live = self.store.live_nodes()
        self._release_nodes(live)
        self._destroy_unknown_boots(live)
        self._repair_running(at_start)

    def _release_nodes(self, live):
        for node in live:
            if node['state'] != states.NODE_IN_USE:
                continue
            job = self._job(node['job_id'])
            if job and job['state'] == states.RUNNING and (
                    job['node_id'] == node['id']):
                continue
            LOG.warning('Node %s is in use but its job %s %s: releasing '
                        'it.', node['id'], node['job_id'],
                        'is %s' % job['state'] if job else 'is gone')
            self.lifecycle.release(node['id'])

    def _job(self, job_id):
        try:
            return job_id and self.store.get_job(job_id)
        except exception.JobNotFound:
            return None

    def _destroy_unknown_boots(self, live):
        now = db_api.utcnow()
        for node in live:
            if node['state'] != states.NODE_BOOTING or node['external_id']:
                continue
            try:
                timeout = self.pools.get(node['label']).boot_timeout
            except exception.UnknownLabel:
                timeout = self.conf.controller.boot_timeout
            if (now - node['created_at']).total_seconds() > timeout:
                LOG.warning('Node %s: its driver never said what it '
                            'created within %d s; destroying it.',
                            node['id'], timeout)
                self.nodes.destroy(node['id'], [states.NODE_BOOTING])

    def _repair_running(self, at_start):
        suspects = {}
        for job in self.store.list_jobs(states_filter=[states.RUNNING]):
            node, why = self.lifecycle.node_of(job)
            if node is not None:
                continue
            if not at_start and self._suspects.get(job['id']) != (
                    job['updated_at']):
                suspects[job['id']] = job['updated_at']
                continue
            LOG.warning('Job %s is running but %s.', job['id'], why)
            self.lifecycle.lost(job, why)
        self._suspects = suspects
