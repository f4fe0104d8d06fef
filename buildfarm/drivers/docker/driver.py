"""The docker driver: a node is a container of the worker image.

Containers are never privileged and never get the Docker socket: they run
with every capability dropped except those the agent needs to hand the
job to an unprivileged user, with no-new-privileges, an init, and memory,
CPU and pids limits. The agent's configuration (broker URL, node secret,
boot job) is written on the host into a directory only the controller's
user can read, one per node, and mounted read-only where only root in the
container can read it; it is in no image layer and no environment
variable, and goes with the node. (Like the CA bundle, this needs the
Docker engine on the controller's host.)
"""

import dataclasses
import logging
import os
import re
import shutil

import docker
from docker import errors as docker_errors

from buildfarm.conf import docker as docker_conf
from buildfarm.drivers import base
from buildfarm.drivers.docker import runtime
from buildfarm.drivers import settings
from buildfarm import exception

LOG = logging.getLogger(__name__)

AGENT_CONF_DIR = '/etc/buildfarm-agent'
AGENT_CONF = AGENT_CONF_DIR + '/agent.conf'
NODE_CA_BUNDLE = AGENT_CONF_DIR + '-ca.crt'
WORKSPACE = '/var/lib/buildfarm-agent'
RUNTIME_ARCHIVE = '/opt/buildfarm/runtime-image.tar'
# What the agent (root in the container) needs, and nothing more: switch
# to the job user, give it the checkout, stop its processes.
CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID',
                'SETUID']
# The [docker] options a label may override; the others are the
# controller's own (its Docker engine, its files).
LABEL_SETTINGS = ('image', 'network_mode', 'memory_limit', 'cpus',
                  'pids_limit')
# Bytes, or a number and a unit (docker's syntax: 512m, 4g, 1.5gb).
_SIZE = re.compile(r'\d+(\.\d+)?([kmg]b?|b)?', re.IGNORECASE)


def _is_size(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value > 0
    return isinstance(value, str) and bool(_SIZE.fullmatch(value))


class DockerDriver(base.NodeDriver):

    name = 'docker'
    builds_images = True
    settings_rules = settings.option_rules(
        docker_conf.opts, LABEL_SETTINGS,
        memory_limit=settings.Rule(
            _is_size, 'a size in docker\'s syntax (a number of bytes, or '
            'a number followed by b, k, m or g, such as 512m or 4g)'))

    def __init__(self, conf):
        super().__init__(conf)
        self.client = self._client()
        beside_logs = os.path.dirname(conf.controller.log_dir.rstrip('/'))
        self._conf_root = conf.docker.node_config_dir or os.path.join(
            beside_logs, 'node-config')
        os.makedirs(self._conf_root, 0o700, exist_ok=True)
        self.runtime = runtime.RuntimeArchive(
            self.client, conf.build_image.runtime_image,
            conf.build_image.runtime_archive_dir or os.path.join(
                beside_logs, 'runtime-images'))
        self.runtime.path()  # made now rather than at the first boot

    def _conf_dir(self, node_id):
        return os.path.join(self._conf_root, node_id)

    def _write_agent_conf(self, node_id, text):
        folder = self._conf_dir(node_id)
        os.mkdir(folder, 0o700)  # fails if it exists: node ids are unique
        name = os.path.join(folder, os.path.basename(AGENT_CONF))
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(text)

    def _client(self):
        return docker.DockerClient(base_url=self.conf.docker.base_url)

    def _labels(self, node_id):
        return {base.OWNER_LABEL: self.owner, base.NODE_LABEL: node_id}

    def _volumes(self, spec, runtime_archive):
        volumes = {self._conf_dir(spec.node_id): {'bind': AGENT_CONF_DIR,
                                                  'mode': 'ro'}}
        if runtime_archive:
            volumes[runtime_archive] = {'bind': RUNTIME_ARCHIVE,
                                        'mode': 'ro'}
        if self.conf.node.ca_bundle:
            volumes[self.conf.node.ca_bundle] = {'bind': NODE_CA_BUNDLE,
                                                 'mode': 'ro'}
        for path in spec.local_repos:
            volumes[path] = {'bind': path, 'mode': 'ro'}
        return volumes

    def _setting(self, spec, name):
        """A label's setting, else the [docker] option of that name."""
        return spec.settings.get(name, getattr(self.conf.docker, name))

    def container_kwargs(self, spec, runtime_archive=None):
        return dict(
            image=self._setting(spec, 'image'),
            command=['buildfarm-agent', '--config-file', AGENT_CONF],
            name='buildfarm-node-%s' % spec.node_id,
            labels=self._labels(spec.node_id),
            network_mode=self._setting(spec, 'network_mode'),
            mem_limit=self._setting(spec, 'memory_limit'),
            nano_cpus=int(float(self._setting(spec, 'cpus')) * 1e9),
            pids_limit=int(self._setting(spec, 'pids_limit')),
            init=True,
            privileged=False,
            cap_drop=['ALL'],
            cap_add=CAPABILITIES,
            security_opt=['no-new-privileges'],
            volumes=self._volumes(spec, runtime_archive),
            detach=True,
        )

    def create(self, spec):
        delivery = {'workspace': WORKSPACE}
        if self.conf.node.ca_bundle:
            delivery['ca_bundle'] = NODE_CA_BUNDLE
        runtime_archive = self.runtime.path()
        if runtime_archive:
            delivery['runtime_archive'] = RUNTIME_ARCHIVE
        agent_conf = dataclasses.replace(spec.agent_conf, **delivery)
        self._write_agent_conf(spec.node_id, agent_conf.render())
        try:
            container = self._start_container(spec, runtime_archive)
        except exception.NodeBootError:
            self._forget_conf(spec.node_id)
            raise
        LOG.info('Node %s: container %s started.', spec.node_id,
                 container.short_id)
        return container.id

    def _start_container(self, spec, runtime_archive):
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
            container.start()
        except docker_errors.DockerException as e:
            self._remove(container)
            raise exception.NodeBootError(
                'Docker could not start the node container: %s' % e)
        return container

    def _forget_conf(self, node_id):
        shutil.rmtree(self._conf_dir(node_id), ignore_errors=True)

    def _remove(self, container):
        try:
            container.remove(force=True)
        except docker_errors.NotFound:
            pass

    def delete(self, node_id, external_id):
        self._forget_conf(node_id)
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
