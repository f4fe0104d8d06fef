"""The local driver: a node is a workspace and a process tree on this host.

For all-in-one mode. The agent runs in this process, over the same
transport as the controller, so it needs no broker of its own. When this
process is root, each node gets a uid of its own from [local] job_uids:
its job runs as that uid and group, in a directory only that uid may
enter, and every process of that uid is killed when the job ends and
again when the node is deleted, so nothing a job started outlives it and
no job reads another's files or environment. What the uid left in the
shared temporary directories and System V IPC goes too, before the uid
is given to another node. Otherwise jobs run as this process's user, not
isolated, and a warning says so.
"""

import dataclasses
import logging
import os
import shutil
import tempfile
import threading

from buildfarm.agent import agent as agent_mod
from buildfarm.agent import process
from buildfarm.common import rpc
from buildfarm import conf as bf_conf
from buildfarm.drivers import base
from buildfarm.drivers.local import leftovers
from buildfarm.drivers.local import uids
from buildfarm import exception

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class _LocalNode:
    agent: agent_mod.Agent
    # Holds the workspace; only the node's uid (and root) may enter it.
    directory: str
    uid: int = None


class LocalDriver(base.NodeDriver):

    name = 'local'
    needs_transport = True

    def __init__(self, conf, transport):
        super().__init__(conf)
        self.transport = transport
        self._nodes = {}
        self._lock = threading.Lock()
        if os.geteuid() == 0:
            self.uids = uids.UidPool(uids.parse_range(conf.local.job_uids))
        else:
            self.uids = None
            LOG.warning(
                'The controller does not run as root: local jobs run as its '
                'own user (uid %d), can read each other\'s files and '
                'environment and the controller\'s, and their processes '
                'are found by session only. Run it as root for a uid per '
                'job ([local] job_uids).', os.getuid())

    def _agent_config(self, spec, workspace, uid=None):
        conf = bf_conf.new_config()
        rpc.register_opts(conf)
        conf([], project='buildfarm', default_config_files=[])
        agent_conf = dataclasses.replace(
            spec.agent_conf, workspace=workspace,
            ca_bundle=self.conf.node.ca_bundle,
            job_user=None if uid is None else str(uid))
        for group, options in agent_conf.to_groups().items():
            for name, value in options.items():
                conf.set_override(name, value,
                                  None if group == 'DEFAULT' else group)
        return conf

    def create(self, spec):
        uid = self.uids.take() if self.uids is not None else None
        directory = tempfile.mkdtemp(prefix='buildfarm-node-')
        try:
            if uid is not None:
                os.chown(directory, uid, uid)  # mkdtemp made it 0700
            agent = agent_mod.Agent(self._agent_config(
                spec, os.path.join(directory, 'workspace'), uid),
                self.transport)
            agent.start()
        except Exception as e:
            self._release(directory, uid)
            raise exception.NodeBootError(
                'The local agent could not start: %s' % e)
        with self._lock:
            self._nodes[spec.node_id] = _LocalNode(agent, directory, uid)
        return spec.node_id

    def _release(self, directory, uid):
        if uid is not None:
            # The agent stopped the job's processes already, unless the
            # node is deleted mid-job; the uid is free once none is left.
            if process.kill_uid(uid):
                leftovers.remove(uid)
                self.uids.release(uid)
            else:
                LOG.error('uid %d keeps processes that SIGKILL cannot end; '
                          'it is not given to another node.', uid)
        shutil.rmtree(directory, ignore_errors=True)

    def delete(self, node_id, external_id):
        with self._lock:
            node = self._nodes.pop(node_id, None)
        if node is not None:
            node.agent.stop()
            self._release(node.directory, node.uid)

    def list_owned(self):
        with self._lock:
            return {node_id: node_id for node_id in self._nodes}

    def status(self, node_id, external_id):
        with self._lock:
            node = self._nodes.get(node_id)
        if node is None:
            return base.NodeStatus(False, 'the local node %s is gone'
                                   % node_id)
        if node.agent.done.is_set():
            return base.NodeStatus(False, 'the local agent of node %s stopped'
                                   % node_id)
        return base.NodeStatus(True)
