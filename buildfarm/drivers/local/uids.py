"""The uids the local driver gives its nodes, one each ([local] job_uids).

A uid is given to one live node at a time. The pool goes round the range
rather than handing the last freed uid straight back, so that a uid is
reused as late as possible; and it never gives out a uid that owns a
process, be it another program's or one left by a crashed controller.
"""

import re
import threading

import psutil

from buildfarm import exception

_RANGE = re.compile(r'\s*(\d+)\s*-\s*(\d+)\s*')
# The largest uid Linux gives out; 2**32 - 1 means "no uid".
_MAX_UID = 2 ** 32 - 2


def parse_range(text):
    """range of uids from "START-END"; DriverError if it is not one."""
    match = _RANGE.fullmatch(text or '')
    if match:
        start, end = int(match.group(1)), int(match.group(2))
        if 0 < start <= end <= _MAX_UID:
            return range(start, end + 1)
    raise exception.DriverError(
        '[local] job_uids = %r is not a range of uids: give START-END, '
        'two numbers with 0 < START <= END <= %d, such as 61000-61999.'
        % (text, _MAX_UID))


def uids_of_processes():
    """The real and effective uids of every live process now."""
    found = set()
    for p in psutil.process_iter(['uids', 'status']):
        if (p.info['uids'] is not None
                and p.info['status'] != psutil.STATUS_ZOMBIE):
            found.update(p.info['uids'][:2])
    return found


class UidPool:

    def __init__(self, uids, busy=uids_of_processes):
        """``busy()``: the uids that own a process now."""
        self.uids = uids
        self._busy = busy
        self._taken = set()
        self._next = 0
        self._lock = threading.Lock()

    def take(self):
        """A uid no live node has and no process runs as; NodeBootError
        when there is none."""
        with self._lock:
            busy = self._busy()
            for step in range(len(self.uids)):
                index = (self._next + step) % len(self.uids)
                uid = self.uids[index]
                if uid in self._taken or uid in busy:
                    continue
                self._taken.add(uid)
                self._next = index + 1
                return uid
        raise exception.NodeBootError(
            'Every uid of [local] job_uids (%d-%d) belongs to a live local '
            'node or runs a process: widen the range or lower the number '
            'of local nodes.' % (self.uids[0], self.uids[-1]))

    def release(self, uid):
        with self._lock:
            self._taken.discard(uid)
