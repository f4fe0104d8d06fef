"""build_image on real Docker nodes, uploading to a real Glance."""

import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid

import openstack
import pytest

from buildfarm import states
from tests.functional import conftest

TOP = os.path.join(os.path.dirname(__file__), '..', '..')
ELEMENTS = os.path.join(TOP, 'elements')
TOOLS = os.path.join(TOP, 'tools')


CAPPED_GLANCE_URL = 'http://127.0.0.1:%d' % conftest.free_port()


@pytest.fixture(scope='module')
def capped_glance():
    """A second real Glance, which refuses images over 100 MiB."""
    port = CAPPED_GLANCE_URL.rsplit(':', 1)[1]
    env = dict(os.environ, BUILDFARM_GLANCE_PORT=port,
               BUILDFARM_GLANCE_SIZE_CAP=str(100 * 2 ** 20))
    subprocess.run([os.path.join(TOOLS, 'start-glance.sh')], env=env,
                   check=True, capture_output=True, timeout=300)
    yield openstack.connect(auth_type='none',
                            image_endpoint_override=CAPPED_GLANCE_URL)
    root = os.environ.get('BUILDFARM_GLANCE_ROOT', '/tmp/buildfarm-glance')
    with open(os.path.join(root, 'state-%s' % port, 'glance.pid')) as f:
        os.kill(int(f.read()), signal.SIGTERM)


def _sample_app(git_server, pack):
    app = os.path.join(ELEMENTS, 'lp-' + pack, 'test-apps', 'hello-web')
    with open(os.path.join(app, 'expect.json')) as f:
        expect = json.load(f)['expect']
    url, commit = conftest.serve_dir(
        git_server, '%s-%s' % (pack, uuid.uuid4().hex[:6]), app)
    return url, commit, expect


