"""A controller whose log disk is full still runs jobs to the end: its
log directory is a 64 KiB tmpfs that a job's output fills."""

import os
import subprocess
import uuid

import pytest

from buildfarm import states
from tests.functional import conftest


@pytest.fixture
def tiny_log_dir(tmp_path):
    path = tmp_path / 'logs'
    path.mkdir()
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0750', 'tmpfs',
         str(path)], capture_output=True, text=True)
    # The functional tests run as root (.ci/run): no mount is a failure.
    assert mounted.returncode == 0, 'cannot mount a tmpfs: %s' % (
        mounted.stderr.strip())
    yield path
    subprocess.run(['umount', str(path)], check=True)


def test_a_full_log_disk_loses_log_lines_not_jobs(
        tmp_path, tiny_log_dir, make_vhost, docker_client, git_server):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-test-%s' % uuid.uuid4().hex[:8],
        {('controller', 'log_dir'): str(tiny_log_dir),
         ('controller', 'reconcile_interval'): 2})
    farm = conftest.Farm(conf, docker_client)
    try:
        flood = farm.run(
            git_url=git_server['url'],
            cmd="yes flood | head -c 1000000; printf 'the%s' -end")
        assert (flood['state'], flood['exit_code']) == (states.SUCCEEDED, 0)
        farm.assert_no_container_left()
        # The disk filled up: what was kept is the head of the log.
        assert os.statvfs(tiny_log_dir).f_bavail <= 1
        log = farm.log(flood['id'])
        assert log.startswith('[buildfarm] attempt 1 on node ')
        assert 0 < len(log.encode()) <= 64 * 1024
        assert 'the-end' not in log
        # Another job, on a disk with not a byte left, runs all the same.
        with open(tiny_log_dir / 'filler', 'wb', buffering=0) as f:
            with pytest.raises(OSError):
                while True:
                    f.write(b'x' * 4096)
        job = farm.run(git_url=git_server['url'], cmd='exit 3')
        assert (job['state'], job['exit_code']) == (states.FAILED, 3)
        farm.assert_no_container_left()
        assert farm.api.get_log(job['id'])['data'] == ''
    finally:
        farm.stop()
