"""Loading node drivers and checking labels' settings with them."""

import pytest

from buildfarm.common import rpc
from buildfarm.controller import pools
from buildfarm.controller import service
from buildfarm import drivers
from buildfarm import exception


def test_only_the_local_driver_gets_the_transport(conf):
    transport = rpc.get_transport(conf)
    local = drivers.load('local', conf, transport)
    assert local.transport is transport
    fake = drivers.load('fake', conf, transport)
    assert not hasattr(fake, 'transport')


def test_an_unknown_driver_is_a_driver_error(conf):
    with pytest.raises(exception.DriverError, match="'nope'"):
        drivers.load('nope', conf)


@pytest.fixture
def docker(conf):
    return drivers.load('fake', conf)   # the docker driver's rules


@pytest.fixture
def nova(conf):
    return drivers.load('nova', conf)


def test_good_settings_pass(docker, nova):
    docker.validate_settings({'image': 'worker:small', 'memory_limit': '2g',
                              'cpus': 1, 'pids_limit': 1024,
                              'network_mode': 'host'}, 'small')
    docker.validate_settings({'memory_limit': 536870912, 'cpus': 0.5}, 'x')
    nova.validate_settings({'image': 'buildfarm-worker', 'flavor': 'm1.small',
                            'networks': ['ci-net'], 'key_name': None,
                            'ssh_key_file': '/etc/buildfarm/ci-debug.pem',
                            'ssh_check': True, 'ssh_port': 2222,
                            'security_groups': ['buildfarm']}, 'vm')
    nova.validate_settings({'networks': 'auto'}, 'vm')


def test_an_unknown_setting_names_the_label_and_the_valid_ones(docker):
    with pytest.raises(exception.InvalidPool) as e:
        docker.validate_settings({'image': 'w', 'memory': '2g'}, 'small')
    assert str(e.value) == (
        'Label small: unknown fake setting(s) memory; valid: cpus, '
        'disk_limit, image, memory_limit, network_mode, pids_limit.')


def test_a_controller_wide_option_is_no_label_setting(docker, nova):
    with pytest.raises(exception.InvalidPool, match='setting.s. base_url'):
        docker.validate_settings({'base_url': 'tcp://h:2375'}, 'small')
    with pytest.raises(exception.InvalidPool, match='setting.s. cloud'):
        nova.validate_settings({'cloud': 'other'}, 'vm')


@pytest.mark.parametrize('settings,rule', [
    ({'cpus': 'two'}, 'cpus must be a number of at least 0.01'),
    ({'cpus': 0}, 'cpus must be a number of at least 0.01'),
    ({'pids_limit': 1.5}, 'pids_limit must be an integer of at least 16'),
    ({'pids_limit': True}, 'pids_limit must be an integer of at least 16'),
    ({'pids_limit': '1024'}, 'pids_limit must be an integer of at least'),
    ({'memory_limit': 'lots'}, "memory_limit must be a size in docker's"),
    ({'memory_limit': '2 g'}, "memory_limit must be a size in docker's"),
    ({'image': ['a']}, 'image must be a string'),
])
def test_a_bad_docker_value_names_the_label_the_setting_and_the_rule(
        docker, settings, rule):
    with pytest.raises(exception.InvalidPool,
                       match='^Label small: fake setting ' + rule):
        docker.validate_settings(settings, 'small')


@pytest.mark.parametrize('settings,rule', [
    ({'networks': 3}, 'networks must be a list of strings or one string'),
    ({'networks': [1]}, 'networks must be a list of strings or one'),
    ({'security_groups': 'default'}, 'security_groups must be a list of'),
    ({'ssh_check': 'yes'}, 'ssh_check must be true or false'),
    ({'ssh_port': 70000}, 'ssh_port must be an integer from 0 to 65535'),
    ({'boot_volume_size': -1}, 'boot_volume_size must be an integer of'),
    ({'flavor': 2}, 'flavor must be a string or null'),
])
def test_a_bad_nova_value_names_the_label_the_setting_and_the_rule(
        nova, settings, rule):
    with pytest.raises(exception.InvalidPool,
                       match='^Label vm: nova setting ' + rule):
        nova.validate_settings(settings, 'vm')


def test_settings_must_be_a_mapping(docker):
    with pytest.raises(exception.InvalidPool, match='must be a mapping'):
        docker.validate_settings('worker:latest', 'small')


def test_a_driver_without_settings_refuses_any(conf):
    local = drivers.load('local', conf, rpc.get_transport(conf))
    with pytest.raises(exception.InvalidPool,
                       match='unknown local setting.s. image; valid: none'):
        local.validate_settings({'image': 'x'}, 'here')


def test_the_controller_refuses_a_label_its_driver_refuses(conf, tmp_path):
    path = tmp_path / 'pools.yaml'
    path.write_text('labels:\n  - name: small\n    driver: fake\n'
                    '    fake:\n      cpus: many\n')
    conf.set_override('pools_file', str(path), 'controller')
    with pytest.raises(exception.InvalidPool,
                       match='Label small: fake setting cpus must be'):
        service.ControllerService(conf)


def test_load_all_makes_each_driver_once(conf):
    labels = [pools.Label('a', 'fake', 0, 1, 1, 60, {'cpus': 2}),
              pools.Label('b', 'fake', 0, 1, 1, 60, {})]
    loaded = drivers.load_all(labels, conf)
    assert list(loaded) == ['fake']
