"""Hostile jobs on the local driver (all-in-one mode): a controller in
this process, the fake:// transport, real processes on this host.

A job may try to leave a process behind or to read another job's files
and environment; both must fail. These need root, as a controller must
be to give each local node a uid of its own.
"""

import os
import random
import secrets
import shutil
import tempfile
import time

import psutil
import pytest

from buildfarm.agent import process
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import states

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason='per-job uids need a controller running as '
    'root; as another user local jobs are not isolated, by design')


@pytest.fixture
def uids():
    """A range of uids of this test's own: every process of a job's uid
    is killed, so no other test may share them."""
    start = random.randrange(62000, 64900, 10)
    return range(start, start + 10)


@pytest.fixture
def local(conf, git_repo, uids):
    conf.set_override('driver', 'local', 'controller')
    conf.set_override('job_uids', '%d-%d' % (uids[0], uids[-1]), 'local')
    conf.set_override('allowed_local_repo_dirs',
                      [os.path.dirname(git_repo['path'])], 'controller')
    conf.set_override('kill_grace', 1, 'agent')
    ctl = service.ControllerService(conf)
    ctl.start()
    yield rpcapi.ControllerAPI(ctl.transport, conf.controller.topic,
                               timeout=10)
    ctl.stop()
    for uid in uids:
        process.kill_uid(uid)


@pytest.fixture
def meeting_place():
    """A directory where two jobs of different uids can meet."""
    path = tempfile.mkdtemp(prefix='buildfarm-test-meet-')
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path)


def _submit(api, git_repo, cmd, **spec):
    return api.repo_job(dict(spec, git_url=git_repo['url'], cmd=cmd,
                             timeout=60))['id']


def _finished(api, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get_job(job_id)
        if job['state'] in states.TERMINAL:
            return job, api.get_log(job_id)['data']
        time.sleep(0.1)
    raise AssertionError('job %s did not end in %d s' % (job_id, timeout))


def _marked(marker):
    return [p for p in psutil.process_iter(['cmdline'])
            if marker in ' '.join(p.info['cmdline'] or [])
            and p.status() != psutil.STATUS_ZOMBIE]


def _uid_in_log(log):
    line, = [x for x in log.splitlines() if x.startswith('uid=')]
    return int(line[len('uid='):])


def test_no_process_of_a_job_outlives_it(local, git_repo, uids):
    marker = '4321.%d' % time.monotonic_ns()
    job, log = _finished(local, _submit(local, git_repo, (
        # A daemon, and a double fork that also drops the environment
        # (and with it the job's id).
        "setsid -f sh -c 'sleep %s'; "
        "(setsid env -i sh -c 'sleep %s & sleep %s' &); "
        "sleep 0.5; echo uid=$(id -u)") % (marker, marker, marker)))
    assert job['state'] == states.SUCCEEDED, (job, log)
    uid = _uid_in_log(log)
    assert uid in uids
    assert _marked(marker) == []
    assert process.processes_of_uid(uid) == []


def test_a_cancelled_job_leaves_no_process(local, git_repo):
    marker = '5432.%d' % time.monotonic_ns()
    job_id = _submit(local, git_repo, (
        "setsid -f env -i sleep %s; echo started; sleep %s")
        % (marker, marker))
    deadline = time.monotonic() + 30
    while 'started' not in local.get_log(job_id)['data']:
        assert time.monotonic() < deadline, local.get_job(job_id)
        time.sleep(0.1)
    local.cancel_job(job_id)
    job, _ = _finished(local, job_id)
    assert job['state'] == states.CANCELLED
    assert _marked(marker) == []


def test_two_jobs_have_their_own_uid_and_cannot_read_each_other(
        local, git_repo, uids, meeting_place):
    token = 'token-%s' % secrets.token_hex(8)
    here = meeting_place
    first = _submit(local, git_repo, (
        'umask 022; echo "$A_TOKEN" > "$HOME/secret"; '
        'echo $$ > {m}/pid; echo "$HOME" > {m}/home; touch {m}/ready; '
        'echo uid=$(id -u); '
        'i=0; while [ ! -e {m}/done ] && [ $i -lt 300 ]; do '
        'sleep 0.1; i=$((i+1)); done').format(m=here),
        env={'A_TOKEN': token})
    second = _submit(local, git_repo, (
        'i=0; while [ ! -e {m}/ready ] && [ $i -lt 300 ]; do '
        'sleep 0.1; i=$((i+1)); done; echo uid=$(id -u); '
        'cat "$(cat {m}/home)/secret"; echo home=$?; '
        'cat /proc/$(cat {m}/pid)/environ; echo environ=$?; '
        'touch {m}/done').format(m=here))
    job_a, log_a = _finished(local, first)
    job_b, log_b = _finished(local, second)
    assert job_a['state'] == job_b['state'] == states.SUCCEEDED
    uid_a, uid_b = _uid_in_log(log_a), _uid_in_log(log_b)
    assert uid_a != uid_b
    assert {uid_a, uid_b} <= set(uids)
    # The second job did run while the first one waited for it.
    assert '/home/secret: Permission denied\nhome=1\n' in log_b, log_b
    assert '/environ: Permission denied\nenviron=1\n' in log_b, log_b
    assert token not in log_b
