"""Fixtures for functional tests: a real RabbitMQ, Docker engine and git
daemon on 127.0.0.1. .ci/run installs and starts them."""

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid

import docker
import openstack
import pytest

from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm.drivers import base
from buildfarm import states

IMAGE = os.environ.get('BUILDFARM_TEST_IMAGE', 'buildfarm-worker:latest')
CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
GLANCE_URL = os.environ.get('BUILDFARM_TEST_GLANCE', 'http://127.0.0.1:19292')
# tools/start-keystone.sh writes the ready file: its URL, its clouds.yaml.
KEYSTONE_READY = os.environ.get('BUILDFARM_TEST_KEYSTONE_READY',
                                '/tmp/keystone-ready')
KEYSTONE_GLANCE_URL = os.environ.get('BUILDFARM_TEST_KEYSTONE_GLANCE',
                                     'http://127.0.0.1:19293')
# Shared by every test controller: the runtime image is saved once.
RUNTIME_ARCHIVES = '/tmp/buildfarm-test-runtime-images'
NODE_KEY = 'functional-test-node-key'
NODE_ACCOUNT = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                            'rabbitmq-node-account.sh')
GIT_ENV = {'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.com',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.com',
           'PATH': '/usr/bin:/bin'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rabbitmqctl(*args):
    subprocess.run(['rabbitmqctl', '-q', *args], check=True,
                   capture_output=True, timeout=60)


# For each controller transport URL that make_vhost made: the nodes'
# transport URL, and the controller's own URL of the nodes' vhost
# (controller_conf and write_config use them).
NODE_URLS = {}
CONTROLLER_NODE_URLS = {}


@pytest.fixture(scope='session')
def make_vhost():
    """Make a RabbitMQ vhost with its own user, and the nodes' vhost and
    account beside it (tools/rabbitmq-node-account.sh); return the
    controller's transport URL (the nodes' is NODE_URLS[it]).

    The passwords are random, so a test can look for them where they must
    not be (logs, job output).
    """
    made = []

    def make():
        name = 'bf-test-%s' % uuid.uuid4().hex[:10]
        password = 'pw-%s' % secrets.token_hex(12)
        _rabbitmqctl('add_vhost', name)
        _rabbitmqctl('add_user', name, password)
        _rabbitmqctl('set_permissions', '-p', name, name, '.*', '.*', '.*')
        nodes, node_password = name + '-nodes', 'pw-%s' % secrets.token_hex(12)
        subprocess.run([NODE_ACCOUNT, nodes, nodes, node_password, name],
                       check=True, capture_output=True, timeout=120)
        made.extend([name, nodes])
        url = 'rabbit://%s:%s@127.0.0.1:5672/%s' % (name, password, name)
        NODE_URLS[url] = 'rabbit://%s:%s@127.0.0.1:5672/%s' % (
            nodes, node_password, nodes)
        CONTROLLER_NODE_URLS[url] = '%s-nodes' % url
        return url

    yield make
    for name in made:
        subprocess.run(['rabbitmqctl', '-q', 'delete_vhost', name],
                       capture_output=True)
        subprocess.run(['rabbitmqctl', '-q', 'delete_user', name],
                       capture_output=True)


@pytest.fixture(scope='module')
def glance():
    """A client of the Glance that .ci/run starts."""
    url = GLANCE_URL
    try:
        urllib.request.urlopen(url + '/healthcheck', timeout=5)
    except OSError as e:
        pytest.fail('No Glance at %s (%s): start it with '
                    'tools/start-glance.sh (see .ci/run).' % (url, e))
    return openstack.connect(auth_type='none', image_endpoint_override=url)


class Keystone:
    """The test Keystone: ``url``, ``clouds_yaml`` (entries buildfarm-alice,
    -bob, -oscar, -admin, -controller) and ``connect(cloud)``."""

    def __init__(self, url, clouds_yaml):
        self.url = url
        self.clouds_yaml = clouds_yaml

    def connect(self, cloud, **kwargs):
        config = openstack.config.OpenStackConfig(
            config_files=[self.clouds_yaml])
        return openstack.connection.Connection(
            config=config.get_one(cloud=cloud, **kwargs))


@pytest.fixture(scope='session')
def keystone():
    """The Keystone that tools/start-keystone.sh starts."""
    try:
        with open(KEYSTONE_READY) as f:
            url, clouds_yaml = f.read().split()[:2]
        urllib.request.urlopen(url + '/v3', timeout=5)
    except (OSError, ValueError) as e:
        pytest.fail('No test Keystone (%s: %s): start it with '
                    'tools/start-keystone.sh.' % (KEYSTONE_READY, e))
    return Keystone(url, clouds_yaml)


@pytest.fixture(scope='session')
def keystone_glance(keystone):
    """The Keystone-protected Glance (BUILDFARM_GLANCE_AUTH=keystone
    tools/start-glance.sh), the image service of the test Keystone's
    catalog: {'url', 'controller': a connection as the controller's
    user (cloud buildfarm-controller)}."""
    url = KEYSTONE_GLANCE_URL
    try:
        urllib.request.urlopen(url + '/healthcheck', timeout=5)
    except OSError as e:
        pytest.fail('No Keystone Glance at %s (%s): start it with '
                    'BUILDFARM_GLANCE_AUTH=keystone tools/start-glance.sh.'
                    % (url, e))
    return {'url': url, 'controller': keystone.connect('buildfarm-controller')}


@pytest.fixture(scope='session')
def docker_client():
    client = docker.from_env()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail('The worker image %s is missing: run "buildfarm image '
                    'build --format docker" (see .ci/run).' % IMAGE)
    return client


def git(path, *args):
    return subprocess.run(['git', *args], cwd=path, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope='session')
def git_server(tmp_path_factory):
    """A git daemon on 127.0.0.1 serving repository "project"."""
    base_dir = tmp_path_factory.mktemp('git')
    repo = base_dir / 'project'
    repo.mkdir()
    git(repo, 'init', '-q', '-b', 'main')
    (repo / 'version').write_text('one\n')
    git(repo, 'add', 'version')
    git(repo, 'commit', '-qm', 'one')
    git(repo, 'tag', 'v1')
    v1 = git(repo, 'rev-parse', 'HEAD')
    (repo / 'version').write_text('two\n')
    git(repo, 'commit', '-qam', 'two')
    port = free_port()
    daemon = subprocess.Popen(
        ['git', 'daemon', '--export-all', '--reuseaddr', '--listen=127.0.0.1',
         '--port=%d' % port, '--base-path=%s' % base_dir, str(base_dir)],
        stderr=subprocess.DEVNULL)
    url = 'git://127.0.0.1:%d/project' % port
    for _ in range(100):
        if subprocess.run(['git', 'ls-remote', url],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    yield {'url': url, 'port': port, 'path': str(repo), 'v1': v1,
           'head': git(repo, 'rev-parse', 'HEAD')}
    daemon.terminate()
    daemon.wait()


def serve_dir(git_server, name, source_dir):
    """Commit ``source_dir`` as repository ``name`` of the git daemon;
    return (url, commit)."""
    repo = os.path.join(os.path.dirname(git_server['path']), name)
    shutil.copytree(source_dir, repo)
    git(repo, 'init', '-q', '-b', 'main')
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'app')
    return ('git://127.0.0.1:%d/%s' % (git_server['port'], name),
            git(repo, 'rev-parse', 'HEAD'))


def controller_conf(tmp_path, transport_url, controller_id, overrides=None):
    conf = config.load([], default_config_files=[])
    conf.set_override('transport_url', transport_url)
    conf.set_override('transport_url', NODE_URLS.get(transport_url), 'node')
    conf.set_override('node_transport_url',
                      CONTROLLER_NODE_URLS.get(transport_url), 'controller')
    conf.set_override('connection', 'sqlite:///%s/db.sqlite' % tmp_path,
                      'database')
    settings = {
        # test_auth.py tests Keystone authentication.
        (None, 'auth_strategy'): 'noauth',
        ('controller', 'driver'): 'docker',
        ('controller', 'controller_id'): controller_id,
        ('controller', 'log_dir'): str(tmp_path / 'logs'),
        ('controller', 'node_secret_key'): NODE_KEY,
        ('controller', 'monitor_interval'): 1,
        ('controller', 'boot_timeout'): 60,
        ('docker', 'image'): IMAGE,
        ('docker', 'network_mode'): 'host',
        # What a node writes (tmpfs) is memory too: build_image nodes
        # hold the image they assemble (about 600 MiB).
        ('docker', 'memory_limit'): '2g',
        ('node', 'ca_bundle'): CA_BUNDLE,
        ('build_image', 'image_endpoint'): GLANCE_URL,
        ('build_image', 'runtime_archive_dir'): RUNTIME_ARCHIVES,
    }
    settings.update(overrides or {})
    for (group, name), value in settings.items():
        conf.set_override(name, value, group)
    return conf


def write_config(path, transport_url, controller_id, extra=()):
    """A configuration file for buildfarm-controller and the CLI."""
    path.write_text('\n'.join([
        '[DEFAULT]', 'transport_url = %s' % transport_url,
        'auth_strategy = noauth',
        '[database]', 'connection = sqlite:///%s/db.sqlite' % path.parent,
        '[controller]', 'driver = docker',
        'controller_id = %s' % controller_id,
        'log_dir = %s/logs' % path.parent,
        'allowed_local_repo_dirs = %s' % path.parent,
        'node_secret_key = %s' % NODE_KEY,
        *(['node_transport_url = %s' % CONTROLLER_NODE_URLS[transport_url]]
          if transport_url in CONTROLLER_NODE_URLS else []), *extra,
        '[docker]', 'image = %s' % IMAGE, 'network_mode = host',
        '[node]', 'ca_bundle = %s' % CA_BUNDLE,
        *(['transport_url = %s' % NODE_URLS[transport_url]]
          if transport_url in NODE_URLS else []),
        '[build_image]', 'image_endpoint = %s' % GLANCE_URL,
        'runtime_archive_dir = %s' % RUNTIME_ARCHIVES, '']))
    return str(path)


def wait_until(predicate, timeout=60, what='condition', interval=0.5):
    """Return the first true value of ``predicate()``; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, '%s not met within %d s' % (
            what, timeout)
        time.sleep(interval)


def owned_containers(client, controller_id):
    return client.containers.list(all=True, sparse=True, filters={
        'label': '%s=%s' % (base.OWNER_LABEL, controller_id)})


class Farm:
    """A controller on the real broker and Docker engine, and its API."""

    def __init__(self, conf, docker_client, drivers=None):
        """``drivers``: {name: driver} to use instead of those loaded."""
        self.conf = conf
        self.docker = docker_client
        self.controller_id = conf.controller.controller_id
        self.service = service.ControllerService(conf)
        self.service.drivers.update(drivers or {})
        self.service.start()
        self.api = rpcapi.ControllerAPI(self.service.transport,
                                        conf.controller.topic, timeout=30)

    def submit(self, **spec):
        return self.api.repo_job(spec)

    def wait(self, job_id, timeout=120):
        deadline = time.monotonic() + timeout
        job = {'state': 'unknown'}
        while time.monotonic() < deadline:
            try:
                job = self.api.get_job(job_id)
            except rpc.MessagingTimeout:
                # A reply sent before our reply queue came back after a
                # broker restart is dropped by the broker; ask again.
                continue
            if job['state'] in states.TERMINAL:
                return job
            time.sleep(0.2)
        raise AssertionError('job %s still %s after %d s'
                             % (job_id, job['state'], timeout))

    def run(self, **spec):
        return self.wait(self.submit(**spec)['id'])

    def log(self, job_id):
        with open(self.api.get_job(job_id)['log_path']) as f:
            return f.read()

    def wait_for_log(self, job_id, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if text in self.log(job_id):
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.2)
        raise AssertionError('%r never appeared in the log' % text)

    def containers(self):
        return owned_containers(self.docker, self.controller_id)

    def assert_no_container_left(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.containers() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.containers() == []

    def stop(self):
        self.service.stop()
        rpc.forget_transport(self.conf.transport_url)
        if self.conf.controller.node_transport_url:
            rpc.forget_transport(self.conf.controller.node_transport_url)


@pytest.fixture(scope='module')
def farm(tmp_path_factory, make_vhost, docker_client):
    conf = controller_conf(tmp_path_factory.mktemp('farm'), make_vhost(),
                           'bf-test-%s' % uuid.uuid4().hex[:8])
    farm = Farm(conf, docker_client)
    yield farm
    farm.stop()
    for container in farm.containers():
        container.remove(force=True)


@pytest.fixture
def clean_farm(farm):
    """The farm, checked for leftover containers after the test."""
    yield farm
    farm.assert_no_container_left()
