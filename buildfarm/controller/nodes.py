"""Nodes: booting them for a label's pool, destroying them, finding leaks.

The scheduler and the lifecycle decide when to boot and what to destroy;
this module does it through the label's driver, off the control loop
(launcher and deleter thread pools), and keeps the node rows true. How a
boot ended comes back to the scheduler as a value (``boot_results``).
"""

import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
import uuid

from buildfarm.common import auth
from buildfarm.controller import rpcapi
from buildfarm.db import api as db_api
from buildfarm.drivers import base as driver_base
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import objects
from buildfarm import states

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class BootFailure:
    """A node of ``label`` could not be booted."""

    label: str
    reason: str
    # The cloud lacked quota or capacity (jobs wait rather than fail).
    quota: bool


class NodeKeeper:

    def __init__(self, conf, store, drivers, node_key, wake, metrics):
        """``node_key`` derives each node's secret; ``wake()`` tells the
        scheduler that a boot or a deletion ended."""
        self.conf = conf
        self.store = store
        self.drivers = drivers
        self._key = node_key
        self._wake = wake
        self._metrics = metrics
        self._boot_failures = queue.SimpleQueue()
        self._launcher = concurrent.futures.ThreadPoolExecutor(
            16, thread_name_prefix='launcher')
        self._deleter = concurrent.futures.ThreadPoolExecutor(
            4, thread_name_prefix='deleter')
        self._lock = threading.Lock()
        self._deleting = set()
        # Leaked nodes seen once: {(driver, node_id): external_id}.
        self._leak_seen = {}

    def stop(self):
        self._launcher.shutdown(wait=True, cancel_futures=True)
        self._deleter.shutdown(wait=True)

    # Booting

    def boot(self, label, job=None):
        """Start booting a node of ``label``, for ``job`` (the job as its
        agent gets it) if given; returns the node's row at once."""
        node = self.store.create_node(str(uuid.uuid4()), label.driver,
                                      label.name, job and job['id'])
        if node['job_id'] is None:
            job = None  # it no longer waits
        self._metrics.boots.labels(label.name).inc()
        self._launcher.submit(self._create, node['id'], label, job)
        return node

    def _agent_conf(self, node_id, job):
        """The agent's configuration (an objects.AgentConfig) as every
        driver gets it; ``job``: the boot job (JobMessage or its dict)."""
        node = self.conf.node
        job_env = dict(node.extra_env)
        if node.pip_index_url:
            job_env['PIP_INDEX_URL'] = node.pip_index_url
        if node.npm_registry:
            job_env['npm_config_registry'] = node.npm_registry
        return objects.AgentConfig(
            transport_url=node.transport_url or self.conf.transport_url,
            node_id=node_id,
            controller_topic=rpcapi.node_topic(self.conf),
            node_secret=auth.node_secret(self._key, node_id),
            lease=self.conf.controller.node_lease,
            heartbeat_interval=self.conf.controller.node_heartbeat_interval,
            job_env=job_env,
            packs_dir=node.packs_dir,
            boot_job=job or None)

    def _local_repos(self, job):
        """The host directory of the boot job's file:// repository, the
        only one its node may see ([] for a warm node: the scheduler gives
        such jobs only to nodes booted for them). The job's submission
        checked it against [controller] allowed_local_repo_dirs."""
        path = job and jobspec.local_repo_path(job['spec']['git_url'])
        return [path] if path else []

    def _create(self, node_id, label, job):
        spec = driver_base.NodeSpec(
            node_id=node_id, label=label.name, settings=dict(label.settings),
            agent_conf=self._agent_conf(node_id, job),
            local_repos=self._local_repos(job))
        start = time.monotonic()
        try:
            external_id = self.drivers[label.driver].create(spec)
        except Exception as e:
            quota = isinstance(e, exception.QuotaExceeded)
            reason = str(e) if isinstance(e, exception.BuildfarmError) else (
                'The node could not be booted: %s' % e)
            if quota:
                LOG.info('Node %s (%s): quota: %s', node_id, label.name, e)
            else:
                LOG.warning('Node %s (%s) failed to boot: %s', node_id,
                            label.name, reason)
            self._cleanup_failed(node_id, label.driver)
            self._boot_failures.put(BootFailure(label.name, reason, quota))
        else:
            self.store.update_node(node_id, external_id=external_id,
                                   timings={'node_boot':
                                            time.monotonic() - start})
        self._wake()

    def boot_failures(self):
        """The boots that failed since the last call (BootFailure)."""
        failures = []
        while not self._boot_failures.empty():
            failures.append(self._boot_failures.get())
        return failures

    def _cleanup_failed(self, node_id, driver):
        try:
            self.drivers[driver].delete(node_id, None)
        except exception.BuildfarmError:
            LOG.exception('Node %s: cleanup after a failed boot failed; the '
                          'reaper will find it.', node_id)
        # Unless it is being destroyed already.
        self.store.transition_node(node_id, states.NODE_FAILED,
                                   deleted_at=db_api.utcnow())

    # Destroying

    def destroy(self, node_id, from_states=None):
        """Destroy a node (in the background), if it is in one of
        ``from_states`` (default: any live state); idempotent. False if
        it was not."""
        with self._lock:
            if node_id in self._deleting:
                return True
            self._deleting.add(node_id)
        node = None
        try:
            node = self.store.transition_node(
                node_id, states.NODE_DELETING, from_states)
        finally:
            # Gone already, moved on, or the write failed (the next call
            # tries again).
            if node is None:
                with self._lock:
                    self._deleting.discard(node_id)
        if node is None:
            return False
        try:
            self._deleter.submit(self._delete, node)
        except RuntimeError:  # shutting down: delete in this thread
            self._delete(node)
        return True

    def deleting(self):
        """Ids of the nodes whose deletion is under way."""
        with self._lock:
            return set(self._deleting)

    def _delete(self, node):
        try:
            self.drivers[node['driver']].delete(node['id'],
                                                node['external_id'])
            self.store.transition_node(node['id'], states.NODE_DELETED,
                                       deleted_at=db_api.utcnow())
            LOG.info('Node %s deleted.', node['id'])
        except Exception:
            # Left in "deleting": the control loop tries again.
            LOG.exception('Node %s could not be deleted; will retry.',
                          node['id'])
        finally:
            with self._lock:
                self._deleting.discard(node['id'])
        self._wake()

    # Leaks

    def reap(self):
        """Delete what carries our owner tag but is not a live node of
        ours, on its second sighting (a node being created right now has
        its row already, so it is never taken for a leak)."""
        known = {n['id'] for n in self.store.live_nodes()}
        sighted = {}
        for name, driver in self.drivers.items():
            try:
                owned = driver.list_owned()
            except exception.BuildfarmError:
                LOG.exception('Cannot list the nodes of driver %s', name)
                continue
            for node_id, external_id in owned.items():
                if node_id not in known:
                    sighted[(name, node_id)] = external_id
        reaped = set()
        for key, external_id in sighted.items():
            if key not in self._leak_seen:
                continue
            name, node_id = key
            LOG.warning('Reaping leaked node %s (%s, %s).', node_id, name,
                        external_id)
            try:
                self.drivers[name].delete(node_id, external_id)
                reaped.add(key)
            except exception.BuildfarmError:
                LOG.exception('Could not reap node %s', node_id)
        self._leak_seen = {k: v for k, v in sighted.items()
                           if k not in reaped}
        return len(reaped)
