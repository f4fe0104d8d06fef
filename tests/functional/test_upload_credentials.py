"""Minted upload credentials against the real test Keystone and the
Glance behind it: what the token can and cannot do, and that it is gone
when the job ends."""

import uuid

import openstack
import pytest
import requests

from buildfarm.common import config
from buildfarm.common import glance
from buildfarm.controller import upload_credentials
from buildfarm.controller import uploads
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import states


@pytest.fixture
def targets(keystone, keystone_glance, monkeypatch):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', keystone.clouds_yaml)
    conf = config.load([], default_config_files=[])
    conf.set_override('cloud', 'buildfarm-controller', 'build_image')
    # Its own: clean_up leaves other controllers' credentials alone.
    conf.set_override('controller_id', 'bf-test-%s' % uuid.uuid4().hex[:8],
                      'controller')
    return uploads.UploadTargets(conf)


def _job(state=states.RUNNING, image_id=None, job_id=None):
    return {'id': job_id or str(uuid.uuid4()), 'kind': 'build_image',
            'label': 'default', 'state': state, 'image_id': image_id,
            'spec': {'timeout': 60, 'image_name': 'bf-test-minted',
                     'git_url': 'https://user:pw@git.example.com/app.git'}}


def _credentials(cloud, job_id):
    return [c for c in cloud.identity.application_credentials(
        cloud.current_user_id)
        if upload_credentials.job_of(c.name) == job_id]


def _exists(cloud, image_id):
    try:
        return cloud.image.get_image(image_id).status != 'deleted'
    except openstack.exceptions.NotFoundException:
        return False


def _archive(tmp_path):
    path = tmp_path / 'image.tar'
    path.write_bytes(b'not really a docker archive\n' * 1000)
    return str(path)


def _as(token):
    session = requests.Session()
    session.headers['X-Auth-Token'] = token
    return session


def test_a_minted_token_fills_its_image_and_nothing_else(
        targets, keystone_glance, tmp_path):
    cloud, url = keystone_glance['controller'], keystone_glance['url']
    job = _job()
    target = targets.target(job['spec'], job)
    other = cloud.image.create_image(
        name='bf-test-other', disk_format='raw', container_format='bare')
    try:
        assert target['endpoint'].startswith(url)
        assert target['token'] != cloud.auth_token
        created = cloud.image.get_image(target['image_id'])
        assert created.status == 'queued'
        assert created.properties['build_id'] == job['id']
        assert created.properties['source_url'] == (
            'https://***@git.example.com/app.git')
        assert [c.expires_at is not None
                for c in _credentials(cloud, job['id'])] == [True]

        node = _as(target['token'])
        assert node.get(url + '/v2/images').status_code == 401
        assert node.post(url + '/v2/images', json={
            'name': 'x', 'disk_format': 'raw',
            'container_format': 'bare'}).status_code == 401
        assert node.put(
            url + '/v2/images/%s/file' % other.id, data=b'x',
            headers={'Content-Type': 'application/octet-stream'}
        ).status_code == 401
        assert node.delete(
            url + '/v2/images/%s' % target['image_id']).status_code == 401
        assert cloud.image.get_image(other.id).status == 'queued'

        # A hostile node may label its image as it likes...
        image = glance.upload(target, _archive(tmp_path), 'ignored',
                              {'commit_sha': 'abc123', 'build_id': 'forged',
                               'visibility': 'community'})
        assert image.id == target['image_id']
        stored = cloud.image.get_image(image.id)
        assert (stored.status, stored.size) == ('active', 28000)
        assert stored.properties['commit_sha'] == 'abc123'
        assert stored.properties['build_id'] == 'forged'

        targets.releases.release(dict(job, state=states.SUCCEEDED,
                                      image_id=image.id))
        assert _credentials(cloud, job['id']) == []
        assert node.get(
            url + '/v2/images/%s' % image.id).status_code == 401
        # ...but what the controller vouches for is set again at the end.
        kept = cloud.image.get_image(image.id)
        assert (kept.status, kept.visibility) == ('active', 'private')
        assert kept.properties['build_id'] == job['id']
        assert kept.properties['commit_sha'] == 'abc123'
    finally:
        for image_id in (target['image_id'], other.id):
            cloud.image.delete_image(image_id, ignore_missing=True)


