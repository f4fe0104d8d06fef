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
import stat
import tarfile
import tempfile

from buildfarm.agent import jobfiles
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


def _find_secret(data, secrets):
    """What ``data`` holds of ``secrets`` ({value: description}), or
    None."""
    for value, what in secrets.items():
        if value in data:
            return what
    return None


class _ScanningReader:
    """Reads a file for the layer and refuses it if it holds a secret,
    also one across two reads."""

    def __init__(self, f, secrets, where):
        self._f, self._where = f, where
        self._secrets = {k.encode(): v for k, v in secrets.items()}
        self._keep = max(map(len, self._secrets), default=1) - 1
        self._tail = b''

    def read(self, size=-1):
        data = self._f.read(size)
        window = self._tail + data
        found = _find_secret(window, self._secrets)
        if found:
            _refuse_secret(found, self._where)
        self._tail = window[len(window) - self._keep:]
        return data

    def close(self):
        self._f.close()


def _refuse_secret(found, where):
    raise exception.ImageBuildError(
        'The image would contain %s (in %s); it was not built.'
        % (found, where))


def _member(path, info, dir_fd, uid, gid, owner, secrets):
    """(TarInfo, file object or None) of one entry of the app."""
    mode = info.st_mode
    name = os.path.basename(path)
    link = os.readlink(name, dir_fd=dir_fd) if stat.S_ISLNK(mode) else ''
    found = _find_secret(path + '\n' + link, secrets)
    if found:
        # Not naming the path: it holds the secret.
        _refuse_secret(found, 'the name or link target of a file of the '
                       'app')
    if not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode) or stat.S_ISREG(mode)):
        raise exception.ImageBuildError(
            '%s is %s; the image takes only files, directories and '
            'symbolic links of the app.' % (path, jobfiles.kind(mode)))
    member = tarfile.TarInfo(path)
    member.uid, member.gid, member.uname, member.gname = uid, gid, '', ''
    member.mode, member.mtime = stat.S_IMODE(mode), info.st_mtime
    if link:
        # Kept as a link: it is never followed.
        member.type, member.linkname = tarfile.SYMTYPE, link
        return member, None
    if stat.S_ISDIR(mode):
        member.type = tarfile.DIRTYPE
        return member, None
    fd, info = jobfiles.open_file(name, dir_fd, owner, shown=path)
    member.size, member.mode = info.st_size, stat.S_IMODE(info.st_mode)
    return member, _ScanningReader(os.fdopen(fd, 'rb'), secrets, path)


def _app_layer(app_dir, dest, uid, gid, owner=None, secrets=None,
               max_bytes=None):
    """Write a layer tar of ``app_dir`` as /app, owned by uid:gid, to
    ``dest``; return its sha256 (the layer's diff id).

    The app is the job's, and the agent may be root: only directories,
    symbolic links (as links) and regular files of ``owner`` go in, read
    with jobfiles; any other entry, a file holding one of ``secrets``
    ({value: description}) or an app larger than ``max_bytes`` is an
    ImageBuildError.
    """
    secrets = secrets or {}
    total = 0
    with open(dest, 'wb') as f:
        writer = _HashingWriter(f)
        with tarfile.open(fileobj=writer, mode='w|',
                          format=tarfile.PAX_FORMAT) as tar:
            for path, info, dir_fd in jobfiles.walk(app_dir, APP_DIR):
                member, content = _member(path, info, dir_fd, uid, gid,
                                          owner, secrets)
                try:
                    total += member.size
                    if max_bytes is not None and total > max_bytes:
                        raise exception.ImageBuildError(
                            'The app is larger than %d MiB, the largest '
                            'image this farm takes ([build_image] '
                            'max_image_size).' % (max_bytes // 2 ** 20))
                    tar.addfile(member, content)
                except OSError as e:
                    raise exception.ImageBuildError(
                        'Cannot read %s into the image (%s): did a process '
                        'of the job still change the app?' % (path, e))
                finally:
                    if content is not None:
                        content.close()
    return writer.sha256.hexdigest()


def _strings(value, where=''):
    """(where, string) of every string in a JSON-like ``value``. A key
    comes before what it holds, so a secret in a key is found before
    ``where`` could name it."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, where)
            yield from _strings(item, '%s.%s' % (where, key)
                                if where else str(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, where)


def _check_strings(document, secrets):
    """Refuse a ``document`` (the image's configuration, tags, names)
    that holds one of ``secrets``."""
    for where, text in _strings(document):
        found = _find_secret(text, secrets)
        if found:
            _refuse_secret(found, where)


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
             user='1000:1000', labels=None, owner=None, secrets=None,
             max_bytes=None):
    """Write to ``dest`` an image archive: ``base_archive``'s layers plus
    ``app_dir`` as /app, running ``process`` (a shell command) as
    ``user`` with ``env`` added; tagged ``tag``. Returns the image id
    (sha256 of its configuration).

    ``owner``: the uid every file of the app must belong to (the job
    user's, when the agent is root). ``secrets``: {value: description};
    if the configuration, the tag or the app layer holds one, nothing is
    written and ImageBuildError says which and where. ``max_bytes``: the
    most the app's files may hold.
    """
    uid, _, gid = user.partition(':')
    secrets = secrets or {}
    _check_strings({'tag': tag, 'command': process, 'env': env,
                    'labels': labels}, secrets)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(dest) or '.') as tmp:
        layer_path = os.path.join(tmp, 'layer.tar')
        diff_id = _app_layer(app_dir, layer_path, int(uid), int(gid or uid),
                             owner, secrets, max_bytes)
        with tarfile.open(base_archive) as base, \
                tarfile.open(dest, 'w', format=tarfile.PAX_FORMAT) as out:
            entry, base_config = _read_base(base)
            image_config = _image_config(
                base_config, diff_id, process, env or {}, user,
                labels or {})
            _check_strings(image_config, secrets)
            config = json.dumps(image_config, sort_keys=True).encode()
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
