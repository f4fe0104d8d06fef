import threading
import time

import psutil

from buildfarm.agent import process


def _run(cmd, timeout=30, cancel=None):
    out = []
    command = process.Command(cmd, '/tmp', {'PATH': '/usr/bin:/bin',
                                            'BUILDFARM_JOB_ID': 'unit'},
                              out.append, kill_grace=1)
    how, code = command.run(timeout, cancel or threading.Event())
    return how, code, b''.join(out).decode()


def _marked(marker):
    return [p for p in psutil.process_iter(['cmdline'])
            if marker in ' '.join(p.info['cmdline'] or [])
            and p.status() != psutil.STATUS_ZOMBIE]


def test_exit_status_and_output():
    assert _run('echo out; echo err >&2; exit 3') == (
        process.EXITED, 3, 'out\nerr\n')


def test_timeout_stops_the_whole_tree():
    marker = '1234.%d' % time.monotonic_ns()
    how, code, out = _run(
        'sleep %s & (setsid sleep %s &); trap "" TERM; echo up; sleep %s'
        % (marker, marker, marker), timeout=1)
    assert how == process.TIMED_OUT
    assert out == 'up\n'
    assert code != 0
    assert _marked(marker) == []


def test_background_processes_do_not_outlive_a_finished_command():
    marker = '2345.%d' % time.monotonic_ns()
    how, code, _ = _run('(setsid sleep %s &); sleep %s & exit 0'
                        % (marker, marker))
    assert (how, code) == (process.EXITED, 0)
    assert _marked(marker) == []


def test_cancel_stops_the_command():
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    start = time.monotonic()
    how, _, _ = _run('sleep 60', cancel=cancel)
    assert how == process.CANCELLED
    assert time.monotonic() - start < 10