def _sha512(path):
    digest = hashlib.sha512()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _http_get(url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _run_from_glance(glance, docker_client, image_id, tmp_path):
    """Download the image, docker load it, run it; return the web
    process's answer."""
    archive = tmp_path / 'image.tar'
    glance.image.download_image(image_id, output=str(archive), stream=True)
    image = glance.image.get_image(image_id)
    assert _sha512(archive) == image.hash_value
    with open(archive, 'rb') as f:
        loaded, = docker_client.images.load(f)
    port = conftest.free_port()
    container = docker_client.containers.run(
        loaded.id, detach=True, network_mode='host',
        environment={'PORT': str(port)})
    try:
        return _http_get('http://127.0.0.1:%d/' % port)
    finally:
        container.remove(force=True)
        docker_client.images.remove(loaded.id, force=True)


@pytest.mark.parametrize('pack', ['python', 'nodejs'])
def test_a_sample_app_is_built_uploaded_and_answers(
        pack, clean_farm, git_server, glance, docker_client, tmp_path):
    url, commit, expect = _sample_app(git_server, pack)
    name = 'bf-test-%s-%s' % (pack, uuid.uuid4().hex[:6])
    job = clean_farm.api.build_image({'git_url': url, 'image_name': name})
    job = clean_farm.wait(job['id'], timeout=300)
    assert job['state'] == states.SUCCEEDED, job['reason']
    assert job['kind'] == 'build_image'
    assert job['commit'] == commit
    assert {'clone', 'compile', 'assemble', 'upload'} <= set(job['timings'])
    image = glance.image.get_image(job['image_id'])
    try:
        assert (image.name, image.status) == (name, 'active')
        assert (image.disk_format, image.container_format) == ('raw',
                                                               'docker')
        assert image.properties['commit_sha'] == commit
        assert image.properties['build_id'] == job['id']
        assert image.properties['source_url'] == url
        assert image.properties['language_pack'] == pack
        assert image.properties['language_pack_version'] == '1.0.0'
        log = clean_farm.log(job['id'])
        assert 'language pack %s 1.0.0' % pack in log
        assert 'uploaded 100%' in log
        answer = _run_from_glance(glance, docker_client, image.id, tmp_path)
        assert expect in answer
    finally:
        glance.image.delete_image(image.id)


def _build(farm, git_server, source_dir, **spec):
    url, _ = conftest.serve_dir(git_server, 'app-%s' % uuid.uuid4().hex[:6],
                                source_dir)
    spec = dict({'git_url': url, 'image_name': 'bf-test-bad'}, **spec)
    job = farm.api.build_image(spec)
    return farm.wait(job['id'], timeout=300)


def test_no_pack_recognises_the_app(clean_farm, git_server, tmp_path):
    (tmp_path / 'README').write_text('not an app\n')
    job = _build(clean_farm, git_server, tmp_path)
    assert job['state'] == states.ERROR
    assert job['reason'].startswith('No language pack recognises this app')
    assert 'nodejs' in job['reason'] and 'python' in job['reason']
    assert job['image_id'] is None


def test_a_named_pack_that_does_not_exist(clean_farm, git_server, tmp_path):
    (tmp_path / 'app.py').write_text('print(1)\n')
    job = _build(clean_farm, git_server, tmp_path, language_pack='cobol')
    assert job['state'] == states.ERROR
    assert job['reason'].startswith("No language pack named 'cobol'")


def test_a_failing_compile_keeps_its_log(clean_farm, git_server, tmp_path):
    (tmp_path / 'package.json').write_text('{"name": broken')
    job = _build(clean_farm, git_server, tmp_path)
    assert job['state'] == states.FAILED
    assert job['reason'].startswith("The nodejs pack's compile step exited "
                                    "with status")
    assert 'npm install' in clean_farm.log(job['id'])


@pytest.mark.parametrize('overrides,reason', [
    ({('build_image', 'image_endpoint'): 'http://127.0.0.1:%d'
      % conftest.free_port(), ('build_image', 'upload_attempts'): 2},
     'Could not upload the image to Glance at http://127.0.0.1:'),
    ({('build_image', 'image_endpoint'): CAPPED_GLANCE_URL},
     'Glance at %s rejected the image: HttpException: 413'
     % CAPPED_GLANCE_URL),
    ({('build_image', 'max_image_size'): 1},
     'over the limit of 1 MiB ([build_image] max_image_size); it was not '
     'uploaded.'),
], ids=['glance-unreachable', 'glance-rejects', 'size-limit'])
def test_upload_faults_end_the_job_with_a_reason_and_leave_no_image(
        overrides, reason, tmp_path, make_vhost, docker_client, git_server,
        glance, capped_glance):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-test-%s' % uuid.uuid4().hex[:8],
        overrides)
    farm = conftest.Farm(conf, docker_client)
    # Unique: other tests may use the same Glance meanwhile.
    name = 'bf-test-fault-%s' % uuid.uuid4().hex[:8]
    try:
        url, _, _ = _sample_app(git_server, 'python')
        job = farm.api.build_image({'git_url': url, 'image_name': name})
        job = farm.wait(job['id'], timeout=300)
        assert job['state'] == states.ERROR
        assert reason in job['reason']
        assert job['image_id'] is None
        assert list(glance.image.images(name=name)) == []
        assert list(capped_glance.image.images(name=name)) == []
        farm.assert_no_container_left()
    finally:
        farm.stop()


def test_the_callers_token_is_used_and_never_kept(clean_farm, git_server,
                                                  glance, docker_client):
    token = 'tok-%s' % uuid.uuid4().hex
    url, _, _ = _sample_app(git_server, 'python')
    job = clean_farm.api.build_image({'git_url': url, 'token': token,
                                      'image_name': 'bf-test-token'})
    job = clean_farm.wait(job['id'], timeout=300)
    try:
        assert job['state'] == states.SUCCEEDED, job['reason']
        assert job['spec']['token'] == '***'
        assert token not in clean_farm.log(job['id'])
        db = clean_farm.conf.database.connection.replace('sqlite:///', '')
        with open(db, 'rb') as f:
            assert token.encode() not in f.read()
        image = glance.image.get_image(job['image_id'])
        assert token not in json.dumps(image.to_dict())
    finally:
        glance.image.delete_image(job['image_id'])
