"""The local driver's uids: the [local] job_uids range, one uid per live
node, what a controller that is not root does instead, and the agent's
job user given as a bare uid."""

import logging
import os
import random
import shutil
import stat
import subprocess
import tempfile
import threading

import pytest

from buildfarm.agent import process
from buildfarm.agent import runner
from buildfarm.drivers.local import driver as local_driver
from buildfarm.drivers.local import leftovers
from buildfarm.drivers.local import uids
from buildfarm import exception
from buildfarm import objects


@pytest.mark.parametrize('text,first,last', [
    ('61000-61999', 61000, 61999),
    (' 70000 - 70000 ', 70000, 70000),
])
def test_a_range_of_uids(text, first, last):
    found = uids.parse_range(text)
    assert (found[0], found[-1]) == (first, last)


@pytest.mark.parametrize('text', [
    '', '61000', '61000-', 'a-b', '61999-61000', '0-10', '-1-5',
    '61000-4294967295', '61000:61999'])
def test_a_bad_range_says_what_is_expected(text):
    with pytest.raises(exception.DriverError) as e:
        uids.parse_range(text)
    assert str(e.value) == (
        '[local] job_uids = %r is not a range of uids: give START-END, two '
        'numbers with 0 < START <= END <= 4294967294, such as 61000-61999.'
        % text)


def test_each_live_node_has_its_own_uid_and_uids_go_round():
    pool = uids.UidPool(range(100, 103), busy=set)
    taken = [pool.take(), pool.take()]
    assert taken == [100, 101]
    pool.release(100)
    # The uid freed last is given out last.
    assert pool.take() == 102
    assert pool.take() == 100
    with pytest.raises(exception.NodeBootError,
                       match=r'Every uid of \[local\] job_uids \(100-102\)'):
        pool.take()


def test_a_uid_that_runs_a_process_is_not_given_out():
    busy = {100}
    pool = uids.UidPool(range(100, 102), busy=lambda: busy)
    assert pool.take() == 101
    with pytest.raises(exception.NodeBootError):
        pool.take()
    busy.clear()
    assert pool.take() == 100


def test_the_processes_uids_are_seen():
    assert os.getuid() in uids.uids_of_processes()


def test_a_controller_that_is_not_root_warns_that_jobs_share_its_user(
        conf, monkeypatch, caplog):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    with caplog.at_level(logging.WARNING):
        driver = local_driver.LocalDriver(conf, None)
    assert driver.uids is None
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'local jobs run as its own user' in warnings[0]
    assert '[local] job_uids' in warnings[0]


def test_a_bad_range_stops_a_root_controller(conf, monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    conf.set_override('job_uids', '61999-61000', 'local')
    with pytest.raises(exception.DriverError, match='job_uids'):
        local_driver.LocalDriver(conf, None)


@pytest.mark.skipif(os.geteuid() != 0, reason='per-node uids need root')
def test_a_deleted_node_leaves_no_process_and_frees_its_uid(
        conf, monkeypatch):
    first = random.randrange(62000, 64990)
    conf.set_override('job_uids', '%d-%d' % (first, first), 'local')
    driver = local_driver.LocalDriver(conf, None)

    class Agent:
        done = None

        def __init__(self, agent_conf, transport):
            self.conf = agent_conf

        def start(self):
            # What a job might leave if the node were deleted mid-job.
            subprocess.Popen(['setsid', '-f', 'sleep', '600'], user=first,
                             group=first, extra_groups=[]).wait()

        def stop(self):
            pass

    monkeypatch.setattr(local_driver.agent_mod, 'Agent', Agent)
    spec = local_driver.base.NodeSpec('node-1', {}, _agent_conf())
    driver.create(spec)
    node = driver._nodes['node-1']
    assert node.uid == first
    assert node.agent.conf.agent.job_user == str(first)
    assert node.agent.conf.agent.workspace == os.path.join(
        node.directory, 'workspace')
    info = os.stat(node.directory)
    assert (info.st_uid, info.st_gid) == (first, first)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert process.processes_of_uid(first) != []
    with pytest.raises(exception.NodeBootError, match='Every uid'):
        driver.create(local_driver.base.NodeSpec('node-2', {},
                                                 _agent_conf()))
    driver.delete('node-1', 'node-1')
    assert process.processes_of_uid(first) == []
    assert not os.path.exists(node.directory)
    assert driver.uids.take() == first


def _agent_conf():
    return objects.AgentConfig(node_id='node-1', node_secret='s')


def _runner(conf, tmp_path, job_user):
    conf.set_override('workspace', str(tmp_path), 'agent')
    conf.set_override('job_user', job_user, 'agent')
    message = objects.JobMessage.from_dict(
        {'id': 'job1', 'kind': objects.REPO_JOB, 'spec': {
            'git_url': 'https://example.com/r.git', 'cmd': 'true',
            'ref': None, 'timeout': 60, 'env': {}, 'secret_env': {},
            'label': None}})
    return runner.RepoJobRunner(conf, message, None, threading.Event())


def test_a_numeric_job_user_needs_no_passwd_entry(
        conf, tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    work = _runner(conf, tmp_path, '61234')
    user = work.user
    assert (user.pw_name, user.pw_uid, user.pw_gid, user.pw_dir) == (
        '61234', 61234, 61234, work.home)
    env = work.environment()
    assert (env['USER'], env['HOME']) == ('61234', work.home)


@pytest.mark.parametrize('job_user', ['0', 'root'])
def test_a_job_user_that_is_root_is_refused(conf, tmp_path, monkeypatch,
                                            job_user):
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    with pytest.raises(exception.BuildfarmError,
                       match='The job user %r is root' % job_user):
        _runner(conf, tmp_path, job_user)


@pytest.mark.skipif(os.geteuid() != 0, reason='acting as another uid '
                    'needs root')
def test_what_a_uid_left_behind_is_removed():
    uid = random.randrange(62000, 64999)
    shared = tempfile.mkdtemp(prefix='buildfarm-test-shared-')
    os.chmod(shared, 0o1777)
    try:
        with open(os.path.join(shared, 'root-file'), 'w') as f:
            f.write('kept')
        script = ('mkdir {d}/dir && echo x > {d}/dir/f && echo y > {d}/file'
                  ' && ln -s /etc/passwd {d}/link && ipcmk -M 4096 && '
                  'ipcmk -S 1 && ipcmk -Q').format(d=shared)
        subprocess.run(['sh', '-c', script], user=uid, group=uid,
                       extra_groups=[], check=True, capture_output=True)
        kinds = ('shm', 'sem', 'msg')
        assert all(leftovers.ipc_ids(uid, kind) for kind in kinds)
        leftovers.remove(uid, shared_dirs=[shared])
        assert os.listdir(shared) == ['root-file']
        assert os.path.exists('/etc/passwd')
        assert not any(leftovers.ipc_ids(uid, kind) for kind in kinds)
    finally:
        leftovers.remove(uid, shared_dirs=[])
        shutil.rmtree(shared)
