"""A cgroup v2 group of its own for one job command, and the counters of
the node's cgroup (processes killed for lack of memory, forks refused).

Writing to its ``cgroup.kill`` ends every process in it at once, whatever
they did to leave the command's session, process group or parentage, and
a fork bomb cannot outrun it. Only where this process may make a group
below its own (root on a host with a writable cgroup v2 hierarchy, or a
delegated one); elsewhere, as in a container whose /sys/fs/cgroup is read
only, ``JobCgroup.create`` returns None and the caller does without.
"""

import logging
import os
import re
import time
import uuid

LOG = logging.getLogger(__name__)


def _v2_mount():
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
    /sys/fs/cgroup/unified on a hybrid host), or None."""
    try:
        with open('/proc/self/mounts') as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == 'cgroup2':
                    return fields[1]
    except OSError:
        pass
    return None


def _own_v2_path():
    """This process's group in the v2 hierarchy ("/..."), or None."""
    try:
        with open('/proc/self/cgroup') as f:
            for line in f:
                if line.startswith('0::'):
                    return line[3:].strip()
    except OSError:
        pass
    return None


class JobCgroup:

    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, name):
        """A new group named after ``name`` below this process's own, or
        None where none can be made or it lacks cgroup.kill (Linux
        before 5.14)."""
        mount, own = _v2_mount(), _own_v2_path()
        if mount is None or own is None:
            return None
        name = re.sub(r'[^A-Za-z0-9_-]', '_', name)[:64]
        path = os.path.join(mount, own.lstrip('/'), 'buildfarm-%s-%s' % (
            name, uuid.uuid4().hex[:8]))
        try:
            os.mkdir(path, 0o755)
        except OSError as e:
            LOG.debug('No cgroup for %s (%s): its processes are found by '
                      'uid or session instead.', name, e)
            return None
        group = cls(path)
        if not os.path.exists(os.path.join(path, 'cgroup.kill')):
            group.remove()
            return None
        return group

    def _write(self, name, value):
        with open(os.path.join(self.path, name), 'w') as f:
            f.write(value)

    def add(self, pid):
        """Move process ``pid`` into the group; its future children are
        born in it."""
        self._write('cgroup.procs', str(pid))

    def pids(self):
        try:
            with open(os.path.join(self.path, 'cgroup.procs')) as f:
                return [int(line) for line in f if line.strip()]
        except OSError:
            return []

    def kill(self):
        """SIGKILL every process in the group, at once."""
        try:
            self._write('cgroup.kill', '1')
        except OSError as e:
            LOG.warning('Could not kill cgroup %s: %s', self.path, e)

    def remove(self, timeout=10):
        """Remove the group once its processes have exited (a kill is
        not instant)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if time.monotonic() >= deadline:
                    LOG.warning('Could not remove cgroup %s: %s',
                                self.path, e)
                    return
            time.sleep(0.05)


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
