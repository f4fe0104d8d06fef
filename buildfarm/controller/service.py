"""The controller service: wires the job store, pools, drivers and the
controller's parts together, and serves them over RPC.

Who calls whom, one way only::

    RPC endpoints (manager) -> jobs, operators, agents
    scheduler (control loop) -> watchdog (findings), lifecycle
    jobs, operators, agents, scheduler -> lifecycle -> nodes, store
"""

import logging

from buildfarm.agent import rpcapi as agent_rpcapi
from buildfarm.common import auth
from buildfarm.common import rpc
from buildfarm.controller import agents
from buildfarm.controller import auth as controller_auth
from buildfarm.controller import callbacks
from buildfarm.controller import consoles
from buildfarm.controller import jobs
from buildfarm.controller import lifecycle
from buildfarm.controller import logstore
from buildfarm.controller import manager
from buildfarm.controller import memory
from buildfarm.controller import metrics
from buildfarm.controller import nodes
from buildfarm.controller import operators
from buildfarm.controller import pools
from buildfarm.controller import rpcapi
from buildfarm.controller import scheduler
from buildfarm.controller import uploads
from buildfarm.db import api as db_api
from buildfarm import drivers

LOG = logging.getLogger(__name__)


class ControllerService:

    def __init__(self, conf):
        self.conf = conf
        self.transport = rpc.get_transport(conf)
        # Nodes speak to the controller on a transport of their own (a
        # broker account that can do only the agent protocol).
        self.node_transport = rpc.get_transport(
            conf, conf.controller.node_transport_url or
            conf.node.transport_url)
        self.store = db_api.JobStore(conf.database.connection)
        self.store.upgrade()
        self.pools = pools.Pools(conf, self.store)
        self.drivers = drivers.load_all(
            self.pools.all(), conf, self.node_transport)
        self.metrics = metrics.Metrics()
        self.metrics.watch(self.store, self.pools)
        self.memory = memory.Memory()
        self.logs = logstore.LogStore(conf.controller.log_dir,
                                      conf.controller.max_log_bytes_per_job)
        self.uploads = uploads.UploadTargets(conf, self.pools)
        self.auth = controller_auth.from_conf(conf)
        node_key = conf.controller.node_secret_key or auth.new_key()
        # The scheduler is made last but woken by all: a late binding.
        self.nodes = nodes.NodeKeeper(conf, self.store, self.drivers,
                                      node_key, self._wake, self.metrics)
        self.consoles = consoles.Consoles(self.drivers, self.pools,
                                          self.logs)
        self.lifecycle = lifecycle.Lifecycle(
            conf, self.store, self.nodes, self.logs, self.metrics,
            self.memory, agent_rpcapi.AgentAPI(self.node_transport, node_key),
            self.uploads, self.consoles, self._wake)
        self.jobs = jobs.Jobs(
            conf, self.store, self.pools, self.drivers, self.logs,
            self.memory, self.lifecycle.agents, self.uploads, self.lifecycle,
            self.auth)
        self.operators = operators.Operators(self.store, self.pools,
                                             self.lifecycle)
        self.agents = agents.AgentCallbacks(
            self.store, self.nodes, self.logs, self.metrics, self.memory,
            self.lifecycle, node_key)
        self.scheduler = scheduler.Scheduler(
            conf, self.store, self.pools, self.drivers, self.nodes,
            self.lifecycle, self.memory, self.metrics,
            persistent_key=bool(conf.controller.node_secret_key))
        self.server = rpc.get_server(
            self.transport, conf.controller.topic,
            conf.controller.controller_id,
            [manager.ControllerManager(self.jobs, self.operators,
                                       self.auth)])
        self.node_server = rpc.get_server(
            self.node_transport, rpcapi.node_topic(conf),
            conf.controller.controller_id,
            [manager.NodeCallbackManager(self.agents)])
        self.callbacks = callbacks.MistralCallbacks(conf, self.store)
        self._started = False

    def _wake(self):
        self.scheduler.wake()

    def start(self):
        # In the background: the cloud may be slow to answer.
        self.uploads.start(self.store)
        self.scheduler.start()
        self.callbacks.start()
        self.server.start()
        self.node_server.start()
        self._started = True
        if not self.conf.node.transport_url and any(
                d.name not in ('local', 'fake')
                for d in self.drivers.values()):
            LOG.warning('[node] transport_url is not set: nodes share the '
                        'controller\'s broker account, with which a '
                        'hostile job that becomes root in its node can '
                        'call the caller and operator API. Give nodes '
                        'their own vhost and account.')
        if self.conf.controller.metrics_port:
            self.metrics.serve(self.conf.controller.metrics_host,
                               self.conf.controller.metrics_port)
        LOG.info('Controller %s started (labels: %s).',
                 self.conf.controller.controller_id,
                 ', '.join(label.name for label in self.pools.all()))

    def stop(self):
        if self._started:
            for server in (self.server, self.node_server):
                server.stop()
                server.wait()
        self.scheduler.stop()
        self.uploads.stop()
        self.consoles.stop()
        self.nodes.stop()
        self.callbacks.stop()
        self.metrics.stop()
        LOG.info('Controller %s stopped.', self.conf.controller.controller_id)
