"""Upload targets and minted upload credentials, with a fake cloud at the
openstacksdk connection (the functional tests use the real Keystone)."""

import datetime
import threading
import time
import types
import uuid

import openstack
import pytest

from buildfarm.common import glance
from buildfarm.controller import pools
from buildfarm.controller import service
from buildfarm.controller import upload_credentials
from buildfarm.controller import uploads
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import states


class FakeCloud:
    """Images and application credentials of one user, in memory."""

    def __init__(self):
        self.images = {}
        self.credentials = {}
        self.members = {}  # image id -> project ids
        self.current_user_id = 'controller-user'
        self.current_project_id = 'controller-project'
        self.auth_token = 'controller-token'
        self.fail_credential = False
        self.token_expires = None
        # Listing credentials waits for this (a Keystone that does not
        # answer), then fails while fail_listing is set.
        self.answering = threading.Event()
        self.answering.set()
        self.fail_listing = False
        self.image = types.SimpleNamespace(
            create_image=self._create_image, delete_image=self._delete_image,
            update_image=self._update_image, get_image=self._get_image,
            find_member=self._find_member, add_member=self._add_member)
        self.identity = types.SimpleNamespace(
            create_application_credential=self._create_credential,
            application_credentials=self._list_credentials,
            delete_application_credential=self._delete_credential)

    def endpoint_for(self, service_type):
        assert service_type == 'image'
        return 'http://glance.example:9292'

    def _create_image(self, name, **properties):
        image = types.SimpleNamespace(id=str(uuid.uuid4()), name=name,
                                      status='queued', properties=properties)
        self.images[image.id] = image
        return image

    def _delete_image(self, image_id, ignore_missing=False):
        self.images.pop(image_id, None)

    def _update_image(self, image_id, **properties):
        self.images[image_id].properties.update(properties)

    def _get_image(self, image_id):
        if image_id not in self.images:
            raise openstack.exceptions.NotFoundException('404 Not Found')
        return self.images[image_id]

    def _find_member(self, member_id, image_id):
        return member_id if member_id in self.members.get(
            image_id, []) else None

    def _add_member(self, image_id, member_id):
        assert member_id not in self.members.get(image_id, [])
        self.members.setdefault(image_id, []).append(member_id)

    def _list_credentials(self, user):
        if not self.answering.wait(timeout=5) or self.fail_listing:
            raise RuntimeError('503 Service Unavailable')
        return list(self.credentials.values())

    def _create_credential(self, user, name, **kwargs):
        assert user == self.current_user_id
        if self.fail_credential:
            raise RuntimeError('403 Forbidden')
        credential = types.SimpleNamespace(
            id=uuid.uuid4().hex, name=name, secret='s3cret', **kwargs)
        self.credentials[credential.id] = credential
        return credential

    def _delete_credential(self, user, credential_id, ignore_missing=False):
        self.credentials.pop(credential_id, None)


@pytest.fixture
def cloud(conf, monkeypatch):
    conf.set_override('cloud', 'farm', 'build_image')
    fake = FakeCloud()
    monkeypatch.setattr(uploads.UploadTargets, '_connection',
                        lambda self: fake)
    monkeypatch.setattr(upload_credentials.UploadCredentials, '_token',
                        lambda self, cloud, credential: (
                            'minted-' + credential.id, cloud.token_expires))
    return fake


def _job(job_id=None, state=states.RUNNING, image_id=None, label='default'):
    return {'id': job_id or str(uuid.uuid4()), 'kind': 'build_image',
            'label': label, 'state': state, 'image_id': image_id,
            'spec': {'timeout': 600, 'image_name': 'app',
                     'git_url': 'https://u:pw@git.example.com/app'}}


def test_credential_names_carry_their_job():
    job_id = str(uuid.uuid4())
    first, second = (upload_credentials.credential_name(job_id)
                     for _ in range(2))
    assert first != second
    assert upload_credentials.job_of(first) == job_id
    assert upload_credentials.job_of(second) == job_id
    for foreign in ('my-credential', 'buildfarm-job-', None,
                    'buildfarm-job-%s' % job_id):
        assert upload_credentials.job_of(foreign) is None


def test_the_access_rules_name_one_image_and_no_listing():
    rules = upload_credentials.access_rules('img-1')
    assert {(r['method'], r['path']) for r in rules} == {
        ('GET', '/v2/images/img-1'), ('PATCH', '/v2/images/img-1'),
        ('PUT', '/v2/images/img-1/file')}
    assert {r['service'] for r in rules} == {'image'}


def test_without_a_cloud_the_endpoint_alone_is_given(conf):
    conf.set_override('image_endpoint', 'http://glance:9292/',
                      'build_image')
    target = uploads.UploadTargets(conf).target({}, _job())
    assert (target['endpoint'], target['token'], target['image_id']) == (
        'http://glance:9292', None, None)


def test_a_callers_token_is_used_and_nothing_is_minted(conf, cloud):
    target = uploads.UploadTargets(conf).target({'token': 'caller'}, _job())
    assert (target['endpoint'], target['token'], target['image_id']) == (
        'http://glance.example:9292', 'caller', None)
    assert cloud.images == {} and cloud.credentials == {}


