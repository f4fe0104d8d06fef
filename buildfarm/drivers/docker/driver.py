"""The docker driver: a node is a container of the worker image.

Containers are never privileged and never get the Docker socket: they run
with every capability dropped except those the agent needs to hand the
job to an unprivileged user, with no-new-privileges, an init, and memory,
CPU, pids and disk limits (storage: a read-only root, capped tmpfs for
what is written). The agent's configuration (broker URL, node secret,
boot job) reaches the container through its stdin into a root-only file
(bootconf): it is on no disk of the host, in no image layer and no
environment variable, and goes with the node. A node mounts, read-only,
the CA bundle, the runtime image's archive and its own job's local
repository, nothing else. On network_mode "isolated" it runs on a network
fenced in by the host's firewall (network). (Mounts and firewall need the
Docker engine on the controller's host.)
"""

import dataclasses
import logging
import os

import docker
from docker import errors as docker_errors

from buildfarm.conf import docker as docker_conf
from buildfarm.drivers import base
from buildfarm.drivers.docker import bootconf
from buildfarm.drivers.docker import network as network_mod
from buildfarm.drivers.docker import runtime
from buildfarm.drivers.docker import storage
from buildfarm.drivers import settings
from buildfarm import exception

LOG = logging.getLogger(__name__)

AGENT_CONF = bootconf.AGENT_CONF
NODE_CA_BUNDLE = storage.AGENT_CONF_DIR + '-ca.crt'
WORKSPACE = storage.WORKSPACE
RUNTIME_ARCHIVE = '/opt/buildfarm/runtime-image.tar'
# What the agent (root in the container) needs, and nothing more: switch
# to the job user, give it the checkout, stop its processes.
CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID',
                'SETUID']
# The [docker] options a label may override; the others are the
# controller's own (its Docker engine, its files, its network).
LABEL_SETTINGS = ('image', 'network_mode', 'memory_limit', 'disk_limit',
                  'cpus', 'pids_limit')
_SIZE_WORDS = ('a size in docker\'s syntax (a number of bytes, or a number '
               'followed by b, k, m or g, such as 512m or 4g)')


def _is_size(value):
    return storage.size_in_bytes(value) is not None


