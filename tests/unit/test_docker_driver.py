"""The docker driver's logic, with the Docker client faked (fake driver)."""

import json
import socket

from docker import errors as docker_errors
import pytest

from buildfarm.common import config
from buildfarm.drivers import base
from buildfarm.drivers.docker import driver as docker_driver
from buildfarm.drivers.fake import driver as fake_driver
from buildfarm import exception
from buildfarm import objects

SECRET = 'the-node-secret'


def _spec(local_repos=(), settings=None):
    return base.NodeSpec(
        node_id='node-1', settings=settings or {},
        local_repos=list(local_repos),
        agent_conf=objects.AgentConfig(
            transport_url='rabbit://u:pw@h/', node_id='node-1',
            node_secret=SECRET, job_env={}))


@pytest.fixture
def driver(conf):
    conf.set_override('ca_bundle', '/etc/ssl/certs/ca-certificates.crt',
                      'node')
    return fake_driver.FakeDriver(conf)


def test_container_is_confined_and_labelled(driver, conf):
    container_id = driver.create(_spec(['/srv/repo']))
    container = driver.client.containers.get(container_id)
    kw = container.kwargs
    assert kw['privileged'] is False
    assert kw['cap_drop'] == ['ALL']
    assert 'SYS_ADMIN' not in kw['cap_add']
    assert kw['security_opt'] == ['no-new-privileges']
    assert kw['init'] is True
    assert kw['pids_limit'] == conf.docker.pids_limit
    assert kw['labels'] == {base.OWNER_LABEL: conf.controller.controller_id,
                            base.NODE_LABEL: 'node-1'}
    binds = kw['volumes']
    assert all('docker.sock' not in path for path in binds)
    assert all(v['mode'] == 'ro' for v in binds.values())
    assert binds['/srv/repo']['bind'] == '/srv/repo'
    assert container.status == 'running'


def test_only_tmpfs_is_writable_and_memory_bounds_it_all(driver, conf):
    conf.set_override('memory_limit', '1g', 'docker')
    conf.set_override('disk_limit', '512m', 'docker')
    kw = driver.client.containers.get(driver.create(_spec())).kwargs
    assert kw['read_only'] is True
    writable = {path: dict(o.split('=') if '=' in o else (o, True)
                           for o in options.split(','))
                for path, options in kw['tmpfs'].items()}
    for path in (docker_driver.WORKSPACE, '/tmp', '/var/tmp'):
        assert writable[path]['size'] == str(512 << 20)
    assert writable['/run']['size'] == str(64 << 20)
    assert writable[docker_driver.storage.AGENT_CONF_DIR]['mode'] == '0700'
    assert kw['mem_limit'] == kw['memswap_limit'] == 1 << 30
    assert kw['log_config']['config']['max-size'] == '10m'


def test_agent_configuration_goes_through_stdin_to_a_root_only_file(
        driver):
    container_id = driver.create(_spec())
    container = driver.client.containers.get(container_id)
    kw = container.kwargs
    assert SECRET not in repr(kw)
    assert kw['stdin_open'] is True and kw['detach'] is False
    assert docker_driver.storage.AGENT_CONF_DIR not in [
        v['bind'] for v in kw['volumes'].values()]
    shell = kw['command'][2]
    assert kw['command'][-1] == docker_driver.AGENT_CONF
    assert 'umask 0377' in shell and 'exec buildfarm-agent' in shell
    text = container.stdin.decode()
    assert 'node_secret = %s' % SECRET in text
    assert 'ca_bundle = %s' % docker_driver.NODE_CA_BUNDLE in text
    assert driver.agent_conf('node-1') == text


def test_a_node_mounts_only_the_repositories_of_its_spec(driver):
    kw = driver.client.containers.get(driver.create(_spec())).kwargs
    assert [v['bind'] for v in kw['volumes'].values()] == [
        docker_driver.NODE_CA_BUNDLE]


def test_node_mounts_go_to_every_node_read_only(driver, conf):
    conf.set_override('node_mounts', ['/srv/packs'], 'docker')
    kw = driver.client.containers.get(driver.create(_spec())).kwargs
    assert kw['volumes']['/srv/packs'] == {'bind': '/srv/packs',
                                           'mode': 'ro'}


@pytest.mark.parametrize('value,size', [
    ('4g', 4 << 30), ('512m', 512 << 20), ('1.5gb', 3 << 29),
    (1024, 1024), ('100', 100), ('2 g', None), ('lots', None),
    (0, None), (True, None), ('-1g', None)])
