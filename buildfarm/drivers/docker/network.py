"""The network of nodes on network_mode "isolated".

A bridge network the driver creates if missing, on which containers
cannot talk to each other (enable_icc=false), fenced in by the host's
iptables rules (buildfarm.drivers.docker.firewall): nodes reach the
broker, the allowed ports of this host and the world beyond, never
another node, another port of this host or a blocked address. Nodes
reach a broker on this host's loopback through the network's gateway.
"""

import logging
import threading

from docker import errors as docker_errors
from docker import types as docker_types

from buildfarm.drivers.docker import firewall as firewall_mod
from buildfarm import exception

LOG = logging.getLogger(__name__)

ISOLATED = 'isolated'
ICC_OPTION = 'com.docker.network.bridge.enable_icc'
_BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name'
_DEFAULT_PORTS = {'rabbit': 5672, 'amqp': 5672, 'kombu': 5672}


def _split(url):
    """(scheme, [host entries], the rest) of a transport URL, whose
    netloc may list several brokers: rabbit://u:p@h1:1,u:p@h2:2/vhost."""
    scheme, _, rest = url.partition('://')
    netloc, slash, tail = rest.partition('/')
    return scheme, netloc.split(','), slash + tail


def _host_port(entry):
    """(credentials with their "@", host, ":port" or "") of one entry."""
    creds, at, hostport = entry.rpartition('@')
    if hostport.startswith('['):
        host, _, port = hostport[1:].partition(']')
        return creds + at, host, port
    host, colon, port = hostport.partition(':')
    return creds + at, host, colon + port


def _is_loopback(host):
    return host in ('localhost', '::1') or host.startswith('127.')


def broker_ports(url):
    """The TCP ports of the brokers of a transport URL."""
    scheme, entries, _ = _split(url)
    ports = set()
    for entry in entries:
        port = _host_port(entry)[2].lstrip(':')
        if port.isdigit():
            ports.add(int(port))
        elif scheme.split('+')[0] in _DEFAULT_PORTS:
            ports.add(_DEFAULT_PORTS[scheme.split('+')[0]])
    return ports


def via_gateway(url, gateway):
    """The transport URL with every loopback broker host replaced by
    ``gateway``, the host's address on the nodes' network."""
    scheme, entries, rest = _split(url)
    moved = []
    for entry in entries:
        creds, host, port = _host_port(entry)
        if _is_loopback(host):
            host = gateway
        moved.append(creds + host + port)
    return '%s://%s%s' % (scheme, ','.join(moved), rest)


class IsolatedNetwork:

    def __init__(self, client, conf, owner_labels, run=None):
        """``conf``: the controller's; ``owner_labels``: put on the
        network if the driver creates it; ``run``: runs iptables (tests
        give a fake)."""
        self.client = client
        self.name = conf.docker.network
        self.subnet = conf.docker.network_subnet
        self.blocked = conf.docker.blocked_addresses
        self.allowed_ports = set(conf.docker.allowed_host_ports) | (
            broker_ports(conf.node.transport_url or conf.transport_url))
        self.owner_labels = owner_labels
        self._run = run
        self._lock = threading.Lock()
        self.gateway = None
        self.firewall = None

    def ensure(self):
        """Make the network and its rules be there; raise DriverError
        saying why they cannot. Cheap once done: it then checks that the
        rules are still in place (a firewall reload removes them)."""
        with self._lock:
            if self.firewall is None:
                bridge, self.gateway = self._network()
                kwargs = {'run': self._run} if self._run else {}
                fw = firewall_mod.Firewall(bridge, self.blocked,
                                           self.allowed_ports, **kwargs)
                fw.install()
                self.firewall = fw
                LOG.info('Nodes on network %s (bridge %s, gateway %s): '
                         'allowed host ports %s, blocked %s.', self.name,
                         bridge, self.gateway,
                         ', '.join(map(str, fw.allowed_ports)) or 'none',
                         ', '.join(self.blocked) or 'none')
            elif not self.firewall.installed():
                LOG.warning('The iptables rules of network %s were gone; '
                            'installing them again.', self.name)
                self.firewall.install()

    def _network(self):
        """(bridge interface, gateway) of the network, made if missing."""
        try:
            network = self.client.networks.get(self.name)
        except docker_errors.NotFound:
            network = self._create()
        except docker_errors.DockerException as e:
            raise exception.DriverError(
                'Cannot inspect Docker network %s: %s' % (self.name, e))
        attrs = network.attrs
        options = attrs.get('Options') or {}
        if (attrs.get('Driver') != 'bridge' or
                options.get(ICC_OPTION) != 'false'):
            raise exception.DriverError(
                'Docker network %s exists but does not keep containers '
                'apart: nodes need a bridge network with option %s=false. '
                'Remove it (the controller then makes it), or name another '
                'in [docker] network.' % (self.name, ICC_OPTION))
        configs = (attrs.get('IPAM') or {}).get('Config') or []
        gateway = configs and configs[0].get('Gateway')
        if not gateway:
            raise exception.DriverError(
                'Docker network %s has no IPv4 gateway: nodes could not '
                'reach the broker on this host.' % self.name)
        bridge = options.get(_BRIDGE_NAME_OPTION) or 'br-' + network.id[:12]
        return bridge, gateway.split('/')[0]

    def _create(self):
        ipam = None
        if self.subnet:
            ipam = docker_types.IPAMConfig(
                pool_configs=[docker_types.IPAMPool(subnet=self.subnet)])
        LOG.info('Creating Docker network %s for nodes.', self.name)
        try:
            return self.client.networks.create(
                self.name, driver='bridge', check_duplicate=True, ipam=ipam,
                options={ICC_OPTION: 'false'}, labels=self.owner_labels)
        except docker_errors.APIError as e:
            if e.status_code == 409:  # another controller made it
                return self.client.networks.get(self.name)
            raise exception.DriverError(
                'Cannot create Docker network %s for nodes: %s'
                % (self.name, e))

    def node_transport_url(self, url):
        return via_gateway(url, self.gateway)

    def remove(self):
        """Remove the rules and the network (nodes must be gone)."""
        with self._lock:
            if self.firewall is not None:
                self.firewall.remove()
                self.firewall = None
            try:
                self.client.networks.get(self.name).remove()
            except docker_errors.NotFound:
                pass
