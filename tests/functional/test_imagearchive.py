"""An image assembled without a Docker daemon loads and runs in Docker."""

import os
import uuid

import docker
import pytest

from buildfarm.agent import imagearchive
from tests.functional import conftest


def _smallest_base(docker_client):
    """The base image tools/setup-test-env.sh built the worker from, if it
    is there (much smaller than the worker image)."""
    for name in ('debian:bookworm-slim', 'buildfarm-base:bookworm'):
        try:
            return docker_client.images.get(name)
        except docker.errors.ImageNotFound:
            pass
    return docker_client.images.get(conftest.IMAGE)


@pytest.fixture
def base_archive(tmp_path, docker_client):
    path = tmp_path / 'base.tar'
    with open(path, 'wb') as f:
        for chunk in _smallest_base(docker_client).save():
            f.write(chunk)
    return str(path)


def test_the_assembled_image_loads_and_runs_the_app_as_its_user(
        tmp_path, base_archive, docker_client):
    app = tmp_path / 'app'
    app.mkdir()
    script = app / 'run.sh'
    script.write_text('#!/bin/sh\necho "uid=$(id -u) port=$PORT dir=$(pwd)"\n')
    os.chmod(script, 0o755)
    tag = 'buildfarm-test-app:%s' % uuid.uuid4().hex[:8]
    dest = tmp_path / 'image.tar'
    image_id = imagearchive.assemble(
        base_archive, str(app), str(dest), tag, './run.sh',
        env={'PORT': '8080'}, labels={'org.buildfarm.commit': 'abc'})
    try:
        with open(dest, 'rb') as f:
            image, = docker_client.images.load(f)
        assert image.id == 'sha256:' + image_id
        assert image.labels['org.buildfarm.commit'] == 'abc'
        output = docker_client.containers.run(tag, remove=True)
        assert output == b'uid=1000 port=8080 dir=/app\n'
    finally:
        docker_client.images.remove(tag, force=True)
