"""Docker nodes on network_mode "isolated": the network, the host's
iptables rules (faked: FakeIptables records the commands), the broker
address nodes get; and which local repositories a node mounts."""

import os

import pytest

from buildfarm.controller import rpcapi
from buildfarm.drivers import base
from buildfarm.drivers.docker import firewall
from buildfarm.drivers.docker import network
from buildfarm.drivers.fake import driver as fake_driver
from buildfarm import exception
from buildfarm import states
from tests.unit import test_controller as controller_tests
from tests.unit import test_docker_driver as docker_tests


@pytest.fixture
def driver(conf):
    conf.set_override('transport_url', 'rabbit://u:pw@127.0.0.1:5671/v')
    conf.set_override('allowed_host_ports', [9418], 'docker')
    conf.set_override('blocked_addresses', ['169.254.0.0/16',
                                            '10.0.0.0/8'], 'docker')
    return fake_driver.FakeDriver(conf)


def _commands(driver, first):
    return [args for args, _ in driver.iptables.commands
            if args[0] == first]


def test_isolated_is_the_default_and_its_network_keeps_nodes_apart(
        driver, conf):
    assert conf.docker.network_mode == network.ISOLATED
    made = driver.client.networks.get('buildfarm-nodes')
    assert made.attrs['Options'] == {network.ICC_OPTION: 'false'}
    kw = driver.client.containers.get(
        driver.create(docker_tests._spec())).kwargs
    assert kw['network_mode'] == 'buildfarm-nodes'
    assert kw['sysctls'] == {'net.ipv6.conf.all.disable_ipv6': '1'}


def test_nodes_reach_a_loopback_broker_through_the_gateway(driver):
    spec = docker_tests._spec()
    spec.agent_conf.transport_url = 'rabbit://u:pw@127.0.0.1:5671/v'
    driver.create(spec)
    text = driver.agent_conf('node-1')
    assert 'transport_url = rabbit://u:pw@10.99.0.1:5671/v' in text


@pytest.mark.parametrize('url,moved', [
    ('rabbit://u:p@localhost/v', 'rabbit://u:p@GW/v'),
    ('rabbit://u:p@127.0.0.1:5672,u:p@rabbit.example.com:5672/v?x=1',
     'rabbit://u:p@GW:5672,u:p@rabbit.example.com:5672/v?x=1'),
    ('rabbit://u:p@[::1]:5672/', 'rabbit://u:p@GW:5672/'),
    ('rabbit://u:p%40x@10.1.2.3:5672/', 'rabbit://u:p%40x@10.1.2.3:5672/'),
])
def test_only_loopback_brokers_are_moved_to_the_gateway(url, moved):
    assert network.via_gateway(url, 'GW') == moved


def test_broker_ports_are_read_from_the_transport_url():
    assert network.broker_ports('rabbit://u:p@h:5671,u:p@[::1]:5673/') == {
        5671, 5673}
    assert network.broker_ports('rabbit://u:p@h/') == {5672}
    assert network.broker_ports('fake://') == set()


def test_the_rules_allow_the_broker_and_the_allowed_ports_only(driver):
    restore, = [stdin for args, stdin in driver.iptables.commands
                if args[0] == 'iptables-restore']
    bridge = 'br-' + driver.client.networks.get('buildfarm-nodes').id[:12]
    fwd, inp = 'BF-FWD-' + bridge, 'BF-IN-' + bridge
    assert restore.splitlines() == [
        '*filter', ':%s - [0:0]' % fwd, ':%s - [0:0]' % inp,
        '-A %s -o %s -j DROP' % (fwd, bridge),
        '-A %s -d 169.254.0.0/16 -j DROP' % fwd,
        '-A %s -d 10.0.0.0/8 -j DROP' % fwd,
        '-A %s -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5671 '
        '-j RETURN' % fwd,
        '-A %s -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9418 '
        '-j RETURN' % fwd,
        '-A %s -m conntrack --ctstate DNAT -j DROP' % fwd,
        '-A %s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN' % inp,
        '-A %s -d 169.254.0.0/16 -j DROP' % inp,
        '-A %s -d 10.0.0.0/8 -j DROP' % inp,
        '-A %s -p tcp --dport 5671 -j RETURN' % inp,
        '-A %s -p tcp --dport 9418 -j RETURN' % inp,
        '-A %s -j DROP' % inp, 'COMMIT']
    # The jumps were there already (FakeIptables answers -C with yes).
    assert not [a for a in _commands(driver, 'iptables') if '-I' in a]