def test_an_image_the_job_did_not_upload_goes_with_its_credential(
        targets, keystone_glance):
    cloud = keystone_glance['controller']
    job = _job()
    first = targets.target(job['spec'], job)
    # Handed over again (another node): a credential and image of its own.
    second = targets.target(job['spec'], job)
    assert first['image_id'] != second['image_id']
    assert len(_credentials(cloud, job['id'])) == 2
    targets.releases.release(dict(job, state=states.FAILED))
    assert _credentials(cloud, job['id']) == []
    for target in (first, second):
        assert not _exists(cloud, target['image_id'])
        answer = _as(target['token']).get(
            keystone_glance['url'] + '/v2/images/' + target['image_id'])
        assert answer.status_code == 401


def test_leftovers_of_ended_and_unknown_jobs_go_at_start(
        targets, keystone_glance, tmp_path):
    cloud = keystone_glance['controller']
    store = db_api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    running, ended = [store.create_job(
        str(uuid.uuid4()), 'build_image', 'default', _job()['spec'],
        str(tmp_path / 'log')) for _ in range(2)]
    store.transition_job(running['id'], states.RUNNING)
    store.transition_job(ended['id'], states.CANCELLED)
    unknown = _job()
    minted = {job['id']: targets.target(job['spec'], dict(job, label='x'))
              for job in (running, ended, unknown)}
    try:
        targets.releases.clean_up(store)
        assert _credentials(cloud, ended['id']) == []
        assert _credentials(cloud, unknown['id']) == []
        assert len(_credentials(cloud, running['id'])) == 1
        for job_id in (ended['id'], unknown['id']):
            assert not _exists(cloud, minted[job_id]['image_id'])
        assert _exists(cloud, minted[running['id']]['image_id'])
    finally:
        targets.releases.release(store.transition_job(
            running['id'], states.SUCCEEDED))


def test_a_credential_that_cannot_be_made_ends_the_build_saying_why(
        keystone, keystone_glance, monkeypatch):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', keystone.clouds_yaml)
    conf = config.load([], default_config_files=[])
    conf.set_override('cloud', 'buildfarm-controller', 'build_image')
    conf.set_override('upload_role', 'no-such-role', 'build_image')
    job = _job()
    cloud = keystone_glance['controller']
    with pytest.raises(exception.ImageBuildError,
                       match="could not make an upload credential in cloud "
                             "'buildfarm-controller'"):
        uploads.UploadTargets(conf).target(job['spec'], job)
    assert _credentials(cloud, job['id']) == []
    # The image record made for it is gone too.
    assert [i for i in cloud.image.images()
            if (i.properties or {}).get('build_id') == job['id']] == []


def test_an_unknown_jobs_uploaded_image_stays(
        targets, keystone_glance, tmp_path):
    # The job succeeded, its release failed, retention removed the job:
    # its credential goes, its image stays.
    cloud = keystone_glance['controller']
    store = db_api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    job = _job()
    uploaded = targets.target(job['spec'], job)
    unused = targets.target(job['spec'], job)
    try:
        glance.upload(uploaded, _archive(tmp_path), 'ignored', {})
        targets.releases.clean_up(store)
        assert _credentials(cloud, job['id']) == []
        assert cloud.image.get_image(uploaded['image_id']).status == 'active'
        assert not _exists(cloud, unused['image_id'])
    finally:
        for target in (uploaded, unused):
            cloud.image.delete_image(target['image_id'], ignore_missing=True)


def test_a_minted_image_is_shared_with_the_jobs_project(
        targets, keystone, keystone_glance, tmp_path):
    cloud, url = keystone_glance['controller'], keystone_glance['url']
    alice, bob = (keystone.connect(name)
                  for name in ('buildfarm-alice', 'buildfarm-bob'))
    job = dict(_job(), project_id=alice.current_project_id)
    target = targets.target(job['spec'], job)
    try:
        glance.upload(target, _archive(tmp_path), 'ignored', {})
        targets.releases.release(dict(job, state=states.SUCCEEDED,
                                      image_id=target['image_id']))
        image = cloud.image.get_image(target['image_id'])
        assert (image.owner, image.visibility) == (
            cloud.current_project_id, 'shared')
        member, = cloud.image.members(target['image_id'])
        assert (member.member_id, member.status) == (
            alice.current_project_id, 'pending')
        # The project uses it by id before it accepts it; others cannot.
        path = '/v2/images/%s' % target['image_id']
        assert _as(alice.auth_token).get(url + path).status_code == 200
        data = _as(alice.auth_token).get(url + path + '/file')
        assert (data.status_code, len(data.content)) == (200, 28000)
        assert _as(bob.auth_token).get(url + path).status_code == 404
    finally:
        cloud.image.delete_image(target['image_id'], ignore_missing=True)