def test_a_minted_credential_fills_one_image_until_the_jobs_end(
        conf, cloud):
    conf.set_override('pools_file', None, 'controller')
    conf.set_override('boot_timeout', 1000, 'controller')
    job = _job()
    now = datetime.datetime.now(datetime.timezone.utc)
    store = db_api.JobStore(conf.database.connection)
    store.upgrade()
    targets = uploads.UploadTargets(conf, pools.Pools(conf, store))
    target = targets.target(job['spec'], job)
    credential, = cloud.credentials.values()
    image = cloud.images[target['image_id']]
    assert target['token'] == 'minted-' + credential.id
    assert target['token'] != cloud.auth_token
    assert upload_credentials.job_of(credential.name) == job['id']
    assert upload_credentials.parse_description(credential.description) == (
        image.id, conf.controller.controller_id)
    assert credential.roles == [{'name': 'member'}]
    assert credential.access_rules == upload_credentials.access_rules(
        image.id)
    assert image.properties['build_id'] == job['id']
    assert image.properties['source_url'] == (
        'https://***@git.example.com/app')
    expires = datetime.datetime.strptime(
        credential.expires_at, '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    agent = conf.agent
    expected = (1000 + 600 + agent.clone_timeout + 2 * agent.kill_grace +
                conf.controller.cancel_grace + 300)
    assert abs((expires - now).total_seconds() - expected) < 30


def test_a_token_shorter_than_the_job_is_warned_about(conf, cloud, caplog):
    cloud.token_expires = datetime.datetime.now(
        datetime.timezone.utc) + datetime.timedelta(hours=1)
    job = _job()
    job['spec']['timeout'] = 3 * 3600
    uploads.UploadTargets(conf).target(job['spec'], job)
    assert 'its upload token expires at' in caplog.text
    caplog.clear()
    job['spec']['timeout'] = 60
    uploads.UploadTargets(conf).target(job['spec'], job)
    assert 'its upload token expires at' not in caplog.text


def test_a_credential_that_cannot_be_made_leaves_no_image(conf, cloud):
    cloud.fail_credential = True
    job = _job()
    with pytest.raises(exception.ImageBuildError,
                       match="could not make an upload credential in cloud "
                             "'farm': 403 Forbidden"):
        uploads.UploadTargets(conf).target(job['spec'], job)
    assert cloud.images == {}


def test_the_end_of_a_job_removes_its_credentials_and_unused_images(
        conf, cloud):
    targets = uploads.UploadTargets(conf)
    job, other = _job(), _job()
    used, unused = (targets.target(job['spec'], job) for _ in range(2))
    others = targets.target(other['spec'], other)
    cloud.images[used['image_id']].properties.update(
        build_id='forged', visibility='public')
    targets.releases.release(dict(job, state=states.SUCCEEDED,
                                  image_id=used['image_id']))
    assert [upload_credentials.job_of(c.name)
            for c in cloud.credentials.values()] == [other['id']]
    assert set(cloud.images) == {used['image_id'], others['image_id']}
    kept = cloud.images[used['image_id']].properties
    assert (kept['build_id'], kept['visibility']) == (job['id'], 'private')
    targets.releases.release(dict(other, state=states.FAILED))
    assert cloud.credentials == {}
    assert set(cloud.images) == {used['image_id']}


def test_leftovers_of_ended_or_unknown_jobs_go_at_start(conf, cloud):
    store = db_api.JobStore(conf.database.connection)
    store.upgrade()
    running, ended = (store.create_job(
        str(uuid.uuid4()), 'build_image', 'default', _job()['spec'], 'log')
        for _ in range(2))
    store.transition_job(running['id'], states.RUNNING)
    store.transition_job(ended['id'], states.CANCELLED)
    targets = uploads.UploadTargets(conf)
    for job in (running, ended, _job()):
        targets.target(job['spec'], job)
    cloud.credentials['x'] = types.SimpleNamespace(
        id='x', name='somebody-elses', description='image keep-me')
    # Another controller with the same user: its jobs are not in our
    # store, but they are not ours to end.
    conf.set_override('controller_id', 'other', 'controller')
    theirs = _job()
    their_target = targets.target(theirs['spec'], theirs)
    conf.clear_override('controller_id', 'controller')
    targets.releases.clean_up(store)
    assert sorted(upload_credentials.job_of(c.name) or c.name
                  for c in cloud.credentials.values()) == sorted(
        [running['id'], theirs['id'], 'somebody-elses'])
    assert sorted(i.properties['build_id'] for i in cloud.images.values()
                  ) == sorted([running['id'], theirs['id']])
    assert their_target['image_id'] in cloud.images


def test_descriptions_are_read_back_exactly():
    assert upload_credentials.parse_description(
        'image img-1 of controller ctl-1') == ('img-1', 'ctl-1')
    for foreign in (None, '', 'image img-1', 'image a b of controller c',
                    'picture img-1 of controller ctl-1'):
        assert upload_credentials.parse_description(foreign) is None


class FakeImages:
    """The image proxy a minted token sees: update, upload, get."""

    def __init__(self, size):
        self.calls = []
        self.size = size

    def update_image(self, image_id, **properties):
        self.calls.append(('update', image_id, properties))
        return types.SimpleNamespace(
            id=image_id, upload=lambda proxy, data, size: self._put(data))

    def _put(self, data):
        self.calls.append(('put', b''.join(data)))
        return types.SimpleNamespace(ok=True, status_code=204)

    def get_image(self, image_id):
        self.calls.append(('get', image_id))
        return types.SimpleNamespace(
            id=image_id, status='active', size=self.size,
            checksum='wrong', hash_algo='sha512', hash_value='wrong')

    def create_image(self, *args, **kwargs):
        raise AssertionError('a minted token cannot create images')

    def delete_image(self, *args, **kwargs):
        raise AssertionError('a minted token cannot delete images')


def test_the_node_labels_and_fills_the_controllers_image(
        tmp_path, monkeypatch):
    archive = tmp_path / 'image.tar'
    archive.write_bytes(b'data')
    images = FakeImages(4)
    monkeypatch.setattr(glance, 'connect', lambda endpoint, token: (
        types.SimpleNamespace(image=images)))
    target = {'endpoint': 'http://glance:9292', 'token': 't',
              'image_id': 'img-1', 'attempts': 1}
    # Glance's checksum does not match what was sent: the build fails,
    # and the image is left to the controller.
    with pytest.raises(exception.ImageBuildError,
                       match='Glance stored image img-1 as active, 4 bytes'):
        glance.upload(target, str(archive), 'app', {'commit_sha': 'abc'})
    assert images.calls == [('update', 'img-1', {'commit_sha': 'abc'}),
                            ('put', b'data'), ('get', 'img-1')]


def _wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def _store(conf):
    store = db_api.JobStore(conf.database.connection)
    store.upgrade()
    return store


def _running_job(store, project_id=None):
    job = store.create_job(str(uuid.uuid4()), 'build_image', 'default',
                           _job()['spec'], 'log', project_id=project_id)
    return store.transition_job(job['id'], states.RUNNING)


def test_the_end_of_a_job_does_not_wait_for_keystone(conf, cloud):
    controller = service.ControllerService(conf)
    store = controller.store
    job = _running_job(store)
    controller.uploads.target(job['spec'], job)
    cloud.answering.clear()  # Keystone hangs from now on
    try:
        began = time.monotonic()
        assert controller.lifecycle.end(job['id'], states.FAILED,
                                        reason='x') is not None
        assert time.monotonic() - began < 1
        assert store.get_job(job['id'])['state'] == states.FAILED
        assert len(cloud.credentials) == 1 and len(cloud.images) == 1
        cloud.answering.set()
        _wait_for(lambda: not cloud.credentials and not cloud.images)
    finally:
        cloud.answering.set()
        controller.stop()


def test_a_release_that_failed_is_done_by_the_periodic_clean_up(
        conf, cloud):
    conf.set_override('reap_interval', 1, 'controller')
    store = _store(conf)
    targets = uploads.UploadTargets(conf)
    job = _running_job(store)
    targets.target(job['spec'], job)
    cloud.fail_listing = True
    targets.start(store)
    try:
        targets.release_later(store.transition_job(job['id'],
                                                   states.FAILED))
        time.sleep(0.5)
        assert len(cloud.credentials) == 1  # the release failed
        cloud.fail_listing = False
        _wait_for(lambda: not cloud.credentials and not cloud.images)
    finally:
        targets.stop()


def test_an_unknown_jobs_uploaded_image_stays(conf, cloud):
    # The job succeeded, its release failed, retention pruned it: its
    # image is active and stays; an image it never filled goes.
    targets = uploads.UploadTargets(conf)
    job = _job()
    uploaded, unused = (targets.target(job['spec'], job) for _ in range(2))
    cloud.images[uploaded['image_id']].status = 'active'
    targets.releases.clean_up(_store(conf))
    assert cloud.credentials == {}
    assert set(cloud.images) == {uploaded['image_id']}


def test_a_minted_image_is_shared_with_the_jobs_project(conf, cloud):
    targets = uploads.UploadTargets(conf)
    for project_id, visibility, members in (
            ('alpha', 'shared', ['alpha']),
            (None, 'private', []),
            ('controller-project', 'private', [])):
        job = dict(_job(), project_id=project_id)
        image_id = targets.target(job['spec'], job)['image_id']
        targets.releases.release(dict(job, state=states.SUCCEEDED,
                                      image_id=image_id))
        image = cloud.images[image_id]
        assert image.properties['visibility'] == visibility
        assert cloud.members.get(image_id, []) == members


def test_the_cloud_is_asked_with_a_timeout(conf, monkeypatch):
    conf.set_override('cloud', 'farm', 'build_image')
    conf.set_override('api_timeout', 7, 'build_image')
    calls = []
    monkeypatch.setattr(openstack, 'connect',
                        lambda **kwargs: calls.append(kwargs) or FakeCloud())
    uploads.UploadTargets(conf).target({'token': 'caller'}, _job())
    assert calls == [{'cloud': 'farm', 'api_timeout': 7}]