def test_missing_jumps_are_added_and_readded_at_the_next_boot(conf):
    iptables = fake_driver.FakeIptables()
    iptables.installed = False
    driver = type('Driver', (fake_driver.FakeDriver,), {
        '_iptables': lambda self: iptables})(conf)
    inserted = [a for a, _ in iptables.commands if '-I' in a]
    assert [a[a.index('-I') + 1] for a in inserted] == ['DOCKER-USER',
                                                        'INPUT']
    iptables.commands.clear()
    driver.create(docker_tests._spec())
    assert len([a for a, _ in iptables.commands if '-I' in a]) == 2
    assert [a for a, _ in iptables.commands if a[0] == 'iptables-restore']


def test_removing_the_rules_deletes_jumps_then_chains():
    runs = []

    def run(args, stdin=None):
        runs.append(args)
        # Each jump is there once.
        done = args[2] == '-D' and runs.count(args) > 1
        return type('R', (), {'returncode': 1 if done else 0,
                              'stderr': ''})()
    firewall.Firewall('br-x', [], [], run=run).remove()
    assert [a[2:4] for a in runs] == [
        ['-D', 'DOCKER-USER'], ['-D', 'DOCKER-USER'], ['-D', 'INPUT'],
        ['-D', 'INPUT'], ['-F', 'BF-FWD-br-x'], ['-X', 'BF-FWD-br-x'],
        ['-F', 'BF-IN-br-x'], ['-X', 'BF-IN-br-x']]


def test_a_network_that_lets_containers_talk_is_refused(conf):
    class Driver(fake_driver.FakeDriver):
        def _client(self):
            client = super()._client()
            client.networks.create('buildfarm-nodes', options={})
            return client
    with pytest.raises(exception.DriverError,
                       match='does not keep containers apart.*'
                             'enable_icc=false'):
        Driver(conf)


def test_without_iptables_the_error_says_what_to_do():
    wall = firewall.Firewall('br-x', [], [], run=lambda args, stdin=None: (
        firewall._run(['/nonexistent/' + args[0]] + args[1:], stdin)))
    with pytest.raises(exception.DriverError,
                       match='not installed.*choose another network_mode'):
        wall.install()


def test_a_label_on_host_networking_is_not_fenced_in(driver, caplog):
    driver.validate_settings({'network_mode': 'host'}, 'fast')
    assert 'label fast run on Docker network \'host\'' in caplog.text
    spec = docker_tests._spec(settings={'network_mode': 'host'})
    kw = driver.client.containers.get(driver.create(spec)).kwargs
    assert kw['network_mode'] == 'host' and 'sysctls' not in kw
    assert 'rabbit://u:pw@h/' in driver.agent_conf('node-1')


def test_only_a_node_booted_for_a_local_job_mounts_its_repository(
        conf, controller, git_repo):
    conf.set_override('allowed_local_repo_dirs',
                      [os.path.dirname(git_repo['path'])], 'controller')
    api = rpcapi.ControllerAPI(controller.transport,
                               conf.controller.topic, timeout=10)
    api.pool_set('default', min_ready=1)
    warm, = controller_tests._booted(controller)
    controller_tests._agent(controller, warm['id']).agent_ready({})
    containers = controller_tests._containers(controller)
    assert [c.kwargs['volumes'] for c in containers.values()] == [{}]
    job = api.repo_job({'git_url': git_repo['url'], 'cmd': 'true'})
    booted = controller_tests._wait(
        lambda: [c for c in containers.values()
                 if c.labels[base.NODE_LABEL] != warm['id']])
    assert [(path, v['bind']) for path, v in
            booted[0].kwargs['volumes'].items()] == [
        (git_repo['path'], git_repo['path'])]
    # The job waits for that node; the warm one stays idle.
    assert api.get_job(job['id'])['state'] == states.QUEUED
    assert controller.store.get_node(warm['id'])['state'] == (
        states.NODE_READY)


def test_a_remote_engine_cannot_be_fenced_in_from_here(conf):
    conf.set_override('base_url', 'tcp://docker.example.com:2376', 'docker')
    with pytest.raises(exception.DriverError,
                       match='Docker engine must run here too'):
        fake_driver.FakeDriver(conf)
    conf.set_override('network_mode', 'host', 'docker')
    fake_driver.FakeDriver(conf)
