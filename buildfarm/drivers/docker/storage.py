"""What a node may write, and how much.

The root file system of a node is read-only; what must be writable is
tmpfs, each capped at the label's ``disk_limit``. tmpfs lives in memory
and is charged to the container's memory cgroup (``memory_limit``):
however a job (even root in the container) spreads its writes, it gets
ENOSPC or the OOM killer, never the host's disk, and no swap, which is
disk. (The Docker engine here, overlay2 on ext4, has no per-container
storage quota; a quota would have to be checked per engine, tmpfs works
on every Linux engine.) The container's own log, which root in the
container can write through PID 1's stdout, is capped by rotation.
"""

import re

from buildfarm import exception

WORKSPACE = '/var/lib/buildfarm-agent'
AGENT_CONF_DIR = '/etc/buildfarm-agent'
# The agent's configuration, the only thing in this tmpfs.
_AGENT_CONF_SIZE = 1 << 20
_RUN_SIZE = 64 << 20
# Fewer bytes than this cannot hold a checkout.
MIN_DISK_LIMIT = 64 << 20
# The container's log (the agent's own output) on the host.
LOG_CONFIG = {'type': 'json-file',
              'config': {'max-size': '10m', 'max-file': '2'}}

# Bytes, or a number and a unit (docker's syntax: 512m, 4g, 1.5gb).
_SIZE = re.compile(r'(\d+(?:\.\d+)?)([kmgt]?)b?', re.IGNORECASE)
_UNITS = {'': 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}


def size_in_bytes(value):
    """Bytes of a size in docker's syntax (an int is bytes already);
    None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    match = isinstance(value, str) and _SIZE.fullmatch(value)
    if not match:
        return None
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return size or None


def is_disk_limit(value):
    size = size_in_bytes(value)
    return size is not None and size >= MIN_DISK_LIMIT


def tmpfs(disk_limit):
    """{path: mount options} of a node's writable directories."""
    each = 'size=%d' % disk_limit
    return {
        # Reachable, not listable, by the job user (the agent makes it so
        # too); jobs run their checkout's code from here and from /tmp.
        WORKSPACE: each + ',mode=0711,exec',
        '/tmp': each + ',mode=1777,exec',
        '/var/tmp': each + ',mode=1777,exec',
        '/run': 'size=%d,mode=0755' % _RUN_SIZE,
        # Root's alone: the agent's configuration (see bootconf).
        AGENT_CONF_DIR: 'size=%d,mode=0700' % _AGENT_CONF_SIZE,
    }


def check_engine(client):
    """Raise DriverError unless the engine can cap a node's writes."""
    try:
        info = client.info()
    except Exception as e:
        raise exception.DriverError(
            'Cannot ask the Docker engine what it supports: %s' % e)
    if info.get('OSType', 'linux') != 'linux':
        raise exception.DriverError(
            'The Docker engine runs %s containers: node disk limits need '
            'tmpfs, which only Linux containers have.' % info.get('OSType'))
    if info.get('MemoryLimit') is False:
        raise exception.DriverError(
            'The Docker engine cannot limit memory (no memory cgroup): '
            'nodes\' memory and disk limits ([docker] memory_limit, '
            'disk_limit) cannot be enforced.')
