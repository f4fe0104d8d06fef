"""Image archives assembled without Docker: their structure."""

import hashlib
import io
import json
import tarfile

import pytest

from buildfarm.agent import imagearchive
from buildfarm import exception


def _tar_bytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def base_archive(tmp_path):
    layer = _tar_bytes({'bin/sh': b'not really a shell'})
    config = json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'Env': ['PATH=/usr/bin:/bin'], 'Labels': {'base': 'yes'}},
        'rootfs': {'type': 'layers', 'diff_ids': [
            'sha256:' + hashlib.sha256(layer).hexdigest()]}}).encode()
    path = tmp_path / 'base.tar'
    path.write_bytes(_tar_bytes({
        'l1/layer.tar': layer, 'cfg.json': config,
        'manifest.json': json.dumps([{'Config': 'cfg.json',
                                      'RepoTags': ['base:1'],
                                      'Layers': ['l1/layer.tar']}]).encode(),
    }))
    return str(path)


def test_the_app_becomes_one_more_layer_run_as_the_given_user(
        tmp_path, base_archive):
    app = tmp_path / 'app'
    app.mkdir()
    (app / 'web.py').write_text('print("hi")\n')
    dest = str(tmp_path / 'image.tar')
    image_id = imagearchive.assemble(
        base_archive, str(app), dest, 'myapp:1', 'python3 web.py',
        env={'PORT': '8080'}, labels={'org.buildfarm.commit': 'abc'})
    with tarfile.open(dest) as out:
        manifest = json.load(out.extractfile('manifest.json'))[0]
        config_bytes = out.extractfile(manifest['Config']).read()
        layer = out.extractfile(manifest['Layers'][-1]).read()
        assert (manifest['RepoTags'], len(manifest['Layers'])) == (
            ['myapp:1'], 2)
        assert out.extractfile(manifest['Layers'][0]).read() == _tar_bytes(
            {'bin/sh': b'not really a shell'})
    assert hashlib.sha256(config_bytes).hexdigest() == image_id
    config = json.loads(config_bytes)
    assert config['rootfs']['diff_ids'][-1] == (
        'sha256:' + hashlib.sha256(layer).hexdigest())
    assert len(config['rootfs']['diff_ids']) == 2
    run = config['config']
    assert run['Cmd'] == ['/bin/sh', '-c', 'python3 web.py']
    assert (run['User'], run['WorkingDir']) == ('1000:1000', '/app')
    assert run['Env'] == ['PATH=/usr/bin:/bin', 'PORT=8080']
    assert run['Labels'] == {'base': 'yes', 'org.buildfarm.commit': 'abc'}
    assert run['ExposedPorts'] == {'8080/tcp': {}}
    with tarfile.open(fileobj=io.BytesIO(layer)) as app_layer:
        member = app_layer.getmember('app/web.py')
        assert (member.uid, member.gid) == (1000, 1000)
        assert app_layer.extractfile(member).read() == b'print("hi")\n'


def test_a_base_that_is_not_an_image_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / 'bad.tar'
    bad.write_bytes(_tar_bytes({'hello.txt': b'hi'}))
    (tmp_path / 'app').mkdir()
    with pytest.raises(exception.ImageBuildError, match='not a "docker save"'):
        imagearchive.assemble(str(bad), str(tmp_path / 'app'),
                              str(tmp_path / 'out.tar'), 'x:1', 'true')
