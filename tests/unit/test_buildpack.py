"""Language packs: picking one, compiling with lp-python, its release."""

import os
import shutil
import subprocess

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
