"""Hostile jobs against the agent on real Docker nodes: what the job
controls (its Procfile, its build, its checkout) never makes the agent
leak the node's secrets, hang, bake a secret into an image or hand the
job its own git credentials.

The agent code under test runs in the worker image (BUILDFARM_TEST_IMAGE,
by default buildfarm-worker:latest, which tools/setup-test-env.sh builds
from the tree). To test a change to the agent before that, build an image
of your tree under tags of your own and point the tests at it:

    buildfarm image build --format docker --source . \
        --tag buildfarm-worker:mine --runtime-tag buildfarm-runtime:mine
    BUILDFARM_TEST_IMAGE=buildfarm-worker:mine pytest tests/functional/...
"""

import json
import os
import pathlib
import time
import urllib.parse
import urllib.request
import uuid

import pytest

from buildfarm.common import auth
from buildfarm import states
from tests.functional import conftest
from tests import githttp

TOP = os.path.join(os.path.dirname(__file__), '..', '..')
NODE_APP = os.path.join(TOP, 'elements', 'lp-nodejs', 'test-apps',
                        'hello-web')
# A refused build ends well within this; a hung agent never would.
BOUNDED = 180


def _node_secrets(farm, job):
    """What the node's root-only agent.conf holds that the job must never
    see: the node secret and the broker password."""
    password = urllib.parse.urlsplit(farm.conf.transport_url).password
    return [auth.node_secret(conftest.NODE_KEY, job['node_id']), password]


def _stored(farm):
    """Everything the controller keeps: its database and its logs."""
    data = b''
    db = farm.conf.database.connection.replace('sqlite:///', '')
    paths = [db] + [os.path.join(root, name) for root, _, names in
                    os.walk(farm.conf.controller.log_dir) for name in names]
    for path in paths:
        with open(path, 'rb') as f:
            data += f.read()
    return data


def _hostile_app(git_server, procfile=None, postinstall=None):
    """Serve the Node.js sample app with a Procfile that is a symbolic
    link to ``procfile``, or a postinstall script npm runs in the build;
    return its URL. (conftest.serve_dir would copy what a link points
    to.)"""
    name = 'hostile-%s' % uuid.uuid4().hex[:6]
    app = pathlib.Path(os.path.dirname(git_server['path'])) / name
    app.mkdir()
    for source in ('server.js', 'package.json'):
        with open(os.path.join(NODE_APP, source)) as f:
            (app / source).write_text(f.read())
    if procfile:
        os.symlink(procfile, app / 'Procfile')
    if postinstall:
        package = json.loads((app / 'package.json').read_text())
        package['scripts']['postinstall'] = postinstall
        (app / 'package.json').write_text(json.dumps(package))
    conftest.git(app, 'init', '-q', '-b', 'main')
    conftest.git(app, 'add', '-A')
    conftest.git(app, 'commit', '-qm', 'hostile app')
    return 'git://127.0.0.1:%d/%s' % (git_server['port'], name)


@pytest.mark.parametrize('procfile,postinstall,reason', [
    ('/etc/buildfarm-agent/agent.conf', None,
     "The app's Procfile is a symbolic link; the agent reads only regular "
     "files of the app"),
    ('/dev/zero', None, "The app's Procfile is a symbolic link"),
    (None, 'rm -f Procfile && mkfifo Procfile',
     "The app's Procfile is a FIFO; the agent reads only regular files"),
], ids=['agent-conf', 'dev-zero', 'fifo'])
def test_a_hostile_procfile_ends_the_build_with_a_reason_and_leaks_nothing(
        clean_farm, git_server, glance, procfile, postinstall, reason):
    url = _hostile_app(git_server, procfile, postinstall)
    name = 'bf-test-hostile-%s' % uuid.uuid4().hex[:8]
    start = time.monotonic()
    job = clean_farm.api.build_image({'git_url': url, 'image_name': name})
    job = clean_farm.wait(job['id'], timeout=BOUNDED)
    assert time.monotonic() - start < BOUNDED
    assert job['state'] == states.ERROR, job['reason']
    assert job['reason'].startswith(reason)
    assert job['image_id'] is None
    assert list(glance.image.images(name=name)) == []
    log = clean_farm.log(job['id'])
    assert reason in log
    assert 'node_secret' not in log and 'transport_url' not in log
    stored = _stored(clean_farm)
    for leaked in _node_secrets(clean_farm, job):
        assert leaked not in log
        assert leaked.encode() not in stored


def test_a_build_that_writes_its_secret_into_the_app_makes_no_image(
        clean_farm, git_server, glance):
    secret = 'sk-hostile-%s' % uuid.uuid4().hex
    # The nodejs pack exports ENV_DIR's variables to the build.
    url = _hostile_app(git_server, postinstall='echo "$API_KEY" > key.txt')
    name = 'bf-test-hostile-%s' % uuid.uuid4().hex[:8]
    job = clean_farm.api.build_image({'git_url': url, 'image_name': name,
                                      'secret_env': {'API_KEY': secret}})
    job = clean_farm.wait(job['id'], timeout=BOUNDED)
    assert job['state'] == states.ERROR, job['reason']
    assert job['reason'] == (
        'The image would contain the value of secret_env API_KEY (in '
        'app/key.txt); it was not built.')
    assert job['image_id'] is None
    assert list(glance.image.images(name=name)) == []
    assert secret not in clean_farm.log(job['id'])
    assert secret.encode() not in _stored(clean_farm)


def test_the_job_cannot_find_its_git_credentials(clean_farm, git_server):
    password = 'pw-%s' % uuid.uuid4().hex
    root = os.path.dirname(git_server['path'])
    with githttp.GitHttpServer(root, 'ci', password) as server:
        url = 'http://ci:%s@127.0.0.1:%d/project' % (password, server.port)
        job = clean_farm.run(git_url=url, cmd=(
            'cat .git/config; git config --get remote.origin.url; '
            'grep -rq %s .git && echo FO""UND; '
            'grep -rqs %s /proc/[0-9]*/environ && echo IN""_ENVIRON; '
            'env; echo probe-done' % (password, password)))
    assert job['state'] == states.SUCCEEDED, job['reason']
    assert job['commit'] == git_server['head']
    # The server saw the credentials: they reached git.
    assert server.requests
    assert {a for _, a in server.requests} == {server.authorization}
    log = clean_farm.log(job['id'])
    assert 'probe-done' in log
    assert 'url = http://127.0.0.1:%d/project' % server.port in log
    assert 'FOUND' not in log and 'IN_ENVIRON' not in log
    header = server.authorization.split()[1]
    assert password not in log and header not in log
    stored = _stored(clean_farm)
    assert password.encode() not in stored and header.encode() not in stored
