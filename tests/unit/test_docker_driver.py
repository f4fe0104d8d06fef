"""The docker driver's logic, with the Docker client faked (fake driver)."""

import json
import os
import stat

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
    assert kw['mem_limit'] == conf.docker.memory_limit
    assert kw['network_mode'] == conf.docker.network_mode
    assert kw['labels'] == {base.OWNER_LABEL: conf.controller.controller_id,
                            base.NODE_LABEL: 'node-1'}
    binds = kw['volumes']
    assert all('docker.sock' not in path for path in binds)
    assert all(v['mode'] == 'ro' for v in binds.values())
    assert binds['/srv/repo']['bind'] == '/srv/repo'
    assert container.status == 'running'


def test_agent_configuration_is_private_read_only_and_goes_with_the_node(
        driver):
    container_id = driver.create(_spec())
    container = driver.client.containers.get(container_id)
    assert SECRET not in repr(container.kwargs)
    (host_dir, mount), = [(path, v) for path, v in
                          container.kwargs['volumes'].items()
                          if v['bind'] == docker_driver.AGENT_CONF_DIR]
    assert mount['mode'] == 'ro'
    assert stat.S_IMODE(os.stat(host_dir).st_mode) == 0o700
    conf_file = os.path.join(host_dir,
                             os.path.basename(docker_driver.AGENT_CONF))
    assert stat.S_IMODE(os.stat(conf_file).st_mode) == 0o600
    with open(conf_file) as f:
        text = f.read()
    assert 'node_secret = %s' % SECRET in text
    assert 'ca_bundle = %s' % docker_driver.NODE_CA_BUNDLE in text
    driver.delete('node-1', container_id)
    assert not os.path.exists(host_dir)


def test_a_failed_boot_leaves_no_configuration_behind(driver, conf):
    conf.set_override('image', 'no-such-image:latest', 'docker')
    with pytest.raises(exception.NodeBootError):
        driver.create(_spec())
    assert os.listdir(driver._conf_root) == []


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
            kw['pids_limit']) == ('small:1', '256m', 500000000, 64)
    assert kw['network_mode'] == conf.docker.network_mode


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
    with open(os.path.join(driver._conf_dir('node-2'), 'agent.conf')) as f:
        assert 'runtime_archive = %s' % docker_driver.RUNTIME_ARCHIVE in (
            f.read())
