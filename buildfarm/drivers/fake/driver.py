"""The fake driver for unit tests: the docker driver with a fake client.

Only the Docker client is replaced (the lowest seam), so the docker
driver's own logic (labels, limits, capabilities, how the agent's
configuration is delivered) is what the tests exercise. No agent runs:
tests play the agent through the controller's NodeCallbackAPI.
"""

import hashlib
import itertools

from docker import errors as docker_errors

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


class FakeDriver(docker_driver.DockerDriver):

    name = 'fake'

    def _client(self):
        return FakeDockerClient([self.conf.docker.image])
