"""The agent's configuration as the controller and each driver give it:
the same file and options as before it was an objects.AgentConfig."""

import base64
import json

import pytest
import yaml

from buildfarm.controller import nodes
from buildfarm.drivers import base
from buildfarm.drivers.fake import driver as fake_driver
from buildfarm.drivers.local import driver as local_driver
from buildfarm.drivers.nova import driver as nova_driver
from buildfarm.drivers.nova import userdata
from buildfarm import objects

JOB = {'id': 'job-1', 'kind': 'build_image', 'spec': {
    'git_url': 'https://example.com/app.git', 'ref': None, 'timeout': 60,
    'env': {'A': '$HOME'}, 'secret_env': {'S': 'x'}, 'label': None,
    'image_name': 'app', 'language_pack': None, 'token': None},
    'upload': {'endpoint': 'http://glance:9292', 'token': 'tok',
               'attempts': 3, 'max_bytes': 1024, 'port': 5000,
               'image_id': None}}
# What nodes.py and the drivers rendered for JOB before AgentConfig.
RENDERED = (
    '[DEFAULT]\n'
    'transport_url = rabbit://u:p$$w@broker:5672/\n'
    '\n'
    '[agent]\n'
    'node_id = node-1\n'
    'controller_topic = buildfarm-controller-nodes\n'
    'node_secret = '
    '6fd44381c896996a40da367790e06ff5ded07a54148adeb179de370ff08e8830\n'
    'lease = 300\n'
    'heartbeat_interval = 10.0\n'
    'job_env = {"HTTP_PROXY": "http://proxy:3128", '
    '"PIP_INDEX_URL": "http://pypi.local/simple"}\n'
    'boot_job = {"id": "job-1", "kind": "build_image", "spec": '
    '{"git_url": "https://example.com/app.git", "ref": null, '
    '"timeout": 60, "env": {"A": "$$HOME"}, "secret_env": {"S": "x"}, '
    '"label": null, "image_name": "app", "language_pack": null, '
    '"token": null}, "upload": {"endpoint": "http://glance:9292", '
    '"token": "tok", "attempts": 3, "max_bytes": 1024, "port": 5000, '
    '"image_id": null}}\n')


@pytest.fixture
def spec(conf, tmp_path):
    conf.set_override('transport_url', 'rabbit://u:p$$w@broker:5672/',
                      'node')
    conf.set_override('pip_index_url', 'http://pypi.local/simple', 'node')
    conf.set_override('extra_env', {'HTTP_PROXY': 'http://proxy:3128'},
                      'node')
    ca_bundle = tmp_path / 'ca.crt'
    ca_bundle.write_text('CERT\n')
    conf.set_override('ca_bundle', str(ca_bundle), 'node')
    keeper = nodes.NodeKeeper.__new__(nodes.NodeKeeper)
    keeper.conf, keeper._key = conf, 'key'
    return base.NodeSpec(node_id='node-1', settings={},
                         agent_conf=keeper._agent_conf('node-1', JOB))


def test_the_controller_gives_every_driver_an_agent_config(spec):
    assert isinstance(spec.agent_conf, objects.AgentConfig)
    assert spec.agent_conf.boot_job.to_dict() == JOB
    assert 'tok' not in repr(spec) and 'p$w' not in repr(spec)


def test_the_docker_driver_writes_the_same_file_as_before(conf, spec):
    driver = fake_driver.FakeDriver(conf)
    driver.create(spec)
    assert driver.agent_conf('node-1') == RENDERED + (
        'workspace = /var/lib/buildfarm-agent\n'
        'ca_bundle = /etc/buildfarm-agent-ca.crt\n\n')


def test_the_nova_driver_writes_the_same_file_as_before(conf, spec):
    driver = nova_driver.NovaDriver(conf)
    user_data = yaml.safe_load(base64.b64decode(driver.user_data(spec)))
    conf_file, = [f for f in user_data['write_files']
                  if f['path'] == userdata.AGENT_CONF]
    assert conf_file['content'] == RENDERED + (
        'ca_bundle = /etc/ssl/certs/ca-certificates.crt\n\n')


def test_the_local_driver_gives_its_agent_the_same_options(
        conf, spec, tmp_path):
    driver = local_driver.LocalDriver(conf, None)
    agent_conf = driver._agent_config(spec, str(tmp_path / 'ws'),
                                      61000).agent
    assert agent_conf.node_id == 'node-1'
    assert agent_conf.lease == 300
    assert agent_conf.workspace == str(tmp_path / 'ws')
    assert agent_conf.ca_bundle == conf.node.ca_bundle
    assert agent_conf.job_user == '61000'
    boot_job = objects.JobMessage.from_dict(
        json.loads(agent_conf.boot_job))
    assert boot_job.to_dict() == JOB  # "$HOME" is not substituted
