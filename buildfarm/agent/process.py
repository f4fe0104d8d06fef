"""Running a job's command as an unprivileged user and stopping its tree.

Nothing a command started may outlive it. When it runs as a uid of its
own (the agent is root), its processes are every process of that uid:
daemons that left its session with "setsid -f" and emptied their
environment are found too. Otherwise they are found by its process
group, by having been seen in its tree and by the job id in their
environment. Where the agent may make one, the command also runs in a
cgroup of its own (``buildfarm.agent.cgroup``), killed at once at the end.
"""

import ctypes
import logging
import os
import signal
import subprocess
import threading
import time

import psutil

from buildfarm.agent import cgroup

LOG = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER = 36
# Seconds the SIGKILL sweeps go on before the agent gives up and says so.
_KILL_TIMEOUT = 30

EXITED = 'exited'
TIMED_OUT = 'timed_out'
CANCELLED = 'cancelled'


def become_subreaper():
    """Orphaned job processes are re-parented to us, so none escapes."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def processes_of_uid(uid):
    """Live processes whose real or effective uid is ``uid``."""
    found = []
    for p in psutil.process_iter(['uids', 'status']):
        uids = p.info['uids']
        if (uids is not None and uid in (uids.real, uids.effective)
                and p.info['status'] != psutil.STATUS_ZOMBIE):
            found.append(p)
    return found


def kill_uid(uid, timeout=_KILL_TIMEOUT):
    """SIGKILL every process of ``uid`` until none is left (one may fork
    while the others are killed); False if some still were after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        procs = [p for p in processes_of_uid(uid) if p.pid != os.getpid()]
        if not procs:
            return True
        if time.monotonic() >= deadline:
            LOG.error('%d process(es) of uid %d survived SIGKILL for %d s.',
                      len(procs), uid, timeout)
            return False
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        _wait_gone(procs, 1)
        _reap(procs)


class Command:
    """One shell command in its own session, with its output read by a
    thread and handed to ``on_output`` as bytes."""

    POLL = 0.2

    def __init__(self, cmd, cwd, env, on_output, user=None, kill_grace=5.0):
        """``user``: a pwd.struct_passwd to run as when this process is
        root, or None."""
        self.cmd = cmd
        self.cwd = cwd
        self.env = env
        self.on_output = on_output
        self.user = user
        self.kill_grace = kill_grace
        # Every process seen in the tree, pid -> create time, so that
        # processes that left the tree can still be stopped.
        self._seen = {}
        self.cgroup = None

    @property
    def own_uid(self):
        """The uid the command runs as if it is not ours: then every
        process of that uid is the command's."""
        if (self.user is not None and os.geteuid() == 0
                and self.user.pw_uid not in (0, os.getuid())):
            return self.user.pw_uid
        return None

    def _popen(self, stdout):
        kwargs = {}
        if self.user is not None and os.geteuid() == 0:
            kwargs = {'user': self.user.pw_uid, 'group': self.user.pw_gid,
                      'extra_groups': []}
        args, stdin = ['/bin/sh', '-c', self.cmd], subprocess.DEVNULL
        if self.cgroup is not None:
            # The shell waits (reading its stdin) until it is in the
            # cgroup, so that nothing it starts is born outside; the
            # command is its $0.
            args = ['/bin/sh', '-c',
                    'read -r _; exec /bin/sh -c "$0" </dev/null', self.cmd]
            stdin = subprocess.PIPE
        proc = subprocess.Popen(
            args, cwd=self.cwd, env=self.env, stdin=stdin, stdout=stdout,
            stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        if self.cgroup is not None:
            try:
                self.cgroup.add(proc.pid)
            except OSError as e:
                LOG.warning('Could not put the command into cgroup %s (%s); '
                            'its processes are found without it.',
                            self.cgroup.path, e)
                self.cgroup.remove(timeout=0)
                self.cgroup = None
            finally:
                proc.stdin.close()
        return proc

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
        self.cgroup = cgroup.JobCgroup.create(
            self.env.get('BUILDFARM_JOB_ID', 'job'))
        try:
            proc = self._popen(write_fd)
        except Exception:
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        finally:
            os.close(write_fd)
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
        reader.join(timeout=10)
        return how, code

    def _belongs(self, p, pgid):
        """Is ``p`` one of the job's processes (when the job has no uid
        of its own)?

        Found by its process group, by having been seen in the tree, or
        by the job id in its environment (readable where we may trace).
        """
        if p.pid in self._seen:
            return p.create_time() == self._seen[p.pid]
        if os.getpgid(p.pid) == pgid:
            return True
        marker = self.env.get('BUILDFARM_JOB_ID')
        try:
            return marker is not None and p.environ().get(
                'BUILDFARM_JOB_ID') == marker
        except psutil.AccessDenied:
            return False

    def _members(self, proc):
        if self.own_uid is not None:
            found = processes_of_uid(self.own_uid)
        else:
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
        if self.cgroup is not None:
            for pid in self.cgroup.pids():
                try:
                    found.append(psutil.Process(pid))
                except psutil.Error:
                    pass
        return found

    def _survivors(self, proc):
        """The job's live processes, but its shell (``proc``)."""
        unique = {p.pid: p for p in self._members(proc)
                  if p.pid not in (proc.pid, os.getpid())}
        return [p for p in unique.values() if _alive(p)]

    def stop_tree(self, proc):
        """SIGTERM the job's processes, then SIGKILL what is left, again
        and again until nothing is.

        The whole process group, and the cgroup if there is one, are
        killed at once, so that a fork bomb cannot outrun us; other
        processes are signalled one by one, and each SIGKILL sweep looks
        again for any forked in between. The shell itself is our child
        and is waited for through ``proc`` (psutil must not reap it, or
        its exit status would be lost).
        """
        self._remember_tree(proc)
        signalled = self._survivors(proc)
        _signal(proc, signalled, signal.SIGTERM)
        _wait_gone(signalled, self.kill_grace, proc)
        if self.cgroup is not None:
            self.cgroup.kill()
        deadline = time.monotonic() + _KILL_TIMEOUT
        while True:
            procs = self._survivors(proc)
            if not procs and proc.poll() is not None:
                break
            if time.monotonic() >= deadline:
                LOG.error('%d process(es) of job %s survived SIGKILL for '
                          '%d s.', len(procs),
                          self.env.get('BUILDFARM_JOB_ID'), _KILL_TIMEOUT)
                break
            signalled.extend(procs)
            _signal(proc, procs, signal.SIGKILL)
            _wait_gone(procs, 1, proc)
        _reap(signalled)
        if self.cgroup is not None:
            self.cgroup.remove()


def _signal(proc, procs, sig):
    """Send ``sig`` to the process group of the shell ``proc``, to the
    shell and to ``procs``."""
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


def _wait_gone(procs, timeout, proc=None):
    """Wait at most ``timeout`` seconds for ``procs`` (and the Popen
    ``proc``) to be gone."""
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in procs) or (
            proc is not None and proc.poll() is None):
        if time.monotonic() >= deadline:
            return
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
