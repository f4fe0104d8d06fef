import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from buildfarm.agent import build
from buildfarm.agent import process
from buildfarm.agent import runner
from buildfarm import jobspec
from buildfarm import objects
from buildfarm import states
from tests.unit import conftest
from tests.unit import test_imagearchive


@pytest.mark.parametrize('name,commit,tag', [
    ('My App', 'a' * 40, 'my-app:' + 'a' * 12),
    ('org/app_v2.1', None, 'org/app_v2.1:latest'),
    ('--', 'abc', 'app:abc'),
])
def test_docker_tags_are_valid_references(name, commit, tag):
    assert build.docker_tag(name, commit) == tag


@pytest.mark.parametrize('how,code,state,reason', [
    (process.CANCELLED, 143, states.CANCELLED,
     'Cancelled while the compile step ran; all its processes were '
     'stopped.'),
    (process.TIMED_OUT, 137, states.TIMED_OUT,
     "The compile step ran longer than the job's timeout of 9 s; all its "
     "processes were stopped."),
    (process.EXITED, 2, states.FAILED, 'The compile step exited with '
     'status 2.'),
])
def test_outcomes_name_what_ran(how, code, state, reason):
    report = runner.Outcome(how, code, 1.0, False, False).report(
        objects.Report(), 'The compile step', 9)
    assert (report.state, report.reason) == (state, reason)
    assert report.exit_code == code


@pytest.fixture
def node(conf):
    """A node's directories, reachable by the job user: a workspace, a
    pack that runs the app's build.sh, a runtime image archive."""
    top = tempfile.mkdtemp(prefix='bf-unit-build-')
    os.chmod(top, 0o711)
    bin_dir = os.path.join(top, 'packs', 'script', 'bin')
    os.makedirs(bin_dir)
    for name, body in (('detect', 'exit 0'),
                       ('compile', 'sh "$1/build.sh" "$@"'),
                       ('release', '[ -f "$1/release.sh" ] && exec sh '
                                   '"$1/release.sh" "$@"; echo "---"')):
        with open(os.path.join(bin_dir, name), 'w') as f:
            f.write('#!/bin/sh\n%s\n' % body)
        os.chmod(os.path.join(bin_dir, name), 0o755)
    layer = test_imagearchive.tar_bytes({'bin/sh': b'x'})
    config = {'config': {}, 'rootfs': {'type': 'layers', 'diff_ids': [
        'sha256:' + hashlib.sha256(layer).hexdigest()]}}
    manifest = [{'Config': 'c.json', 'Layers': ['l/layer.tar']}]
    with open(os.path.join(top, 'runtime.tar'), 'wb') as f:
        f.write(test_imagearchive.tar_bytes({
            'l/layer.tar': layer, 'c.json': json.dumps(config).encode(),
            'manifest.json': json.dumps(manifest).encode()}))
    for name, value in (('workspace', os.path.join(top, 'ws')),
                        ('packs_dir', os.path.join(top, 'packs')),
                        ('runtime_archive', os.path.join(top, 'runtime.tar'))):
        conf.set_override(name, value, 'agent')
    if os.geteuid() == 0:
        conf.set_override('job_user', 'nobody', 'agent')
    os.makedirs(conf.agent.workspace)
    yield conf
    shutil.rmtree(top)


def _build(conf, tmp_path, files, secret_env):
    """Commit ``files`` (a value starting with "->" is a symlink) and build
    them; return (report, log)."""
    repo = tmp_path / 'repo'
    repo.mkdir()
    for name, data in files.items():
        if data.startswith('->'):
            os.symlink(data[2:], repo / name)
        else:
            (repo / name).write_text(data)
    env = {'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.com',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.com',
           'PATH': '/usr/bin:/bin'}
    for args in (['init', '-q', '-b', 'main'], ['add', '-A'],
                 ['commit', '-qm', 'app']):
        subprocess.run(['git', *args], cwd=repo, env=env, check=True)
    spec = jobspec.validate_build_image({
        'git_url': 'file://%s' % repo, 'image_name': 'app',
        'secret_env': secret_env})
    message = objects.JobMessage('b1', objects.BUILD_IMAGE, spec, {
        'endpoint': 'http://127.0.0.1:9', 'token': 'upload-token-0123456789',
        'max_bytes': 10 ** 8, 'port': 8080})
    return conftest.run_job(build.BuildImageRunner, conf, message)


def test_a_procfile_linked_to_the_agents_config_ends_the_build(
        node, tmp_path):
    config = tmp_path / 'agent.conf'
    config.write_text('node_secret = root-only-node-secret\n')
    os.chmod(config, 0o600)
    report, log = _build(node, tmp_path, {
        'build.sh': 'true\n', 'Procfile': '->%s' % config}, {})
    assert report.state == states.ERROR
    assert report.reason.startswith(
        "The app's Procfile is a symbolic link; the agent reads only "
        "regular files")
    assert report.reason in log
    assert 'root-only-node-secret' not in log


def test_a_build_that_copies_its_env_dir_into_the_app_is_refused(
        node, tmp_path):
    report, log = _build(node, tmp_path, {
        'build.sh': 'cp "$3/API_KEY" "$1/key.txt"\n',
        'Procfile': 'web: ./serve\n'}, {'API_KEY': 'sk-build-secret-42'})
    assert report.state == states.ERROR
    assert report.reason == (
        'The image would contain the value of secret_env API_KEY (in '
        'app/key.txt); it was not built.')
    assert 'sk-build-secret-42' not in log
    assert report.image_id is None


def test_a_reason_quoting_the_packs_output_is_masked(node, tmp_path):
    report, log = _build(node, tmp_path, {
        'build.sh': 'true\n',
        'release.sh': 'echo "cannot use $(cat "$1/key")" >&2; exit 1\n',
        'key': 'sk-build-secret-42'}, {'API_KEY': 'sk-build-secret-42'})
    assert report.state == states.ERROR
    assert report.reason == ("The script pack's release step failed (exit "
                             "status 1): cannot use ***")