def test_sizes_are_read_as_docker_reads_them(value, size):
    assert docker_driver.storage.size_in_bytes(value) == size


def test_a_disk_limit_too_small_is_refused_at_start(conf):
    conf.set_override('disk_limit', '1m', 'docker')
    with pytest.raises(exception.DriverError, match='disk_limit .1m. must'):
        fake_driver.FakeDriver(conf)


def test_a_label_disk_limit_is_checked(driver):
    with pytest.raises(exception.InvalidPool, match='disk_limit must be a '
                       'size.* of at least 64 MiB'):
        driver.validate_settings({'disk_limit': '10m'}, 'small')


def test_a_failed_start_leaves_no_container_behind(driver, monkeypatch):
    def broken(self):
        raise docker_errors.APIError('cannot start')
    monkeypatch.setattr(fake_driver.FakeContainer, 'start', broken)
    with pytest.raises(exception.NodeBootError, match='cannot start'):
        driver.create(_spec())
    assert driver.client.containers.by_id == {}


def test_missing_worker_image_is_a_clear_boot_error(driver, conf):
    conf.set_override('image', 'no-such-image:latest', 'docker')
    with pytest.raises(exception.NodeBootError,
                       match="worker image 'no-such-image:latest'.*"
                             'buildfarm image build'):
        driver.create(_spec())
    assert driver.client.containers.by_id == {}


def test_status_says_why_a_node_died_and_delete_is_idempotent(driver):
    container_id = driver.create(_spec())
    assert driver.status('node-1', container_id).alive
    driver.client.containers.get(container_id).kill(137)
    status = driver.status('node-1', container_id)
    assert not status.alive
    assert 'exit code 137' in status.reason
    driver.delete('node-1', container_id)
    driver.delete('node-1', container_id)
    assert not driver.status('node-1', container_id).alive


def test_label_settings_win_over_the_docker_options(driver, conf):
    driver.client.images.add('small:1')
    container = driver.client.containers.get(driver.create(_spec(
        settings={'image': 'small:1', 'memory_limit': '256m', 'cpus': 0.5,
                  'pids_limit': 64})))
    kw = container.kwargs
    assert (kw['image'], kw['mem_limit'], kw['nano_cpus'],
            kw['pids_limit']) == ('small:1', 256 << 20, 500000000, 64)


def test_owned_nodes_are_listed_by_owner_label(driver):
    container_id = driver.create(_spec())
    assert driver.list_owned() == {'node-1': container_id}


def test_delete_without_an_id_finds_the_container_by_label(driver):
    driver.create(_spec())
    driver.delete('node-1', None)
    assert driver.client.containers.by_id == {}


def test_agent_options_survive_oslo_config_substitution(tmp_path):
    path = tmp_path / 'agent.conf'
    path.write_text(objects.AgentConfig(
        node_secret='a$b', job_env={'PS1': '$HOME ${USER}'}).render())
    conf = config.load(['--config-file', str(path)], messaging=False)
    assert conf.agent.node_secret == 'a$b'
    assert json.loads(conf.agent.job_env) == {'PS1': '$HOME ${USER}'}


def test_nodes_get_the_runtime_image_archive_once_it_exists(conf, tmp_path):
    conf.set_override('runtime_archive_dir', str(tmp_path / 'runtime'),
                      'build_image')
    driver = fake_driver.FakeDriver(conf)
    kw = driver.client.containers.get(driver.create(_spec())).kwargs
    assert docker_driver.RUNTIME_ARCHIVE not in [
        v['bind'] for v in kw['volumes'].values()]

    driver.client.images.add(conf.build_image.runtime_image)
    driver.runtime._checked -= 3600  # as if the recheck were due
    node = _spec()
    node.node_id = 'node-2'
    kw = driver.client.containers.get(driver.create(node)).kwargs
    (archive, mount), = [(path, v) for path, v in kw['volumes'].items()
                         if v['bind'] == docker_driver.RUNTIME_ARCHIVE]
    assert mount['mode'] == 'ro'
    with open(archive, 'rb') as f:
        assert f.read() == b'archive of buildfarm-runtime:latest'
    assert 'runtime_archive = %s' % docker_driver.RUNTIME_ARCHIVE in (
        driver.agent_conf('node-2'))


def test_the_configuration_is_sent_whole_then_stdin_ends():
    ours, node = socket.socketpair()
    with node:
        docker_driver.bootconf.send(ours, 'node_secret = s\n' * 1000)
        received = b''.join(iter(lambda: node.recv(65536), b''))
    assert received.decode() == 'node_secret = s\n' * 1000
    assert ours.fileno() == -1  # closed
