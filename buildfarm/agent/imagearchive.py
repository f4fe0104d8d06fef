"""Assembling a runnable image with no Docker daemon and no privileges.

The result is a Docker image archive (what ``docker load`` reads): the
layers of a base image, taken from its own archive (``docker save``), plus
one layer holding the compiled application, and an image configuration
saying how to run it. Everything streams through files: neither the base
layers nor the new one are ever held in memory whole.
"""

import datetime
import hashlib
import io
import json
import os
import tarfile
import tempfile

from buildfarm import exception

APP_DIR = 'app'
_CHUNK = 1024 * 1024


class _HashingWriter:
    """A file object that hashes what goes through it."""

    def __init__(self, f):
        self._f = f
        self.sha256 = hashlib.sha256()

    def write(self, data):
        self.sha256.update(data)
        return self._f.write(data)


def _read_base(base):
    """(manifest entry, image config) of a ``docker save`` archive."""
    try:
        manifest = json.load(base.extractfile('manifest.json'))
        entry = manifest[0]
        config = json.load(base.extractfile(entry['Config']))
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise exception.ImageBuildError(
            'The base image archive is not a "docker save" archive: %s' % e)
    return entry, config


def _app_layer(app_dir, dest, uid, gid):
    """Write a layer tar of ``app_dir`` as /app, owned by uid:gid, to
    ``dest``; return its sha256 (the layer's diff id)."""
    with open(dest, 'wb') as f:
        writer = _HashingWriter(f)
        with tarfile.open(fileobj=writer, mode='w|',
                          format=tarfile.PAX_FORMAT) as tar:
            def owned(info):
                info.uid, info.gid = uid, gid
                info.uname = info.gname = ''
                return info
            tar.add(app_dir, arcname=APP_DIR, filter=owned)
    return writer.sha256.hexdigest()


def _image_config(base_config, diff_id, process, env, user, labels):
    config = dict(base_config.get('config') or {})
    config.update(
        Cmd=['/bin/sh', '-c', process], Entrypoint=None,
        WorkingDir='/' + APP_DIR, User=user,
        Env=list(config.get('Env') or []) + [
            '%s=%s' % item for item in sorted(env.items())],
        Labels=dict(config.get('Labels') or {}, **labels))
    if 'PORT' in env:
        config['ExposedPorts'] = {'%s/tcp' % env['PORT']: {}}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    rootfs = base_config['rootfs']
    return dict(
        base_config, created=now, config=config,
        rootfs={'type': 'layers',
                'diff_ids': list(rootfs['diff_ids']) + [
                    'sha256:' + diff_id]},
        history=list(base_config.get('history') or []) + [
            {'created': now, 'created_by': 'buildfarm build_image'}])


def _add_file(out, name, src, size):
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    out.addfile(info, src)


def _add_bytes(out, name, data):
    _add_file(out, name, io.BytesIO(data), len(data))


def assemble(base_archive, app_dir, dest, tag, process, env=None,
             user='1000:1000', labels=None):
    """Write to ``dest`` an image archive: ``base_archive``'s layers plus
    ``app_dir`` as /app, running ``process`` (a shell command) as
    ``user`` with ``env`` added; tagged ``tag``. Returns the image id
    (sha256 of its configuration)."""
    uid, _, gid = user.partition(':')
    with tempfile.TemporaryDirectory(dir=os.path.dirname(dest) or '.') as tmp:
        layer_path = os.path.join(tmp, 'layer.tar')
        diff_id = _app_layer(app_dir, layer_path, int(uid), int(gid or uid))
        with tarfile.open(base_archive) as base, \
                tarfile.open(dest, 'w', format=tarfile.PAX_FORMAT) as out:
            entry, base_config = _read_base(base)
            config = json.dumps(_image_config(
                base_config, diff_id, process, env or {}, user,
                labels or {}), sort_keys=True).encode()
            image_id = hashlib.sha256(config).hexdigest()
            layers = []
            for name in entry['Layers']:
                member = base.getmember(name)
                _add_file(out, name, base.extractfile(member), member.size)
                layers.append(name)
            app_layer = '%s/layer.tar' % diff_id
            with open(layer_path, 'rb') as src:
                _add_file(out, app_layer, src, os.path.getsize(layer_path))
            layers.append(app_layer)
            _add_bytes(out, image_id + '.json', config)
            _add_bytes(out, 'manifest.json', json.dumps([{
                'Config': image_id + '.json', 'RepoTags': [tag],
                'Layers': layers}]).encode())
    return image_id
