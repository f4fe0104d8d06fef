"""The nova driver's user data and metadata (no cloud needed)."""

import base64
import socket
import threading
import time

import pytest
import yaml

from buildfarm.drivers import base
from buildfarm.drivers.nova import driver as nova_driver
from buildfarm.drivers.nova import userdata
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
    data = _user_data(nova_driver.NovaDriver(conf))
    conf_file, = data['write_files']
    assert conf_file['path'] == userdata.AGENT_CONF
    assert (conf_file['permissions'], conf_file['owner']) == ('0600',
                                                              'root:root')
    assert 'node_secret = %s' % SECRET in conf_file['content']
    assert data['runcmd'] == [['systemctl', 'start', '--no-block',
                               'buildfarm-agent.service']]


def test_secrets_stay_out_of_the_metadata(conf):
    metadata = nova_driver.NovaDriver(conf)._metadata(_spec())
    assert SECRET not in repr(metadata)
    assert metadata[base.NODE_LABEL] == 'node-1'


def test_the_extra_ca_is_added_to_the_nodes_trust_store(conf, tmp_path):
    ca = tmp_path / 'extra.crt'
    ca.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n'
                  '-----END CERTIFICATE-----\n')
    conf.set_override('ca_bundle', str(ca), 'node')
    data = _user_data(nova_driver.NovaDriver(conf))
    extra, agent = data['write_files']
    assert extra['path'] == userdata.EXTRA_CA
    assert extra['content'] == ca.read_text()
    assert ['update-ca-certificates'] in data['runcmd']
    assert 'ca_bundle = %s' % userdata.SYSTEM_CA_BUNDLE in (
        agent['content'])


def test_user_data_over_novas_limit_is_a_clear_boot_error(conf, tmp_path):
    ca = tmp_path / 'bundle.crt'
    ca.write_text('x' * 70000)
    conf.set_override('ca_bundle', str(ca), 'node')
    with pytest.raises(exception.NodeBootError,
                       match='point \\[node\\] ca_bundle at the extra CA'):
        nova_driver.NovaDriver(conf).user_data(_spec())


def _server_kwargs(conf, settings=None):
    driver = nova_driver.NovaDriver(conf)
    conf.set_override('flavor', 'small', 'nova')
    # The flavor and image ids, as if already looked up in the cloud.
    driver._ids.update({('flavor', 'small'): 'flavor-1',
                        ('image', 'buildfarm-worker'): 'image-1'})
    spec = _spec()
    spec.settings.update(settings or {})
    return driver.server_kwargs(spec)


def test_servers_get_a_config_drive_by_default(conf):
    kwargs = _server_kwargs(conf)
    assert kwargs['config_drive'] is True
    assert (kwargs['image_id'], kwargs['flavor_id']) == ('image-1',
                                                         'flavor-1')


def test_the_config_drive_can_be_turned_off(conf):
    conf.set_override('config_drive', False, 'nova')
    assert _server_kwargs(conf)['config_drive'] is False


def test_a_label_may_turn_the_config_drive_off(conf):
    assert _server_kwargs(conf, {'config_drive': False})[
        'config_drive'] is False
    rule = nova_driver.NovaDriver.settings_rules['config_drive']
    assert rule.check(False) and not rule.check('false')


def _scanners():
    return [t for t in threading.enumerate() if t.name.startswith(
        'ssh-scan-')]


class _Server:
    status = 'ACTIVE'
    fault = None

    def __init__(self, server_id):
        self.id = server_id


def _status(driver, registered, settings=None):
    if settings is None:
        settings = {'ssh_check': True}
    watched = base.WatchedNode('server-1', settings, registered)
    return driver._server_status('node-1', _Server('server-1'), watched)


def test_the_ssh_scan_of_a_node_stops_once_its_agent_registered(
        conf, monkeypatch):
    driver = nova_driver.NovaDriver(conf)
    with socket.socket() as closed:
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(driver, 'ssh_address', lambda *args: (
        '127.0.0.1', port))
    assert _status(driver, registered=False).register_by is None
    assert len(_scanners()) == 1
    assert _status(driver, registered=False).register_by is None
    assert len(_scanners()) == 1   # one scan per node
    assert _status(driver, registered=True).alive
    deadline = time.monotonic() + 10
    while _scanners() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _scanners()


def test_no_ssh_scan_starts_for_a_node_whose_agent_registered(conf):
    driver = nova_driver.NovaDriver(conf)
    assert _status(driver, registered=True).alive
    assert not _scanners()


def test_no_ssh_scan_for_a_label_without_ssh_check(conf):
    driver = nova_driver.NovaDriver(conf)
    assert _status(driver, False, {'ssh_check': False}).alive
    assert not _scanners()
