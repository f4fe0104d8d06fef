"""What a local job leaves on the host outside its workspace, removed
before its uid goes to another node: files of its uid at the top of the
shared temporary directories, and its System V shared memory, semaphores
and message queues (like systemd's RemoveIPC)."""

import logging
import os
import shutil
import subprocess

LOG = logging.getLogger(__name__)

SHARED_DIRS = ('/tmp', '/var/tmp', '/dev/shm')
# /proc/sysvipc file, its id column, ipcrm's option.
_IPC = (('shm', 'shmid', '-m'), ('sem', 'semid', '-s'), ('msg', 'msqid', '-q'))


def _remove_files(uid, directory):
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError as e:
            LOG.warning('Could not remove %s, left by uid %d: %s',
                        entry.path, uid, e)


def ipc_ids(uid, kind):
    """Ids of the System V IPC objects (``kind``: shm, sem or msg) that
    ``uid`` owns."""
    _, id_column, _ = next(x for x in _IPC if x[0] == kind)
    try:
        with open('/proc/sysvipc/' + kind) as f:
            header = f.readline().split()
            rows = [line.split() for line in f]
    except OSError:
        return []
    ids, uids = header.index(id_column), header.index('uid')
    return [row[ids] for row in rows if int(row[uids]) == uid]


def remove(uid, shared_dirs=SHARED_DIRS):
    """Remove what uid ``uid`` left (its processes are gone)."""
    for directory in shared_dirs:
        _remove_files(uid, directory)
    for kind, _, option in _IPC:
        for ipc_id in ipc_ids(uid, kind):
            result = subprocess.run(['ipcrm', option, ipc_id],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                LOG.warning('Could not remove System V %s %s of uid %d: '
                            '%s', kind, ipc_id, uid, result.stderr.strip())
