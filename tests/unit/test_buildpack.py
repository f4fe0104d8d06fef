"""Language packs: picking one, compiling with lp-python, its release."""

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from buildfarm.agent import buildpack
from buildfarm import exception

ELEMENTS = os.path.join(os.path.dirname(__file__), '..', '..', 'elements')
LP_PYTHON = os.path.abspath(os.path.join(ELEMENTS, 'lp-python'))
LP_NODEJS = os.path.abspath(os.path.join(ELEMENTS, 'lp-nodejs'))


def _packs_of(element):
    return os.path.join(element, 'static', 'opt', 'buildfarm', 'packs')


def _pack(packs_dir, name, detect='exit 1', release='echo "---"'):
    bin_dir = packs_dir / name / 'bin'
    bin_dir.mkdir(parents=True)
    for script, body in (('detect', detect), ('compile', 'true'),
                         ('release', release)):
        (bin_dir / script).write_text('#!/bin/sh\n%s\n' % body)
        os.chmod(bin_dir / script, 0o755)


@pytest.fixture
def packs_dir(tmp_path):
    packs = tmp_path / 'packs'
    packs.mkdir()
    for element, name in ((LP_NODEJS, 'nodejs'), (LP_PYTHON, 'python')):
        os.symlink(os.path.join(_packs_of(element), name), packs / name)
    return packs


@pytest.fixture
def hello_web(tmp_path):
    app = tmp_path / 'app'
    shutil.copytree(os.path.join(LP_PYTHON, 'test-apps', 'hello-web'), app)
    return app


