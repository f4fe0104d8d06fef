"""The nova driver against a real Nova API (fake virt driver), started by
tools/start-nova.sh: servers are real to Nova, but no VM runs, so no
agent ever registers from them."""

import base64
import os
import time
import urllib.request
import uuid

import openstack
import pytest
import yaml

from buildfarm.drivers import base
from buildfarm.drivers.nova import driver as nova_driver
from buildfarm.drivers.nova import userdata
from buildfarm import exception
from buildfarm import objects
from buildfarm import states
from tests.functional import conftest

NOVA_URL = os.environ.get('BUILDFARM_TEST_NOVA', 'http://127.0.0.1:18774/v2.1')
CLOUD = 'buildfarm-test-nova'
FLAVOR = 'bf-test-tiny'
IMAGE = 'bf-test-vm'


@pytest.fixture(scope='module')
def nova(tmp_path_factory):
    """An openstacksdk connection to the test Nova, and a clouds.yaml
    naming it (OS_CLIENT_CONFIG_FILE) for the driver."""
    try:
        urllib.request.urlopen(NOVA_URL + '/servers', timeout=5)
    except OSError as e:
        pytest.fail('No Nova at %s (%s): start it with tools/start-nova.sh '
                    '(see .ci/run).' % (NOVA_URL, e))
    clouds = tmp_path_factory.mktemp('clouds') / 'clouds.yaml'
    clouds.write_text(yaml.safe_dump({'clouds': {CLOUD: {
        'auth_type': 'none', 'compute_endpoint_override': NOVA_URL,
        'image_endpoint_override': conftest.GLANCE_URL}}}))
    old = os.environ.get('OS_CLIENT_CONFIG_FILE')
    os.environ['OS_CLIENT_CONFIG_FILE'] = str(clouds)
    conn = openstack.connect(cloud=CLOUD)
    if conn.compute.find_flavor(FLAVOR) is None:
        conn.compute.create_flavor(name=FLAVOR, ram=64, vcpus=1, disk=1)
    if conn.image.find_image(IMAGE) is None:
        conn.image.create_image(IMAGE, data=b'\0' * 4096, disk_format='raw',
                                container_format='bare',
                                allow_duplicates=True)
    yield conn
    if old is None:
        del os.environ['OS_CLIENT_CONFIG_FILE']
    else:
        os.environ['OS_CLIENT_CONFIG_FILE'] = old


def _nova_conf(tmp_path, overrides=None):
    settings = {('controller', 'driver'): 'nova',
                ('nova', 'cloud'): CLOUD, ('nova', 'flavor'): FLAVOR,
                ('nova', 'image'): IMAGE, ('nova', 'networks'): ['none'],
                ('nova', 'delete_timeout'): 30,
                ('node', 'ca_bundle'): None}
    settings.update(overrides or {})
    return conftest.controller_conf(
        tmp_path, 'rabbit://guest:guest@127.0.0.1:5672/',
        'bf-nova-%s' % uuid.uuid4().hex[:8], settings)


@pytest.fixture
def driver(nova, tmp_path):
    drv = nova_driver.NovaDriver(_nova_conf(tmp_path))
    yield drv
    for node_id, server_id in drv.list_owned().items():
        drv.delete(node_id, server_id)


def _spec(secret='s3cret-%s' % uuid.uuid4().hex, **settings):
    node_id = str(uuid.uuid4())
    return base.NodeSpec(
        node_id=node_id, settings=settings, label='vm',
        agent_conf=objects.AgentConfig(
            transport_url='rabbit://u:pw@h/', node_id=node_id,
            node_secret=secret))


