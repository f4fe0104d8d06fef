"""The nova driver: a node is a Nova server of the worker VM image.

The agent's configuration (broker URL and credentials, node id and
secret, boot job) goes in the server's user data, which cloud-init
writes to a file only root can read before the agent's service starts.
Servers get a config drive (``[nova] config_drive``), which the image's
cloud-init reads before it would ask the metadata service; the image lets
only root reach the metadata service and scrubs cloud-init's copies of
the user data before the agent starts (elements/buildfarm-agent).
Every server carries owner metadata (controller id, node id, label), by
which leaked servers are found. A server Nova cannot place ("no valid
host") or that exceeds the quota makes jobs wait rather than fail.

Optionally (a label with an SSH key), the driver scans a new server's SSH
host key to learn that its system is up, and collects the agent's logs
over SSH from a node that fails before its agent registers.
"""

import logging
import threading


from buildfarm.conf import nova as nova_conf
from buildfarm.drivers import base
from buildfarm.drivers.nova import ssh
from buildfarm.drivers.nova import sshwatch
from buildfarm.drivers.nova import userdata
from buildfarm.drivers import settings
from buildfarm import exception

LOG = logging.getLogger(__name__)

LABEL_KEY = 'buildfarm.label'
NAME_PREFIX = 'buildfarm-node-'
_CAPACITY_FAULTS = ('No valid host', 'quota', 'Quota')
# The [nova] options a label may override; the others are the
# controller's own (its cloud, how long it waits for deletions).
LABEL_SETTINGS = ('image', 'flavor', 'networks', 'key_name',
                  'security_groups', 'availability_zone', 'config_drive',
                  'boot_volume_size',
                  'ssh_key_file', 'ssh_user', 'ssh_port', 'ssh_check',
                  'register_timeout')


