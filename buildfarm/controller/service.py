"""The controller service: job store, node driver, engine and RPC server."""

import logging

from buildfarm.common import rpc
from buildfarm.controller import callbacks
from buildfarm.controller import engine as engine_mod
from buildfarm.controller import logstore
from buildfarm.controller import manager
from buildfarm.controller import metrics
from buildfarm.controller import pools
from buildfarm.db import api as db_api
from buildfarm import drivers

LOG = logging.getLogger(__name__)


class ControllerService:

    def __init__(self, conf):
        self.conf = conf
        self.transport = rpc.get_transport(conf)
        self.store = db_api.JobStore(conf.database.connection)
        self.store.upgrade()
        self.pools = pools.Pools(conf, self.store)
        self.drivers = drivers.load_all(self.pools.all(), conf, self.transport)
        self.metrics = metrics.Metrics()
        self.metrics.watch(self.store, self.pools)
        self.engine = engine_mod.Engine(
            conf, self.store, self.pools, self.drivers,
            logstore.LogStore(conf.controller.log_dir), self.transport,
            self.metrics)
        self.server = rpc.get_server(
            self.transport, conf.controller.topic,
            conf.controller.controller_id,
            [manager.ControllerManager(self.engine),
             manager.NodeCallbackManager(self.engine)])
        self.callbacks = callbacks.MistralCallbacks(conf, self.store)
        self._started = False

    def start(self):
        self.engine.start()
        self.callbacks.start()
        self.server.start()
        self._started = True
        if self.conf.controller.metrics_port:
            self.metrics.serve(self.conf.controller.metrics_host,
                               self.conf.controller.metrics_port)
        LOG.info('Controller %s started (labels: %s).',
                 self.conf.controller.controller_id,
                 ', '.join(label.name for label in self.pools.all()))

    def stop(self):
        if self._started:
            self.server.stop()
            self.server.wait()
        self.engine.stop()
        self.callbacks.stop()
        self.metrics.stop()
        LOG.info('Controller %s stopped.', self.conf.controller.controller_id)