class DockerDriver(base.NodeDriver):

    name = 'docker'
    builds_images = True
    settings_rules = settings.option_rules(
        docker_conf.opts, LABEL_SETTINGS,
        memory_limit=settings.Rule(_is_size, _SIZE_WORDS),
        disk_limit=settings.Rule(
            storage.is_disk_limit, _SIZE_WORDS + ' of at least %d MiB'
            % (storage.MIN_DISK_LIMIT >> 20)))

    def __init__(self, conf):
        super().__init__(conf)
        self.client = self._client()
        storage.check_engine(self.client)
        if not storage.is_disk_limit(conf.docker.disk_limit):
            raise exception.DriverError(
                '[docker] disk_limit %r must be %s of at least %d MiB.'
                % (conf.docker.disk_limit, _SIZE_WORDS,
                   storage.MIN_DISK_LIMIT >> 20))
        self.network = network_mod.IsolatedNetwork(
            self.client, conf, self._owner_labels(), self._iptables())
        self._check_network_mode(conf.docker.network_mode, 'the default')
        beside_logs = os.path.dirname(conf.controller.log_dir.rstrip('/'))
        self.runtime = runtime.RuntimeArchive(
            self.client, conf.build_image.runtime_image,
            conf.build_image.runtime_archive_dir or os.path.join(
                beside_logs, 'runtime-images'))
        self.runtime.path()  # made now rather than at the first boot

    def _client(self):
        return docker.DockerClient(base_url=self.conf.docker.base_url)

    def _iptables(self):
        """What runs iptables commands (None: the real iptables)."""
        return None

    def validate_settings(self, settings, label):
        super().validate_settings(settings, label)
        if 'network_mode' in settings:
            self._check_network_mode(settings['network_mode'],
                                     'label %s' % label)

    def _check_network_mode(self, mode, whose):
        """At start: set the isolated network up, or say that nodes are
        not fenced in."""
        if mode == network_mod.ISOLATED:
            if not self.conf.docker.base_url.startswith('unix://'):
                raise exception.DriverError(
                    'Nodes of %s are on network_mode "isolated", whose '
                    'firewall is this host\'s: the Docker engine must run '
                    'here too ([docker] base_url unix://...), not at %s.'
                    % (whose, self.conf.docker.base_url))
            self.network.ensure()
        else:
            LOG.warning('Nodes of %s run on Docker network %r: their jobs '
                        'can reach other nodes, this host\'s services and '
                        'any metadata address. Use [docker] network_mode '
                        '"isolated" to fence them in.', whose, mode)

    def _owner_labels(self):
        return {base.OWNER_LABEL: self.owner}

    def _labels(self, node_id):
        return dict(self._owner_labels(), **{base.NODE_LABEL: node_id})

    def _volumes(self, spec, runtime_archive):
        volumes = {}
        if runtime_archive:
            volumes[runtime_archive] = {'bind': RUNTIME_ARCHIVE,
                                        'mode': 'ro'}
        if self.conf.node.ca_bundle:
            volumes[self.conf.node.ca_bundle] = {'bind': NODE_CA_BUNDLE,
                                                 'mode': 'ro'}
        for path in self.conf.docker.node_mounts + spec.local_repos:
            volumes[path] = {'bind': path, 'mode': 'ro'}
        return volumes

    def _setting(self, spec, name):
        """A label's setting, else the [docker] option of that name."""
        return spec.settings.get(name, getattr(self.conf.docker, name))

    def _network_kwargs(self, spec):
        mode = self._setting(spec, 'network_mode')
        if mode != network_mod.ISOLATED:
            return {'network_mode': mode}
        # Nothing reaches a node over IPv6: the network has none.
        return {'network_mode': self.network.name,
                'sysctls': {'net.ipv6.conf.all.disable_ipv6': '1'}}

    def container_kwargs(self, spec, runtime_archive=None):
        memory = storage.size_in_bytes(self._setting(spec, 'memory_limit'))
        disk = storage.size_in_bytes(self._setting(spec, 'disk_limit'))
        return dict(
            image=self._setting(spec, 'image'),
            command=bootconf.COMMAND,
            name='buildfarm-node-%s' % spec.node_id,
            labels=self._labels(spec.node_id),
            # Its writable storage (tmpfs) counts against this too; no
            # swap, which is disk.
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(float(self._setting(spec, 'cpus')) * 1e9),
            pids_limit=int(self._setting(spec, 'pids_limit')),
            read_only=True,
            tmpfs=storage.tmpfs(disk),
            log_config=storage.LOG_CONFIG,
            init=True,
            privileged=False,
            cap_drop=['ALL'],
            cap_add=CAPABILITIES,
            security_opt=['no-new-privileges'],
            volumes=self._volumes(spec, runtime_archive),
            **self._network_kwargs(spec),
            **bootconf.CONTAINER_KWARGS,
        )

    def create(self, spec):
        delivery = {'workspace': WORKSPACE}
        if self._setting(spec, 'network_mode') == network_mod.ISOLATED:
            self.network.ensure()
            delivery['transport_url'] = self.network.node_transport_url(
                spec.agent_conf.transport_url)
        if self.conf.node.ca_bundle:
            delivery['ca_bundle'] = NODE_CA_BUNDLE
        runtime_archive = self.runtime.path()
        if runtime_archive:
            delivery['runtime_archive'] = RUNTIME_ARCHIVE
        agent_conf = dataclasses.replace(spec.agent_conf, **delivery)
        container = self._start_container(spec, runtime_archive,
                                          agent_conf.render())
        LOG.info('Node %s: container %s started.', spec.node_id,
                 container.short_id)
        return container.id

    def _start_container(self, spec, runtime_archive, agent_conf):
        try:
            container = self.client.containers.create(
                **self.container_kwargs(spec, runtime_archive))
        except docker_errors.ImageNotFound:
            raise exception.NodeBootError(
                'The worker image %r is not on the Docker engine. Build it '
                'with "buildfarm image build --format docker" or set '
                '[docker] image (or the label\'s image).'
                % self._setting(spec, 'image'))
        except docker_errors.DockerException as e:
            raise exception.NodeBootError(
                'Docker could not create the node container: %s' % e)
        try:
            stdin = bootconf.attach(self.client, container)
            container.start()
            bootconf.send(stdin, agent_conf)
        except (docker_errors.DockerException, OSError) as e:
            self._remove(container)
            raise exception.NodeBootError(
                'Docker could not start the node container: %s' % e)
        return container

    def _remove(self, container):
        try:
            container.remove(force=True)
        except docker_errors.NotFound:
            pass

    def delete(self, node_id, external_id):
        try:
            if external_id:
                container = self.client.containers.get(external_id)
            else:
                # Booting failed before Docker gave an id: find it by label.
                found = self.client.containers.list(all=True, filters={
                    'label': '%s=%s' % (base.NODE_LABEL, node_id)})
                container = found[0] if found else None
            if container is not None:
                self._remove(container)
        except docker_errors.NotFound:
            return
        except docker_errors.DockerException as e:
            raise exception.DriverError(
                'Could not remove the container of node %s: %s'
                % (node_id, e))

    def list_owned(self):
        # sparse: no inspect per container, which would race with deletes.
        containers = self.client.containers.list(all=True, sparse=True,
                                                 filters={'label': '%s=%s' % (
                                                     base.OWNER_LABEL,
                                                     self.owner)})
        return {(c.attrs.get('Labels') or {}).get(base.NODE_LABEL): c.id
                for c in containers}

    def status(self, node_id, external_id):
        try:
            container = self.client.containers.get(external_id)
        except docker_errors.NotFound:
            return base.NodeStatus(False, 'the container of node %s is gone'
                                   % node_id)
        if container.status in ('created', 'running'):
            return base.NodeStatus(True)
        state = container.attrs.get('State', {})
        oom = ', out of memory' if state.get('OOMKilled') else ''
        reason = ('the container of node %s stopped (status %s, exit code '
                  '%s%s)' % (node_id, container.status,
                             state.get('ExitCode'), oom))
        tail = self._log_tail(container)
        if tail:
            reason += '; its last output: %s' % tail
        return base.NodeStatus(False, reason)

    def _log_tail(self, container):
        try:
            lines = container.logs(tail=5).decode(errors='replace')
        except docker_errors.DockerException:
            return ''
        return ' | '.join(ln.strip() for ln in lines.splitlines()
                          if ln.strip())[-500:]