class NovaDriver(base.NodeDriver):

    name = 'nova'
    settings_rules = settings.option_rules(
        nova_conf.opts, LABEL_SETTINGS,
        networks=settings.Rule(
            lambda v: isinstance(v, str) or settings.is_strings(v),
            'a list of strings or one string'))

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self._conn = None
        self._ids = {}
        # Late-bound: a subclass or a test may replace ssh_address.
        self._ssh = sshwatch.SshWatch(
            lambda *args: self.ssh_address(*args))

    @property
    def conn(self):
        import openstack  # late: docker-only controllers do without it
        with self._lock:
            if self._conn is None:
                self._conn = openstack.connect(cloud=self.conf.nova.cloud)
            return self._conn

    def _setting(self, settings, name):
        """A label's setting, else the [nova] option of that name."""
        return settings.get(name, getattr(self.conf.nova, name))

    def _find(self, kind, name_or_id):
        """The id of a flavor, image or network, looked up once."""
        key = (kind, name_or_id)
        if key not in self._ids:
            service = {'flavor': 'compute', 'image': 'image',
                       'network': 'network'}[kind]
            find = getattr(getattr(self.conn, service), 'find_' + kind)
            found = find(name_or_id, ignore_missing=True)
            if found is None:
                raise exception.NodeBootError(
                    'The %s %r does not exist in cloud %s: fix [nova] %s or '
                    'the label\'s %s.' % (kind, name_or_id,
                                          self.conf.nova.cloud, kind, kind))
            self._ids[key] = found.id
        return self._ids[key]

    def _networks(self, spec):
        names = self._setting(spec.settings, 'networks') or ['auto']
        if isinstance(names, str):
            names = [names]
        if len(names) == 1 and names[0] in ('auto', 'none'):
            return names[0]
        return [{'uuid': self._find('network', n)} for n in names]

    def user_data(self, spec):
        """The cloud-init user data that gives the agent its
        configuration (and the node the extra CA, if any)."""
        return userdata.user_data(spec.agent_conf, self.conf.node.ca_bundle)

    def _metadata(self, spec):
        return {base.OWNER_LABEL: self.owner, base.NODE_LABEL: spec.node_id,
                LABEL_KEY: spec.label}

    def server_kwargs(self, spec):
        kwargs = dict(
            name=NAME_PREFIX + spec.node_id,
            flavor_id=self._find('flavor',
                                 self._setting(spec.settings, 'flavor')),
            networks=self._networks(spec),
            metadata=self._metadata(spec),
            user_data=self.user_data(spec),
            config_drive=bool(self._setting(spec.settings, 'config_drive')))
        image_id = self._find('image', self._setting(spec.settings, 'image'))
        volume_size = int(
            self._setting(spec.settings, 'boot_volume_size') or 0)
        if volume_size:
            kwargs['block_device_mapping_v2'] = [{
                'boot_index': 0, 'uuid': image_id, 'source_type': 'image',
                'destination_type': 'volume', 'volume_size': volume_size,
                'delete_on_termination': True}]
        else:
            kwargs['image_id'] = image_id
        for name in ('key_name', 'availability_zone'):
            if self._setting(spec.settings, name):
                kwargs[name] = self._setting(spec.settings, name)
        groups = self._setting(spec.settings, 'security_groups')
        if groups:
            kwargs['security_groups'] = [{'name': g} for g in groups]
        return kwargs

    def create(self, spec):
        from openstack import exceptions as sdk_exceptions
        if not self._setting(spec.settings, 'flavor'):
            raise exception.NodeBootError(
                'No flavor for nova nodes: set [nova] flavor or the '
                'label\'s flavor.')
        kwargs = self.server_kwargs(spec)
        try:
            server = self.conn.compute.create_server(**kwargs)
        except sdk_exceptions.HttpException as e:
            message = _message(e)
            if e.status_code == 403 and 'uota' in message:
                raise exception.QuotaExceeded(
                    'Nova quota exceeded: %s' % message)
            raise exception.NodeBootError(
                'Nova refused to boot the node: %s' % message)
        except sdk_exceptions.SDKException as e:
            raise exception.NodeBootError(
                'Could not reach Nova to boot the node: %s' % _message(e))
        LOG.info('Node %s: server %s booting.', spec.node_id, server.id)
        return server.id

    def _find_server_id(self, node_id):
        for server in self.conn.compute.servers(name=NAME_PREFIX + node_id):
            if (server.metadata or {}).get(base.NODE_LABEL) == node_id:
                return server.id
        return None

    def delete(self, node_id, external_id):
        from openstack import exceptions as sdk_exceptions
        try:
            server_id = external_id or self._find_server_id(node_id)
            if server_id is None:
                return
            self.conn.compute.delete_server(server_id, ignore_missing=True)
            server = self.conn.compute.get_server(server_id)
            self.conn.compute.wait_for_delete(
                server, interval=1, wait=self.conf.nova.delete_timeout)
        except sdk_exceptions.NotFoundException:
            return
        except sdk_exceptions.SDKException as e:
            raise exception.DriverError(
                'Could not delete the server of node %s: %s'
                % (node_id, _message(e)))
        finally:
            self.forget(node_id)

    def forget(self, node_id):
        """Drop what is kept of a deleted node (its scanner stops)."""
        self._ssh.forget(node_id)

    def statuses(self, nodes):
        """One server list for all nodes; a node missing from it is
        looked up on its own before it is called gone."""
        from openstack import exceptions as sdk_exceptions
        try:
            servers = {server.id: server for server in
                       self.conn.compute.servers(name='^' + NAME_PREFIX)}
        except sdk_exceptions.SDKException as e:
            LOG.warning('Cannot list the servers of %d nodes: %s',
                        len(nodes), e)
            return {node_id: base.NodeStatus(True) for node_id in nodes}
        return {node_id: (
            self._server_status(node_id, servers[watched.external_id],
                                watched)
            if watched.external_id in servers
            else self._lookup(node_id, watched))
            for node_id, watched in nodes.items()}

    def status(self, node_id, external_id):
        return self._lookup(node_id, base.WatchedNode(external_id, {}, True))

    def _lookup(self, node_id, watched):
        from openstack import exceptions as sdk_exceptions
        try:
            server = self.conn.compute.get_server(watched.external_id)
        except sdk_exceptions.NotFoundException:
            return base.NodeStatus(False, 'the server of node %s is gone'
                                   % node_id)
        except sdk_exceptions.SDKException as e:
            LOG.warning('Node %s: cannot get its server: %s', node_id, e)
            return base.NodeStatus(True)  # Nova's trouble, not the node's
        return self._server_status(node_id, server, watched)

    def _server_status(self, node_id, server, watched):
        settings = watched.settings
        if watched.registered:
            self._ssh.registered(node_id)
        elif server.status == 'ACTIVE' and self._setting(settings,
                                                         'ssh_check'):
            return base.NodeStatus(True, register_by=self._ssh.register_by(
                node_id, server.id, settings,
                self._setting(settings, 'register_timeout')))
        if server.status in ('BUILD', 'ACTIVE', 'REBOOT', 'HARD_REBOOT'):
            return base.NodeStatus(True)
        fault = (server.fault or {}).get('message', '')
        reason = 'the server of node %s is %s' % (node_id, server.status)
        if fault:
            reason += ': %s' % fault
        capacity = server.status == 'ERROR' and any(
            word in fault for word in _CAPACITY_FAULTS)
        return base.NodeStatus(False, reason, capacity=capacity)

    def console_log(self, node_id, external_id):
        try:
            output = self.conn.compute.get_server_console_output(
                external_id, length=30)
        except Exception as e:
            LOG.info('Node %s: no console log: %s', node_id, e)
            return None
        return (output or {}).get('output')

    def ssh_address(self, node_id, external_id, settings):
        """(host, port) of the node's SSH server."""
        server = self.conn.compute.get_server(external_id)
        host = server.access_ipv4
        if not host:
            for addresses in (server.addresses or {}).values():
                host = next((a['addr'] for a in addresses
                             if a.get('version') == 4), None)
                if host:
                    break
        return host, self._setting(settings, 'ssh_port')

    def agent_logs(self, node_id, external_id, settings):
        key_file = self._setting(settings, 'ssh_key_file')
        if not key_file:
            return None
        try:
            host, port = self.ssh_address(node_id, external_id, settings)
        except Exception as e:
            return 'Could not find the node\'s address: %s' % _message(e)
        host_key = self._ssh.host_key(node_id)
        if host_key is None:
            # Never scanned: trust what answers now, and say so.
            host_key = ssh.scan_host_key(host, port, timeout=10)
            if host_key is None:
                return 'No SSH answer from %s:%d.' % (host, port)
            LOG.info('Node %s: trusting SSH host key %s on first use',
                     node_id, host_key)
        try:
            return ssh.run(host, port, self._setting(settings, 'ssh_user'),
                           key_file, host_key, ssh.AGENT_LOGS, timeout=20)
        except (ssh.paramiko.SSHException, OSError, EOFError) as e:
            return 'Could not collect the agent\'s logs over SSH from ' \
                '%s:%d: %s' % (host, port, _message(e))

    def list_owned(self):
        owned = {}
        for server in self.conn.compute.servers(name='^' + NAME_PREFIX):
            metadata = server.metadata or {}
            if metadata.get(base.OWNER_LABEL) == self.owner:
                owned[metadata.get(base.NODE_LABEL)] = server.id
        return owned


def _message(error):
    text = ' '.join(str(error).split())
    return text[:500] or type(error).__name__
