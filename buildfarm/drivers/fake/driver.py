"""The fake driver for unit tests: the docker driver with a fake client.

Only the Docker client is replaced (the lowest seam), so the docker
driver's own logic (labels, limits, capabilities, how the agent's
configuration is delivered) is what the tests exercise. No agent runs:
tests play the agent through the controller's NodeCallbackAPI. The
host's iptables are faked too (FakeIptables).
"""

import hashlib
import itertools
import subprocess

from docker import errors as docker_errors

from buildfarm.drivers import base
from buildfarm.drivers.docker import driver as docker_driver

_ids = itertools.count(1)


class FakeContainer:

    def __init__(self, client, kwargs):
        self.client = client
        self.kwargs = kwargs
        self.id = 'fake%012d' % next(_ids)
        self.short_id = self.id[:12]
        self.name = kwargs['name']
        self.labels = kwargs['labels']
        self.status = 'created'
        self.exit_code = None
        # What the controller wrote to the container's stdin.
        self.stdin = b''

    @property
    def attrs(self):
        return {'State': {'ExitCode': self.exit_code, 'OOMKilled': False},
                'Labels': self.labels}

    def start(self):
        self.status = 'running'

    def kill(self, exit_code=137):
        """What a test calls to make the node die."""
        self.status, self.exit_code = 'exited', exit_code

    def logs(self, tail=None):
        return b'agent output'

    def remove(self, force=False):
        if self.id not in self.client.containers.by_id:
            raise docker_errors.NotFound('No such container: %s' % self.id)
        del self.client.containers.by_id[self.id]


class FakeContainers:

    def __init__(self, client):
        self.client = client
        self.by_id = {}

    def create(self, **kwargs):
        if kwargs['image'] not in self.client.images:
            raise docker_errors.ImageNotFound('No such image: %s'
                                              % kwargs['image'])
        container = FakeContainer(self.client, kwargs)
        self.by_id[container.id] = container
        return container

    def get(self, container_id):
        try:
            return self.by_id[container_id]
        except KeyError:
            raise docker_errors.NotFound('No such container: %s'
                                         % container_id)

    def list(self, all=False, filters=None, sparse=False):  # noqa: A002
        label = (filters or {}).get('label')
        key, _, value = label.partition('=') if label else (None, '', '')
        return [c for c in self.by_id.values()
                if (all or c.status == 'running')
                and (key is None or c.labels.get(key) == value)]


class FakeStdin:
    """The attached stdin of a container."""

    def __init__(self, container):
        self.container = container

    def settimeout(self, seconds):
        pass

    def sendall(self, data):
        self.container.stdin += data

    def shutdown(self, how):
        pass

    def close(self):
        pass


class FakeAPI:

    def __init__(self, client):
        self.client = client

    def attach_socket(self, container_id, params=None):
        return FakeStdin(self.client.containers.get(container_id))


class FakeNetwork:

    def __init__(self, client, name, options, labels):
        self.client = client
        self.name = name
        self.id = hashlib.sha256(name.encode()).hexdigest()
        self.attrs = {'Driver': 'bridge', 'Options': options,
                      'Labels': labels,
                      'IPAM': {'Config': [{'Subnet': '10.99.0.0/24',
                                           'Gateway': '10.99.0.1'}]}}

    def remove(self):
        del self.client.networks.by_name[self.name]


class FakeNetworks:

    def __init__(self, client):
        self.client = client
        self.by_name = {}

    def get(self, name):
        try:
            return self.by_name[name]
        except KeyError:
            raise docker_errors.NotFound('network %s not found' % name)

    def create(self, name, driver=None, options=None, labels=None, **kw):
        network = FakeNetwork(self.client, name, options or {}, labels)
        self.by_name[name] = network
        return network


class FakeIptables:
    """Runs no iptables: records the commands, answers that each
    worked; ``installed`` is what ``iptables -C`` answers."""

    def __init__(self):
        self.commands = []
        self.installed = True

    def __call__(self, args, stdin=None):
        self.commands.append((args, stdin))
        ok = self.installed or '-C' not in args
        return subprocess.CompletedProcess(args, 0 if ok else 1, '', '')


class FakeImage:

    def __init__(self, name):
        self.name = name
        self.id = 'sha256:' + hashlib.sha256(name.encode()).hexdigest()

    def save(self, named=False):
        yield b'archive of ' + self.name.encode()


class FakeImages(set):
    """Names of the images the engine has."""

    def get(self, name):
        if name not in self:
            raise docker_errors.ImageNotFound('No such image: %s' % name)
        return FakeImage(name)


class FakeDockerClient:

    def __init__(self, images):
        self.images = FakeImages(images)
        self.containers = FakeContainers(self)
        self.networks = FakeNetworks(self)
        self.api = FakeAPI(self)

    def info(self):
        return {'OSType': 'linux', 'MemoryLimit': True}


class FakeDriver(docker_driver.DockerDriver):

    name = 'fake'

    def _client(self):
        return FakeDockerClient([self.conf.docker.image])

    def _iptables(self):
        self.iptables = FakeIptables()
        return self.iptables

    def agent_conf(self, node_id):
        """The agent's configuration as node ``node_id`` received it."""
        found = self.client.containers.list(
            all=True, filters={'label': '%s=%s' % (base.NODE_LABEL, node_id)})
        return found[0].stdin.decode() if found else None
