"""The scheduler: the control loop that hands queued jobs to nodes.

One thread hands queued jobs, oldest first, to ready nodes of their
label, boots nodes so that each pool has its ``min_ready`` idle nodes
plus one per waiting job (up to ``max_nodes``), and, every
``monitor_interval``, has the watchdog look at every live node and the
lifecycle act on what it found; every ``reap_interval`` it reaps leaked
nodes; twice every ``reconcile_interval`` the reconciler repairs what a
failed write left half done; every ``prune_interval`` finished jobs past
their retention go. At start it makes the stored state true again
(``reconcile``).
"""

import logging
import threading
import time

from buildfarm.controller import reconciler as reconciler_mod
from buildfarm.controller import retention
from buildfarm.controller import watchdog as watchdog_mod
from buildfarm.db import api as db_api
from buildfarm.drivers import base
from buildfarm import jobspec
from buildfarm import states

LOG = logging.getLogger(__name__)


class Scheduler:

    def __init__(self, conf, store, pools, drivers, nodes, lifecycle,
                 memory, metrics, persistent_key):
        """``persistent_key``: node secrets survive a restart (a
        configured [controller] node_secret_key)."""
        self.conf = conf
        self.store = store
        self.pools = pools
        self.drivers = drivers
        self.nodes = nodes
        self.lifecycle = lifecycle
        self.memory = memory
        self.metrics = metrics
        self.watchdog = watchdog_mod.Watchdog(conf)
        self.reconciler = reconciler_mod.Reconciler(conf, store, pools,
                                                    nodes, lifecycle)
        self.pruner = retention.Pruner(conf, store, lifecycle.logs)
        self.persistent_key = persistent_key
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._loop = threading.Thread(target=self._control_loop,
                                      name='control-loop', daemon=True)
        self._last_monitor = self._last_reap = self._last_prune = 0.0
        self._last_reconcile = time.monotonic()

    def start(self):
        self.reconcile()
        self._loop.start()
        self.wake()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._loop.is_alive():
            self._loop.join()

    def wake(self):
        """Look again at once (a job or a node changed)."""
        self._wake.set()

    def _control_loop(self):
        ctrl = self.conf.controller
        while not self._stop.is_set():
            self._wake.wait(min(ctrl.monitor_interval,
                                ctrl.reconcile_interval / 2))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
            except Exception:
                LOG.exception('Control loop iteration failed')

    def tick(self, force=False):
        """One pass: boot failures, dispatch, boot, and (when due, or
        with ``force``) reconcile, check the nodes, reap leaks and
        prune."""
        now = time.monotonic()
        ctrl = self.conf.controller
        for failure in self.nodes.boot_failures():
            self.lifecycle.boot_failed(failure.label, failure.reason,
                                       failure.quota)
        # Twice an interval: what it repairs on a second sighting is
        # repaired within one.
        if force or (now - self._last_reconcile >=
                     ctrl.reconcile_interval / 2):
            self._last_reconcile = now
            self._housekeeping('reconciliation', self.reconciler.run)
        self._dispatch_and_boot()
        if force or now - self._last_monitor >= ctrl.monitor_interval:
            self._last_monitor = now
            self.check_nodes()
        if force or now - self._last_reap >= ctrl.reap_interval:
            self._last_reap = now
            self.metrics.reaped.inc(self.nodes.reap())
        if force or now - self._last_prune >= ctrl.prune_interval:
            self._last_prune = now
            if self._housekeeping('pruning', self.pruner.prune):
                self._last_prune = 0.0  # more waiting: at the next pass

    @staticmethod
    def _housekeeping(what, work):
        """Do ``work``; its failure (a database error, say) is logged and
        holds up neither dispatch nor the watchdog."""
        try:
            return work()
        except Exception:
            LOG.exception('The %s failed; it runs again at its next turn.',
                          what)
            return None

    # Restarts

    def reconcile(self):
        """Make the stored state true again after a restart.

        With a configured node key, live nodes keep running and their
        agents keep talking to us: their jobs finish normally and the
        control loop checks each node. Without one, no agent could prove
        who it is any more, so their nodes are destroyed and their jobs
        retried.
        """
        for node in self.store.live_nodes():
            if node['state'] == states.NODE_BOOTING and not (
                    node['external_id']):
                # The old process died while its driver created this node.
                self.nodes.destroy(node['id'])
                continue
            if not self.persistent_key:
                self.lifecycle.node_failed(
                    node, 'the controller restarted without [controller] '
                    'node_secret_key, so the node could no longer be '
                    'trusted')
            elif node['state'] == states.NODE_IN_USE:
                job = self.store.get_job(node['job_id'])
                if job['state'] == states.RUNNING:
                    # The dispatch may have been lost with the old process.
                    self.lifecycle.send(job, node['id'])
        for job in self.store.list_jobs(states_filter=[states.QUEUED]):
            if jobspec.lost_secrets(job['spec']):
                self.lifecycle.end(job['id'], states.ERROR, reason=(
                    'The controller restarted before the job started and '
                    'does not store git credentials, secret_env or tokens. '
                    'Submit it again.'))
        # What the old process left half done (nothing is under way yet:
        # the RPC servers start after this).
        self.reconciler.run(at_start=True)

    # Dispatch and boots

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
                if jobspec.local_repo_path(job['spec']['git_url']):
                    # A warm node mounts no local repository: the job
                    # waits for a node booted for it, which mounts its own.
                    continue
                if self._dispatch(job, idle[0]):
                    idle.pop(0)
        waiting = self.store.queued_counts()
        for label in self.pools.all():
            idle = ready.get(label.name, [])
            extra = len(idle) - label.min_ready
            if extra > 0 and not waiting.get(label.name):
                # The operator shrank the pool: idle nodes beyond it go.
                for node in idle[:extra]:
                    self.nodes.destroy(node['id'], [states.NODE_READY])
                continue
            self._top_up(label, live, len(idle), waiting.get(label.name, 0))

    def _top_up(self, label, live, idle, waiting):
        mine = [n for n in live if n['label'] == label.name]
        booting = sum(1 for n in mine if n['state'] == states.NODE_BOOTING)
        if self.memory.pauses.why(label.name):
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
            message = job and self.lifecycle.job_message(job)
            if job and message is None:
                continue  # ended: it could not be handed over
            self.nodes.boot(label, message)

    def _dispatch(self, job, node):
        """Give a queued job to a ready node.

        The node first, then the job: stopped between the two, the node
        is in use beside a queued job, and is released (by the
        reconciler); the other way round, a running job could be sent to
        a node that the next pass gives another job.
        """
        node = self.store.transition_node(
            node['id'], states.NODE_IN_USE, [states.NODE_READY],
            job_id=job['id'])
        if node is None:
            return False
        if not self.lifecycle.start(job, node):
            # Cancelled meanwhile: the node serves another.
            self.store.transition_node(node['id'], states.NODE_READY,
                                       [states.NODE_IN_USE], job_id=None)
            return False
        return True

    # The watchdog

    def check_nodes(self):
        """Have the watchdog look at every live node; act on what it
        found."""
        nodes = self.store.live_nodes()
        watched = watchdog_mod.watched(nodes)
        labels = {label.name: label for label in self.pools.all()}
        seen = watchdog_mod.Observation(
            nodes=nodes, statuses=self._statuses(watched, labels),
            jobs={n['job_id']: self.store.get_job(n['job_id'])
                  for n in watched if n['state'] == states.NODE_IN_USE},
            labels=labels,
            deleting=self.nodes.deleting(),
            cancels=self.memory.cancels.snapshot(),
            now=db_api.utcnow(), clock=time.monotonic())
        self.lifecycle.act(self.watchdog.findings(seen))

    def _statuses(self, nodes, labels):
        """{node_id: NodeStatus}, asking each driver once."""
        by_driver = {}
        for node in nodes:
            label = labels.get(node['label'])
            by_driver.setdefault(node['driver'], {})[node['id']] = (
                base.WatchedNode(
                    node['external_id'], label.settings if label else {},
                    registered=node['state'] != states.NODE_BOOTING))
        statuses = {}
        for name, driver_nodes in by_driver.items():
            statuses.update(self.drivers[name].statuses(driver_nodes))
        return statuses
