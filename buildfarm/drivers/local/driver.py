"""The local driver: a node is a workspace and a process tree on this host.

For all-in-one mode. The agent runs in this process, over the same
transport as the controller, so it needs no broker of its own; the job's
command still runs as an unprivileged user when this process is root.
"""

import dataclasses
import os
import shutil
import tempfile
import threading

from buildfarm.agent import agent as agent_mod
from buildfarm.common import rpc
from buildfarm import conf as bf_conf
from buildfarm.drivers import base
from buildfarm import exception


class LocalDriver(base.NodeDriver):

    name = 'local'
    needs_transport = True

    def __init__(self, conf, transport):
        super().__init__(conf)
        self.transport = transport
        self._agents = {}
        self._lock = threading.Lock()

    def _agent_config(self, spec, workspace):
        conf = bf_conf.new_config()
        rpc.register_opts(conf)
        conf([], project='buildfarm', default_config_files=[])
        agent_conf = dataclasses.replace(
            spec.agent_conf, workspace=workspace,
            ca_bundle=self.conf.node.ca_bundle,
            job_user='nobody' if os.geteuid() == 0 else None)
        for group, options in agent_conf.to_groups().items():
            for name, value in options.items():
                conf.set_override(name, value,
                                  None if group == 'DEFAULT' else group)
        return conf

    def create(self, spec):
        workspace = tempfile.mkdtemp(prefix='buildfarm-node-')
        try:
            agent = agent_mod.Agent(self._agent_config(spec, workspace),
                                    self.transport)
            agent.start()
        except Exception as e:
            shutil.rmtree(workspace, ignore_errors=True)
            raise exception.NodeBootError(
                'The local agent could not start: %s' % e)
        with self._lock:
            self._agents[spec.node_id] = (agent, workspace)
        return spec.node_id

    def delete(self, node_id, external_id):
        with self._lock:
            agent, workspace = self._agents.pop(node_id, (None, None))
        if agent is not None:
            agent.stop()
            shutil.rmtree(workspace, ignore_errors=True)

    def list_owned(self):
        with self._lock:
            return {node_id: node_id for node_id in self._agents}

    def status(self, node_id, external_id):
        with self._lock:
            agent, _ = self._agents.get(node_id, (None, None))
        if agent is None:
            return base.NodeStatus(False, 'the local node %s is gone'
                                   % node_id)
        if agent.done.is_set():
            return base.NodeStatus(False, 'the local agent of node %s stopped'
                                   % node_id)
        return base.NodeStatus(True)