def test_lp_python_detects_compiles_and_releases_its_sample_app(
        tmp_path, packs_dir, hello_web):
    pack, warning = buildpack.select(buildpack.find_packs(str(packs_dir)),
                                     str(hello_web))
    assert (pack.name, warning) == ('python', None)
    cache, env_dir = tmp_path / 'cache', tmp_path / 'env'
    cache.mkdir()
    env_dir.mkdir()
    done = subprocess.run(
        pack.compile_command(str(hello_web), str(cache), str(env_dir)),
        shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '-----> Done' in done.stdout
    assert (hello_web / '.python-packages').is_dir()
    assert buildpack.release(pack, str(hello_web)) == {
        'config_vars': {'PYTHONPATH': '/app/.python-packages'},
        'process_types': {'web': 'python3 app.py'}}


def test_a_failing_requirement_fails_the_compile(tmp_path, packs_dir,
                                                 hello_web):
    (hello_web / 'requirements.txt').write_text('./no-such-directory\n')
    pack, _ = buildpack.select(buildpack.find_packs(str(packs_dir)),
                               str(hello_web))
    done = subprocess.run(pack.compile_command(
        str(hello_web), str(tmp_path / 'cache'), ''), shell=True,
        capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert 'Installing requirements.txt' in done.stdout


def test_a_procfile_wins_over_the_packs_process_types(packs_dir, hello_web):
    (hello_web / 'Procfile').write_text('web: python3 -m http.server $PORT\n'
                                        'worker: python3 work.py\n')
    pack, _ = buildpack.select(buildpack.find_packs(str(packs_dir)),
                               str(hello_web))
    assert buildpack.release(pack, str(hello_web))['process_types'] == {
        'web': 'python3 -m http.server $PORT', 'worker': 'python3 work.py'}


def test_no_match_names_the_packs_tried(tmp_path, packs_dir):
    _pack(packs_dir, 'ruby')
    app = tmp_path / 'empty-app'
    app.mkdir()
    with pytest.raises(exception.ImageBuildError, match=(
            r'No language pack recognises.*nodejs, python, ruby')):
        buildpack.select(buildpack.find_packs(str(packs_dir)), str(app))


def test_an_unknown_named_pack_lists_the_packs_there(packs_dir, hello_web):
    with pytest.raises(exception.ImageBuildError,
                       match=r"No language pack named 'cobol'.*python"):
        buildpack.select(buildpack.find_packs(str(packs_dir)),
                         str(hello_web), wanted='cobol')


def test_several_matches_take_the_first_with_a_warning(packs_dir, hello_web):
    _pack(packs_dir, 'zz-any', detect='echo Any')
    pack, warning = buildpack.select(buildpack.find_packs(str(packs_dir)),
                                     str(hello_web))
    assert pack.name == 'python'
    assert 'python, zz-any' in warning


@pytest.mark.skipif(shutil.which('npm') is None,
                    reason='lp-nodejs needs node and npm on this machine')
def test_lp_nodejs_detects_compiles_and_releases_its_sample_app(
        tmp_path, packs_dir):
    app = tmp_path / 'node-app'
    shutil.copytree(os.path.join(LP_NODEJS, 'test-apps', 'hello-web'), app)
    pack, warning = buildpack.select(buildpack.find_packs(str(packs_dir)),
                                     str(app))
    assert (pack.name, warning) == ('nodejs', None)
    done = subprocess.run(
        pack.compile_command(str(app), str(tmp_path / 'cache'), ''),
        shell=True, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (app / 'package-lock.json').exists()
    assert buildpack.release(pack, str(app)) == {
        'config_vars': {'NODE_ENV': 'production'},
        'process_types': {'web': 'npm start'}}


def test_malformed_release_output_is_a_clear_error(packs_dir, hello_web):
    _pack(packs_dir, 'broken', release='echo "- just: [a list"')
    pack = [p for p in buildpack.find_packs(str(packs_dir))
            if p.name == 'broken'][0]
    with pytest.raises(exception.ImageBuildError, match='malformed YAML'):
        buildpack.release(pack, str(hello_web))


@pytest.fixture
def job_app():
    """(app dir, job user, its python pack): the sample app owned by the
    job user ("nobody" when the tests run as root), in a directory that
    user can reach."""
    top = tempfile.mkdtemp(prefix='bf-unit-app-')
    os.chmod(top, 0o711)
    app = os.path.join(top, 'app')
    shutil.copytree(os.path.join(LP_PYTHON, 'test-apps', 'hello-web'), app)
    user = pwd.getpwnam('nobody') if os.geteuid() == 0 else None
    if user is not None:
        for root, dirs, files in os.walk(app):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, user.pw_uid, user.pw_gid)
    pack = buildpack.Pack('python', os.path.join(_packs_of(LP_PYTHON),
                                                 'python'))
    yield app, user, pack
    shutil.rmtree(top)


def _write_as(user, path, text):
    with open(path, 'w') as f:
        f.write(text)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _release_within(seconds, pack, app, user):
    """buildpack.release, which must return (or raise) in time."""
    result = {}

    def release():
        try:
            result['value'] = buildpack.release(pack, app, user)
        except Exception as e:
            result['error'] = e

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), 'release() still blocked'
    if 'error' in result:
        raise result['error']
    return result['value']


def test_the_procfile_is_read_for_the_job_user(job_app):
    app, user, pack = job_app
    _write_as(user, os.path.join(app, 'Procfile'), 'web: ./serve\n')
    assert _release_within(30, pack, app, user)['process_types'] == {
        'web': './serve'}


@pytest.fixture
def root_only_file(tmp_path):
    path = tmp_path / 'agent.conf'
    path.write_text('[agent]\nnode_secret = root-only-secret\n')
    os.chmod(path, 0o600)
    return str(path)


@pytest.mark.parametrize('target', ['root-only', '/dev/zero'])
def test_a_procfile_that_is_a_symlink_is_refused(job_app, root_only_file,
                                                 target):
    app, user, pack = job_app
    os.symlink(root_only_file if target == 'root-only' else target,
               os.path.join(app, 'Procfile'))
    with pytest.raises(exception.ImageBuildError,
                       match="The app's Procfile is a symbolic link") as e:
        _release_within(30, pack, app, user)
    assert 'root-only-secret' not in str(e.value)


def test_a_procfile_that_is_a_fifo_is_refused_without_blocking(job_app):
    app, user, pack = job_app
    os.mkfifo(os.path.join(app, 'Procfile'))
    with pytest.raises(exception.ImageBuildError,
                       match="The app's Procfile is a FIFO"):
        _release_within(30, pack, app, user)


def test_an_oversized_procfile_is_refused(job_app):
    app, user, pack = job_app
    _write_as(user, os.path.join(app, 'Procfile'),
              'web: x\n' + '#' * buildpack.PROCFILE_LIMIT)
    with pytest.raises(exception.ImageBuildError,
                       match="The app's Procfile is larger than 64 KiB"):
        _release_within(30, pack, app, user)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs a file of another uid')
def test_a_procfile_hard_linked_to_a_file_of_the_node_is_refused(
        job_app, root_only_file):
    app, user, pack = job_app
    os.link(root_only_file, os.path.join(app, 'Procfile'))
    with pytest.raises(exception.ImageBuildError, match=(
            "The app's Procfile belongs to uid 0, not to the job user")):
        _release_within(30, pack, app, user)


def test_a_release_step_that_floods_its_output_is_stopped(packs_dir,
                                                          hello_web):
    _pack(packs_dir, 'flood', release='yes "a: b"')
    pack = [p for p in buildpack.find_packs(str(packs_dir))
            if p.name == 'flood'][0]
    with pytest.raises(exception.ImageBuildError, match=(
            "The flood pack's release step printed more than 1024 KiB")):
        _release_within(30, pack, str(hello_web), None)


def test_a_detect_step_that_hangs_is_stopped(packs_dir, hello_web,
                                             monkeypatch):
    monkeypatch.setattr(buildpack, '_STEP_TIMEOUT', 1)
    _pack(packs_dir, 'aaa-hangs', detect='sleep 60 & sleep 60')
    start = time.monotonic()
    with pytest.raises(exception.ImageBuildError, match=(
            "The aaa-hangs pack's detect step ran longer than 1 s")):
        buildpack.select(buildpack.find_packs(str(packs_dir)),
                         str(hello_web))
    assert time.monotonic() - start < 10
