"""Image archives assembled without Docker: their structure."""

import hashlib
import io
import json
import os
import tarfile

import pytest

from buildfarm.agent import imagearchive
from buildfarm import exception


def tar_bytes(files):
    """A tar archive of {name: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def base_archive(tmp_path):
    layer = tar_bytes({'bin/sh': b'not really a shell'})
    config = json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'Env': ['PATH=/usr/bin:/bin'], 'Labels': {'base': 'yes'}},
        'rootfs': {'type': 'layers', 'diff_ids': [
            'sha256:' + hashlib.sha256(layer).hexdigest()]}}).encode()
    path = tmp_path / 'base.tar'
    path.write_bytes(tar_bytes({
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
        assert out.extractfile(manifest['Layers'][0]).read() == tar_bytes(
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
    bad.write_bytes(tar_bytes({'hello.txt': b'hi'}))
    (tmp_path / 'app').mkdir()
    with pytest.raises(exception.ImageBuildError, match='not a "docker save"'):
        imagearchive.assemble(str(bad), str(tmp_path / 'app'),
                              str(tmp_path / 'out.tar'), 'x:1', 'true')


def _app(tmp_path, files):
    app = tmp_path / 'app'
    app.mkdir()
    for name, data in files.items():
        (app / name).write_bytes(data)
    return app


def _layer_names(dest):
    with tarfile.open(dest) as out:
        manifest = json.load(out.extractfile('manifest.json'))[0]
        layer = out.extractfile(manifest['Layers'][-1]).read()
    with tarfile.open(fileobj=io.BytesIO(layer)) as app_layer:
        return {m.name: m for m in app_layer.getmembers()}, layer


def test_a_symlink_out_of_the_app_stays_a_link(tmp_path, base_archive):
    outside = tmp_path / 'agent.conf'
    outside.write_text('node_secret = root-only-secret\n')
    os.chmod(outside, 0o600)
    app = _app(tmp_path, {'web.py': b'print(1)\n'})
    os.symlink(outside, app / 'Procfile')
    os.symlink('/etc', app / 'etc')
    dest = str(tmp_path / 'image.tar')
    imagearchive.assemble(base_archive, str(app), dest, 'a:1', 'true')
    members, layer = _layer_names(dest)
    assert members['app/Procfile'].issym()
    assert members['app/Procfile'].linkname == str(outside)
    assert members['app/etc'].issym()
    assert 'app/etc/passwd' not in members
    assert b'root-only-secret' not in layer


@pytest.mark.skipif(os.geteuid() != 0, reason='needs a file of another uid')
def test_a_hard_link_to_a_file_of_the_node_is_refused(tmp_path,
                                                      base_archive):
    outside = tmp_path / 'agent.conf'
    outside.write_text('node_secret = root-only-secret\n')
    app = _app(tmp_path, {})
    os.link(outside, app / 'config')
    dest = tmp_path / 'image.tar'
    with pytest.raises(exception.ImageBuildError, match=(
            'app/config belongs to uid 0, not to the job user')):
        imagearchive.assemble(base_archive, str(app), str(dest), 'a:1',
                              'true', owner=65534)
    assert not dest.exists()


def test_a_fifo_in_the_app_is_refused_without_blocking(tmp_path,
                                                       base_archive):
    app = _app(tmp_path, {'web.py': b'print(1)\n'})
    os.mkfifo(app / 'pipe')
    with pytest.raises(exception.ImageBuildError,
                       match='app/pipe is a FIFO; the image takes only'):
        imagearchive.assemble(base_archive, str(app),
                              str(tmp_path / 'image.tar'), 'a:1', 'true')


SECRET = 'sk-live-0123456789abcdef'
SECRETS = {SECRET: 'the value of secret_env API_KEY'}


def test_a_secret_in_a_file_of_the_app_is_refused(tmp_path, base_archive):
    # Across the boundary of two reads of the file.
    data = b'x' * (16 * 1024 - 5) + SECRET.encode() + b'\n'
    app = _app(tmp_path, {'a.py': b'ok\n', 'settings.py': data})
    dest = tmp_path / 'image.tar'
    with pytest.raises(exception.ImageBuildError) as e:
        imagearchive.assemble(base_archive, str(app), str(dest), 'a:1',
                              'true', secrets=SECRETS)
    assert str(e.value) == ('The image would contain the value of '
                            'secret_env API_KEY (in app/settings.py); it '
                            'was not built.')
    assert not dest.exists()


@pytest.mark.parametrize('kind', ['file', 'fifo', 'link'])
def test_a_secret_in_a_file_name_is_refused_without_naming_it(
        tmp_path, base_archive, kind):
    app = _app(tmp_path, {'key-%s' % SECRET: b'x'} if kind == 'file' else {})
    if kind == 'fifo':
        os.mkfifo(app / ('key-%s' % SECRET))
    elif kind == 'link':
        os.symlink('/run/%s' % SECRET, app / 'key')
    with pytest.raises(exception.ImageBuildError) as e:
        imagearchive.assemble(base_archive, str(app),
                              str(tmp_path / 'image.tar'), 'a:1', 'true',
                              secrets=SECRETS)
    assert 'the value of secret_env API_KEY' in str(e.value)
    assert SECRET not in str(e.value)


@pytest.mark.parametrize('where,kwargs', [
    ('command', {'process': 'run --key=%s' % SECRET}),
    ('env.KEY', {'env': {'KEY': SECRET}}),
    ('env', {'env': {SECRET: 'value'}}),
    ('labels.source', {'labels': {'source': 'https://u:%s@h/r' % SECRET}}),
    ('tag', {'tag': 'app:%s' % SECRET}),
])
def test_a_secret_in_the_image_configuration_is_refused(
        tmp_path, base_archive, where, kwargs):
    app = _app(tmp_path, {'web.py': b'print(1)\n'})
    args = dict({'tag': 'a:1', 'process': 'true'}, **kwargs)
    dest = tmp_path / 'image.tar'
    with pytest.raises(exception.ImageBuildError) as e:
        imagearchive.assemble(base_archive, str(app), str(dest),
                              args.pop('tag'), args.pop('process'),
                              secrets=SECRETS, **args)
    assert str(e.value) == ('The image would contain the value of '
                            'secret_env API_KEY (in %s); it was not '
                            'built.' % where)
    assert not dest.exists()


def test_an_app_over_the_size_limit_is_refused(tmp_path, base_archive):
    app = _app(tmp_path, {'big': b'x' * (2 * 2 ** 20)})
    with pytest.raises(exception.ImageBuildError,
                       match='The app is larger than 1 MiB'):
        imagearchive.assemble(base_archive, str(app),
                              str(tmp_path / 'image.tar'), 'a:1', 'true',
                              max_bytes=2 ** 20)
