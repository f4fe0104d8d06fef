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
