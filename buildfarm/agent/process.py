"""Running a job's command as an unprivileged user and stopping its tree."""

import ctypes
import os
import signal
import subprocess
import threading
import time

import psutil

_PR_SET_CHILD_SUBREAPER = 36

EXITED = 'exited'
TIMED_OUT = 'timed_out'
CANCELLED = 'cancelled'


# Shells of the commands running in this process, never taken for orphans.
_running_shells = set()


def _cgroup_count(paths, key):
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(' ')
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def oom_kills():
    """How many processes the kernel killed for lack of memory in this
    node's cgroup so far (None when it cannot be read)."""
    return _cgroup_count(('/sys/fs/cgroup/memory.events',
                          '/sys/fs/cgroup/memory/memory.oom_control'),
                         'oom_kill')


def pids_limit_hits():
    """How many forks this node's cgroup refused at its pids limit."""
    return _cgroup_count(('/sys/fs/cgroup/pids.events',
                          '/sys/fs/cgroup/pids/pids.events'), 'max')


def become_subreaper():
    """Orphaned job processes are re-parented to us, so none escapes."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


class Command:
    """One shell command in its own session, with its output read by a
    thread and handed to ``on_output`` as bytes."""

    POLL = 0.2

    def __init__(self, cmd, cwd, env, on_output, user=None, kill_grace=5.0):
        self.cmd = cmd
        self.cwd = cwd
        self.env = env
        self.on_output = on_output
        self.user = user
        self.kill_grace = kill_grace
        # Every process seen in the tree, pid -> create time, so that
        # processes that left the tree can still be stopped.
        self._seen = {}

    def _popen(self, stdout):
        kwargs = {}
        if self.user is not None and os.geteuid() == 0:
            kwargs = {'user': self.user.pw_uid, 'group': self.user.pw_gid,
                      'extra_groups': []}
        return subprocess.Popen(
            ['/bin/sh', '-c', self.cmd], cwd=self.cwd, env=self.env,
            stdin=subprocess.DEVNULL, stdout=stdout,
            stderr=subprocess.STDOUT, start_new_session=True, **kwargs)

    def _read(self, fd):
        try:
            while True:
                data = os.read(fd, 65536)
                if not data:
                    break
                self.on_output(data)
        finally:
            os.close(fd)

    def _remember_tree(self, proc):
        try:
            for child in psutil.Process(proc.pid).children(recursive=True):
                self._seen.setdefault(child.pid, child.create_time())
        except psutil.Error:
            pass

    def run(self, timeout, cancel_event):
        """Run to the end, the timeout or a cancel; return (how, code)."""
        # The reader starts before the command: once the job's processes
        # fill the node's pids limit, no thread could be started.
        read_fd, write_fd = os.pipe()
        reader = threading.Thread(target=self._read, args=(read_fd,),
                                  daemon=True)
        reader.start()
        try:
            proc = self._popen(write_fd)
        finally:
            os.close(write_fd)
        _running_shells.add(proc.pid)
        self._seen[proc.pid] = psutil.Process(proc.pid).create_time()
        deadline = time.monotonic() + timeout
        how = EXITED
        while True:
            self._remember_tree(proc)
            try:
                proc.wait(timeout=self.POLL)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel_event.is_set():
                how = CANCELLED
                break
            if time.monotonic() >= deadline:
                how = TIMED_OUT
                break
        # Also when the shell exited: nothing the job started may outlive it.
        self.stop_tree(proc)
        code = proc.wait()
        _running_shells.discard(proc.pid)
        reader.join(timeout=10)
        return how, code

    def _belongs(self, p, pgid):
        """Is ``p`` one of the job's processes?

        Found by its process group, by having been seen in the tree, by
        the job id in its environment (readable where we may trace), or,
        for daemons that left the session and were re-parented to us (we
        are a subreaper), by being our child running as the job's user.
        """
        if p.pid in self._seen:
            return p.create_time() == self._seen[p.pid]
        if os.getpgid(p.pid) == pgid:
            return True
        if (self.user is not None and p.ppid() == os.getpid()
                and p.uids().real == self.user.pw_uid
                and p.pid not in _running_shells):
            return True
        marker = self.env.get('BUILDFARM_JOB_ID')
        try:
            return marker is not None and p.environ().get(
                'BUILDFARM_JOB_ID') == marker
        except psutil.AccessDenied:
            return False

    def _survivors(self, proc):
        found = []
        for p in psutil.process_iter():
            if p.pid in (proc.pid, os.getpid()):
                continue
            try:
                if self._belongs(p, proc.pid):
                    found.append(p)
                    found.extend(p.children(recursive=True))
            except (OSError, psutil.Error):
                pass
        unique = {p.pid: p for p in found if p.pid != os.getpid()}
        return [p for p in unique.values() if _alive(p)]

    def stop_tree(self, proc):
        """SIGTERM the job's processes, then SIGKILL what is left.

        The whole process group is signalled at once, so that a fork bomb
        cannot outrun us; processes that left the group are signalled one
        by one, and SIGKILL sweeps again for any forked in between. The
        shell itself is our child and is waited for through ``proc``
        (psutil must not reap it, or its exit status would be lost).
        """
        self._remember_tree(proc)
        procs = self._survivors(proc)
        killed = list(procs)
        if self._signal(proc, procs, signal.SIGTERM, self.kill_grace):
            _reap(killed)
            return
        for _ in range(5):
            procs = self._survivors(proc)
            killed.extend(procs)
            if self._signal(proc, procs, signal.SIGKILL, 2):
                break
        _reap(killed)

    def _signal(self, proc, procs, sig, grace):
        """Send ``sig``; return True once everything is gone."""
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass  # the group is empty already
        if proc.poll() is None:
            proc.send_signal(sig)
        for p in procs:
            try:
                p.send_signal(sig)
            except psutil.Error:
                pass
        deadline = time.monotonic() + grace
        while True:
            procs = [p for p in procs if _alive(p)]
            if proc.poll() is not None and not procs:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _reap(procs):
    """Orphans re-parented to us (we are a subreaper) are our zombies now;
    reap exactly those, never another job's children."""
    for p in procs:
        try:
            os.waitpid(p.pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _alive(p):
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
