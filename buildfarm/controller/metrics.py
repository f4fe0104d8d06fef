"""Prometheus metrics of the controller (``[controller] metrics_port``).

Counters and histograms are updated where things happen; node and queue
gauges are read from the job store when Prometheus scrapes.
"""

import prometheus_client as prom
from prometheus_client import core
from prometheus_client import exposition

from buildfarm import states

_PHASE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class Metrics:

    def __init__(self):
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.boots = prom.Counter(
            'buildfarm_node_boots', 'Nodes the controller started to boot',
            ['label'], registry=r)
        self.boot_failures = prom.Counter(
            'buildfarm_node_boot_failures',
            'Nodes that did not become ready (kind: error or quota)',
            ['label', 'kind'], registry=r)
        self.node_failures = prom.Counter(
            'buildfarm_node_failures', 'Busy nodes that died or went silent',
            ['label'], registry=r)
        self.reaped = prom.Counter(
            'buildfarm_leaked_nodes_reaped',
            'Leaked nodes found by owner tag and deleted', registry=r)
        self.rejected = prom.Counter(
            'buildfarm_agent_messages_rejected',
            'Agent messages dropped (bad signature, wrong node, unknown '
            'node)', ['method'], registry=r)
        self.queue_wait = prom.Histogram(
            'buildfarm_job_queue_wait_seconds',
            'Time from submission to dispatch to a node', ['label'],
            buckets=_PHASE_BUCKETS, registry=r)
        self.phase = prom.Histogram(
            'buildfarm_job_phase_seconds', 'Job duration per phase',
            ['phase'], buckets=_PHASE_BUCKETS, registry=r)
        self._server = None

    def watch(self, store, pools):
        """Report nodes by label and state, and queued jobs, at scrape."""
        self.registry.register(_StateCollector(store, pools))

    def serve(self, host, port):
        self._server, _ = exposition.start_http_server(
            port, addr=host, registry=self.registry)

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _StateCollector:

    def __init__(self, store, pools):
        self.store = store
        self.pools = pools

    def collect(self):
        nodes = core.GaugeMetricFamily(
            'buildfarm_nodes', 'Live nodes by label and state',
            labels=['label', 'state'])
        counts = {(label.name, state): 0 for label in self.pools.all()
                  for state in states.NODE_STATES}
        for node in self.store.live_nodes():
            key = (node['label'], node['state'])
            counts[key] = counts.get(key, 0) + 1
        for (label, state), count in sorted(counts.items()):
            nodes.add_metric([label, state], count)
        yield nodes
        queued = core.GaugeMetricFamily(
            'buildfarm_queued_jobs', 'Jobs waiting for a node',
            labels=['label'])
        waiting = {label.name: 0 for label in self.pools.all()}
        for job in self.store.list_jobs(states_filter=[states.QUEUED]):
            waiting[job['label']] = waiting.get(job['label'], 0) + 1
        for label, count in sorted(waiting.items()):
            queued.add_metric([label], count)
        yield queued
