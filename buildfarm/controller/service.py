"""The controller service: job store, node driver, engine and RPC server."""

import logging

from buildfarm.common import rpc
from buildfarm.controller import engine as engine_mod
from buildfarm.controller import logstore
from buildfarm.controller import manager
from buildfarm.db import api as db_api
from buildfarm import drivers

LOG = logging.getLogger(__name__)


class ControllerService:

    def __init__(self, conf):
        self.conf = conf
        self.transport = rpc.get_transport(conf)
        self.store = db_api.JobStore(conf.database.connection)
        self.store.upgrade()
        self.driver = drivers.load(conf.controller.driver, conf,
                                   self.transport)
        self.engine = engine_mod.Engine(
            conf, self.store, self.driver,
            logstore.LogStore(conf.controller.log_dir), self.transport)
        self.server = rpc.get_server(
            self.transport, conf.controller.topic,
            conf.controller.controller_id,
            [manager.ControllerManager(self.engine),
             manager.NodeCallbackManager(self.engine)])

    def start(self):
        self.engine.start()
        self.server.start()
        LOG.info('Controller %s started (%s driver).',
                 self.conf.controller.controller_id, self.driver.name)

    def stop(self):
        self.server.stop()
        self.server.wait()
        self.engine.stop()
        LOG.info('Controller %s stopped.', self.conf.controller.controller_id)
