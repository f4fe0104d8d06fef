"""Keystone authentication and policy on the caller and operator API,
against the real Keystone of tools/start-keystone.sh, over RabbitMQ.

Users (tools/keystone/populate.py): alice (member of alpha), bob (member
of beta), oscar (member and buildfarm_operator of alpha), admin; the
controller validates tokens as its service user, buildfarm.
"""

import json
import os
import subprocess
import uuid

from keystoneauth1 import loading as ks_loading
import openstack.config
import pytest

from buildfarm.controller import rpcapi
from buildfarm import exception
from tests.functional import conftest

READY = '/tmp/keystone-ready'


@pytest.fixture(scope='module')
def keystone():
    """{'url', 'clouds': the clouds.yaml path, 'session': {user: its
    keystoneauth session}}."""
    try:
        with open(READY) as f:
            url, clouds = f.read().split()[:2]
    except OSError:
        pytest.fail('No Keystone: start it with tools/start-keystone.sh '
                    '(see .ci/run); it writes %s.' % READY)
    config = openstack.config.OpenStackConfig(config_files=[clouds])
    sessions = {user: config.get_one('buildfarm-%s' % user).get_session()
                for user in ('alice', 'bob', 'oscar', 'admin')}
    return {'url': url, 'clouds': clouds, 'session': sessions}


def keystone_conf(conf, url):
    """``conf`` with auth_strategy keystone and the controller's service
    user."""
    group = 'keystone_authtoken'
    conf.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                       group)
    conf.set_override('auth_strategy', 'keystone')
    for name, value in {
            'auth_type': 'password', 'auth_url': url,
            'username': 'buildfarm', 'password': 'secret-buildfarm',
            'project_name': 'service', 'user_domain_name': 'Default',
            'project_domain_name': 'Default'}.items():
        conf.set_override(name, value, group)
    return conf


@pytest.fixture(scope='module')
def farm(tmp_path_factory, make_vhost, docker_client, keystone):
    tmp = tmp_path_factory.mktemp('auth')
    conf = keystone_conf(conftest.controller_conf(
        tmp, make_vhost(), 'bf-auth-%s' % uuid.uuid4().hex[:8], {
            ('controller', 'allowed_local_repo_dirs'): [str(tmp)]}),
        keystone['url'])
    farm = conftest.Farm(conf, docker_client)
    farm.dir = tmp
    # Farm's own calls (wait) as admin.
    farm.api = _api(farm, keystone['session']['admin'].get_token)
    yield farm
    farm.stop()
    leftovers = farm.containers()
    for container in leftovers:
        container.remove(force=True)
    assert leftovers == []


def _api(farm, token):
    return rpcapi.ControllerAPI(farm.service.transport,
                                farm.conf.controller.topic, timeout=30,
                                token=token)


@pytest.fixture(scope='module')
def apis(farm, keystone):
    """{user: the ControllerAPI whose calls carry that user's token}"""
    return {user: _api(farm, session.get_token)
            for user, session in keystone['session'].items()}


def _spec(git_server, cmd='true'):
    return {'git_url': git_server['url'], 'cmd': cmd}


def test_no_token_or_a_bad_one_is_refused(farm, keystone):
    with pytest.raises(exception.NotAuthorized, match='carried none'):
        _api(farm, None).list_jobs()
    with pytest.raises(exception.NotAuthorized,
                       match='invalid or has expired'):
        _api(farm, 'gAAAAABnot-a-token').repo_job({'git_url': 'x',
                                                   'cmd': 'true'})
    # A real token of alice, revoked (by admin) before its first use.
    token = openstack.config.OpenStackConfig(
        config_files=[keystone['clouds']]).get_one(
        'buildfarm-alice').get_session().get_token()
    keystone['session']['admin'].delete(
        '/auth/tokens', headers={'X-Subject-Token': token},
        endpoint_filter={'service_type': 'identity', 'interface': 'public',
                         'version': (3, 0)})
    with pytest.raises(exception.NotAuthorized,
                       match='invalid or has expired'):
        _api(farm, token).list_jobs()


def test_alice_submits_and_sees_her_job(farm, apis, keystone, git_server):
    job = apis['alice'].repo_job(_spec(git_server))
    alpha = keystone['session']['alice'].get_project_id()
    assert job['project_id'] == alpha
    assert job['user_id'] == keystone['session']['alice'].get_user_id()
    assert farm.wait(job['id'])['state'] == 'succeeded'
    assert apis['alice'].get_job(job['id'])['project_id'] == alpha
    assert job['id'] in [j['id'] for j in apis['alice'].list_jobs()]
    assert apis['alice'].get_log(job['id'])['finished']


