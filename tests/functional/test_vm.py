"""A real VM of the worker VM image runs a repo_job; a hostile one
cannot reach the user data.

The image is the one "buildfarm image build --format qcow2" makes with
diskimage-builder (tools/setup-test-env.sh builds it). The node is booted
under QEMU (TCG: this machine has no usable KVM) instead of by Nova: the
test's driver is the nova driver with only the boot replaced, so the VM's
NoCloud seed holds exactly the user data Nova would get (and, as Nova's
key pair would, a public key). The VM reaches the broker and the git
daemon on 127.0.0.1 through QEMU's user network (restrict=on: nothing
else); its SSH server is forwarded to a port on 127.0.0.1. Each test
boots one VM: about a minute and a half under TCG on an idle machine,
five minutes or more on a loaded one, plus the job. No test depends on
that: a VM counts as booting for as long as it makes progress (see
QemuNovaDriver.statuses).
"""

import base64
import datetime
import os
import signal
import subprocess
import time
import types
import urllib.parse
import uuid

import paramiko
import pytest
import yaml

from buildfarm.common import timeutils
from buildfarm.drivers import base
from buildfarm.drivers.nova import driver as nova_driver
from buildfarm import states
from tests.functional import conftest

VM_IMAGE = os.environ.get('BUILDFARM_TEST_VM_IMAGE',
                          '/tmp/buildfarm-vm/buildfarm-worker.qcow2')
# Where the VM sees the host's broker and git daemon (QEMU guestfwd).
BROKER_IN_VM = '10.0.2.100'
GIT_IN_VM = '10.0.2.101'
# A booting VM whose console stays quiet this long is stuck (a slow one
# keeps printing its boot).
QUIET_BOOT_LIMIT = 300
# How long a test waits for its job: only a guard against a hang.
JOB_WAIT = 3600


