"""The nova driver's user data and metadata (no cloud needed)."""

import base64
import socket
import threading
import time

import pytest
import yaml

from buildfarm.drivers import base
from buildfarm.drivers.nova import driver as nova_driver
from buildfarm import exception
from buildfarm import objects

SECRET = 'the-node-secret'


def _spec():
    return base.NodeSpec(
        node_id='node-1', settings={}, label='vm',
        agent_conf=objects.AgentConfig(
            transport_url='rabbit://u:pw@h/', node_id='node-1',
            node_secret=SECRET))


def _user_data(driver):
    return yaml.safe_load(base64.b64decode(driver.user_data(_spec())))


def test_the_agent_configuration_is_written_for_root_only(conf):
    data = _user_data(nova_driver.NovaDriver(conf, None))
    conf_file, = data['write_files']
    assert conf_file['path'] == nova_driver.AGENT_CONF
    assert (conf_file['permissions'], conf_file['owner']) == ('0600',
                                                              'root:root')
    assert 'node_secret = %s' % SECRET in conf_file['content']
    assert data['runcmd'] == [['systemctl', 'start', '--no-block',
                               'buildfarm-agent.service']]


def test_secrets_stay_out_of_the_metadata(conf):
    metadata = nova_driver.NovaDriver(conf, None)._metadata(_spec())
    assert SECRET not in repr(metadata)
    assert metadata[base.NODE_LABEL] == 'node-1'


def test_the_extra_ca_is_added_to_the_nodes_trust_store(conf, tmp_path):
    ca = tmp_path / 'extra.crt'
    ca.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n'
                  '-----END CERTIFICATE-----\n')
    conf.set_override('ca_bundle', str(ca), 'node')
    data = _user_data(nova_driver.NovaDriver(conf, None))
    extra, agent = data['write_files']
    assert extra['path'] == nova_driver.EXTRA_CA
    assert extra['content'] == ca.read_text()
    assert ['update-ca-certificates'] in data['runcmd']
    assert 'ca_bundle = %s' % nova_driver.SYSTEM_CA_BUNDLE in (
        agent['content'])


def test_user_data_over_novas_limit_is_a_clear_boot_error(conf, tmp_path):
    ca = tmp_path / 'bundle.crt'
    ca.write_text('x' * 70000)
    conf.set_override('ca_bundle', str(ca), 'node')
    with pytest.raises(exception.NodeBootError,
                       match='point \\[node\\] ca_bundle at the extra CA'):
        nova_driver.NovaDriver(conf, None).user_data(_spec())


def _scanners():
    return [t for t in threading.enumerate() if t.name.startswith(
        'ssh-scan-')]


def test_the_ssh_scan_of_a_node_stops_once_its_agent_registered(
        conf, monkeypatch):
    driver = nova_driver.NovaDriver(conf, None)
    with socket.socket() as closed:
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(driver, 'ssh_address', lambda node_id, server_id: (
        '127.0.0.1', port))
    driver.adopt('node-1', {})
    assert driver._watch_ssh('node-1', 'server-1') is None
    assert len(_scanners()) == 1
    driver.registered('node-1')
    deadline = time.monotonic() + 10
    while _scanners() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _scanners()


def test_no_ssh_scan_starts_for_a_node_whose_agent_registered_first(conf):
    driver = nova_driver.NovaDriver(conf, None)
    driver.adopt('node-1', {})
    driver.registered('node-1')
    assert driver._watch_ssh('node-1', 'server-1') is None
    assert not _scanners()


def test_an_adopted_node_keeps_its_labels_ssh_settings(conf):
    driver = nova_driver.NovaDriver(conf, None)
    assert driver._node_setting('node-1', 'ssh_user') == 'debian'
    driver.adopt('node-1', {'ssh_user': 'ubuntu'})
    assert driver._node_setting('node-1', 'ssh_user') == 'ubuntu'