def test_bob_cannot_see_follow_or_cancel_alices_job(apis, git_server):
    job = apis['alice'].repo_job(_spec(git_server, 'sleep 60'))
    try:
        for call in (apis['bob'].get_job, apis['bob'].get_log,
                     apis['bob'].cancel_job):
            with pytest.raises(exception.JobNotFound,
                               match='No job with id %s' % job['id']):
                call(job['id'])
        assert job['id'] not in [j['id'] for j in apis['bob'].list_jobs()]
        with pytest.raises(exception.Forbidden, match='all_projects'):
            apis['bob'].list_jobs(all_projects=True)
        assert apis['alice'].get_job(job['id'])['state'] in (
            'queued', 'running')
    finally:
        apis['alice'].cancel_job(job['id'])


@pytest.mark.parametrize('call', [
    lambda api: api.pool_list(),
    lambda api: api.pool_show('default'),
    lambda api: api.pool_set('default', max_nodes=5),
    lambda api: api.node_list(),
    lambda api: api.node_hold('some-node', 60),
    lambda api: api.node_delete('some-node'),
], ids=['pool_list', 'pool_show', 'pool_set', 'node_list', 'node_hold',
        'node_delete'])
def test_members_cannot_touch_pools_or_nodes(apis, call):
    for user in ('alice', 'bob'):
        with pytest.raises(exception.Forbidden,
                           match='Policy does not allow buildfarm:'):
            call(apis[user])


def test_operators_and_admins_can(farm, apis, git_server):
    bobs = apis['bob'].repo_job(_spec(git_server, 'sleep 60'))
    for user, max_nodes in (('oscar', 6), ('admin', 7)):
        api = apis[user]
        assert api.pool_set('default', max_nodes=max_nodes)[
            'max_nodes'] == max_nodes
        assert api.pool_show('default')['max_nodes'] == max_nodes
        assert isinstance(api.node_list(), list)
        with pytest.raises(exception.NodeNotFound):
            # Allowed, then not found.
            api.node_hold('6f1e2a40-1b2c-4d3e-8f00-0123456789ab', 60)
        assert bobs['id'] in [j['id'] for j in
                              api.list_jobs(all_projects=True)]
        assert api.get_job(bobs['id'])['id'] == bobs['id']
    assert apis['oscar'].cancel_job(bobs['id'])['id'] == bobs['id']
    assert farm.wait(bobs['id'])['state'] == 'cancelled'
    farm.assert_no_container_left()


def _cli(farm, keystone, *args, cloud='alice'):
    config = farm.dir / 'cli.conf'
    config.write_text('[DEFAULT]\ntransport_url = %s\n'
                      '[controller]\ntopic = %s\n'
                      % (farm.conf.transport_url, farm.conf.controller.topic))
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env['OS_CLIENT_CONFIG_FILE'] = keystone['clouds']
    cloud_args = ['--os-cloud', 'buildfarm-%s' % cloud] if cloud else []
    return subprocess.run(
        ['buildfarm', '--config-file', str(config), *cloud_args, *args],
        capture_output=True, text=True, timeout=300, env=env)


def test_the_cli_with_os_cloud(farm, keystone, git_server):
    submitted = _cli(farm, keystone, 'job', 'submit', '--git-url',
                     git_server['url'], '--ref', 'v1', '--cmd',
                     'cat version', '--wait', '-f', 'json')
    assert submitted.returncode == 0, submitted.stderr
    assert 'one\n' in submitted.stderr           # the streamed log
    job = json.loads(submitted.stdout)
    assert job['project_id'] == keystone['session'][
        'alice'].get_project_id()
    listed = _cli(farm, keystone, 'job', 'list', '-f', 'json')
    assert job['id'] in [j['id'] for j in json.loads(listed.stdout)]
    logs = _cli(farm, keystone, 'job', 'logs', job['id'])
    assert 'one\n' in logs.stdout

    bob = _cli(farm, keystone, 'job', 'show', job['id'], cloud='bob')
    assert bob.returncode == 1
    assert 'No job with id %s' % job['id'] in bob.stderr
    refused = _cli(farm, keystone, 'job', 'list', '--all-projects',
                   cloud='bob')
    assert refused.returncode != 0
    assert 'all_projects' in refused.stderr
    oscar = _cli(farm, keystone, 'job', 'list', '--all-projects', '-f',
                 'json', cloud='oscar')
    assert job['id'] in [j['id'] for j in json.loads(oscar.stdout)]

    anonymous = _cli(farm, keystone, 'job', 'show', job['id'], cloud=None)
    assert anonymous.returncode == 1
    assert '--os-cloud' in anonymous.stderr
    assert 'Traceback' not in anonymous.stderr + bob.stderr