class QemuNovaDriver(nova_driver.NovaDriver):
    """The nova driver, booting its servers under QEMU instead."""

    name = 'nova'

    def __init__(self, conf, workdir, git_port, public_key, up_text='',
                 root_commands=None):
        """``up_text``: console text that shows a VM is up (by default,
        any); see statuses(). ``root_commands``: {"bootcmd" or "runcmd":
        [command]}, commands the test adds to the user data, run as
        root."""
        super().__init__(conf)
        self.workdir = workdir
        self.git_port = git_port
        self.public_key = public_key
        self.up_text = up_text
        self.root_commands = root_commands or {}
        self.specs = {}
        self.vms = {}
        self.ssh_ports = {}
        self.up_nodes = set()

    def _dir(self, node_id):
        return os.path.join(self.workdir, node_id)

    def _seed(self, folder, node_id, user_data):
        for name, text in (('user-data', user_data),
                           ('meta-data', 'instance-id: %s\nlocal-hostname: '
                            'node-%s\npublic-keys:\n  - %s\n'
                            % (node_id, node_id[:8], self.public_key))):
            with open(os.path.join(folder, name), 'w') as f:
                f.write(text)
        seed = os.path.join(folder, 'seed.img')
        subprocess.run(['truncate', '-s', '2M', seed], check=True)
        subprocess.run(['mkfs.vfat', '-n', 'CIDATA', seed], check=True,
                       capture_output=True)
        subprocess.run(['mcopy', '-i', seed,
                        os.path.join(folder, 'user-data'),
                        os.path.join(folder, 'meta-data'), '::'],
                       check=True)
        return seed

    def create(self, spec):
        folder = self._dir(spec.node_id)
        os.makedirs(folder)
        self.specs[spec.node_id] = spec
        user_data = base64.b64decode(self.user_data(spec)).decode()
        if self.root_commands:
            cloud_config = yaml.safe_load(user_data)
            for key, commands in self.root_commands.items():
                cloud_config.setdefault(key, []).extend(commands)
            user_data = '#cloud-config\n' + yaml.safe_dump(cloud_config)
        seed = self._seed(folder, spec.node_id, user_data)
        disk = os.path.join(folder, 'disk.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                        VM_IMAGE, '-F', 'qcow2', disk], check=True)
        # status() reads it from the start.
        open(os.path.join(folder, 'console.log'), 'w').close()
        forward = 'guestfwd=tcp:%s:%d-cmd:socat - TCP:127.0.0.1:%d'
        self.ssh_ports[spec.node_id] = conftest.free_port()
        nic = ','.join(['user', 'model=virtio-net-pci', 'restrict=on',
                        forward % (BROKER_IN_VM, 5672, 5672),
                        forward % (GIT_IN_VM, 9418, self.git_port),
                        'hostfwd=tcp:127.0.0.1:%d-:22'
                        % self.ssh_ports[spec.node_id]])
        vm = subprocess.Popen(
            ['qemu-system-x86_64', '-accel', 'tcg', '-cpu', 'max',
             '-m', '1024', '-smp', '2', '-display', 'none',
             '-monitor', 'none',
             '-serial', 'file:%s' % os.path.join(folder, 'console.log'),
             '-drive', 'file=%s,if=virtio,format=qcow2' % disk,
             '-drive', 'file=%s,if=virtio,format=raw' % seed,
             '-nic', nic],
            stdout=subprocess.DEVNULL, stderr=open(
                os.path.join(folder, 'qemu.log'), 'w'))
        self.vms[spec.node_id] = vm
        return str(vm.pid)

    def delete(self, node_id, external_id):
        vm = self.vms.pop(node_id, None)
        if vm is not None and vm.poll() is None:
            vm.send_signal(signal.SIGTERM)
            vm.wait(timeout=30)
        self.forget(node_id)

    def _is_up(self, node_id):
        if node_id not in self.up_nodes:
            with open(os.path.join(self._dir(node_id), 'console.log'),
                      errors='replace') as f:
                if self.up_text in f.read():
                    self.up_nodes.add(node_id)
        return node_id in self.up_nodes

    def statuses(self, nodes):
        """As the nova driver's for ACTIVE servers, but a VM counts as
        booting until it is up (its console shows up_text) and its SSH
        answered, however long that takes, as long as its console keeps
        moving. The tests' labels have a boot_timeout of 1 s: only
        register_timeout, from the moment the VM was up, limits a node,
        not how fast this machine boots it."""
        return {node_id: self._vm_status(node_id, watched)
                for node_id, watched in nodes.items()}

    def _vm_status(self, node_id, watched):
        vm = self.vms.get(node_id)
        if vm is None or vm.poll() is not None:
            return base.NodeStatus(False, 'the VM of node %s is off'
                                   % node_id)
        if watched.registered or self._is_up(node_id):
            server = types.SimpleNamespace(id=watched.external_id,
                                           status='ACTIVE', fault=None)
            status = self._server_status(node_id, server, watched)
            if watched.registered or status.register_by is not None:
                return status
        quiet = time.time() - os.path.getmtime(
            os.path.join(self._dir(node_id), 'console.log'))
        if quiet > QUIET_BOOT_LIMIT:
            return base.NodeStatus(False, (
                'the VM of node %s is stuck: not up, and nothing on its '
                'console for %d s' % (node_id, quiet)))
        return base.NodeStatus(True, register_by=timeutils.utcnow() +
                               datetime.timedelta(seconds=QUIET_BOOT_LIMIT))

    def ssh_address(self, node_id, external_id, settings):
        return '127.0.0.1', self.ssh_ports[node_id]

    def whole_console_log(self, node_id):
        with open(os.path.join(self._dir(node_id), 'console.log'),
                  errors='replace') as f:
            return f.read()

    def console_log(self, node_id, external_id):
        try:
            with open(os.path.join(self._dir(node_id), 'console.log'),
                      errors='replace') as f:
                return f.read()[-3000:]
        except FileNotFoundError:
            return None

    def list_owned(self):
        return {n: str(vm.pid) for n, vm in self.vms.items()
                if vm.poll() is None}


@pytest.fixture
def make_vm_farm(tmp_path, make_vhost, git_server, docker_client):
    """A controller whose nodes are QEMU VMs, with SSH checks; the
    overrides apply to its configuration."""
    if not os.path.exists(VM_IMAGE):
        pytest.fail('No VM worker image at %s: build it with '
                    'tools/build-vm-image.sh.' % VM_IMAGE)
    key = paramiko.RSAKey.generate(2048)
    key_file = str(tmp_path / 'id_rsa')
    key.write_private_key_file(key_file)
    made = []

    def make(overrides=None, up_text='', root_commands=None):
        transport_url = make_vhost()
        settings = {
            ('controller', 'driver'): 'nova',
            # Past it, QemuNovaDriver.status decides (see there).
            ('controller', 'boot_timeout'): 1,
            ('controller', 'max_attempts'): 1,
            ('node', 'transport_url'): conftest.NODE_URLS[
                transport_url].replace('127.0.0.1', BROKER_IN_VM),
            ('node', 'ca_bundle'): None,
            ('nova', 'ssh_check'): True,
            ('nova', 'ssh_key_file'): key_file,
        }
        settings.update(overrides or {})
        conf = conftest.controller_conf(
            tmp_path, transport_url, 'bf-vm-%s' % uuid.uuid4().hex[:8],
            settings)
        driver = QemuNovaDriver(conf, str(tmp_path / 'vms'),
                                git_server['port'], '%s %s' % (
                                    key.get_name(), key.get_base64()),
                                up_text, root_commands)
        farm = conftest.Farm(conf, docker_client, {'nova': driver})
        made.append((farm, driver))
        return farm, driver

    yield make
    for farm, driver in made:
        farm.stop()
        for node_id in list(driver.vms):
            driver.delete(node_id, None)


def test_a_vm_whose_agent_cannot_register_has_its_logs_collected(
        make_vm_farm, git_server):
    # The agent is pointed at a broker port the VM cannot reach. Once its
    # first attempt failed (on the console too), however long the boot
    # took, and the VM's SSH answered, the agent has register_timeout to
    # register: it cannot, so the node fails then and the agent's logs
    # are fetched over SSH.
    farm, driver = make_vm_farm({
        ('nova', 'register_timeout'): 40,
        ('node', 'transport_url'): 'rabbit://guest:guest@%s:5999/' %
        BROKER_IN_VM,
    }, up_text='Connection refused')
    job = farm.submit(git_url='git://%s/project' % GIT_IN_VM, cmd='true')
    job = farm.wait(job['id'], timeout=JOB_WAIT)
    log = farm.log(job['id'])
    assert job['state'] == states.ERROR, (job['reason'], log)
    assert 'is up but its agent did not register by' in job['reason']
    # Collected over SSH: the agent's journal says why.
    agent_log = log.partition('agent log of node')[2]
    assert 'buildfarm-agent[' in agent_log, log
    assert 'Connection refused' in agent_log, log
    conftest.wait_until(lambda: not driver.list_owned(), timeout=60)


# What a hostile job tries on a VM node, as the job user: reach the
# metadata service, read cloud-init's copies of the user data, the
# agent's configuration or the seed's device, and find the agent's
# configuration in any file or process it can read. One line per try,
# "PROBE <what> <outcome>": OK, or the error (errno name, or timeout).
# The needles are split so that the probe does not find itself.
HOSTILE_PROBE = r'''
import errno
import os
import socket


def outcome(attempt):
    try:
        attempt()
        return 'OK'
    except OSError as e:
        return errno.errorcode.get(e.errno, 'timeout') if e.errno else (
            'timeout')


def connect(family, address):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect((address, 80))


def read(path):
    with open(path, 'rb') as f:
        f.read(1)


print('PROBE metadata', outcome(
    lambda: connect(socket.AF_INET, '169.254.169.254')), flush=True)
print('PROBE metadata6', outcome(
    lambda: connect(socket.AF_INET6, 'fd00:ec2::254')), flush=True)
for path in ('/var/lib/cloud/instance/user-data.txt',
             '/var/lib/cloud/instance/user-data.txt.i',
             '/var/lib/cloud/instance/cloud-config.txt',
             '/var/lib/cloud/instance/obj.pkl',
             '/run/cloud-init/instance-data-sensitive.json',
             '/var/log/cloud-init.log',
             '/etc/buildfarm-agent/agent.conf',
             '/dev/disk/by-label/CIDATA', '/dev/vdb'):
    print('PROBE read', path, outcome(lambda: read(path)), flush=True)
print('PROBE list /var/lib/cloud', outcome(
    lambda: os.listdir('/var/lib/cloud')))
with open('/proc/mounts') as f:
    print('PROBE mounted', ','.join(
        line.split()[1] for line in f
        if 'cidata' in line.lower() or 'config-2' in line) or 'none')

needles = (b'node_' + b'secret', b'rabbit' + b'://')
found = []
paths = [os.path.join('/proc', pid, name) for pid in os.listdir('/proc')
         if pid.isdigit() for name in ('cmdline', 'environ')]
for top in ('/etc', '/var', '/run', '/tmp', '/home', '/root', '/srv', '/mnt',
            '/media', '/boot'):
    for folder, _, files in os.walk(top):
        paths.extend(os.path.join(folder, name) for name in files)
for path in paths:
    try:
        if not path.startswith('/proc') and (
                not os.path.isfile(path) or os.path.getsize(path) > 4 << 20):
            continue
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        continue
    if any(needle in data for needle in needles):
        found.append(path)
print('PROBE searched', len(paths))
print('PROBE found', ','.join(sorted(found)) or 'none')
'''
# QEMU's DHCP gives a restricted guest no router: a route to the metadata
# address, as a cloud's network has, early at boot (cloud-init's bootcmd).
# What the guest sends there QEMU drops.
METADATA_ROUTE = ['ip', 'route', 'add', '169.254.169.254', 'via', '10.0.2.2']
# As root, from the user data's runcmd (the agent is already starting):
# the same connect, which the node's firewall lets through.
ROOT_PROBE = ['sh', '-c', 'python3 -c "%s" >/dev/console 2>&1' % (
    "import errno, socket\n"
    "s = socket.socket()\n"
    "s.settimeout(10)\n"
    "try:\n"
    "    s.connect(('169.254.169.254', 80)); r = 'OK'\n"
    "except OSError as e:\n"
    "    r = errno.errorcode.get(e.errno or 0, 'timeout')\n"
    "print('ROOT-PROBE metadata', r)\n")]


def _probes(log):
    """{what: outcome} of the PROBE lines of a job's log."""
    found = {}
    for line in log.splitlines():
        if line.startswith('PROBE '):
            what, _, result = line[len('PROBE '):].rpartition(' ')
            found[what] = result
    return found


def test_a_vm_node_runs_a_job_that_cannot_reach_the_user_data(
        make_vm_farm, git_server):
    """A VM node runs a job as the job user and is destroyed after it;
    the job cannot reach the user data (one VM boot for both, to keep
    the suite short).

    Under QEMU with restrict=on nothing the guest sends leaves QEMU: the
    job may try the real metadata address. Its connect is rejected by the
    node's firewall at once ("no route to host", EHOSTUNREACH); root's own
    connect is not.
    """
    farm, driver = make_vm_farm(root_commands={
        'bootcmd': [METADATA_ROUTE], 'runcmd': [ROOT_PROBE]})
    job = farm.submit(git_url='git://%s/project' % GIT_IN_VM,
                      cmd="cat version && id -un && "
                          "python3 - <<'EOF'\n%sEOF\n" % HOSTILE_PROBE,
                      timeout=1800)
    job = farm.wait(job['id'], timeout=JOB_WAIT)
    log = farm.log(job['id'])
    assert job['state'] == states.SUCCEEDED, (job['reason'], log)
    assert job['commit'] == git_server['head']
    assert '\ntwo\nbuildfarm\n' in log
    assert job['timings']['node_boot'] >= 0
    probes = _probes(log)
    assert probes['metadata'] == 'EHOSTUNREACH', log
    assert probes['metadata6'] != 'OK', log
    reads = {what: result for what, result in probes.items()
             if what.startswith(('read ', 'list '))}
    assert len(reads) == 10, log
    assert set(reads.values()) <= {'EACCES', 'ENOENT'}, reads
    assert reads['read /var/lib/cloud/instance/user-data.txt'] == 'EACCES'
    assert probes['mounted'] == 'none', log
    # It searched (about a thousand files), and found nothing.
    assert int(probes['searched']) > 500, log
    assert probes['found'] == 'none', log
    node_id, = driver.specs
    agent_conf = driver.specs[node_id].agent_conf
    broker_password = urllib.parse.urlsplit(agent_conf.transport_url).password
    for secret in (agent_conf.node_secret, broker_password):
        assert secret and secret not in log
    # Root's side, on the console: the firewall's rules, the scrub of
    # cloud-init's copies, and root's connect, which was let through.
    console = driver.whole_console_log(node_id)
    assert 'table inet buildfarm_node' in console, console[-3000:]
    assert 'meta skuid != 0' in console
    assert '169.254.0.0/16' in console
    assert 'buildfarm-node-scrub: removed /var/lib/cloud/instances/' in (
        console)
    assert 'user-data.txt' in console
    root_probe = console.partition('ROOT-PROBE metadata ')[2].split('\n')[0]
    assert root_probe, console[-3000:]
    # QEMU drops (or resets) it: root's connect got past the firewall.
    assert root_probe in ('timeout', 'ECONNREFUSED'), root_probe
    conftest.wait_until(lambda: not driver.list_owned(), timeout=60)
