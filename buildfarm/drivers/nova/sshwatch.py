"""Watching a new server's SSH: its system is up once its host key
answers, and its agent then has ``register_timeout`` more seconds.

One thread per node scans until the key answers, the node's agent
registers, or the node is forgotten.
"""

import datetime
import logging
import threading
import time

from buildfarm.common import timeutils
from buildfarm.drivers.nova import ssh

LOG = logging.getLogger(__name__)

# Seconds between two scans of a node.
INTERVAL = 2


class SshWatch:

    def __init__(self, address):
        """``address(node_id, external_id, settings)``: the (host, port)
        of a node's SSH server."""
        self._address = address
        self._lock = threading.Lock()
        # node id -> {'host_key': ..., 'register_by': ...} once SSH
        # answered, {} while a thread scans, {'registered': True} once its
        # agent registered.
        self._nodes = {}

    def register_by(self, node_id, external_id, settings, timeout):
        """When the node's SSH answered, the time (naive UTC) its agent
        must register by: ``timeout`` seconds later. Until then None, a
        thread scanning its host key meanwhile."""
        with self._lock:
            if node_id in self._nodes:
                return self._nodes[node_id].get('register_by')
            self._nodes[node_id] = {}
        threading.Thread(target=self._scan,
                         args=(node_id, external_id, settings, timeout),
                         name='ssh-scan-%s' % node_id, daemon=True).start()
        return None

    def registered(self, node_id):
        """The node's agent registered: its scan has nothing to learn."""
        with self._lock:
            if self._nodes.get(node_id) == {}:
                self._nodes[node_id] = {'registered': True}

    def host_key(self, node_id):
        """The host key the node's SSH answered with, or None."""
        with self._lock:
            return self._nodes.get(node_id, {}).get('host_key')

    def forget(self, node_id):
        """The node is gone (its scan stops)."""
        with self._lock:
            self._nodes.pop(node_id, None)

    def _scanning(self, node_id):
        with self._lock:
            return self._nodes.get(node_id) == {}

    def _scan(self, node_id, external_id, settings, timeout):
        host = host_key = None
        while self._scanning(node_id):
            try:
                if host is None:
                    host, port = self._address(node_id, external_id,
                                               settings)
                host_key = host and ssh.scan_host_key(host, port, timeout=5)
            except Exception as e:
                LOG.info('Node %s: cannot scan its SSH yet: %s', node_id, e)
            if host_key:
                break
            time.sleep(INTERVAL)
        if not host_key:
            return  # the node registered or was forgotten
        LOG.info('Node %s: SSH answers on %s:%d, host key %s', node_id, host,
                 port, host_key)
        with self._lock:
            if self._nodes.get(node_id) == {}:
                self._nodes[node_id] = {
                    'host_key': host_key,
                    'register_by': timeutils.utcnow() + datetime.timedelta(
                        seconds=timeout)}
