"""Stopping everything a command started when it runs as a uid of its
own, and in a cgroup of its own where there can be one (root only)."""

import os
import pwd
import random
import subprocess
import threading
import time

import psutil
import pytest

from buildfarm.agent import cgroup
from buildfarm.agent import process

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason='running commands as another uid and making '
    'cgroups need root')

# Daemons that leave the session, and one that also drops the
# environment (and with it the job's id), after a double fork.
ESCAPES = ("setsid -f sh -c 'sleep {m}'; "
           "(setsid env -i sh -c 'sleep {m} & sleep {m}' &); sleep 0.3")


@pytest.fixture
def uid():
    """A uid of this test's own: every process of it gets killed."""
    uid = random.randrange(62000, 64999)
    yield uid
    process.kill_uid(uid)


def _user(uid):
    return pwd.struct_passwd((str(uid), 'x', uid, uid, '', '/tmp', '/bin/sh'))


def _run(cmd, user=None, timeout=30, cancel=None):
    out = []
    command = process.Command(cmd, '/tmp', {'PATH': '/usr/bin:/bin',
                                            'BUILDFARM_JOB_ID': 'unit'},
                              out.append, user=user, kill_grace=1)
    how, code = command.run(timeout, cancel or threading.Event())
    return how, code, b''.join(out).decode()


def _marker():
    return '3456.%d' % time.monotonic_ns()


def _marked(marker):
    return [p for p in psutil.process_iter(['cmdline'])
            if marker in ' '.join(p.info['cmdline'] or [])
            and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(params=['cgroup', 'no cgroup'])
def where(request, monkeypatch):
    if request.param == 'no cgroup':
        monkeypatch.setattr(cgroup.JobCgroup, 'create',
                            classmethod(lambda cls, name: None))
    return request.param


def test_every_process_of_the_uid_is_stopped(uid, where):
    marker = _marker()
    how, code, out = _run(ESCAPES.format(m=marker) + '; id -u',
                          user=_user(uid))
    assert (how, code, out) == (process.EXITED, 0, '%d\n' % uid)
    assert _marked(marker) == []
    assert process.processes_of_uid(uid) == []


def test_a_timeout_stops_every_process_of_the_uid(uid, where):
    marker = _marker()
    how, _, _ = _run(ESCAPES.format(m=marker) + "; trap '' TERM; sleep "
                     + marker, user=_user(uid), timeout=2)
    assert how == process.TIMED_OUT
    assert process.processes_of_uid(uid) == []


def test_a_process_that_keeps_starting_daemons_is_stopped(uid, where):
    # Each SIGKILL sweep finds daemons started since the last one.
    marker = _marker()
    how, code, _ = _run('(while :; do setsid -f sleep %s; done) & sleep 1'
                        % marker, user=_user(uid))
    assert (how, code) == (process.EXITED, 0)
    assert _marked(marker) == []
    assert process.processes_of_uid(uid) == []


def _skip_without_cgroups():
    group = cgroup.JobCgroup.create('probe')
    if group is None:
        pytest.skip('this host lets this process make no cgroup v2 group')
    group.remove()
    return group


def test_without_a_uid_of_its_own_the_cgroup_still_finds_every_process():
    # As root, with no user: no uid to find them by. A daemon that left
    # the session and dropped the job's id is found only by its cgroup.
    _skip_without_cgroups()
    marker = _marker()
    how, code, _ = _run("setsid -f env -i sh -c 'sleep 0.5; sleep %s'"
                        % marker)
    assert (how, code) == (process.EXITED, 0)
    assert _marked(marker) == []


def test_the_cgroup_goes_with_the_command():
    parent = os.path.dirname(_skip_without_cgroups().path)
    before = set(os.listdir(parent))
    how, code, out = _run('cat /proc/self/cgroup')
    assert (how, code) == (process.EXITED, 0)
    assert '/buildfarm-unit-' in out
    assert set(os.listdir(parent)) == before


def test_kill_uid_leaves_no_process_of_the_uid(uid):
    marker = _marker()
    for _ in range(3):
        subprocess.Popen(['setsid', '-f', 'sleep', marker], user=uid,
                         group=uid, extra_groups=[]).wait()
    assert len(process.processes_of_uid(uid)) == 3
    assert process.kill_uid(uid)
    assert process.processes_of_uid(uid) == []
    assert _marked(marker) == []