def _wait_status(nova, server_id, wanted, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        server = nova.compute.get_server(server_id)
        if server.status in wanted or time.monotonic() > deadline:
            return server
        time.sleep(0.3)


def _watched(nodes):
    """{node_id: external_id} as the controller asks about them."""
    return {node_id: base.WatchedNode(external_id, {}, registered=False)
            for node_id, external_id in nodes.items()}


def test_a_node_boots_with_owner_metadata_and_its_agent_configuration(
        nova, driver):
    spec = _spec()
    server_id = driver.create(spec)
    server = _wait_status(nova, server_id, ('ACTIVE', 'ERROR'))
    assert server.status == 'ACTIVE'
    assert server.metadata == {base.OWNER_LABEL: driver.owner,
                               base.NODE_LABEL: spec.node_id,
                               nova_driver.LABEL_KEY: 'vm'}
    user_data = yaml.safe_load(base64.b64decode(server.user_data))
    conf_file, = [f for f in user_data['write_files']
                  if f['path'] == userdata.AGENT_CONF]
    assert (conf_file['permissions'], conf_file['owner']) == ('0600',
                                                              'root:root')
    assert 'node_secret = %s' % spec.agent_conf.node_secret in (
        conf_file['content'])
    assert ['systemctl', 'start', '--no-block',
            'buildfarm-agent.service'] in user_data['runcmd']
    assert driver.status(spec.node_id, server_id).alive
    watched = _watched({spec.node_id: server_id})
    assert driver.statuses(watched)[spec.node_id].alive
    assert driver.list_owned() == {spec.node_id: server_id}

    driver.delete(spec.node_id, server_id)
    assert nova.compute.find_server(server_id) is None
    status = driver.status(spec.node_id, server_id)
    assert not status.alive and 'gone' in status.reason
    status = driver.statuses(watched)[spec.node_id]
    assert not status.alive and 'gone' in status.reason
    driver.delete(spec.node_id, server_id)   # idempotent
    assert driver.list_owned() == {}


def test_a_server_in_error_is_not_alive_and_its_console_is_kept(
        nova, driver, monkeypatch):
    spec = _spec()
    server_id = driver.create(spec)
    _wait_status(nova, server_id, ('ACTIVE',))
    nova.compute.reset_server_state(server_id, 'error')
    status = driver.status(spec.node_id, server_id)
    assert not status.alive
    assert 'is ERROR' in status.reason
    assert not status.capacity
    healthy = _spec()
    healthy_id = driver.create(healthy)
    _wait_status(nova, healthy_id, ('ACTIVE',))
    # Both come from one server list, not from a request each.
    monkeypatch.setattr(driver, '_lookup', None)
    listed = driver.statuses(_watched({spec.node_id: server_id,
                                       healthy.node_id: healthy_id}))
    assert listed[spec.node_id] == status
    assert listed[healthy.node_id].alive
    assert driver.console_log(spec.node_id, server_id)


def test_no_valid_host_is_a_capacity_problem(nova, driver):
    huge = 'bf-test-huge-disk'
    if nova.compute.find_flavor(huge) is None:
        # More disk than the fake hypervisor has; Nova has no disk quota.
        nova.compute.create_flavor(name=huge, ram=64, vcpus=1, disk=10 ** 7)
    spec = _spec(flavor=huge)
    server_id = driver.create(spec)
    assert _wait_status(nova, server_id, ('ERROR',)).status == 'ERROR'
    status = driver.status(spec.node_id, server_id)
    assert not status.alive and status.capacity
    assert 'No valid host' in status.reason
    watched = _watched({spec.node_id: server_id})
    assert driver.statuses(watched)[spec.node_id] == status


def test_quota_exceeded_is_a_quota_error(nova, driver):
    project = 'admin'
    before = nova.compute.get_quota_set(project).instances
    nova.compute.update_quota_set(project, instances=0)
    try:
        with pytest.raises(exception.QuotaExceeded, match='quota'):
            driver.create(_spec())
    finally:
        nova.compute.update_quota_set(project, instances=before)
    assert driver.list_owned() == {}


def test_a_missing_flavor_is_a_clear_boot_error(nova, tmp_path):
    drv = nova_driver.NovaDriver(_nova_conf(tmp_path, {
        ('nova', 'flavor'): 'no-such-flavor'}))
    with pytest.raises(exception.NodeBootError,
                       match="The flavor 'no-such-flavor' does not exist"):
        drv.create(_spec())


def test_a_node_that_never_registers_is_deleted_with_its_console_kept(
        nova, tmp_path, docker_client):
    conf = _nova_conf(tmp_path, {('controller', 'boot_timeout'): 3,
                                 ('controller', 'max_attempts'): 1})
    farm = conftest.Farm(conf, docker_client)
    try:
        job = farm.run(git_url='https://example.com/repo.git', cmd='true')
        assert job['state'] == states.ERROR
        assert job['reason'].startswith('node_failure: no node could be '
                                        'booted')
        assert 'did not register within 3 s' in job['reason']
        assert 'FAKE CONSOLE OUTPUT' in farm.log(job['id'])
        nodes = farm.service.drivers['nova']
        conftest.wait_until(lambda: not nodes.list_owned())
    finally:
        farm.stop()


def test_a_leaked_server_is_reaped(nova, tmp_path, docker_client):
    farm = conftest.Farm(_nova_conf(tmp_path), docker_client)
    try:
        drv = farm.service.drivers['nova']
        leak = _spec()
        server_id = drv.create(leak)
        scheduler = farm.service.scheduler
        scheduler.tick(force=True)     # first sighting
        assert nova.compute.find_server(server_id) is not None
        scheduler.tick(force=True)     # second: reaped
        conftest.wait_until(
            lambda: nova.compute.find_server(server_id) is None)
        assert drv.list_owned() == {}
    finally:
        farm.stop()
