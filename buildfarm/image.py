"""Building worker images."""

import os
import shutil
import subprocess
import sys
import tempfile

import docker
from docker import errors as docker_errors
import yaml

from buildfarm import exception

DOCKERFILE = os.path.join('dockerfiles', 'worker', 'Dockerfile')


def source_tree():
    """The buildfarm source tree this package was installed from."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isfile(os.path.join(top, DOCKERFILE)):
        raise exception.ImageBuildError(
            'No buildfarm source tree found next to %s; run the build from '
            'a checkout installed with "pip install -e" or pass --source.'
            % top)
    return top


def _wheels(source, dest, progress):
    progress('building wheels of buildfarm and its dependencies')
    cmd = [sys.executable, '-m', 'pip', 'wheel', '--quiet',
           '--wheel-dir', dest, source]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise exception.ImageBuildError(
            'pip wheel failed: %s' % result.stderr.strip()[-2000:])


def _language_packs(source, dest):
    """Copy each language pack element's static files into ``dest`` (as
    install-static would) and return the packages they install, so that
    the container image gets them from the same elements as VM images."""
    packages = set()
    elements = os.path.join(source, 'elements')
    for name in sorted(os.listdir(elements)):
        element = os.path.join(elements, name)
        if not name.startswith('lp-') or not os.path.isdir(element):
            continue
        static = os.path.join(element, 'static')
        if os.path.isdir(static):
            shutil.copytree(static, dest, dirs_exist_ok=True, symlinks=True)
        installs = os.path.join(element, 'package-installs.yaml')
        if os.path.exists(installs):
            with open(installs) as f:
                packages.update((yaml.safe_load(f) or {}).keys())
    os.makedirs(dest, exist_ok=True)
    return sorted(packages)


def _build(client, ctx, tag, target, buildargs, progress):
    image_id = None
    try:
        for event in client.api.build(
                path=ctx, tag=tag, target=target, rm=True, forcerm=True,
                decode=True, buildargs=buildargs):
            if 'stream' in event and event['stream'].strip():
                progress(event['stream'].rstrip())
            if 'error' in event:
                raise exception.ImageBuildError(
                    'docker build failed: %s' % event['error'].strip())
            if 'aux' in event:
                image_id = event['aux'].get('ID')
    except docker_errors.DockerException as e:
        raise exception.ImageBuildError('docker build failed: %s' % e)
    return image_id or client.images.get(tag).id


def build_docker(tag, base_image, runtime_tag, source=None, progress=print,
                 base_url=None):
    """Build the runtime image (``runtime_tag``), then the container
    worker image (``tag``) on it; return the worker image's id.

    ``progress`` receives one line at a time.
    """
    source = source or source_tree()
    client = docker.DockerClient(base_url=base_url) if base_url else \
        docker.from_env()
    try:
        client.images.get(base_image)
    except docker_errors.ImageNotFound:
        progress('base image %s is not local; Docker will pull it'
                 % base_image)
    with tempfile.TemporaryDirectory(prefix='buildfarm-image-') as ctx:
        shutil.copy(os.path.join(source, DOCKERFILE), ctx)
        _wheels(source, os.path.join(ctx, 'wheels'), progress)
        packages = _language_packs(source, os.path.join(ctx, 'packs'))
        buildargs = {'BASE_IMAGE': base_image,
                     'PACK_PACKAGES': ' '.join(packages)}
        progress('building %s from %s' % (runtime_tag, base_image))
        _build(client, ctx, runtime_tag, 'runtime', buildargs, progress)
        progress('building %s on %s' % (tag, runtime_tag))
        return _build(client, ctx, tag, 'worker', buildargs, progress)


BLOCK_DEVICE = os.path.join('etc', 'buildfarm', 'dib-block-device.yaml')


def _disk_image_create(command):
    """The diskimage-builder command: as given, on PATH, or beside this
    Python (a virtualenv that has diskimage-builder)."""
    found = shutil.which(command) or shutil.which(
        command, path=os.path.dirname(sys.executable))
    if not found:
        raise exception.ImageBuildError(
            '%s not found: install diskimage-builder (pip install '
            'diskimage-builder) or set [image] disk_image_create.' % command)
    return found


def vm_elements(source, base_elements):
    """The VM image's elements: ``base_elements`` and every language
    pack."""
    packs = sorted(n for n in os.listdir(os.path.join(source, 'elements'))
                   if n.startswith('lp-'))
    return list(base_elements) + [p for p in packs if p not in base_elements]


def build_qcow2(output, image_conf, source=None, elements=None,
                progress=print):
    """Build the VM worker image with diskimage-builder into
    ``output``.qcow2; return its path. ``image_conf``: the [image]
    options."""
    source = source or source_tree()
    command = _disk_image_create(image_conf.disk_image_create)
    elements = elements or vm_elements(source, image_conf.vm_elements)
    with tempfile.TemporaryDirectory(prefix='buildfarm-vm-image-') as tmp:
        wheels = os.path.join(tmp, 'wheels')
        _wheels(source, wheels, progress)
        env = dict(os.environ, DIB_BUILDFARM_WHEELS=wheels)
        paths = [os.path.join(source, 'elements')]
        if env.get('ELEMENTS_PATH'):
            paths.append(env['ELEMENTS_PATH'])
        env['ELEMENTS_PATH'] = ':'.join(paths)
        env.setdefault('DIB_RELEASE', image_conf.debian_release)
        env.setdefault('DIB_BLOCK_DEVICE_CONFIG',
                       'file://' + os.path.join(source, BLOCK_DEVICE))
        if image_conf.debian_mirror:
            env['DIB_DISTRIBUTION_MIRROR'] = image_conf.debian_mirror
        if image_conf.debian_security_mirror:
            env['DIB_DEBIAN_SECURITY_MIRROR'] = (
                image_conf.debian_security_mirror)
        cmd = [command, '-a', 'amd64', '-t', 'qcow2', '-o', output,
               *elements]
        progress('running %s' % ' '.join(cmd))
        tail = []
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              errors='replace') as proc:
            for line in proc.stdout:
                progress(line.rstrip())
                tail = (tail + [line.rstrip()])[-30:]
        if proc.returncode != 0:
            raise exception.ImageBuildError(
                'disk-image-create failed (exit status %d):\n%s'
                % (proc.returncode, '\n'.join(tail)))
    return output + '.qcow2'


def upload_qcow2(conn, path, name, keep, properties, progress=print):
    """Upload a VM worker image to Glance as ``name`` and delete all but
    the ``keep`` newest images of that name that this command made;
    return the new image."""
    progress('uploading %s to Glance as %s' % (path, name))
    image = conn.image.create_image(
        name, filename=path, disk_format='qcow2', container_format='bare',
        allow_duplicates=True, buildfarm_worker_image='true', **properties)
    ours = sorted((i for i in conn.image.images(name=name)
                   if (i.properties or {}).get('buildfarm_worker_image')),
                  key=lambda i: i.created_at, reverse=True)
    for old in ours[keep:]:
        progress('deleting the older image %s (%s)' % (old.id,
                                                       old.created_at))
        conn.image.delete_image(old, ignore_missing=True)
    return image
