"""Hostile jobs on real Docker nodes (issue 12): each job tries to break
out of its node's containment and fails; the farm is unharmed.

The farm's nodes run on network_mode "isolated", on a network this
module creates and removes with its iptables rules. Every address a job
or the test aims at is of this module's making: the node network's
gateway (this host, with servers the test starts on it), the nodes on
that network, and a network namespace the test makes, joined to the host
by a veth pair with addresses from 198.18.0.0/15 (set aside for network
tests). Nothing goes to a metadata address: the farm blocks an address
of that namespace instead, which the host reaches and jobs must not.
"""

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid

from docker import errors as docker_errors
import pytest

from buildfarm import states
from tests.functional import conftest

AGENT_CONF_DIR = '/etc/buildfarm-agent'
DISK_LIMIT_MIB = 64
PROBE = '''import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(':', 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        print('probe %s open' % target)
    except OSError as e:
        print('probe %s closed (%s)' % (target, e))
'''


def _ip(*args, check=True):
    return subprocess.run(['ip', *args], check=check, capture_output=True,
                          text=True)


def _reachable(host, port, timeout=3):
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope='module')
def stand_in(tmp_path_factory):
    """An HTTP server in a network namespace of our own, on two
    addresses: ``blocked`` (the farm blocks it, as it would a metadata
    address) and ``open``."""
    name = uuid.uuid4().hex[:8]
    ns, host_if, ns_if = 'bf-test-' + name, 'bfh' + name, 'bfn' + name
    prefix = '198.18.%d.' % random.randint(0, 255)
    _ip('netns', 'add', ns)
    server = None
    try:
        _ip('link', 'add', host_if, 'type', 'veth', 'peer', 'name', ns_if)
        _ip('link', 'set', ns_if, 'netns', ns)
        _ip('addr', 'add', prefix + '1/29', 'dev', host_if)
        _ip('link', 'set', host_if, 'up')
        for address in (prefix + '2/29', prefix + '3/29'):
            _ip('-n', ns, 'addr', 'add', address, 'dev', ns_if)
        _ip('-n', ns, 'link', 'set', ns_if, 'up')
        port = 8080
        server = subprocess.Popen(
            ['ip', 'netns', 'exec', ns, sys.executable, '-m', 'http.server',
             '--bind', '0.0.0.0', str(port)],
            cwd=tmp_path_factory.mktemp('stand-in'),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conftest.wait_until(lambda: _reachable(prefix + '2', port, 1),
                            timeout=20, what='the stand-in server')
        yield {'blocked': prefix + '2', 'open': prefix + '3', 'port': port}
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        _ip('netns', 'del', ns, check=False)  # takes the veth pair along
        _ip('link', 'del', host_if, check=False)


class HostServer:
    """A TCP server on this host that greets and hangs up."""

    def __init__(self, address, port):
        self.sock = socket.create_server((address, port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b'hello\n')

    def close(self):
        self.sock.close()


def _repo(path, files):
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    conftest.git(path, 'init', '-q', '-b', 'main')
    conftest.git(path, 'add', '-A')
    conftest.git(path, 'commit', '-qm', 'files')
    return 'file://%s' % path


@pytest.fixture(scope='module')
def hostile(tmp_path_factory, make_vhost, docker_client, stand_in):
    tmp = tmp_path_factory.mktemp('hostile')
    repos = tmp / 'repos'
    job_repo = _repo(repos / 'job', {'probe.py': PROBE})
    _repo(repos / 'other', {'secret.txt': 'not for this job\n'})
    allowed_port, closed_port = conftest.free_port(), conftest.free_port()
    transport_url = make_vhost()
    conf = conftest.controller_conf(
        tmp, transport_url, 'bf-hostile-%s' % uuid.uuid4().hex[:8], {
            ('docker', 'network_mode'): 'isolated',
            ('docker', 'network'): 'bf-test-nodes-%s' % uuid.uuid4().hex[:8],
            ('docker', 'blocked_addresses'): [stand_in['blocked'] + '/32',
                                              '169.254.0.0/16'],
            ('docker', 'allowed_host_ports'): [allowed_port],
            ('docker', 'disk_limit'): '%dm' % DISK_LIMIT_MIB,
            ('docker', 'memory_limit'): '512m',
            ('controller', 'allowed_local_repo_dirs'): [str(repos)],
        })
    farm = conftest.Farm(conf, docker_client)
    network = farm.service.drivers['docker'].network
    servers = [HostServer(network.gateway, port)
               for port in (allowed_port, closed_port)]
    yield {'farm': farm, 'tmp': tmp, 'repos': repos, 'job_repo': job_repo,
           'network': network, 'gateway': network.gateway,
           'allowed_port': allowed_port, 'closed_port': closed_port,
           'password': urllib.parse.urlsplit(transport_url).password}
    for server in servers:
        server.close()
    bridge = network.firewall.bridge
    try:
        farm.assert_no_container_left()
    finally:
        farm.stop()
        for container in farm.containers():
            container.remove(force=True)
        network.remove()
    rules = subprocess.run(['iptables', '-S'], capture_output=True,
                           text=True, check=True).stdout
    assert bridge not in rules
    with pytest.raises(docker_errors.NotFound):
        docker_client.networks.get(network.name)


def _container(hostile, job_id):
    node_id = hostile['farm'].api.get_job(job_id)['node_id']
    return hostile['farm'].docker.containers.get('buildfarm-node-' + node_id)


@contextlib.contextmanager
def _running(hostile, cmd, marker='READY'):
    """Submit ``cmd``; give (job id, its node's container) once its log
    shows ``marker``; cancel the job afterwards."""
    farm = hostile['farm']
    job_id = farm.submit(git_url=hostile['job_repo'], cmd=cmd)['id']
    try:
        # A line of its own: the log's "running:" line quotes the command.
        farm.wait_for_log(job_id, '\n%s\n' % marker)
        yield job_id, _container(hostile, job_id)
    finally:
        farm.api.cancel_job(job_id)
        assert farm.wait(job_id)['state'] == states.CANCELLED


def _root(container, *cmd):
    """Run ``cmd`` as root in the node, as a job that became root would."""
    result = container.exec_run(list(cmd), user='root')
    return result.exit_code, result.output.decode()


def test_the_agent_configuration_is_root_only_and_on_no_host_disk(hostile):
    farm = hostile['farm']
    with _running(hostile, 'cat {0}/agent.conf; echo "cat=$?"; ls {0}; '
                           'echo "ls=$?"; echo READY; exec sleep 60'.format(
                               AGENT_CONF_DIR)) as (job_id, container):
        log = farm.log(job_id)
        assert 'cat=1' in log and 'ls=2' in log
        assert 'agent.conf: Permission denied' in log
        code, out = _root(container, 'stat', '-c', '%U %G %a',
                          AGENT_CONF_DIR)
        assert (code, out.strip()) == (0, 'root root 700')
        code, out = _root(container, 'stat', '-c', '%U %G %a',
                          AGENT_CONF_DIR + '/agent.conf')
        # The agent may have deleted it once read.
        assert out.strip() == 'root root 400' or 'No such file' in out, out
        # Nothing of it on the host: not in the container's settings, not
        # in Docker's files of the container, not among the controller's.
        password = hostile['password']
        assert password not in str(farm.docker.api.inspect_container(
            container.id))
        for top in ('/var/lib/docker/containers/' + container.id,
                    str(hostile['tmp'])):
            for root, _, files in os.walk(top):
                for name in files:
                    with open(os.path.join(root, name), 'rb') as f:
                        assert password.encode() not in f.read(), name


def test_a_job_cannot_fill_the_host_disk(hostile):
    farm = hostile['farm']
    with _running(hostile, 'dd if=/dev/zero of=fill bs=1M count={0}; '
                           'echo "dd=$?"; '
                           'dd if=/dev/zero of=/tmp/fill bs=1M count={0}; '
                           'echo "tmp=$?"; echo READY; exec sleep 60'.format(
                               2 * DISK_LIMIT_MIB)) as (job_id, container):
        log = farm.log(job_id)
        assert log.count('No space left on device') == 2, log
        assert 'dd=1' in log and 'tmp=1' in log
        # Root in the node cannot write anywhere else.
        for path in ('/fill', '/usr/fill', '/var/lib/fill', '/home/fill'):
            code, out = _root(container, 'dd', 'if=/dev/zero',
                              'of=' + path, 'bs=1M', 'count=1')
            assert code != 0, (path, out)
            assert 'Read-only file system' in out, (path, out)
        # The container's layer on the host's disk stayed (nearly) empty.
        listed, = farm.docker.api.containers(all=True, size=True,
                                             filters={'id': container.id})
        assert 'SizeRootFs' in listed  # sizes were counted; 0 is left out
        assert listed.get('SizeRw', 0) < 1 << 20, listed
    # The farm is unharmed: the next job runs.
    job = farm.run(git_url=hostile['job_repo'], cmd='df -k . /tmp')
    assert job['state'] == states.SUCCEEDED, job['reason']


def test_a_node_mounts_its_own_jobs_repository_only(hostile):
    farm, repos = hostile['farm'], hostile['repos']
    farm.api.pool_set('default', min_ready=1)
    try:
        conftest.wait_until(
            lambda: farm.api.pool_show('default')['nodes']['ready'] == 1,
            what='one warm node')
        warm, = [n for n in farm.api.node_list() if n['state'] == 'ready']
        mounts = farm.docker.containers.get(
            'buildfarm-node-' + warm['id']).attrs['Mounts']
        assert not [m for m in mounts if str(repos) in m['Source']]
        job = farm.run(git_url=hostile['job_repo'],
                       cmd='ls -a %s; test ! -e %s/other' % (repos, repos))
    finally:
        farm.api.pool_set('default', min_ready=0)
    assert job['state'] == states.SUCCEEDED, job['reason']
    assert job['node_id'] != warm['id']  # a node booted for it
    listing = farm.log(job['id']).split('running:')[1].splitlines()[1:4]
    assert listing == ['.', '..', 'job']


def test_a_job_reaches_the_broker_and_allowed_ports_only(hostile,
                                                         stand_in):
    farm, gateway = hostile['farm'], hostile['gateway']
    # A neighbour: another job's node, serving on its own address.
    with _running(hostile, 'echo READY; exec python3 -m http.server 8000'
                  ) as (_, neighbour):
        neighbour.reload()
        address = neighbour.attrs['NetworkSettings']['Networks'][
            hostile['network'].name]['IPAddress']
        # The host reaches every target: only the fence stops the job.
        conftest.wait_until(lambda: _reachable(address, 8000),
                            what='the neighbour\'s server')
        assert _reachable(gateway, hostile['closed_port'])
        blocked_url = 'http://%s:%d/' % (stand_in['blocked'],
                                         stand_in['port'])
        assert urllib.request.urlopen(blocked_url, timeout=5).status == 200
        targets = {
            'allowed': '%s:%d' % (gateway, hostile['allowed_port']),
            'open': '%s:%d' % (stand_in['open'], stand_in['port']),
            'closed': '%s:%d' % (gateway, hostile['closed_port']),
            'blocked': '%s:%d' % (stand_in['blocked'], stand_in['port']),
            'neighbour': '%s:8000' % address,
        }
        job = farm.run(git_url=hostile['job_repo'],
                       cmd='python3 probe.py ' + ' '.join(targets.values()))
    # It ran to the end: its agent reached the broker.
    assert job['state'] == states.SUCCEEDED, job['reason']
    log = farm.log(job['id'])
    seen = {name: ('probe %s open' % target) in log
            for name, target in targets.items()}
    assert seen == {'allowed': True, 'open': True, 'closed': False,
                    'blocked': False, 'neighbour': False}, log
