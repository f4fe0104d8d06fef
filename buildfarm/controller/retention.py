"""Retention: finished jobs, their logs and dead nodes' rows go once
``[controller] job_retention_days`` or ``max_finished_jobs`` say so.

The control loop calls ``prune`` every ``prune_interval``; each call
deletes one batch, so that a backlog (retention just turned on) is
worked off over several passes without holding the loop up. A job whose
Mistral callback is still due, or that a live node still names, stays.
"""

import datetime
import logging

from buildfarm.db import api as db_api

LOG = logging.getLogger(__name__)

BATCH = 500


class Pruner:

    def __init__(self, conf, store, logs):
        """``logs``: the LogStore."""
        self.conf = conf
        self.store = store
        self.logs = logs

    def prune(self, batch=BATCH):
        """Delete one batch; True if more may be waiting."""
        days = self.conf.controller.job_retention_days
        keep = self.conf.controller.max_finished_jobs
        if not (days or keep):
            return False
        now = db_api.utcnow()
        before = now - datetime.timedelta(days=days) if days else None
        ids = self.store.prunable_jobs(before, keep, batch)
        # The log first: stopped between the two, a job without its log
        # goes at the next pass; the other way round, a log no job names
        # would stay for ever.
        jobs = self.store.delete_jobs(
            [job_id for job_id in ids if self.logs.delete(job_id)])
        # Dead nodes' rows only matter while their jobs may be looked at.
        nodes = self.store.prune_dead_nodes(
            now - datetime.timedelta(days=days or 1), batch)
        if jobs or nodes:
            LOG.info('Pruned %d finished jobs (and their logs) and %d rows '
                     'of deleted nodes.', jobs, nodes)
        return (len(ids) == batch and jobs > 0) or nodes == batch
